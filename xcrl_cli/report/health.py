"""health.json: can this run test the paper's claims at all?

The paper's claims are about transfer and about a spurious cue. A run tests them only if, for the baseline (ERM):
(a) the task is learnable in English: without the planted cue ERM gets at least halfway from chance to perfect,
    `erm_source_nocue − chance ≥ 0.5 × (1 − chance)`;
(b) ERM transfers: on the target languages, also without a particle, it keeps at least half of that margin over
    chance, `erm_target_nocue − chance ≥ 0.5 × (erm_source_nocue − chance)` (an encoder without a cross-lingual
    signal scores chance there, and every variant's differences are then noise). Both sides are cue-free, so the
    check compares content with content: on the usual targets, where a random particle closes every example, ERM
    pays for the cue that (c) asks it to take, and that cost is what the causal terms are tested on (`erm_target`,
    beside it);
(c) ERM uses the cue: at least a fifth of its English test predictions flip when only the particle is removed,
    `erm_cue_flip ≥ 0.2` (without a shortcut taken there is nothing for the causal terms to remove).
Each figure is a mean over the replicates, and the checks are made on those means; each replicate's own figures and
checks are given too (`replicates`), as is which tasks pass every check in each replicate: a claim tested over
replicates is only as good as the replicates it averages.
Beside them: every run the pipeline trained (main and sweep) and how many training flagged as collapsed or diverged,
the number of replicates, and the encoder's English→target retrieval from pretraining and, per task, after ERM's
fine-tuning (`erm_retrieval`): figures that use no task label, the second showing how much alignment fine-tuning on
English alone leaves.

`chance` is the best constant prediction's task metric on the target test sets (`chance.py`). Every score is a
fraction in [0, 1]; a value the run cannot give (no cue-free test on real data, no ERM run, no pretraining metrics)
is null, and so is a check that needs it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..evaluation.chance import GoldLabels
from ..evaluation.columns import REPR_COLUMNS, RUN_COLUMNS, SCORE_COLUMNS
from ..io import iter_csv, write_json
from .cells import ReportConfig, task_per_seed
from .inputs import ReportError, read_long

BASELINE = "erm"
LEARNABLE = 0.5  # (a): share of the way from chance to perfect that English must reach
TRANSFERS = 0.5  # (b): share of the English margin over chance that the targets must keep
USES_CUE = 0.2  # (c): share of English predictions the particle alone must flip
CHECKS = {"learnable": "(a) learnable in English", "transfers": "(b) ERM transfers", "uses_cue": "(c) ERM uses the cue"}
MEASURES = {"chance": "Chance", "erm_source_nocue": "ERM, English without the cue", "erm_target_nocue": "ERM, targets without the cue",
            "erm_target": "ERM, targets",
            "erm_cue_flip": "ERM predictions the cue flips", "erm_retrieval": "ERM's encoder, en→target retrieval"}


def _checks(m: Mapping[str, float | None]) -> dict[str, bool | None]:
    chance, source, target, flips = (m[k] for k in ("chance", "erm_source_nocue", "erm_target_nocue",
                                                    "erm_cue_flip"))
    return {"learnable": None if None in (chance, source) else source - chance >= LEARNABLE * (1 - chance),
            "transfers": None if None in (chance, source, target) else
            target - chance >= TRANSFERS * (source - chance),
            "uses_cue": None if flips is None else flips >= USES_CUE}


def _baseline_per_seed(folder: Path, task: str, metric: str, cfg: ReportConfig) -> dict[str, dict[int, float]]:
    """ERM's cue-free English score, target average with and without the cue, cue-flip rate and fine-tuned retrieval
    on `task`, per seed (replicate); a measure the run does not have is an empty dict."""
    def table(name: str, columns: tuple[str, ...]) -> dict:
        return read_long(folder / name, columns) if (folder / name).exists() else {}

    scores, nocue = table("scores.csv", SCORE_COLUMNS), table("scores_nocue.csv", SCORE_COLUMNS)
    reps = table("representations.csv", REPR_COLUMNS)

    def per_seed(space: str, name: str) -> dict[int, float]:
        return {k[2]: v for k, v in reps.items() if k[1] == task and k[3:] == (space, name)}

    return {"erm_source_nocue": task_per_seed(nocue, folder / "scores_nocue.csv", BASELINE, task, metric,
                                              [cfg.source_lang]) or {},
            "erm_target_nocue": task_per_seed(nocue, folder / "scores_nocue.csv", BASELINE, task, metric,
                                              cfg.targets) or {},
            "erm_target": task_per_seed(scores, folder / "scores.csv", BASELINE, task, metric, cfg.targets) or {},
            "erm_cue_flip": per_seed("prediction", "cue_flip_rate"),
            "erm_retrieval": per_seed("h", "heldout_retrieval")}


def _rounded(measures: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 6) for k, v in measures.items()}


def task_health(chance: float, per_seed: Mapping[str, Mapping[int, float]]) -> dict:
    """A task's figures and checks over replicates (on the means over replicates) and in each replicate."""
    seeds = sorted({s for values in per_seed.values() for s in values})
    means = {"chance": chance, **{k: float(np.mean(list(v.values()))) if v else None for k, v in per_seed.items()}}
    replicates = {}
    for seed in seeds:
        measures = {"chance": chance, **{k: v.get(seed) for k, v in per_seed.items()}}
        replicates[str(seed)] = {**_rounded(measures), **_checks(measures)}
    passing = {k: sum(r[k] is True for r in replicates.values()) for k in CHECKS}
    healthy = sum(all(r[k] is True for k in CHECKS) for r in replicates.values())
    return {**_rounded(means), **_checks(means), "passing_replicates": passing, "healthy_replicates": healthy,
            "replicates": replicates}


def _runs(folders: Sequence[Path]) -> list[dict]:
    """Every row of the runs.csv of each variant's evaluation under `folders` (one <variant>/ per variant)."""
    rows = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*/runs.csv")):
            rows += [row for _, row in iter_csv(path, RUN_COLUMNS, "evaluate")]
    return rows


def read_retrieval(path: Path | None) -> dict[str, float] | None:
    """Per target language, the encoder's held-out English→target retrieval accuracy from pretraining's metrics
    file (key `retrieval`); None when the file is absent or measured nothing."""
    if path is None or not Path(path).exists():
        return None
    try:
        retrieval = json.loads(Path(path).read_text(encoding="utf-8")).get("retrieval")
    except (json.JSONDecodeError, AttributeError) as err:
        raise ReportError(f"{path}: expected a JSON object with 'retrieval': {{lang: accuracy}} ({err})") from None
    return {lang: float(v) for lang, v in sorted(retrieval.items())} if retrieval else None


def health(eval_dir: Path, sweep_dirs: Sequence[Path], labels: GoldLabels, cfg: ReportConfig,
           pretrain_metrics: Path | None) -> dict:
    """The health figures of a run (see the module docstring), as health.json holds them."""
    tasks = {}
    for task, metric in cfg.task_metric.items():
        chance = labels.constant(task, metric, cfg.targets)
        if chance is None:
            continue  # not run
        tasks[task] = task_health(chance, _baseline_per_seed(Path(eval_dir) / BASELINE, task, metric, cfg))
    main, sweep = _runs([eval_dir]), _runs(sweep_dirs)
    seeds = sorted({int(r["seed"]) for r in main})
    per_replicate = {str(s): [t for t, m in tasks.items() if str(s) in m["replicates"]
                              and all(m["replicates"][str(s)][k] is True for k in CHECKS)] for s in seeds}
    return {"tasks": tasks, "runs": len(main) + len(sweep),
            "collapsed_runs": sum(bool(r["flags"]) for r in main + sweep),
            "replicates": len(seeds), "healthy_tasks_per_replicate": per_replicate,
            "fewest_healthy_tasks_in_a_replicate": min((len(v) for v in per_replicate.values()), default=0),
            "pretrain_retrieval": read_retrieval(pretrain_metrics)}


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def health_md(figures: Mapping) -> str:
    """The report's Health section: the figures of health.json and, per task, the three checks."""
    head = ["Task", *MEASURES.values(), *CHECKS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for task, m in figures["tasks"].items():
        checks = ["n/a" if m[k] is None else ("yes" if m[k] else "**no**") for k in CHECKS]
        lines.append("| " + " | ".join([task, *(_fraction(m[k]) for k in MEASURES), *checks]) + " |")
    seeds = sorted({s for m in figures["tasks"].values() for s in m["replicates"]}, key=int)
    per = ["| Task | " + " | ".join(f"replicate {s}" for s in seeds) + " |", "|" + " --- |" * (len(seeds) + 1)]
    for task, m in figures["tasks"].items():
        per.append(f"| {task} | " + " | ".join(_replicate_cell(m["replicates"].get(s)) for s in seeds) + " |")
    retrieval = figures["pretrain_retrieval"]
    retrieval_text = ("not measured (no pretraining metrics with held-out pairs)" if retrieval is None
                      else ", ".join(f"{lang} {v:.3f}" for lang, v in retrieval.items()))
    return ("## Health of this run\n\nCan this run test the paper's claims at all? Fractions in [0, 1] "
            "([health.json](health.json)); chance is the best constant prediction on the target test sets, ERM the "
            f"baseline. (a) learnable in English: ERM without the cue − chance ≥ {LEARNABLE:g} × (1 − chance). "
            f"(b) ERM transfers: ERM on the targets without the cue − chance ≥ {TRANSFERS:g} × (ERM on English "
            "without the cue − chance): content against content, as the targets' random particle costs a model that "
            "took the cue. "
            f"(c) ERM uses the cue: at least {USES_CUE:.0%} of its English predictions "
            "flip when only the planted particle is removed. A task failing (a) or (b) cannot show a method "
            "transferring better than another; failing (c), the claims about the cue have nothing to test. n/a: the "
            "run has no such figure (no cue-free test outside the embedded benchmark, or no ERM run).\n\n"
            + "\n".join(lines) + "\n\n"
            "The figures above are means over the replicates and the checks are made on them. In each replicate "
            "(a fresh draw of the task data trained with its own seed), the three checks (a) / (b) / (c), with ERM's "
            "cue-flip rate:\n\n" + "\n".join(per) + "\n\n"
            f"- Runs trained (main pipeline and cue sweep): {figures['runs']}, of which flagged collapsed or "
            f"diverged: {figures['collapsed_runs']}\n"
            f"- Replicates: {figures['replicates']}; the fewest tasks passing every check in one replicate: "
            f"{figures['fewest_healthy_tasks_in_a_replicate']}\n"
            f"- English→target retrieval of the pretrained encoder (held-out pairs): {retrieval_text}\n")


def _replicate_cell(m: Mapping | None) -> str:
    if m is None:
        return "n/a"
    checks = " / ".join("n/a" if m[k] is None else ("yes" if m[k] else "**no**") for k in CHECKS)
    return f"{checks} ({_fraction(m['erm_cue_flip'])})"


def healthy_tasks(figures: Mapping) -> list[str]:
    """The tasks that pass all three checks: those on which this run can test the paper's claims."""
    return [task for task, m in figures["tasks"].items() if all(m[k] is True for k in CHECKS)]


def render_health(eval_dir: Path, sweep_dirs: Sequence[Path], labels: GoldLabels, cfg: ReportConfig,
                  pretrain_metrics: Path | None, out_dir: Path) -> tuple[str, list[str]]:
    """Write `out_dir`/health.json; return the report's Health section and the tasks that pass every check."""
    figures = health(eval_dir, sweep_dirs, labels, cfg, pretrain_metrics)
    write_json(Path(out_dir) / "health.json", figures)
    return health_md(figures), healthy_tasks(figures)
