"""The example resampling of a shared test set (one draw per language, shared by every seed and both variants),
replayed by hand with numpy and sklearn, and the edges of significance.py's interval and pairing."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score
from test_significance import LANGS, _hand_t, _run

from xcrl_cli.evaluation.significance import (AVERAGE, SHARED_TEST, compare, compare_values, holm, read_predictions,
                                              t_interval, task_differences)
from xcrl_cli.io import DataError


def test_every_seed_shares_one_draw_of_the_examples():
    """Seed 1 swaps seed 0's variants, so d_1 = −d_0 on every resample that both seeds share: the resampled means of
    d̄ are exactly 0. Independent draws per seed would leave each resample's d_0 + d_1 at random."""
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 40)
    good, bad = np.where(rng.random(40) < 0.7, gold, (gold + 1) % 3), np.where(rng.random(40) < 0.4, gold, 0)
    rows = _run("a", "t", 0, "de", gold, good) + _run("b", "t", 0, "de", gold, bad)
    rows += _run("a", "t", 1, "de", gold, bad) + _run("b", "t", 1, "de", gold, good)

    td = task_differences(rows, "a", "b", {"t": "macro_f1"}, {"t": 3}, LANGS, n_boot=200)["t"]

    assert td.per_replicate[0] > 5 and td.per_replicate[1] == pytest.approx(-td.per_replicate[0], abs=1e-12)
    assert np.abs(td.resampled_means).max() < 1e-9


def test_each_language_is_resampled_within_itself():
    """de: A right and B wrong on all 10 examples (+100); fr: A and B identical on 30 (0). A resample within each
    language keeps every de weight summing to 10, so every resampled cell is exactly (100 + 0) / 2; a resample of the
    pooled 40 would move de's share."""
    rng = np.random.default_rng(1)
    gold_de, gold_fr = rng.integers(0, 2, 10), rng.integers(0, 2, 30)
    pred_fr = rng.integers(0, 2, 30)
    rows = _run("a", "t", 0, "de", gold_de, gold_de) + _run("b", "t", 0, "de", gold_de, 1 - gold_de)
    rows += _run("a", "t", 0, "fr", gold_fr, pred_fr) + _run("b", "t", 0, "fr", gold_fr, pred_fr)

    td = task_differences(rows, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS, n_boot=100)["t"]

    assert td.per_replicate.tolist() == [50.0]
    assert np.allclose(td.resampled_means, 50.0, rtol=0, atol=1e-9)


def _hand_bootstrap(rows: list[dict], task: str, n_boot: int, seed: int) -> np.ndarray:
    """(1 + n_boot, seeds) A − B of the macro-F1 cell: row 0 observed, then each resample, drawn as the module
    docstring says (per language in LANGS order, n draws with replacement from one generator seeded by
    (seed, crc32(task))) and scored by sklearn with the draw counts as sample weights."""
    rng = np.random.default_rng([seed, zlib.crc32(task.encode())])
    seeds = sorted({r["seed"] for r in rows if r["task"] == task})
    langs = [lang for lang in LANGS if any(r["lang"] == lang and r["task"] == task for r in rows)]
    counts = {}
    for lang in langs:
        n = sum(1 for r in rows if r["task"] == task and r["lang"] == lang and r["variant"] == "a" and r["seed"] == 0)
        counts[lang] = [np.ones(n)] + [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]
    out = np.zeros((1 + n_boot, len(seeds)))
    for j, seed_ in enumerate(seeds):
        for sign, variant in ((1, "a"), (-1, "b")):
            for lang in langs:
                mine = sorted((r for r in rows if (r["task"], r["lang"], r["variant"], r["seed"]) ==
                               (task, lang, variant, seed_)), key=lambda r: r["id"])
                gold, pred = [r["label"] for r in mine], [r["pred"] for r in mine]
                for i, w in enumerate(counts[lang]):
                    f1 = f1_score(gold, pred, labels=[0, 1, 2, 3], average="macro", zero_division=0, sample_weight=w)
                    out[i, j] += sign * 100 * f1 / len(langs)
    return out


def _shared_rows(task: str, sizes: dict[str, int], seed: int) -> list[dict]:
    """Two variants, three seeds, one test set per language; class 3 is in no gold label and no prediction."""
    rng = np.random.default_rng(seed)
    rows = []
    for lang, n in sizes.items():
        gold = rng.integers(0, 3, n)
        for s in (0, 1, 2):
            for v, right in (("a", 0.7), ("b", 0.5)):
                rows += _run(v, task, s, lang, gold, np.where(rng.random(n) < right, gold, rng.integers(0, 3, n)))
    return rows


@pytest.mark.parametrize("n_boot", [2, 7])
def test_shared_test_set_replays_a_hand_bootstrap_exactly(n_boot):
    """Observed d_r, each resample's d̄, and the interval: s²/R + V_ex (V_ex the variance, ddof 1, of the resampled
    d̄ of the mean over tasks), Welch–Satterthwaite degrees of freedom; the average column over two tasks."""
    rows = _shared_rows("x", {"de": 9, "sw": 6}, 2) + _shared_rows("y", {"de": 5, "fr": 8}, 3)
    tasks = {"x": "macro_f1", "y": "macro_f1"}
    result = compare(rows, "a", "b", tasks, {"x": 4, "y": 4}, LANGS, n_boot=n_boot, seed=11, level=0.9)

    hand = {t: _hand_bootstrap(rows, t, n_boot, 11) for t in tasks}
    for column, d in [*hand.items(), (AVERAGE, (hand["x"] + hand["y"]) / 2)]:
        c = result[column]
        observed, resampled_means = d[0], d[1:].mean(axis=1)
        between, v_ex = observed.var(ddof=1) / 3, resampled_means.var(ddof=1)
        df = (between + v_ex) ** 2 / (between ** 2 / 2)
        half = stats.t.ppf(0.95, df) * math.sqrt(between + v_ex)
        assert c.observed == pytest.approx(observed.mean(), abs=1e-9)
        assert (c.low, c.high, c.df) == pytest.approx((observed.mean() - half, observed.mean() + half, df), rel=1e-9)
        assert (c.a, c.b, c.column, c.level, c.n_replicates, c.resampled) == ("a", "b", column, 0.9, 3, SHARED_TEST)


def test_one_resample_adds_no_example_variance_and_the_defaults_are_1000_resamples_of_seed_0():
    rows = _shared_rows("x", {"de": 12}, 4)
    one = compare(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS, n_boot=1)["x"]
    observed = task_differences(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS, n_boot=1)["x"].per_replicate
    assert (one.low, one.high) == pytest.approx(_hand_t(observed)[1:])
    td = task_differences(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS)["x"]
    explicit = task_differences(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS, n_boot=1000, seed=0)["x"]
    assert len(td.resampled_means) == 1000 and (td.resampled_means == explicit.resampled_means).all()
    default = compare(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS)
    assert default == compare(rows, "a", "b", {"x": "accuracy"}, {"x": 4}, LANGS, n_boot=1000, seed=0)


def test_perfect_against_chance_observes_the_exact_mean_accuracy_gap():
    """A is always right; B is right on a known set of examples per seed and language: the observed difference is
    exactly the mean over seeds of 100 − the mean over languages of B's accuracy, for own draws and a shared set."""
    for shared in (False, True):
        rows, gaps = [], []
        for seed in range(3):
            accuracies = []
            for k, lang in enumerate(LANGS):
                gold = np.arange(20) % 3
                right = (np.arange(20) * (seed + 2) + k) % 5 < 2 + k  # 8, 12 and 16 of 20 right
                accuracies.append(right.mean())
                draw = None if shared else seed
                rows += _run("a", "t", seed, lang, gold, gold, draw=draw)
                rows += _run("b", "t", seed, lang, gold, np.where(right, gold, (gold + 1) % 3), draw=draw)
            gaps.append(100 - 100 * np.mean(accuracies))
        c = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS, n_boot=50)["t"]
        assert c.observed == pytest.approx(np.mean(gaps), abs=1e-9) and c.observed == pytest.approx(40.0)


def test_interval_edges_level_zero_spread_and_one_replicate():
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="level must be between 0 and 1"):
            t_interval([1.0, 2.0], level)
    assert t_interval([2.0, 2.0, 2.0], 0.95) == (2.0, 2.0, 2.0, 0.0, 2.0)
    assert t_interval([0.0, 0.0], 0.95) == (0.0, 0.0, 0.0, 1.0, 1.0)
    assert t_interval([3.0], 0.95)[4] == 0.0


def test_holm_caps_adjusted_p_values_at_one():
    assert holm([0.6, 0.7, 0.01]) == pytest.approx([1.0, 1.0, 0.03])


def test_compare_values_reports_its_names_level_and_degrees_of_freedom():
    c = compare_values({0: 0.5, 1: 0.7, 2: 0.6}, {0: 0.4, 1: 0.5, 2: 0.6}, "p", "q", "probe", level=0.8)
    mean, low, high = _hand_t([10.0, 20.0, 0.0], level=0.8)
    assert (c.a, c.b, c.column, c.level, c.df, c.n_replicates) == ("p", "q", "probe", 0.8, 2.0, 3)
    assert (c.observed, c.low, c.high) == pytest.approx((mean, low, high))
    assert c.p_value == pytest.approx(2 * stats.t.sf(10.0 / (np.std([10, 20, 0], ddof=1) / math.sqrt(3)), 2))


def test_rows_of_other_tasks_are_ignored_and_labels_must_lie_in_range():
    rows = _run("a", "t", 0, "de", [0, 1], [0, 1]) + _run("b", "t", 0, "de", [0, 1], [1, 1])
    other = _run("a", "u", 0, "de", [7], [9])  # a task not asked for: its labels are never read
    assert compare(rows + other, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)["t"].observed == 50.0
    for label, pred in ((2, 0), (0, 2), (-1, 0)):
        bad = _run("b", "t", 0, "fr", [label], [pred])
        with pytest.raises(ValueError, match=rf"label {label} / pred {pred} outside 0\.\.1"):
            compare(rows + bad, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_binary_f1_needs_two_classes():
    with pytest.raises(ValueError, match="'f1' is binary F1 of class 1, but n_labels is 3"):
        compare([], "a", "b", {"t": "f1"}, {"t": 3}, LANGS)


@pytest.mark.parametrize("shared", [True, False])
def test_refusals_name_the_variant_and_task_that_fail(shared):
    """A variant lacking a whole language, or runs disagreeing on a gold label (the third id), are named."""
    draw = (lambda s: None) if shared else (lambda s: s)
    rows = [r for s in (0, 1) for v in "ab" for r in _run(v, "t", s, "de", [0, 1, 1], [0, 1, 0], draw(s))]
    fr = [r for s in (0, 1) for r in _run("b", "t", s, "fr", [0, 1], [0, 0], draw(s))]
    with pytest.raises(ValueError, match=r"variant 'a', task 't', seed 0: no prediction for 2 of the 2 'fr'"):
        compare(rows + fr, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)
    relabelled = [{**r, "label": 0} if r["variant"] == "b" and r["id"].endswith("-2") else r for r in rows]
    with pytest.raises(ValueError, match=r"task 't', lang 'de': runs disagree on the gold label of ids \['t"):
        compare(relabelled, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)
    with pytest.raises(ValueError, match=r"gold label of ids \['t(-d\d)?-de-2'\]"):
        compare(relabelled, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_mixed_test_sets_are_refused_naming_the_task():
    rows = [r for v in "ab" for s in (0, 1) for r in _run(v, "t", s, "de", [0, 1], [0, 1], draw=s)]
    rows += [{**r, "seed": 2, "id": r["id"].replace("-d1-", "-d0-")} for r in rows if r["seed"] == 1]
    with pytest.raises(ValueError, match="task 't': the replicates' test sets are neither"):
        compare(rows, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_a_task_missing_for_one_variant_is_skipped_and_the_others_compared():
    rows = _run("a", "z", 0, "de", [0, 1], [0, 1])  # B never ran z, which comes first
    rows += _run("a", "x", 0, "de", [0, 1], [0, 1]) + _run("b", "x", 0, "de", [0, 1], [0, 0])
    assert set(compare(rows, "a", "b", {"z": "accuracy", "x": "accuracy"}, {"z": 2, "x": 2}, LANGS)) == {"x", AVERAGE}


def test_tasks_with_different_numbers_of_replicates_cannot_share_a_column():
    rows = [r for v in "ab" for s in (0, 1, 2) for r in _run(v, "x", s, "de", [0, 1], [s % 2, 1], draw=s)]
    rows += [r for v in "ab" for s in (0, 1) for r in _run(v, "y", s, "de", [0, 1], [0, s % 2], draw=s)]
    with pytest.raises(ValueError, match=r"column 'average': its tasks have different numbers of replicates \[2, 3\]"):
        compare(rows, "a", "b", {"x": "accuracy", "y": "accuracy"}, {"x": 2, "y": 2}, LANGS)


def test_missing_predictions_file_names_the_stage_that_writes_it(tmp_path):
    with pytest.raises(DataError, match="`xcrl evaluate` writes it"):
        read_predictions([tmp_path / "predictions.jsonl"])
