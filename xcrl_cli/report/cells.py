"""The numbers in the report's cells: per seed, a metric averaged over languages and tasks, then mean ± std.

A cell is a `Stat` over seeds; `task_cells` gives one row of Tables 2/3 (every task, the accuracy beside a binary
F1, the Average), `table4_cells` one row of Table 4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..evaluation.chance import accuracy_columns
from .inputs import ReportError

@dataclass(frozen=True)
class ReportConfig:
    """What to draw and how to label it; filled from params.yaml by the report stage."""

    source_lang: str
    targets: Sequence[str]
    low_resource: Sequence[str]
    task_metric: Mapping[str, str]
    tables: Mapping[str, Sequence[str]]
    figure3: Sequence[str]
    paper_rows: Mapping[str, Sequence[str]]
    encoder_label: str
    variant_labels: Mapping[str, str]
    table4_space: Sequence[str]
    # task -> {language: why}: languages an optional dataset lacked files for (meta.json), printed as not run
    languages_not_run: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    figure3_targets: Sequence[str] = ()  # Figure 3's languages; empty = every target

    def figure3_langs(self) -> list[str]:
        return [lang for lang in self.targets if lang in self.figure3_targets] or list(self.targets)

    def label(self, variant: str) -> str:
        return self.variant_labels.get(variant, variant)


@dataclass(frozen=True)
class Stat:
    """Mean ± sample std (ddof=1) over seeds, in percent; std is None with one seed, where no spread exists."""

    mean: float
    std: float | None
    n: int
    flagged: int = 0  # runs behind this cell that training flagged (collapsed, diverged): marked, never hidden

    @classmethod
    def of(cls, per_seed: Mapping[int, float], flagged: int = 0) -> Stat:
        values = 100.0 * np.array([per_seed[s] for s in sorted(per_seed)])
        std = float(np.std(values, ddof=1)) if len(values) > 1 else None
        return cls(float(np.mean(values)), std, len(values), flagged)

    def text(self) -> str:
        mark = f" †{self.flagged}" if self.flagged else ""
        return f"{self.mean:.2f} ± {'n/a' if self.std is None else f'{self.std:.2f}'}{mark}"


def task_per_seed(scores, where, variant, task, metric, langs) -> dict[int, float] | None:
    """Per seed, the task metric averaged over those of `langs` the task's test set has (real datasets cover
    different languages); None when the task was not run for this variant or has none of `langs`."""
    seeds = sorted({k[2] for k in scores if k[0] == variant and k[1] == task})
    tested = {k[3] for k in scores if k[0] == variant and k[1] == task}
    langs = [lang for lang in langs if lang in tested]
    if not seeds or not langs:
        return None
    out = {}
    for seed in seeds:
        missing = [lang for lang in langs if (variant, task, seed, lang, metric) not in scores]
        if missing:
            have = sorted({(k[3], k[4]) for k in scores if k[:3] == (variant, task, seed)})
            raise ReportError(f"{where}: variant {variant!r}, task {task!r}, seed {seed} has no {metric!r} for "
                              f"languages {missing}; (lang, metric) present: {have}")
        out[seed] = float(np.mean([scores[(variant, task, seed, lang, metric)] for lang in langs]))
    return out


def _average_per_seed(per_task: Mapping[str, dict[int, float] | None], where: str) -> dict[int, float] | None:
    """Per seed, the mean over the tasks that were run (the paper's Average column); None if none was."""
    run = {task: values for task, values in per_task.items() if values is not None}
    if not run:
        return None
    seed_sets = {task: sorted(values) for task, values in run.items()}
    if len({tuple(s) for s in seed_sets.values()}) > 1:
        raise ReportError(f"{where}: tasks were run with different seeds {seed_sets}; the average needs the same")
    seeds = next(iter(seed_sets.values()))
    return {s: float(np.mean([values[s] for values in run.values()])) for s in seeds}


def task_cells(scores, where, cfg: ReportConfig, variant: str, langs: Sequence[str],
                flagged: Mapping[tuple, str] | None = None) -> dict[str, Stat | None]:
    """One cell per task plus `average`, each over `langs`, for one variant; `flagged` runs are counted per cell."""
    per_task = {task: task_per_seed(scores, where, variant, task, metric, langs)
                for task, metric in cfg.task_metric.items()}
    average = _average_per_seed(per_task, f"{where}: variant {variant!r}")
    flagged = flagged or {}
    n_flagged = {task: sum((variant, task, seed) in flagged for seed in v or ()) for task, v in per_task.items()}
    cells = {task: None if v is None else Stat.of(v, n_flagged[task]) for task, v in per_task.items()}
    for column, task, metric in accuracy_columns(cfg.task_metric):
        values = None if per_task[task] is None else task_per_seed(scores, where, variant, task, metric, langs)
        cells[column] = None if values is None else Stat.of(values, n_flagged[task])
    cells["average"] = None if average is None else Stat.of(average, sum(n_flagged.values()))
    return cells


def performance_columns(cfg: ReportConfig) -> tuple[list[str], list[str]]:
    """Tables 2 and 3: the columns (each task, its accuracy beside a binary F1, the Average) and their headers."""
    extra = {task: (column, f"{task} {metric}") for column, task, metric in accuracy_columns(cfg.task_metric)}
    columns, headers = [], []
    for task, metric in cfg.task_metric.items():
        columns.append(task)
        headers.append(f"{task} {metric}")
        if task in extra:
            columns.append(extra[task][0])
            headers.append(extra[task][1])
    return [*columns, "average"], [*headers, "Average"]


def repr_per_seed(reps, variant: str, space: str, metric: str) -> dict[int, float] | None:
    """Per seed, a representation metric averaged over the tasks it was measured on; None if never measured."""
    by_seed: dict[int, list[float]] = {}
    for (v, _task, seed, sp, m), value in sorted(reps.items()):
        if (v, sp, m) == (variant, space, metric):
            by_seed.setdefault(seed, []).append(value)
    return {s: float(np.mean(vs)) for s, vs in by_seed.items()} or None


def pick_space(reps, where: str, variant: str, preference: Sequence[str]) -> str:
    """The first preferred space the variant has a language-ID probe on (z_inv if disentangled, else h)."""
    have = sorted({k[3] for k in reps if k[0] == variant and k[4] == "lang_id_acc"})
    for space in preference:
        if space in have:
            return space
    raise ReportError(f"{where}: variant {variant!r} has lang_id_acc on spaces {have}, none of table4_space "
                      f"{list(preference)}")


def table4_cells(scores, reps, paths, cfg: ReportConfig, variant: str) -> tuple[dict, str]:
    """Lang-ID and purity on the preferred space, CF consistency on predictions, low-resource task average."""
    space = pick_space(reps, paths[1], variant, cfg.table4_space)
    measured = {"lang_id_acc": repr_per_seed(reps, variant, space, "lang_id_acc"),
                "cluster_purity": repr_per_seed(reps, variant, space, "cluster_purity"),
                "cf_consistency": repr_per_seed(reps, variant, "prediction", "cf_consistency")}
    cells = {k: None if v is None else Stat.of(v) for k, v in measured.items()}
    cells["low_resource_avg"] = task_cells(scores, paths[0], cfg, variant, cfg.low_resource)["average"]
    return cells, space
