"""The paired t-interval over replicates of significance.py on tiny synthetic predictions, checked against sklearn
cells and hand-computed intervals (scipy's t quantiles, a hand bootstrap of a shared test set)."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from xcrl_cli.evaluation.significance import (AVERAGE, OWN_DRAWS, REPLICATES_ONLY, SHARED_TEST, compare,
                                              compare_values, holm, read_predictions, t_interval, task_differences)

LANGS = ("de", "fr", "sw")


def _run(variant: str, task: str, seed: int, lang: str, gold, pred, draw: int | None = None) -> list[dict]:
    prefix = task if draw is None else f"{task}-d{draw}"
    return [{"variant": variant, "task": task, "seed": seed, "id": f"{prefix}-{lang}-{i}", "lang": lang,
             "label": int(g), "pred": int(p)} for i, (g, p) in enumerate(zip(gold, pred, strict=True))]


def _renamed(rows: list[dict], variant: str) -> list[dict]:
    return [{**r, "variant": variant} for r in rows]


def _sklearn_cells(rows: list[dict], variant: str, task: str, metric: str, n_labels: int) -> dict[int, float]:
    """The report's cell per seed, written the obvious way: sklearn per language, mean over languages, × 100."""
    mine = [r for r in rows if r["variant"] == variant and r["task"] == task and r["lang"] in LANGS]
    out = {}
    for seed in sorted({r["seed"] for r in mine}):
        per_lang = []
        for lang in [lang for lang in LANGS if any(r["lang"] == lang for r in mine)]:
            gold = np.array([r["label"] for r in mine if r["seed"] == seed and r["lang"] == lang])
            pred = np.array([r["pred"] for r in mine if r["seed"] == seed and r["lang"] == lang])
            if metric == "accuracy":
                per_lang.append(accuracy_score(gold, pred))
            elif metric == "f1":
                per_lang.append(f1_score(gold, pred, pos_label=1, average="binary", zero_division=0))
            else:
                per_lang.append(f1_score(gold, pred, labels=list(range(n_labels)), average="macro", zero_division=0))
        out[seed] = 100.0 * float(np.mean(per_lang))
    return out


def _random_runs(rng: np.random.Generator, variant: str, task: str, seeds, sizes: dict[str, int], n_gold: int,
                 n_pred: int, own_draws: bool = False) -> list[dict]:
    """Gold labels per task, language (and draw: the seed's own when `own_draws`), predictions random."""
    rows = []
    for lang, n in sizes.items():
        for seed in seeds:
            key = f"{task}-{lang}-{seed if own_draws else ''}"
            gold = np.random.default_rng(zlib.crc32(key.encode())).integers(0, n_gold, n)
            rows += _run(variant, task, seed, lang, gold, rng.integers(0, n_pred, n), seed if own_draws else None)
    return rows


def _hand_t(d, level=0.95):
    d = np.asarray(d, dtype=float)
    se = d.std(ddof=1) / math.sqrt(len(d))
    q = stats.t.ppf(0.5 + level / 2, len(d) - 1)
    return d.mean(), d.mean() - q * se, d.mean() + q * se


@pytest.mark.parametrize("own_draws", [False, True])
def test_observed_difference_is_the_mean_over_replicates_of_the_sklearn_cells(own_draws):
    rng = np.random.default_rng(1)
    tasks = {"acc": ("accuracy", 3, 3), "bin": ("f1", 2, 2), "macro": ("macro_f1", 4, 3)}  # macro: class 3 never gold
    sizes = {"de": 20, "fr": 35, "sw": 50, "en": 40}  # en is not a target language: ignored
    rows = []
    for task, (_metric, n_labels, n_gold) in tasks.items():
        task_sizes = {k: v for k, v in sizes.items() if not (task == "macro" and k == "sw")}  # a test set without sw
        for v in ("a", "b"):
            rows += _random_runs(rng, v, task, (0, 1, 2), task_sizes, n_gold, n_labels, own_draws)
        rows += _random_runs(rng, "c", task, (0,), task_sizes, n_gold, n_labels, own_draws)  # not compared: ignored
    task_metric = {task: metric for task, (metric, _, _) in tasks.items()}
    n_labels = {task: k for task, (_, k, _) in tasks.items()}

    result = compare(rows, "a", "b", task_metric, n_labels, LANGS, n_boot=50)

    per_seed = {}
    for task, m in task_metric.items():
        a, b = (_sklearn_cells(rows, v, task, m, n_labels[task]) for v in ("a", "b"))
        per_seed[task] = [a[s] - b[s] for s in (0, 1, 2)]
    assert set(result) == {*tasks, AVERAGE}
    for task, d in per_seed.items():
        assert abs(np.mean(d)) > 0.5  # random predictions: the cells really differ, so the check has teeth
        c = result[task]
        assert c.observed == pytest.approx(np.mean(d), abs=1e-9)
        assert c.low < c.observed < c.high and c.n_replicates == 3
        assert c.resampled == (OWN_DRAWS if own_draws else SHARED_TEST)
    average = np.mean(list(per_seed.values()), axis=0)  # replicate by replicate, then over replicates
    assert result[AVERAGE].observed == pytest.approx(average.mean(), abs=1e-9)
    if own_draws:  # nothing but the replicates' spread: exactly Student's interval of the per-replicate differences
        for column, d in [*per_seed.items(), (AVERAGE, average)]:
            mean, low, high = _hand_t(d)
            assert (result[column].low, result[column].high) == pytest.approx((low, high), abs=1e-9)
            assert result[column].df == 2


def test_t_interval_and_p_value_match_a_hand_computation():
    d = [1.0, 3.0, 2.5, -0.5, 4.0]
    mean, low, high, p, df = t_interval(d, 0.95)

    se = np.std(d, ddof=1) / math.sqrt(5)  # 0.7826...
    assert mean == pytest.approx(2.0)
    assert (low, high) == pytest.approx((2.0 - 2.7764451 * se, 2.0 + 2.7764451 * se), abs=1e-6)
    assert p == pytest.approx(2 * stats.t.sf(2.0 / se, 4)) and df == 4
    # The interval excludes 0 exactly when p < 1 − level.
    assert (low > 0) == (p < 0.05)
    _, low90, high90, _, _ = t_interval(d, 0.90)
    assert low < low90 < high90 < high


def test_example_variance_widens_the_interval_with_welch_satterthwaite_degrees_of_freedom():
    d = [1.0, 2.0, 3.0]
    between = np.var(d, ddof=1) / 3  # 1/3
    mean, low, high, _, df = t_interval(d, 0.95, example_variance=between)

    assert df == pytest.approx((2 * between) ** 2 / (between ** 2 / 2))  # = 8
    assert high - mean == pytest.approx(stats.t.ppf(0.975, 8) * math.sqrt(2 * between))
    # One replicate of a shared test set: the examples' noise alone, a normal interval.
    _, low1, high1, _, df1 = t_interval([2.0], 0.95, example_variance=0.25)
    assert math.isinf(df1) and (low1, high1) == pytest.approx((2.0 - 1.959964 * 0.5, 2.0 + 1.959964 * 0.5))


def test_one_replicate_with_its_own_draw_is_not_tested():
    mean, low, high, p, _ = t_interval([3.0], 0.95)

    assert mean == 3.0 and math.isnan(low) and math.isnan(high) and math.isnan(p)
    c = compare_values({0: 0.7}, {0: 0.5}, "a", "b", "m")
    assert not c.tested and not c.significant and c.observed == pytest.approx(20.0)


def test_a_shared_test_set_adds_the_examples_noise_of_a_hand_bootstrap():
    # Every replicate gives A − B the same +10 points: no seed noise at all, only the examples'. A t-interval over
    # the replicates would be [10, 10]; the shared test set's resampling must put the examples' noise back.
    n = 200
    rows = []
    for seed in (0, 1, 2):
        for lang in LANGS:
            gold = np.arange(n) % 3
            right_a = (np.arange(n) * 7 + zlib.crc32(lang.encode())) % 10 < 6  # 60 %
            right_b = (np.arange(n) * 3 + zlib.crc32(lang.encode())) % 10 < 5  # 50 %, other examples
            rows += _run("a", "t", seed, lang, gold, np.where(right_a, gold, (gold + 1) % 3))
            rows += _run("b", "t", seed, lang, gold, np.where(right_b, gold, (gold + 1) % 3))

    c = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS, n_boot=4000)["t"]

    # By hand: per language the paired per-example differences; the mean over languages of their means has
    # standard error sqrt(Σ_l var_l / n) / 3.
    se = 0.0
    for lang in LANGS:
        pa = np.array([r["pred"] == r["label"] for r in rows if r["variant"] == "a" and r["seed"] == 0
                       and r["lang"] == lang], dtype=float)
        pb = np.array([r["pred"] == r["label"] for r in rows if r["variant"] == "b" and r["seed"] == 0
                       and r["lang"] == lang], dtype=float)
        se += np.var(pa - pb) / n
    se = 100 * math.sqrt(se) / 3
    assert c.observed == pytest.approx(10.0, abs=1e-9) and c.resampled == SHARED_TEST
    assert math.isinf(c.df)
    assert (c.high - c.low) / 2 == pytest.approx(1.959964 * se, rel=0.06)


def test_own_draws_take_no_bootstrap_and_shared_ones_follow_its_seed():
    rng = np.random.default_rng(4)
    own = [r for v in "ab" for r in _random_runs(rng, v, "t", (0, 1, 2), {"de": 40}, 2, 2, own_draws=True)]
    shared = [r for v in "ab" for r in _random_runs(rng, v, "t", (0, 1, 2), {"de": 40}, 2, 2)]
    args = ({"t": "f1"}, {"t": 2}, LANGS)

    assert compare(own, "a", "b", *args, n_boot=100, seed=1) == compare(own, "a", "b", *args, n_boot=900, seed=2)
    assert compare(shared, "a", "b", *args, n_boot=300, seed=7) == compare(shared, "a", "b", *args, n_boot=300, seed=7)
    first, other = (compare(shared, "a", "b", *args, n_boot=300, seed=s)["t"] for s in (7, 8))
    assert first.observed == other.observed and first.low != other.low


def test_identical_variants_differ_by_exactly_zero():
    rng = np.random.default_rng(2)
    rows = _random_runs(rng, "a", "t", (0, 1), {"de": 30, "fr": 30}, 3, 3)
    rows += _renamed(rows, "b")

    result = compare(rows, "a", "b", {"t": "macro_f1"}, {"t": 3}, LANGS, n_boot=200)

    for column in ("t", AVERAGE):
        c = result[column]
        assert (c.observed, c.low, c.high, c.p_value) == (0.0, 0.0, 0.0, 1.0)
        assert not c.significant


def test_perfect_against_chance_is_significant_with_the_right_sign():
    rng = np.random.default_rng(3)
    rows = []
    for seed in range(4):
        for lang in LANGS:
            gold = np.arange(100) % 3
            chance = np.where(rng.random(100) < 1 / 3, gold, (gold + 1) % 3)
            rows += _run("a", "t", seed, lang, gold, gold, draw=seed)
            rows += _run("b", "t", seed, lang, gold, chance, draw=seed)

    a_vs_b = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS)["t"]
    b_vs_a = compare(rows, "b", "a", {"t": "accuracy"}, {"t": 3}, LANGS)["t"]

    assert 55 < a_vs_b.observed < 80  # 100 % against about 33 %
    assert 0 < a_vs_b.low < a_vs_b.observed < a_vs_b.high < 100
    assert a_vs_b.significant and a_vs_b.p_value < 1e-3 and a_vs_b.resampled == OWN_DRAWS
    assert b_vs_a.observed == -a_vs_b.observed and (b_vs_a.low, b_vs_a.high) == (-a_vs_b.high, -a_vs_b.low)


def test_replicate_noise_is_not_called_significant():
    # A beats B by 100 points on replicates 0 and 1 and loses by 100 on replicate 2: every replicate's difference is
    # exactly ±100 with no example noise within it; only the replicate spread can say that +33 is not a difference.
    rows = []
    for seed in (0, 1, 2):
        for lang in LANGS:
            gold = np.arange(30) % 3
            wrong = (gold + 1) % 3
            rows += _run("a", "t", seed, lang, gold, gold if seed < 2 else wrong, draw=seed)
            rows += _run("b", "t", seed, lang, gold, wrong if seed < 2 else gold, draw=seed)

    c = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS)["t"]

    assert c.observed == pytest.approx(100 / 3, abs=1e-9)
    mean, low, high = _hand_t([100, 100, -100])
    assert (c.low, c.high) == pytest.approx((low, high)) and not c.significant
    assert c.p_value == pytest.approx(2 * stats.t.sf((100 / 3) / (np.std([100, 100, -100], ddof=1) / math.sqrt(3)),
                                                     2))


def test_average_and_subsets_are_means_of_the_tasks_replicate_by_replicate():
    rng = np.random.default_rng(3)
    rows = []
    for task in ("x", "y", "z"):
        for v in "ab":
            rows += _random_runs(rng, v, task, (0, 1, 2), {"de": 20, "fr": 20}, 3, 3, own_draws=True)
    tasks = {t: "accuracy" for t in ("x", "y", "z")}
    by_task = task_differences(rows, "a", "b", tasks, dict.fromkeys(tasks, 3), LANGS)

    result = compare(rows, "a", "b", tasks, dict.fromkeys(tasks, 3), LANGS, subsets={"xz": ["x", "z", "absent"]})

    xz = (by_task["x"].per_replicate + by_task["z"].per_replicate) / 2
    assert (result["xz"].observed, result["xz"].low) == pytest.approx((xz.mean(), _hand_t(xz)[1]))
    every = (by_task["x"].per_replicate + by_task["y"].per_replicate + by_task["z"].per_replicate) / 3
    assert (result[AVERAGE].observed, result[AVERAGE].high) == pytest.approx((every.mean(), _hand_t(every)[2]))
    assert result["xz"].observed != pytest.approx(result[AVERAGE].observed)  # y is left out


def test_average_is_over_the_tasks_both_variants_have():
    rng = np.random.default_rng(6)
    rows = []
    for task in ("x", "y", "z"):
        rows += _random_runs(rng, "a", task, (0, 1), {"de": 30, "sw": 30}, 3, 3)
        if task != "z":  # B was never evaluated on z
            rows += _random_runs(rng, "b", task, (0, 1), {"de": 30, "sw": 30}, 3, 3)
    three = {"x": "accuracy", "y": "macro_f1", "z": "accuracy"}
    n_labels = {"x": 3, "y": 3, "z": 3}

    result = compare(rows, "a", "b", three, n_labels, LANGS, n_boot=400)

    assert set(result) == {"x", "y", AVERAGE}
    assert result[AVERAGE].observed == pytest.approx((result["x"].observed + result["y"].observed) / 2, abs=1e-12)
    # Each task has its own example stream: leaving z out of the request changes nothing.
    assert compare(rows, "a", "b", {"x": "accuracy", "y": "macro_f1"}, n_labels, LANGS, n_boot=400) == result


def test_compare_values_is_students_interval_of_the_paired_differences_in_points():
    a = {0: 0.50, 1: 0.62, 2: 0.58, 3: 0.55}
    b = {0: 0.45, 1: 0.50, 2: 0.57, 3: 0.49}

    c = compare_values(a, b, "a", "b", "lang_id_acc", resampled=REPLICATES_ONLY)

    mean, low, high = _hand_t([5.0, 12.0, 1.0, 6.0])
    assert (c.observed, c.low, c.high) == pytest.approx((mean, low, high))
    assert c.resampled == REPLICATES_ONLY and c.n_replicates == 4
    with pytest.raises(ValueError, match=r"lang_id_acc: variant 'a' has seeds \[0, 1, 2, 3\], 'b' has \[0, 1\]"):
        compare_values(a, {0: 0.1, 1: 0.2}, "a", "b", "lang_id_acc")


def test_holm_adjusts_step_down_and_keeps_untested_claims_out_of_the_family():
    p = [0.01, 0.04, math.nan, 0.03, 0.5]

    adjusted = holm(p)

    # Sorted: 0.01 × 4, 0.03 × 3, 0.04 × 2, 0.5 × 1, each at least the one before.
    assert adjusted[0] == pytest.approx(0.04) and adjusted[3] == pytest.approx(0.09)
    assert adjusted[1] == pytest.approx(0.09) and adjusted[4] == pytest.approx(0.5)
    assert math.isnan(adjusted[2])


def test_different_seed_sets_are_refused_naming_both():
    rng = np.random.default_rng(7)
    rows = _random_runs(rng, "a", "t", (0, 1, 2), {"de": 10}, 2, 2)
    rows += _random_runs(rng, "b", "t", (0, 1), {"de": 10}, 2, 2)

    with pytest.raises(ValueError, match=r"task 't': variant 'a' has seeds \[0, 1, 2\], 'b' has \[0, 1\]"):
        compare(rows, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_test_sets_neither_shared_nor_disjoint_are_refused():
    rng = np.random.default_rng(8)
    rows = [r for v in "ab" for r in _random_runs(rng, v, "t", (0, 1), {"de": 10}, 2, 2, own_draws=True)]
    rows += [{**r, "seed": 2} for r in rows if r["seed"] == 0]  # seed 2 tested on seed 0's draw

    with pytest.raises(ValueError, match="neither the same nor disjoint"):
        compare(rows, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


@pytest.mark.parametrize("own_draws", [False, True])
def test_missing_id_is_refused_with_variant_seed_and_id(own_draws):
    rng = np.random.default_rng(5)
    rows = _random_runs(rng, "a", "t", (0, 1), {"de": 10, "fr": 10}, 2, 2, own_draws)
    missing = "t-d1-fr-7" if own_draws else "t-fr-7"
    b = [r for r in _renamed(rows, "b") if not (r["seed"] == 1 and r["id"] == missing)]

    with pytest.raises(ValueError, match=rf"variant 'b', task 't', seed 1: .*'fr'.*'{missing}'"):
        compare(rows + b, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_predictions_that_cannot_be_paired_are_refused():
    rows = _run("a", "t", 0, "de", [0, 1, 1], [0, 0, 1])
    relabelled = _run("b", "t", 0, "de", [0, 0, 1], [0, 0, 1])  # t-de-1 has another gold label: another example
    repeated = _renamed(rows, "b") + _renamed(rows[:1], "b")

    with pytest.raises(ValueError, match=r"gold label of ids \['t-de-1'\]"):
        compare(rows + relabelled, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)
    with pytest.raises(ValueError, match=r"variant 'b', task 't', seed 0, lang 'de', id 't-de-0': predicted twice"):
        compare(rows + repeated, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_unknown_metric_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"'bleu'.*accuracy, f1, macro_f1"):
        compare([], "a", "b", {"t": "bleu"}, {"t": 2}, LANGS)


def test_read_predictions_concatenates_the_files(tmp_path):
    a = _run("a", "t", 0, "de", [0, 1], [1, 1])
    b = _run("b", "t", 0, "de", [0, 1], [0, 1])
    for name, rows in (("a", a), ("b", b)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    assert read_predictions([tmp_path / "a.jsonl", tmp_path / "b.jsonl"]) == a + b
