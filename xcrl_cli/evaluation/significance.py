"""Is variant A's number really different from variant B's? A paired t-interval over replicates.

A *replicate* is one run of every variant: on the embedded benchmark a fresh draw of the task data (train, dev and
test examples, where the cue lands) trained with its own seed; at the paper scale, where the data are fixed, a
training seed. Both variants of a replicate see the same data and the same seed number, so their difference
d_r = A_r − B_r is paired: what the draw does to both cancels. What the seed does cancels only in part: the same
seed gives the same batches only to variants that encode the same segments (ERM and Proposed, whose batches also
carry pairs and counterfactuals, share about 4 % of their batches at one seed), so most of the seed's effect is
not common to A and B and stays in the spread of the d_r, which the interval counts. A Table 2/3 cell (variant,
task) of replicate r is the task metric on each target language's test examples, averaged over the languages, as the
report computes it (`report/cells.py`); `average` is the mean of the replicate's task cells; a subset column the
mean of its tasks'.

The interval counts every source of noise there is:

* Replicates with their own draws (each replicate's test set its own): d_1 … d_R are independent and identically
  distributed, and the draw's, the seed's *and* the test examples' noise are all in their spread. The interval is
  Student's: d̄ ± t_{R−1, (1+level)/2} · s/√R, with s the sample standard deviation of the d_r. A bootstrap over
  R = 5 replicates would understate the spread (by (R − 1)/R, with a percentile interval that 5 units make coarse);
  the t-interval is exact for normal d_r, and `tests/test_calibration.py` simulates the pipeline's measured noise
  with no true difference and shows it calls 'significant' at its nominal rate.
* Replicates sharing one test set (the paper's datasets): the test examples' noise is common to every replicate and
  absent from their spread, so it is added: se² = s²/R + V_ex, V_ex the variance of d̄ over `n_boot` resamples of
  the test examples (within each language, one resample shared by every replicate and both variants), degrees of
  freedom by Welch–Satterthwaite with V_ex taken as known. With one seed only V_ex remains (a normal interval).
* One replicate with its own draw: nothing measures the spread, no interval (NaN bounds, never significant).

Reported, in percentage points: the observed mean difference d̄, the interval at `level`, significance (the interval
excludes 0) and the two-sided p-value of the same t statistic, 2 · P(T_df > |d̄| / se): the interval excludes 0
exactly when p < 1 − level. `holm` adjusts a family's p-values (Holm 1979), which the report uses to say how many
claims survive a family-wise 5 %.

Pairing by replicate needs both variants to have run the same seeds, and pairing within a replicate needs both to
have been evaluated on the same examples (matched by `id` within each language, with the same gold label): otherwise
`ValueError`. Test sets are recognised from the ids: identical in every replicate (shared) or disjoint (own draws);
anything between is refused. Metrics are computed from per-class counts (true positives, predicted, gold) as one
matrix product of example multiplicities with per-example class indicators.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from xcrl_cli.io import read_jsonl

from .columns import PREDICTION_KEYS

METRICS = ("accuracy", "f1", "macro_f1")
AVERAGE = "average"
# What a comparison's interval counted: each replicate's own draw (draw, seed and examples), the seeds and a shared
# test set's examples, or the seeds alone (per-replicate values, such as a probe's, of a shared test set).
OWN_DRAWS, SHARED_TEST, REPLICATES_ONLY = "draws", "seeds+examples", "seeds"

# variant -> task -> seed -> lang -> id -> (label, pred)
Runs = dict[str, dict[str, dict[int, dict[str, dict[str, tuple[int, int]]]]]]


@dataclass(frozen=True)
class Comparison:
    """A − B on one column (a task, `average`, a subset or a measure), in percentage points."""

    a: str
    b: str
    column: str
    observed: float  # the mean over replicates of A_r − B_r
    low: float  # NaN when nothing measures the spread (one replicate with its own draw)
    high: float
    p_value: float
    level: float
    n_replicates: int
    df: float  # degrees of freedom of the t quantile (inf: normal)
    resampled: str  # OWN_DRAWS | SHARED_TEST | REPLICATES_ONLY

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0  # False for NaN bounds

    @property
    def tested(self) -> bool:
        return not math.isnan(self.low)


def t_interval(differences: Sequence[float], level: float, example_variance: float = 0.0
               ) -> tuple[float, float, float, float, float]:
    """(mean, low, high, p, df) of paired differences: Student's interval over the replicates, with a test set's
    example variance of the mean (shared by the replicates) added to s²/R when given (module docstring)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    x = np.asarray(differences, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no replicate to compare")
    mean = float(x.mean())
    between = float(x.var(ddof=1)) / x.size if x.size > 1 else None
    if between is None and example_variance <= 0:
        return mean, math.nan, math.nan, math.nan, 0.0
    variance = (between or 0.0) + example_variance
    if between:
        df = variance ** 2 / (between ** 2 / (x.size - 1))  # Welch–Satterthwaite; = R − 1 without example variance
    else:
        df = math.inf if example_variance > 0 else float(x.size - 1)
    if variance == 0:  # every replicate gave the same difference and no example noise was added
        return mean, mean, mean, 1.0 if mean == 0 else 0.0, df
    se = math.sqrt(variance)
    q = float(stats.t.ppf(0.5 + level / 2, df))
    p = float(2 * stats.t.sf(abs(mean) / se, df))
    return mean, mean - q * se, mean + q * se, p, df


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN, and does not count in the family)."""
    order = sorted((i for i in range(len(p_values)) if not math.isnan(p_values[i])), key=lambda i: p_values[i])
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def read_predictions(paths: Iterable[Path]) -> list[dict]:
    """The rows of several `predictions.jsonl` files (one per variant), in file order."""
    return [row for path in paths for row in read_jsonl(Path(path), PREDICTION_KEYS, "evaluate")]


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


def _reference_ids(seeds: Iterable[Mapping], langs: Sequence[str]) -> dict[str, list[str]]:
    """Per language (in the order of `langs`), every id any of the runs predicted: what each run must cover."""
    ids: dict[str, set[str]] = {}
    for by_lang in seeds:
        for lang, by_id in by_lang.items():
            ids.setdefault(lang, set()).update(by_id)
    return {lang: sorted(ids[lang]) for lang in langs if lang in ids}


def _check_seeds(a: str, b: str, task: str, runs_a: Mapping, runs_b: Mapping) -> None:
    if sorted(runs_a) != sorted(runs_b):
        raise ValueError(
            f"task {task!r}: variant {a!r} has seeds {sorted(runs_a)}, {b!r} has {sorted(runs_b)}; the paired "
            "comparison pairs replicate s of one with replicate s of the other (same data, same seed), so both need "
            "the same seeds (train.seeds)")


def _shared_test(task: str, runs_a: Mapping, runs_b: Mapping) -> bool:
    """Whether every replicate of the task was tested on the same examples (True) or each on its own draw (False)."""
    id_sets = [{(lang, i) for runs in (runs_a, runs_b) for lang, by_id in runs[s].items() for i in by_id}
               for s in sorted(runs_a)]
    if all(ids == id_sets[0] for ids in id_sets):
        return True
    if sum(len(ids) for ids in id_sets) == len(set().union(*id_sets)):
        return False
    raise ValueError(f"task {task!r}: the replicates' test sets are neither the same nor disjoint; a replicate is "
                     "tested on the shared test set or on its own draw")


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
    """(1 + n_boot, n) multiplicities of n items: row 0 each once (the observed value, from the very code the
    resamples use), then n_boot draws of n items with replacement."""
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    return np.vstack([np.ones((1, n)), counts]).astype(np.float64)


def _counts(weights: np.ndarray, indicators: np.ndarray) -> np.ndarray:
    """(runs, rows, columns) weighted sums of (runs, examples, columns) indicators by (rows, examples) weights, as
    one matrix product: with ~150 examples a product costs less than a BLAS call's overhead, so fewer calls win."""
    runs, n, columns = indicators.shape
    flat = weights @ indicators.transpose(1, 0, 2).reshape(n, runs * columns)
    return flat.reshape(len(weights), runs, columns).transpose(1, 0, 2)


def _differences(runs_a: Mapping, runs_b: Mapping, weights: Mapping[str, np.ndarray],
                 reference: Mapping[str, list[str]], metric: str, n_labels: int) -> np.ndarray:
    """(seeds, rows) A − B per seed, in points: for each row of example weights, the metric per language averaged
    over the languages (the report's order of operations: mean over languages, then × 100)."""
    per_lang = []
    for lang, ids in reference.items():
        indicators = np.concatenate([_indicators(runs, lang, ids, n_labels) for runs in (runs_a, runs_b)])
        per_lang.append(_score(_counts(weights[lang], indicators), len(ids), metric, n_labels))  # (2·seeds, rows)
    cells = 100.0 * np.mean(per_lang, axis=0)
    return cells[:len(runs_a)] - cells[len(runs_a):]


def _task_rng(seed: int, task: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])


@dataclass(frozen=True)
class TaskDifferences:
    """One task's A − B: per replicate (in seed order), and, for a shared test set, d̄ over example resamples."""

    per_replicate: np.ndarray
    resampled_means: np.ndarray | None  # (n_boot,) d̄ of each resample of a shared test set; None for own draws


def task_differences(predictions: Iterable[dict], a: str, b: str, task_metric: Mapping[str, str],
                     n_labels: Mapping[str, int], langs: Sequence[str], n_boot: int = 1000,
                     seed: int = 0) -> dict[str, TaskDifferences]:
    """Per task both variants have: A − B per replicate, in points, and for a shared test set its resampled means."""
    _check_tasks(task_metric, n_labels)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    runs = _group(predictions, (a, b), n_labels, langs)
    out = {}
    for task, metric in task_metric.items():
        runs_a, runs_b = runs[a].get(task), runs[b].get(task)
        if not runs_a or not runs_b:
            continue
        _check_seeds(a, b, task, runs_a, runs_b)
        k = n_labels[task]
        if _shared_test(task, runs_a, runs_b):
            reference = _reference_ids([*runs_a.values(), *runs_b.values()], langs)
            _check_paired(a, task, runs_a, reference)
            _check_paired(b, task, runs_b, reference)
            _check_gold(task, (runs_a, runs_b), reference)
            rng = _task_rng(seed, task)
            weights = {lang: _resample(rng, len(ids), n_boot) for lang, ids in reference.items()}
            d = _differences(runs_a, runs_b, weights, reference, metric, k)  # (seeds, 1 + n_boot)
            out[task] = TaskDifferences(d[:, 0], d[:, 1:].mean(axis=0))
            continue
        per_replicate = []
        for s in sorted(runs_a):
            one_a, one_b = {s: runs_a[s]}, {s: runs_b[s]}
            reference = _reference_ids([runs_a[s], runs_b[s]], langs)
            _check_paired(a, task, one_a, reference)
            _check_paired(b, task, one_b, reference)
            _check_gold(task, (one_a, one_b), reference)
            once = {lang: np.ones((1, len(ids))) for lang, ids in reference.items()}
            per_replicate.append(_differences(one_a, one_b, once, reference, metric, k)[0, 0])
        out[task] = TaskDifferences(np.array(per_replicate), None)
    if not out:
        raise ValueError(f"no task of {list(task_metric)} has predictions in {list(langs)} for both {a!r} and {b!r}")
    return out


def _column(tasks: Sequence[TaskDifferences], a: str, b: str, column: str, level: float) -> Comparison:
    """The comparison of the mean over `tasks` of their differences, replicate by replicate."""
    lengths = {len(t.per_replicate) for t in tasks}
    if len(lengths) > 1:
        raise ValueError(f"column {column!r}: its tasks have different numbers of replicates {sorted(lengths)}")
    per_replicate = np.mean([t.per_replicate for t in tasks], axis=0)
    shared = [t.resampled_means for t in tasks if t.resampled_means is not None]
    # Tasks are averaged, so a shared test set's resampled d̄ enters with weight 1/len(tasks); own draws add none.
    example_variance = float(np.var(np.sum(shared, axis=0) / len(tasks), ddof=1)) if shared and len(shared[0]) > 1 \
        else 0.0
    mean, low, high, p, df = t_interval(per_replicate, level, example_variance)
    return Comparison(a, b, column, mean, low, high, p, level, len(per_replicate), df,
                      SHARED_TEST if shared else OWN_DRAWS)


def compare(predictions: Iterable[dict], a: str, b: str, task_metric: Mapping[str, str], n_labels: Mapping[str, int],
            langs: Sequence[str], n_boot: int = 1000, seed: int = 0, level: float = 0.95,
            subsets: Mapping[str, Sequence[str]] | None = None) -> dict[str, Comparison]:
    """A − B per task both variants have, for `average` (their mean) and for each of `subsets` (column -> tasks: the
    mean over those of its tasks both have), each with its interval at `level` and p-value.

    `task_metric` maps task -> one of METRICS, `n_labels` task -> number of classes, `langs` are the target
    languages (rows in other languages are ignored; a task lacking some of them uses those it has); `n_boot` and
    `seed` drive the example resampling of a shared test set.
    """
    by_task = task_differences(predictions, a, b, task_metric, n_labels, langs, n_boot, seed)
    groups = {**{task: [task] for task in by_task}, AVERAGE: list(by_task),
              **{column: [t for t in tasks if t in by_task] for column, tasks in (subsets or {}).items()}}
    return {column: _column([by_task[t] for t in tasks], a, b, column, level)
            for column, tasks in groups.items() if tasks}


def compare_values(a_values: Mapping[int, float], b_values: Mapping[int, float], a: str, b: str, column: str,
                   level: float = 0.95, resampled: str = OWN_DRAWS) -> Comparison:
    """A − B of a per-replicate measure (seed -> value, a fraction; e.g. a probe's accuracy or the cue-flip rate),
    in points, with its t-interval over replicates. `resampled` says what the replicates' spread holds:
    OWN_DRAWS when each replicate had its own test set, else REPLICATES_ONLY (a shared test set's examples are not
    resampled here)."""
    if sorted(a_values) != sorted(b_values):
        raise ValueError(f"{column}: variant {a!r} has seeds {sorted(a_values)}, {b!r} has {sorted(b_values)}; a "
                         "paired comparison needs the same replicates")
    d = [100.0 * (a_values[s] - b_values[s]) for s in sorted(a_values)]
    mean, low, high, p, df = t_interval(d, level)
    return Comparison(a, b, column, mean, low, high, p, level, len(d), df, resampled)
