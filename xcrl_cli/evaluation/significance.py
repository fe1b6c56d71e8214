"""Is variant A's Table 2/3 cell really different from variant B's? A paired, hierarchical bootstrap.

A cell (variant, task) is, per seed, the task metric computed on each target language's test examples and averaged
over the languages, then the mean over seeds; the `average` column is the mean over tasks. Two sources of noise
move a cell: which seeds were trained (at this scale the larger one: two runs that differ only in their seed can be
points apart) and which examples the test set happens to hold. The bootstrap resamples both, and recomputes both
cells on each replicate:

* Seeds, with replacement: a replicate draws as many seeds as were run, and the cell is the mean over the drawn
  seeds (a seed drawn twice counts twice). Seeds enter as whole units, as the report's ± over seeds treats them.
* Test examples, with replacement, within each language (stratified): as many ids as the language has, so every
  replicate keeps the test set's language mix and the cell stays a mean over the same languages. Every seed is
  evaluated on the same test set, so seeds and examples are crossed, not nested: one example draw per replicate
  holds for all its drawn seeds, as the test set did (independent draws per seed would average the example noise
  away over seeds, which the real test set never does).
* Paired: A and B get the *same* seed draw and the *same* example draw. Seed s of A and seed s of B share their
  batch order, and both variants see the same examples, so the noise that hits both (a lucky order, a draw heavy in
  hard examples) cancels in A − B; unpaired resampling would see it twice and call real differences insignificant.
  Pairing by seed number needs both variants to have run the same seeds, and pairing by example needs both to have
  been evaluated on the same examples (matched by `id` within each language, with the same gold label): otherwise
  `ValueError` is raised.
* Tasks have disjoint test sets, so each task's examples are drawn independently, from a generator seeded by
  (`seed`, task name): a task's interval does not depend on which other tasks are compared. The seed draw comes from
  a generator seeded by (`seed`, number of seeds) and picks positions in each task's sorted seed list, so tasks run
  with the same seeds (the report's Average requires it) share it: the `average` column's replicate r, the mean over
  tasks of their replicate-r differences, resamples whole seeds across tasks. A task missing for either variant is
  left out.

With one seed only example-level noise is resampled, and the result says so (`Comparison.n_seeds`). With a few seeds
the seed draw is coarse (3 seeds give 10 distinct multisets) and, as any bootstrap over few units, it understates
the seed variance (by the factor (m − 1) / m for m seeds): an interval that excludes 0 is necessary evidence of a
difference, not proof of one.

Reported, in percentage points (A − B): the observed difference (replicate 0, every seed and example once: exactly
A's cell minus B's cell computed from the predictions), the percentile interval at `level` of the replicate
differences, significance (the interval excludes 0) and a two-sided bootstrap p-value,
``p = min(1, 2 · min(share of replicates with A − B ≤ 0, share with A − B ≥ 0))``, the percentile interval's
dual: up to the quantile interpolation, the `level` interval excludes 0 exactly when p < 1 − level. p = 0 means no
replicate reached 0, i.e. p < 1 / n_boot; A identical to B gives p = 1.

Metrics are computed from per-class counts (true positives, predicted, gold) obtained as one matrix product of the
replicates' example multiplicities with per-example class indicators, so no per-replicate Python loop is needed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from xcrl_cli.io import read_jsonl

METRICS = ("accuracy", "f1", "macro_f1")
AVERAGE = "average"

# variant -> task -> seed -> lang -> id -> (label, pred)
Runs = dict[str, dict[str, dict[int, dict[str, dict[str, tuple[int, int]]]]]]


@dataclass(frozen=True)
class Comparison:
    """A − B on one column (a task or `average`), in percentage points."""

    a: str
    b: str
    column: str
    observed: float
    low: float
    high: float
    p_value: float
    n_boot: int
    level: float
    n_seeds: int  # seeds resampled (the fewest over the tasks of `average`); 1: example-level noise only

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def read_predictions(paths: Iterable[Path]) -> list[dict]:
    """The rows of several `predictions.jsonl` files (one per variant), in file order."""
    return [row for path in paths for row in read_jsonl(Path(path))]


def _check_tasks(task_metric: Mapping[str, str], n_labels: Mapping[str, int]) -> None:
    for task, metric in task_metric.items():
        if metric not in METRICS:
            raise ValueError(f"task {task!r}: unknown metric {metric!r}; valid metrics: {', '.join(METRICS)}")
        if task not in n_labels:
            raise ValueError(f"task {task!r}: no entry in n_labels ({dict(n_labels)})")
        if metric == "f1" and n_labels[task] != 2:
            raise ValueError(f"task {task!r}: metric 'f1' is binary F1 of class 1, but n_labels is {n_labels[task]}")


def _group(predictions: Iterable[dict], variants: Sequence[str], n_labels: Mapping[str, int],
           langs: Sequence[str]) -> Runs:
    """The rows of `variants` on the tasks of `n_labels` in `langs`, indexed; a repeated id or a label outside
    0..n_labels-1 is refused, since either would silently change the metric."""
    runs: Runs = {v: {} for v in variants}
    wanted_langs = set(langs)
    for row in predictions:
        variant, task, lang = row["variant"], row["task"], row["lang"]
        if variant not in runs or task not in n_labels or lang not in wanted_langs:
            continue
        seed, example = int(row["seed"]), row["id"]
        label, pred = int(row["label"]), int(row["pred"])
        if not (0 <= label < n_labels[task] and 0 <= pred < n_labels[task]):
            raise ValueError(f"{_where(row)}: label {label} / pred {pred} outside 0..{n_labels[task] - 1}")
        by_id = runs[variant].setdefault(task, {}).setdefault(seed, {}).setdefault(lang, {})
        if example in by_id:
            raise ValueError(f"{_where(row)}: predicted twice")
        by_id[example] = (label, pred)
    return runs


def _where(row: Mapping) -> str:
    return (f"variant {row['variant']!r}, task {row['task']!r}, seed {row['seed']}, lang {row['lang']!r}, "
            f"id {row['id']!r}")


def _reference_ids(runs_a: Mapping, runs_b: Mapping, langs: Sequence[str]) -> dict[str, list[str]]:
    """Per language (in the order of `langs`), every id any run of A or B predicted: what each run must cover."""
    ids: dict[str, set[str]] = {}
    for runs in (runs_a, runs_b):
        for by_lang in runs.values():
            for lang, by_id in by_lang.items():
                ids.setdefault(lang, set()).update(by_id)
    return {lang: sorted(ids[lang]) for lang in langs if lang in ids}


def _check_seeds(a: str, b: str, task: str, runs_a: Mapping, runs_b: Mapping) -> None:
    if sorted(runs_a) != sorted(runs_b):
        raise ValueError(
            f"task {task!r}: variant {a!r} has seeds {sorted(runs_a)}, {b!r} has {sorted(runs_b)}; the paired "
            "bootstrap pairs seed s of one with seed s of the other (they share batch order), so both need the same "
            "seeds (train.seeds)")


def _check_paired(variant: str, task: str, runs: Mapping, reference: Mapping[str, list[str]]) -> None:
    for seed, by_lang in sorted(runs.items()):
        for lang, ids in reference.items():
            have = by_lang.get(lang, {})
            missing = [i for i in ids if i not in have]
            if missing:
                raise ValueError(
                    f"variant {variant!r}, task {task!r}, seed {seed}: no prediction for {len(missing)} of the "
                    f"{len(ids)} {lang!r} test ids the compared runs have, e.g. {missing[:5]}; a paired comparison "
                    "needs both variants evaluated on the same examples")


def _check_gold(task: str, runs: Iterable[Mapping], reference: Mapping[str, list[str]]) -> None:
    """Matched ids must carry the same gold label in every run, or they are not the same examples."""
    for lang, ids in reference.items():
        gold = {tuple(by_lang[lang][i][0] for i in ids) for seeds in runs for by_lang in seeds.values()}
        if len(gold) > 1:
            labels = np.array(sorted(gold))
            differing = [ids[j] for j in np.flatnonzero((labels != labels[0]).any(axis=0))]
            raise ValueError(f"task {task!r}, lang {lang!r}: runs disagree on the gold label of ids {differing[:5]}")


def _indicators(runs: Mapping, lang: str, ids: Sequence[str], n_labels: int) -> np.ndarray:
    """(seeds, examples, 3·n_labels) 0/1 columns: correct and of class k, predicted k, gold k."""
    pairs = np.array([[runs[seed][lang][i] for i in ids] for seed in sorted(runs)])
    classes = np.arange(n_labels)
    gold, pred = pairs[..., 0, None] == classes, pairs[..., 1, None] == classes
    return np.concatenate([gold & pred, pred, gold], axis=-1).astype(np.float64)


def _score(counts: np.ndarray, n: int, metric: str, n_labels: int) -> np.ndarray:
    """The metric from (..., 3·n_labels) counts, as sklearn computes it (per-class F1 = 2·tp / (gold + predicted),
    0 where a class is neither gold nor predicted, i.e. zero_division=0)."""
    tp, predicted, gold = counts[..., :n_labels], counts[..., n_labels:2 * n_labels], counts[..., 2 * n_labels:]
    if metric == "accuracy":
        return tp.sum(axis=-1) / n
    denom = gold + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1[..., 1] if metric == "f1" else f1.mean(axis=-1)


def _resample(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """(1 + n_boot, n) multiplicities of n items: row 0 each once, so the observed value comes from the very code
    the replicates use, then n_boot draws of n items with replacement."""
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    return np.vstack([np.ones((1, n)), counts]).astype(np.float64)


def _counts(weights: np.ndarray, indicators: np.ndarray) -> np.ndarray:
    """(runs, rows, columns) weighted sums of (runs, examples, columns) indicators by (rows, examples) weights, as
    one matrix product: with ~150 examples a product costs less than a BLAS call's overhead, so fewer calls win."""
    runs, n, columns = indicators.shape
    flat = weights @ indicators.transpose(1, 0, 2).reshape(n, runs * columns)
    return flat.reshape(len(weights), runs, columns).transpose(1, 0, 2)


def _per_seed(runs_a: Mapping, runs_b: Mapping, weights: Mapping[str, np.ndarray],
              reference: Mapping[str, list[str]], metric: str, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's (seeds, rows) per-seed cells, in percent: for each row of example weights, the metric per language
    averaged over the languages."""
    per_lang = []
    for lang, ids in reference.items():
        indicators = np.concatenate([_indicators(runs, lang, ids, n_labels) for runs in (runs_a, runs_b)])
        per_lang.append(_score(_counts(weights[lang], indicators), len(ids), metric, n_labels))  # (seeds, rows)
    # Same order of operations as the report (report/cells.py: mean over languages, × 100, then over seeds).
    per_seed = 100.0 * np.mean(per_lang, axis=0)
    return per_seed[:len(runs_a)], per_seed[len(runs_a):]


def _over_seeds(per_seed: np.ndarray, seed_weights: np.ndarray) -> np.ndarray:
    """(rows,) cells: row r's mean over seeds, each seed counted as often as row r of (rows, seeds) drew it."""
    return (seed_weights * per_seed.T).sum(axis=1) / per_seed.shape[0]


def _task_rng(seed: int, task: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])


def _seed_rng(seed: int, n_seeds: int) -> np.random.Generator:
    """The seed draw's stream: it depends on the number of seeds only, so tasks run with the same seeds share it."""
    return np.random.default_rng([seed, zlib.crc32(b"seeds"), n_seeds])


class Replicates(NamedTuple):
    """One column's A − B, in points: observed (every seed and example once), the n_boot replicates, seeds drawn."""

    observed: float
    replicates: np.ndarray
    n_seeds: int


def replicate_differences(predictions: Iterable[dict], a: str, b: str, task_metric: Mapping[str, str],
                          n_labels: Mapping[str, int], langs: Sequence[str], n_boot: int = 1000,
                          seed: int = 0, subsets: Mapping[str, Sequence[str]] | None = None) -> dict[str, Replicates]:
    """Per task both variants have, `average`, and each of `subsets` (column -> tasks: the average over those of its
    tasks both variants have, from the same replicates): the observed A − B and its n_boot replicates, in points."""
    _check_tasks(task_metric, n_labels)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    runs = _group(predictions, (a, b), n_labels, langs)
    diffs: dict[str, np.ndarray] = {}
    n_seeds: dict[str, int] = {}
    for task, metric in task_metric.items():
        runs_a, runs_b = runs[a].get(task), runs[b].get(task)
        if not runs_a or not runs_b:
            continue
        _check_seeds(a, b, task, runs_a, runs_b)
        reference = _reference_ids(runs_a, runs_b, langs)
        _check_paired(a, task, runs_a, reference)
        _check_paired(b, task, runs_b, reference)
        _check_gold(task, (runs_a, runs_b), reference)
        rng = _task_rng(seed, task)
        weights = {lang: _resample(rng, len(ids), n_boot) for lang, ids in reference.items()}
        seed_weights = _resample(_seed_rng(seed, len(runs_a)), len(runs_a), n_boot)
        per_seed_a, per_seed_b = _per_seed(runs_a, runs_b, weights, reference, metric, n_labels[task])
        diffs[task] = _over_seeds(per_seed_a, seed_weights) - _over_seeds(per_seed_b, seed_weights)
        n_seeds[task] = len(runs_a)
    if not diffs:
        raise ValueError(f"no task of {list(task_metric)} has predictions in {list(langs)} for both {a!r} and {b!r}")
    groups = {AVERAGE: list(diffs), **{column: [t for t in tasks if t in diffs]
                                       for column, tasks in (subsets or {}).items()}}
    for column, tasks in groups.items():
        if tasks:
            diffs[column] = np.mean([diffs[t] for t in tasks], axis=0)
            n_seeds[column] = min(n_seeds[t] for t in tasks)
    return {column: Replicates(float(d[0]), d[1:], n_seeds[column]) for column, d in diffs.items()}


def _p_value(replicates: np.ndarray) -> float:
    return float(min(1.0, 2 * min(np.mean(replicates <= 0), np.mean(replicates >= 0))))


def compare(predictions: Iterable[dict], a: str, b: str, task_metric: Mapping[str, str], n_labels: Mapping[str, int],
            langs: Sequence[str], n_boot: int = 1000, seed: int = 0, level: float = 0.95,
            subsets: Mapping[str, Sequence[str]] | None = None) -> dict[str, Comparison]:
    """A − B per task both variants have, for `average` and for each of `subsets` (see `replicate_differences`),
    with a `level` percentile interval and p-value.

    `task_metric` maps task -> one of METRICS, `n_labels` task -> number of classes, `langs` are the target
    languages (rows in other languages are ignored; a task lacking some of them uses those it has). Seeds and test
    examples are resampled as the module docstring says.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    out = {}
    tail = (1 - level) / 2
    for column, (observed, replicates, n_seeds) in replicate_differences(
            predictions, a, b, task_metric, n_labels, langs, n_boot, seed, subsets).items():
        low, high = np.quantile(replicates, [tail, 1 - tail])
        out[column] = Comparison(a, b, column, observed, float(low), float(high), _p_value(replicates), n_boot, level,
                                 n_seeds)
    return out
