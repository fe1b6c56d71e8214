"""The paired, hierarchical bootstrap of significance.py on tiny synthetic predictions, checked against sklearn and
against hand-built runs whose noise is all in the seeds."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from xcrl_cli.evaluation.significance import AVERAGE, compare, read_predictions, replicate_differences

LANGS = ("de", "fr", "sw")


def _run(variant: str, task: str, seed: int, lang: str, gold, pred) -> list[dict]:
    return [{"variant": variant, "task": task, "seed": seed, "id": f"{task}-{lang}-{i}", "lang": lang,
             "label": int(g), "pred": int(p)} for i, (g, p) in enumerate(zip(gold, pred, strict=True))]


def _renamed(rows: list[dict], variant: str) -> list[dict]:
    return [{**r, "variant": variant} for r in rows]


def _sklearn_cell(rows: list[dict], variant: str, task: str, metric: str, n_labels: int) -> float:
    """The report's cell, written the obvious way: sklearn per seed and language, mean over languages, × 100,
    mean over seeds."""
    mine = [r for r in rows if r["variant"] == variant and r["task"] == task and r["lang"] in LANGS]
    per_seed = []
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
        per_seed.append(float(np.mean(per_lang)))
    return float(np.mean(100.0 * np.array(per_seed)))


def _random_runs(rng: np.random.Generator, variant: str, task: str, seeds, sizes: dict[str, int], n_gold: int,
                 n_pred: int) -> list[dict]:
    """Gold labels fixed per task and language (drawn from a generator seeded by them), predictions random."""
    rows = []
    for lang, n in sizes.items():
        gold = np.random.default_rng(zlib.crc32(f"{task}-{lang}".encode())).integers(0, n_gold, n)
        for seed in seeds:
            rows += _run(variant, task, seed, lang, gold, rng.integers(0, n_pred, n))
    return rows


def _accuracy_task(variant: str, seeds, correct, n: int = 100, n_labels: int = 3) -> list[dict]:
    """Task `t` in every language of LANGS; `correct(seed, lang, i)` says whether example i is predicted right."""
    rows = []
    for lang in LANGS:
        gold = np.arange(n) % n_labels
        for seed in seeds:
            pred = [g if correct(seed, lang, i) else (g + 1) % n_labels for i, g in enumerate(gold)]
            rows += _run(variant, "t", seed, lang, gold, pred)
    return rows


def test_observed_difference_is_a_minus_b_of_the_sklearn_cells():
    rng = np.random.default_rng(1)
    tasks = {"acc": ("accuracy", 3, 3), "bin": ("f1", 2, 2), "macro": ("macro_f1", 4, 3)}  # macro: class 3 never gold
    sizes = {"de": 20, "fr": 35, "sw": 50, "en": 40}  # en is not a target language: ignored
    rows = []
    for task, (_metric, n_labels, n_gold) in tasks.items():
        task_sizes = {k: v for k, v in sizes.items() if not (task == "macro" and k == "sw")}  # a test set without sw
        rows += _random_runs(rng, "a", task, (0, 1, 2), task_sizes, n_gold, n_labels)
        rows += _random_runs(rng, "b", task, (0, 1, 2), task_sizes, n_gold, n_labels)
        rows += _random_runs(rng, "c", task, (0,), task_sizes, n_gold, n_labels)  # not compared: ignored
    task_metric = {task: metric for task, (metric, _, _) in tasks.items()}
    n_labels = {task: k for task, (_, k, _) in tasks.items()}

    result = compare(rows, "a", "b", task_metric, n_labels, LANGS, n_boot=50)

    expected = {task: _sklearn_cell(rows, "a", task, m, n_labels[task])
                - _sklearn_cell(rows, "b", task, m, n_labels[task]) for task, m in task_metric.items()}
    assert set(result) == {*tasks, AVERAGE}
    for task, diff in expected.items():
        assert abs(diff) > 0.5  # random predictions: the cells really differ, so the check has teeth
        assert result[task].observed == pytest.approx(diff, abs=1e-9)
        assert result[task].low <= result[task].observed <= result[task].high
        assert result[task].n_seeds == 3
    assert result[AVERAGE].observed == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    assert result[AVERAGE].low <= result[AVERAGE].observed <= result[AVERAGE].high


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
    perfect = _accuracy_task("a", (0, 1), lambda seed, lang, i: True)
    chance = _accuracy_task("b", (0, 1), lambda seed, lang, i: rng.random() < 1 / 3)
    rows = perfect + chance

    a_vs_b = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS, n_boot=500)["t"]
    b_vs_a = compare(rows, "b", "a", {"t": "accuracy"}, {"t": 3}, LANGS, n_boot=500)["t"]

    assert 55 < a_vs_b.observed < 80  # 100 % against about 33 %
    assert 0 < a_vs_b.low < a_vs_b.observed < a_vs_b.high < 100
    assert a_vs_b.significant and a_vs_b.p_value == 0.0
    assert b_vs_a.observed == -a_vs_b.observed
    assert b_vs_a.high < 0 and b_vs_a.significant


def test_pairing_cancels_the_errors_both_variants_make():
    # B makes every mistake A makes plus 10 % more, so on any resample of the same examples B is never better.
    a = _accuracy_task("a", (0,), lambda seed, lang, i: i % 10 < 6)
    b = _accuracy_task("b", (0,), lambda seed, lang, i: i % 10 < 5)

    observed, replicates, n_seeds = replicate_differences(a + b, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS,
                                                          n_boot=1000)["t"]

    assert observed == pytest.approx(10.0, abs=1e-9) and n_seeds == 1
    assert replicates.min() >= 0  # unpaired resampling of two 60 % / 50 % runs would give A < B now and then
    assert 8 < replicates.mean() < 12 and replicates.std() < 3


def test_same_seed_same_result_other_seed_other_replicates():
    rng = np.random.default_rng(4)
    rows = _random_runs(rng, "a", "t", (0, 1), {"de": 40, "fr": 40}, 2, 2)
    rows += _random_runs(rng, "b", "t", (0, 1), {"de": 40, "fr": 40}, 2, 2)
    args = (rows, "a", "b", {"t": "f1"}, {"t": 2}, LANGS)

    assert compare(*args, n_boot=300, seed=7) == compare(*args, n_boot=300, seed=7)
    first = replicate_differences(*args, n_boot=300, seed=7)["t"]
    other = replicate_differences(*args, n_boot=300, seed=8)["t"]
    assert first[0] == other[0]  # the observed value does not depend on the bootstrap seed
    assert not np.array_equal(first[1], other[1])
    assert compare(*args, n_boot=300, seed=7)["t"] != compare(*args, n_boot=300, seed=8)["t"]


def _seed_noise_only(variant: str, right_on_seeds, n: int = 30) -> list[dict]:
    """Three seeds, task `t` in every language: every example right on the seeds of `right_on_seeds`, every one
    wrong on the others."""
    return _accuracy_task(variant, (0, 1, 2), lambda seed, lang, i: seed in right_on_seeds, n=n)


def test_seed_noise_that_example_resampling_cannot_see_is_not_called_significant():
    # A beats B by 100 points on seeds 0 and 1 and loses by 100 on seed 2: per example, A − B averaged over seeds
    # is +1/3 everywhere, so however the examples are drawn the pooled difference is +33.3 (no example-level noise);
    # all the noise is in which seeds were trained.
    rows = _seed_noise_only("a", {0, 1}) + _seed_noise_only("b", {2})
    n = 30 * len(LANGS)
    correct = {v: np.array([[r["label"] == r["pred"] for r in rows if r["variant"] == v and r["seed"] == s]
                            for s in (0, 1, 2)], dtype=float) for v in ("a", "b")}  # (seeds, examples), all langs
    # The old scheme by hand: resample examples only (stratification cannot matter here), pool over seeds.
    weights = np.random.default_rng(0).multinomial(n, np.full(n, 1 / n), size=500)
    pooled = [100 * np.mean(correct["a"] @ w - correct["b"] @ w) / n for w in weights]
    assert np.allclose(pooled, 100 / 3)  # every replicate: the interval is one point away from 0, "significant"

    c = compare(rows, "a", "b", {"t": "accuracy"}, {"t": 3}, LANGS, n_boot=1000)["t"]

    assert c.observed == pytest.approx(100 / 3, abs=1e-9)
    assert c.n_seeds == 3
    # Seed draws with seed 2 at least twice (7 in 27) give A − B ≤ −33.3: the interval spans 0.
    assert c.low < 0 < c.observed < c.high and not c.significant
    assert 0.35 < c.p_value < 0.7


def test_different_seed_sets_are_refused_naming_both():
    rng = np.random.default_rng(7)
    rows = _random_runs(rng, "a", "t", (0, 1, 2), {"de": 10}, 2, 2)
    rows += _random_runs(rng, "b", "t", (0, 1), {"de": 10}, 2, 2)

    with pytest.raises(ValueError, match=r"task 't': variant 'a' has seeds \[0, 1, 2\], 'b' has \[0, 1\]"):
        compare(rows, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_average_resamples_whole_seeds_across_tasks():
    # Two tasks, the same seed effect in both: seed 2 is bad for A in both. Shared seed draws keep the tasks'
    # replicates in step, so the Average's spread is that of one task, not shrunk as independent draws would.
    rows = []
    for task in ("x", "y"):
        rows += [{**r, "task": task} for r in _seed_noise_only("a", {0, 1}) + _seed_noise_only("b", {2})]
    by_task = replicate_differences(rows, "a", "b", {"x": "accuracy", "y": "accuracy"}, {"x": 3, "y": 3}, LANGS,
                                    n_boot=300)

    assert np.array_equal(by_task["x"].replicates, by_task["y"].replicates)
    assert np.array_equal(by_task[AVERAGE].replicates, by_task["x"].replicates)


def test_a_subset_average_is_the_mean_of_its_tasks_replicates_and_skips_tasks_without_predictions():
    rng = np.random.default_rng(3)
    rows = []
    for task in ("x", "y", "z"):
        rows += _random_runs(rng, "a", task, (0, 1, 2), {"de": 20, "fr": 20}, 3, 3)
        rows += _random_runs(rng, "b", task, (0, 1, 2), {"de": 20, "fr": 20}, 3, 3)
    tasks = {t: "accuracy" for t in ("x", "y", "z")}
    by_task = replicate_differences(rows, "a", "b", tasks, dict.fromkeys(tasks, 3), LANGS, n_boot=200,
                                    subsets={"xz": ["x", "z", "absent"]})

    xz = by_task["xz"]
    assert xz.observed == pytest.approx((by_task["x"].observed + by_task["z"].observed) / 2)
    assert np.allclose(xz.replicates, (by_task["x"].replicates + by_task["z"].replicates) / 2)
    assert not np.allclose(xz.replicates, by_task[AVERAGE].replicates)  # y is left out
    assert xz.n_seeds == 3


def test_missing_id_is_refused_with_variant_seed_and_id():
    rng = np.random.default_rng(5)
    rows = _random_runs(rng, "a", "t", (0, 1), {"de": 10, "fr": 10}, 2, 2)
    b = [r for r in _renamed(rows, "b") if not (r["seed"] == 1 and r["id"] == "t-fr-7")]

    with pytest.raises(ValueError, match=r"variant 'b', task 't', seed 1: .*'fr'.*'t-fr-7'"):
        compare(rows + b, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_predictions_that_cannot_be_paired_are_refused():
    rows = _run("a", "t", 0, "de", [0, 1, 1], [0, 0, 1])
    relabelled = _run("b", "t", 0, "de", [0, 0, 1], [0, 0, 1])  # t-de-1 has another gold label: another example
    repeated = _renamed(rows, "b") + _renamed(rows[:1], "b")

    with pytest.raises(ValueError, match=r"gold label of ids \['t-de-1'\]"):
        compare(rows + relabelled, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)
    with pytest.raises(ValueError, match=r"variant 'b', task 't', seed 0, lang 'de', id 't-de-0': predicted twice"):
        compare(rows + repeated, "a", "b", {"t": "accuracy"}, {"t": 2}, LANGS)


def test_average_is_the_mean_over_tasks_both_variants_have():
    rng = np.random.default_rng(6)
    rows = []
    for task in ("x", "y", "z"):
        rows += _random_runs(rng, "a", task, (0, 1), {"de": 30, "sw": 30}, 3, 3)
        if task != "z":  # B was never evaluated on z
            rows += _random_runs(rng, "b", task, (0, 1), {"de": 30, "sw": 30}, 3, 3)
    three = {"x": "accuracy", "y": "macro_f1", "z": "accuracy"}
    n_labels = {"x": 3, "y": 3, "z": 3}

    result = compare(rows, "a", "b", three, n_labels, LANGS, n_boot=400)
    replicates = replicate_differences(rows, "a", "b", three, n_labels, LANGS, n_boot=400)

    assert set(result) == {"x", "y", AVERAGE}
    assert result[AVERAGE].observed == pytest.approx((result["x"].observed + result["y"].observed) / 2, abs=1e-12)
    assert np.allclose(replicates[AVERAGE][1], (replicates["x"][1] + replicates["y"][1]) / 2, rtol=0, atol=1e-12)
    # Each task has its own stream: leaving z out of the request changes nothing.
    assert compare(rows, "a", "b", {"x": "accuracy", "y": "macro_f1"}, n_labels, LANGS, n_boot=400) == result


def test_unknown_metric_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"'bleu'.*accuracy, f1, macro_f1"):
        compare([], "a", "b", {"t": "bleu"}, {"t": 2}, LANGS)


def test_read_predictions_concatenates_the_files(tmp_path):
    a = _run("a", "t", 0, "de", [0, 1], [1, 1])
    b = _run("b", "t", 0, "de", [0, 1], [0, 1])
    for name, rows in (("a", a), ("b", b)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    assert read_predictions([tmp_path / "a.jsonl", tmp_path / "b.jsonl"]) == a + b
