"""Is the significance procedure calibrated? An A/A simulation of the pipeline's noise, through `compare` itself.

Each simulated comparison is what the embedded default gives one task: 5 replicates, each a fresh draw of the test
set (5 target languages × 150 examples, 3 classes, the ids its own) and a seed. In replicate r both variants share
the draw's base accuracy (which pairing cancels) and differ by δ + a draw effect + a seed effect; each example is
then predicted right or wrong with the variant's accuracy, A and B agreeing on an example's difficulty half of the
time (paired errors). The magnitudes (in points of the difference): the draw effect's standard deviation 3.0 and the
seed's 2.0, near the spread of the default run's per-replicate differences of the Table 2 averages (docs/benchmark.md
gives the measured figures); the example noise comes from the sampling itself (about 2 points per replicate).

With δ = 0 a calibrated 95 % procedure calls at most 5 % of the comparisons significant, up to simulation error; with
δ the size of the measured Proposed − Cross-lingual Contrastive gap it should find the difference most of the time.
A procedure that drops the replicate level (only the examples' noise, as a bootstrap of one draw's test set counts)
calls most A/A comparisons significant here, and fails the first test.
"""

from __future__ import annotations

import math

import numpy as np

from xcrl_cli.evaluation.significance import compare

LANGS = ("de", "fr", "ar", "hi", "sw")
REPLICATES, EXAMPLES, CLASSES = 5, 150, 3
DRAW_SD, SEED_SD = 3.0, 2.0  # points of the A − B difference
AGREE = 0.5  # share of examples on which A and B share their difficulty
GAP = 4.4  # points: the measured Proposed − Cross-lingual Contrastive Average of the default run


def _comparison(rng: np.random.Generator, delta: float) -> list[dict]:
    rows = []
    for r in range(REPLICATES):
        base = 0.6 + rng.normal(0, 0.05)
        diff = (delta + rng.normal(0, DRAW_SD) + rng.normal(0, SEED_SD)) / 100
        p = {"a": base + diff / 2, "b": base - diff / 2}
        for lang in LANGS:
            gold = rng.integers(0, CLASSES, EXAMPLES)
            u = rng.random(EXAMPLES)
            shared = rng.random(EXAMPLES) < AGREE
            uniforms = {"a": u, "b": np.where(shared, u, rng.random(EXAMPLES))}
            for v in ("a", "b"):
                right = uniforms[v] < p[v]
                pred = np.where(right, gold, (gold + 1 + rng.integers(0, CLASSES - 1, EXAMPLES)) % CLASSES)
                rows += [{"variant": v, "task": "t", "seed": r, "id": f"t-d{r}-{lang}-{i}", "lang": lang,
                          "label": int(g), "pred": int(q)} for i, (g, q) in enumerate(zip(gold, pred))]
    return rows


def _significant_share(delta: float, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    calls = [compare(_comparison(rng, delta), "a", "b", {"t": "accuracy"}, {"t": CLASSES}, LANGS)["t"].significant
             for _ in range(n)]
    return float(np.mean(calls))


def test_no_true_difference_is_called_significant_at_most_at_the_nominal_rate():
    n = 400
    share = _significant_share(0.0, n, seed=0)

    assert share <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)  # 0.072: the nominal 5 % up to simulation error


def test_a_difference_the_size_of_the_measured_gap_is_found_most_of_the_time():
    assert _significant_share(GAP, 200, seed=1) >= 0.5
