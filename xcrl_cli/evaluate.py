"""Evaluating trained runs: per-language test predictions and scores, and the representation metrics of Table 4.

Outputs are long-format rows (`variant, task, seed, lang, metric, value` and
`variant, task, seed, space, metric, value`), the input of `report.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import EvaluateConfig, ModelConfig, Variant
from .inference import infer, resolve_device
from .io import atomic_dir, dumps_csv, dumps_jsonl, read_jsonl
from .metrics import clustering_purity, counterfactual_consistency, language_id_accuracy, task_scores
from .model import XcrlModel, load_encoder
from .raw import read_meta, task_meta
from .tokens import load_eval_set

SCORE_COLUMNS = ("variant", "task", "seed", "lang", "metric", "value")
REPR_COLUMNS = ("variant", "task", "seed", "space", "metric", "value")
RUN_COLUMNS = ("variant", "task", "seed", "source_dev_accuracy", "flags")


@dataclass
class RunResult:
    scores: list[dict] = field(default_factory=list)
    representations: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    run: dict = field(default_factory=dict)  # training's summary: source-dev accuracy and flags


def load_run(run_dir: Path, n_labels: int, n_languages: int) -> XcrlModel:
    """Rebuild a trained model from its resolved config and load its selected weights."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    model_cfg = ModelConfig(**config["model"])
    variant = Variant(**config["variant_config"])
    model = XcrlModel(load_encoder(model_cfg.encoder), model_cfg, variant, n_labels, n_languages)
    model.load_state_dict(torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True))
    return model.eval()


def _score_rows(key: dict, rows: list[dict], pred: np.ndarray, n_labels: int) -> list[dict]:
    langs = np.array([r["lang"] for r in rows])
    gold = np.array([r["label"] for r in rows])
    out = []
    for lang in sorted(set(langs)):
        m = langs == lang
        scores = task_scores(gold[m], pred[m], n_labels)
        out += [{**key, "lang": lang, "metric": k, "value": v} for k, v in scores.items()]
    return out


def _representation_rows(key: dict, rows: list[dict], spaces: dict[str, torch.Tensor],
                         cfg: EvaluateConfig) -> list[dict]:
    """Language-ID and purity per space; a metric the test set cannot support (see metrics.py) is left out."""
    langs = np.array([r["lang"] for r in rows])
    meanings = [r["meaning_id"] for r in rows]
    out = []
    for space, x in spaces.items():
        x = x.numpy()
        values = {"lang_id_acc": language_id_accuracy(x, langs, meanings, cfg.seed, cfg.probe_max_iter),
                  "cluster_purity": clustering_purity(x, meanings, langs, cfg.cluster_meanings, cfg.seed)}
        out += [{**key, "space": space, "metric": m, "value": v} for m, v in values.items() if v is not None]
    return out


def evaluate_run(
    run_dir: Path, raw_dir: Path, tokens_dir: Path, key: dict, cfg: EvaluateConfig, batch_size: int = 128
) -> RunResult:
    """Scores of one trained run on its task's test set (every language) and its test counterfactuals."""
    task = key["task"]
    meta = read_meta(raw_dir)
    lang_index = {lang: i for i, lang in enumerate(meta["languages"])}
    n_labels = len(task_meta(meta, task, raw_dir)["labels"])
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    model = load_run(run_dir, n_labels, len(lang_index)).to(resolve_device(config["train"]["device"]))
    pad_id = model.encoder.config.pad_token_id

    test_rows = read_jsonl(raw_dir / task / "test.jsonl")
    test, test_ids, _ = load_eval_set(tokens_dir / task, "test", lang_index)
    if test_ids != [r["id"] for r in test_rows]:
        raise ValueError(f"{tokens_dir / task / 'test'}: its ids differ from {raw_dir / task / 'test.jsonl'}'s; "
                         "the tokenised data is stale, run `xcrl tokenise`")
    logits, spaces = infer(model, test, batch_size, pad_id)
    pred = logits.argmax(-1).numpy()
    cf, cf_ids, _ = load_eval_set(tokens_dir / task, "test_cf", lang_index)
    cf_logits, _ = infer(model, cf, batch_size, pad_id)
    position = {rid: i for i, rid in enumerate(test_ids)}
    pred_of_x = pred[[position[rid] for rid in cf_ids]]
    pred_cf = cf_logits.argmax(-1).numpy()

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    result = RunResult(run={**key, "source_dev_accuracy": summary["source_dev_accuracy"],
                            "flags": "; ".join(summary.get("flags", []))})
    result.scores = _score_rows(key, test_rows, pred, n_labels)
    result.representations = _representation_rows(key, test_rows, spaces, cfg)
    result.representations.append(
        {**key, "space": "prediction", "metric": "cf_consistency",
         "value": counterfactual_consistency(pred_of_x, pred_cf)}
    )
    result.predictions = [
        {**key, "id": r["id"], "lang": r["lang"], "label": r["label"], "pred": int(p)} for r, p in zip(test_rows, pred)
    ]
    return result


def write_results(results: list[RunResult], out_dir: Path) -> None:
    """scores.csv, representations.csv and predictions.jsonl of every run, written atomically as one folder."""
    scores = [{**row, "value": f"{row['value']:.6f}"} for r in results for row in r.scores]
    reps = [{**row, "value": f"{row['value']:.6f}"} for r in results for row in r.representations]
    with atomic_dir(out_dir) as tmp:
        (tmp / "scores.csv").write_text(dumps_csv(SCORE_COLUMNS, ([r[c] for c in SCORE_COLUMNS] for r in scores)))
        (tmp / "representations.csv").write_text(dumps_csv(REPR_COLUMNS, ([r[c] for c in REPR_COLUMNS] for r in reps)))
        (tmp / "runs.csv").write_text(dumps_csv(RUN_COLUMNS, ([r.run[c] for c in RUN_COLUMNS] for r in results)))
        (tmp / "predictions.jsonl").write_text(dumps_jsonl(p for r in results for p in r.predictions), encoding="utf-8")
