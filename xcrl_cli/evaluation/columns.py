"""The columns of the `evaluate` stage's CSVs: what `evaluate` writes and the report reads.

Apart, so that reading an evaluation (the report) does not import what produces one (torch, the model).
"""

SCORE_COLUMNS = ("variant", "task", "seed", "lang", "metric", "value")
REPR_COLUMNS = ("variant", "task", "seed", "space", "metric", "value")
RUN_COLUMNS = ("variant", "task", "seed", "source_dev_accuracy", "flags")
CF_COLUMNS = ("variant", "task", "seed", "id", "lang", "kind", "chrf", "consistent")
PREDICTION_KEYS = ("variant", "task", "seed", "id", "lang", "label", "pred")  # a row of predictions.jsonl
# The runs whose oracle weights were not stored (`train.oracle_weights: false`); written only when there are any.
ORACLE_NOT_STORED = "oracle_not_stored.csv"
ORACLE_COLUMNS = ("variant", "task", "seed")
