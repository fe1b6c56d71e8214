"""Beyond the paper's tables: does each part of the method do what the paper says it does?

The paper reports single numbers, probes only the invariant space and never isolates its mechanism. The embedded
benchmark knows its ground truth, so the report adds, each as a section of report.md with its files:
- significance of every Table 2/3 difference from the reference row (paired bootstrap over seeds and test
  examples, `significance.py`);
- Table 2 under source-dev selection (honest zero-shot) beside target-dev selection (an oracle);
- linear probes for language and task on every representation space, as a table and a heat-map;
- counterfactual consistency per counterfactual kind, and against the chrF between x and x̃;
- the spurious-cue sweep: target-language score and cue-flip rate against the cue's strength;
- published zero-shot numbers of the baselines from other papers (`published_values.yaml`);
- a verdict on each of the paper's claims, from the numbers above.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SignificanceParams
from ..evaluation.chance import GoldLabels, gold_labels, reference_cells
from ..evaluation.columns import CF_COLUMNS, ORACLE_NOT_STORED, REPR_COLUMNS, SCORE_COLUMNS
from ..evaluation.significance import AVERAGE, OWN_DRAWS, Comparison, compare, read_predictions
from ..io import atomic_write, dumps_csv, iter_csv
from .cells import Stat, repr_per_seed, task_cells, task_per_seed
from .claims import (Claim, adjusted, bucket, claim_verdict, cue_claims, difference_text, is_shared, over,
                     performance_claims, table4_claims, value_resampling)
from .figures import forest_png, heatmap_png, lines_png
from .inputs import load_anchors, read_long
from .tables import CONSTANT_ROW, Marks, reference_text

SPACES = ("h", "z_inv", "z_spe", "z_task", "r")
PROBES = {"lang_id_acc": "Language-ID probe", "task_probe_acc": "Task probe"}
CHRF_BINS = (0.0, 20.0, 40.0, 60.0, 80.0, 100.01)
SIGNIFICANT = " *"
HEALTHY_AVERAGE = "healthy_average"  # the significance column averaging the tasks that pass every health check


@dataclass(frozen=True)
class EvidenceInputs:
    """Where the evaluations are, and what the report compares."""

    eval_dir: Path  # one <variant>/ per variant (scores, predictions, counterfactuals ...)
    sweep: Mapping[float, Path]  # cue strength -> a folder with one <variant>/ per swept variant
    sweep_tasks: Sequence[str]
    sweep_variants: Sequence[str]
    n_labels: Mapping[str, int]  # task -> number of labels
    significance: SignificanceParams
    labels: GoldLabels  # the main test sets' gold labels, for the constant-predictor rows
    healthy_tasks: Sequence[str] = ()  # the tasks that pass every health check (health.healthy_tasks)
    # every main-run test prediction of the report's variants, read once by the report stage (`read_predictions`)
    predictions: Sequence[dict] = ()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]) + "\n"


def _stat_text(stat: Stat | None) -> str:
    return "not run" if stat is None else stat.text()


def _stat_of(values: Mapping[int, float] | None) -> Stat | None:
    return None if not values else Stat.of(values)


def _variants(cfg) -> list[str]:
    return list(dict.fromkeys(v for vs in cfg.tables.values() for v in vs))


# --- significance ------------------------------------------------------------------------------------------------
def resampled(comparisons: Iterable[Comparison]) -> str:
    """What the intervals behind `comparisons` counted, in words (the weakest of them): the verdicts are only as
    strong as that."""
    comparisons = list(comparisons)
    if not comparisons:
        return "nothing (no difference was compared)"
    return over(min(comparisons, key=lambda c: (c.resampled == OWN_DRAWS, c.n_replicates)))


def _healthy_subset(inputs: EvidenceInputs, tasks: Sequence[str]) -> dict[str, list[str]]:
    """{HEALTHY_AVERAGE: the healthy tasks} when some but not all of `tasks` pass every health check, else {}: an
    average that includes a task the run cannot test (not learnt, or no transfer) mixes its noise into the claim."""
    healthy = [t for t in tasks if t in inputs.healthy_tasks]
    return {HEALTHY_AVERAGE: healthy} if 0 < len(healthy) < len(tasks) else {}


def significance(inputs: EvidenceInputs, cfg) -> tuple[str, Marks, dict[tuple, Comparison]]:
    """Reference − row for every other row of Tables 2 and 3: the Markdown, the cell marks, the comparisons."""
    sig = inputs.significance
    ref = sig.reference
    wanted = {t: [v for v in cfg.tables.get(t, ()) if v != ref] for t in ("table2", "table3")}
    predictions = inputs.predictions
    task_metric = {t: m for t, m in cfg.task_metric.items() if t in inputs.n_labels}  # tasks the data has
    subsets = _healthy_subset(inputs, list(task_metric))
    columns = [*task_metric, AVERAGE, *subsets]
    results, marks, md = {}, {}, []
    for table, others in wanted.items():
        rows = []
        for other in others:
            comps = compare(predictions, ref, other, task_metric, inputs.n_labels, cfg.targets, sig.n_boot,
                            sig.seed, sig.level, subsets)
            cells = []
            for column in columns:
                c = comps.get(column)
                if c is None:
                    cells.append("not run")
                    continue
                results[(table, other, column)] = c
                marks[(table, other, column)] = SIGNIFICANT if c.significant else ""
                cells.append(difference_text(c) + (SIGNIFICANT if c.significant else ""))
            rows.append([f"{cfg.label(ref)} − {cfg.label(other)}", *cells])
        md.append(f"#### Table {table.removeprefix('table')}\n\n" + _table(["Difference", *columns], rows))
    level = f"{100 * sig.level:g}%"
    what = resampled(results.values())
    legend = (f"{SIGNIFICANT.strip()} = differs from {cfg.label(ref)} (paired t-interval {what}, {level} interval "
              "excludes 0).")
    text = (f"### Significance of the differences\n\nEach cell: {cfg.label(ref)} minus the row's variant, in "
            f"percentage points, with its {level} interval: the mean over replicates of the paired difference "
            f"(both variants trained on the same draw with the same seed) and Student's t-interval of that mean, "
            f"{what}. {SIGNIFICANT.strip()} = the interval excludes 0. A replicate is a fresh draw of the task data "
            "trained with its own seed, so an interval holds for the benchmark, not for one draw of it; with one "
            f"replicate nothing measures the spread and nothing is tested.{_healthy_legend(subsets)} Data: "
            "[significance.csv](significance.csv)\n\n" + "\n".join(md))
    return text, Marks(marks, legend), results


def _healthy_legend(subsets: Mapping[str, Sequence[str]]) -> str:
    tasks = subsets.get(HEALTHY_AVERAGE)
    return (f" {HEALTHY_AVERAGE}: the average over {', '.join(tasks)}, the tasks that pass every health check."
            if tasks else "")


# --- model selection ---------------------------------------------------------------------------------------------
NOT_STORED = "not stored"


def selection(inputs: EvidenceInputs, cfg, out_dir: Path) -> tuple[str, dict]:
    """Table 2 with source-dev-selected weights beside target-dev-selected ones (an oracle a zero-shot user lacks)."""
    honest = read_long(out_dir / "scores.csv", SCORE_COLUMNS)
    oracle = read_long(out_dir / "scores_target_dev.csv", SCORE_COLUMNS)
    columns = [*cfg.task_metric, AVERAGE]
    rows, records, gains, unstored = [], [], {}, False
    for v in cfg.tables.get("table2", ()):
        src = task_cells(honest, "scores.csv", cfg, v, cfg.targets)
        tgt = task_cells(oracle, "scores_target_dev.csv", cfg, v, cfg.targets) if any(
            k[0] == v for k in oracle) else dict.fromkeys(columns)
        missing = NOT_STORED if (inputs.eval_dir / v / ORACLE_NOT_STORED).exists() else _stat_text(None)
        unstored |= missing == NOT_STORED
        rows.append([cfg.label(v), *(f"{_stat_text(src[c])} / {missing if tgt[c] is None else _stat_text(tgt[c])}"
                                     for c in columns)])
        for c in columns:
            for name, stat in (("source_dev", src[c]), ("target_dev", tgt[c])):
                records.append([v, c, name, None if stat is None else round(stat.mean, 6),
                                None if stat is None or stat.std is None else round(stat.std, 6)])
        if src[AVERAGE] is not None and tgt[AVERAGE] is not None:
            gains[v] = tgt[AVERAGE].mean - src[AVERAGE].mean
    reference = reference_cells(inputs.labels, cfg.task_metric, cfg.targets)
    rows.append([CONSTANT_ROW, *(reference_text(reference[c]) for c in columns)])
    atomic_write(out_dir / "selection.csv", dumps_csv(["variant", "column", "selection", "mean", "std"], records))
    text = ("### Model selection: source-dev (honest zero-shot) / target-dev (oracle)\n\n"
            "Table 2 twice: the weights chosen on the source-language dev set, as a zero-shot user must, and "
            "(after the slash, **oracle**, not zero-shot) the weights chosen on the target languages' dev sets. "
            "The gap is how much a method's score can owe to checkpoint choice; the last row is the best constant "
            "prediction, as in Table 2. "
            + (f"\"{NOT_STORED}\": the runs kept only their source-dev weights (`train.oracle_weights: false`). "
               if unstored else "")
            + "Data: [selection.csv](selection.csv)"
            "\n\n" + _table(["Variant", *columns], rows))
    return text, {f"{v}.oracle_gain": round(g, 6) for v, g in gains.items()}


# --- probes ------------------------------------------------------------------------------------------------------
def _probe_chance(labels: GoldLabels, tasks: Sequence[str]) -> dict[str, float]:
    """Each probe's majority share (the test sets' majority language; per task its majority class, pooled over
    languages, averaged over the tasks run), in percent."""
    classes = [share for share in (labels.majority_class(t) for t in tasks) if share is not None]
    chance = {"lang_id_acc": labels.majority_language(), "task_probe_acc": np.mean(classes) if classes else None}
    return {m: 100.0 * float(c) for m, c in chance.items() if c is not None}


def probes(reps, cfg, labels: GoldLabels, out_dir: Path) -> tuple[str, dict]:
    """Language-ID and task-probe accuracy on every space of every variant (mean over tasks, ± over seeds)."""
    variants = _variants(cfg)
    stats = {(v, sp, m): _stat_of(repr_per_seed(reps, v, sp, m)) for v in variants for sp in SPACES for m in PROBES}
    chance = _probe_chance(labels, list(cfg.task_metric))
    md, records = [], []
    for m, title in PROBES.items():
        rows = [[cfg.label(v), *(_stat_text(stats[(v, sp, m)]) if stats[(v, sp, m)] else "—" for sp in SPACES)]
                for v in variants]
        heading = f"#### {title} accuracy" + (f" (chance {chance[m]:.1f}%)" if m in chance else "")
        md.append(heading + "\n\n" + _table(["Variant", *SPACES], rows))
        records += [[v, sp, m, round(s.mean, 6), None if s.std is None else round(s.std, 6)]
                    for (v, sp, m2), s in stats.items() if m2 == m and s is not None]
    atomic_write(out_dir / "probes.csv", dumps_csv(["variant", "space", "metric", "mean", "std"], records))
    panels = {title: np.array([[stats[(v, sp, m)].mean if stats[(v, sp, m)] else np.nan for sp in SPACES]
                               for v in variants]) for m, title in PROBES.items()}
    atomic_write(out_dir / "probes.png", heatmap_png(
        [cfg.label(v) for v in variants], SPACES, panels, {PROBES[m]: c for m, c in chance.items()},
        f"Linear probes on each space, test sets, mean over tasks ({cfg.encoder_label})"))
    text = ("### Subspace probes\n\nA logistic-regression probe trained on half of the test meanings (all languages) "
            "and scored on the other half, on each space a variant has (— = the variant has no such space). "
            "Disentanglement should show as high language-ID on z_spe and near chance on z_inv, with the task "
            "readable from z_inv, z_task and r. Chance is the majority share: of the test sets' languages, and of "
            "each task's classes (averaged over tasks). Data: [probes.csv](probes.csv)\n\n"
            "![Subspace probes](probes.png)\n\n"
            + "\n".join(md))
    summary = {f"{v}.{sp}.{m}": round(s.mean, 6) for (v, sp, m), s in stats.items() if s is not None}
    return text, summary


# --- counterfactuals ---------------------------------------------------------------------------------------------
def _read_counterfactuals(path: Path) -> list[dict]:
    return [{**r, "seed": int(r["seed"]), "chrf": float(r["chrf"]), "consistent": int(r["consistent"])}
            for _, r in iter_csv(path, CF_COLUMNS, "evaluate")]


def _per_seed_rate(rows: list[dict]) -> Stat | None:
    by_seed: dict[int, list[int]] = {}
    for r in rows:
        by_seed.setdefault(r["seed"], []).append(r["consistent"])
    return _stat_of({s: float(np.mean(v)) for s, v in by_seed.items()})


def counterfactuals(inputs: EvidenceInputs, cfg, out_dir: Path) -> str:
    """Consistency per counterfactual kind, and consistency against chrF(x, x̃) in bins."""
    variants = list(cfg.tables.get("table4", ())) or _variants(cfg)
    rows_of = {v: _read_counterfactuals(inputs.eval_dir / v / "counterfactuals.csv") for v in variants}
    kinds = sorted({r["kind"] for rows in rows_of.values() for r in rows})
    first = next(iter(rows_of.values()))
    chrf = {k: float(np.mean([r["chrf"] for r in first if r["kind"] == k and r["seed"] == first[0]["seed"]]))
            for k in kinds}
    table, records, series, bins = [], [], {}, []
    for v, rows in rows_of.items():
        stats = {k: _per_seed_rate([r for r in rows if r["kind"] == k]) for k in kinds}
        table.append([cfg.label(v), *(_stat_text(stats[k]) for k in kinds)])
        records += [[v, k, round(chrf[k], 4), round(s.mean, 6), None if s.std is None else round(s.std, 6)]
                    for k, s in stats.items() if s is not None]
        points = []
        for lo, hi in itertools.pairwise(CHRF_BINS):
            in_bin = [r for r in rows if lo <= r["chrf"] < hi]
            s = _per_seed_rate(in_bin)
            if s is not None:
                points.append(((lo + min(hi, 100.0)) / 2, s.mean, s.std or 0.0))
                bins.append([v, lo, min(hi, 100.0), len(in_bin) // s.n, round(s.mean, 6),
                             None if s.std is None else round(s.std, 6)])
        series[cfg.label(v)] = points
    atomic_write(out_dir / "cf_breakdown.csv", dumps_csv(["variant", "kind", "chrf", "mean", "std"], records))
    atomic_write(out_dir / "cf_chrf.csv", dumps_csv(["variant", "chrf_from", "chrf_to", "n_per_seed", "mean", "std"],
                                                    bins))
    atomic_write(out_dir / "cf_chrf.png", lines_png(
        {"CF consistency (%)": series}, "chrF(x, x̃), binned by 20",
        "Counterfactual consistency against how much x̃ changed x"))
    header = ["Variant", *(f"{k} (chrF {chrf[k]:.1f})" for k in kinds)]
    text = ("### Counterfactual consistency per kind\n\nShare of test examples (all languages, all tasks) whose "
            "prediction on x̃ equals that on x, per kind of counterfactual; the header gives each kind's mean chrF "
            "between x and x̃ (100 = unchanged). The figure bins examples by chrF. A model that predicts one class "
            "(a collapsed run, †) is consistent by construction: read consistency beside the task scores. "
            "Data: [cf_breakdown.csv](cf_breakdown.csv), [cf_chrf.csv](cf_chrf.csv)\n\n" + _table(header, table)
            + "\n![Consistency against chrF](cf_chrf.png)\n")
    return text


# --- the spurious-cue sweep --------------------------------------------------------------------------------------
def _sweep_point(folder: Path, variant: str, task: str, cfg) -> dict[str, dict[int, float] | None]:
    scores = read_long(folder / variant / "scores.csv", SCORE_COLUMNS)
    reps = read_long(folder / variant / "representations.csv", REPR_COLUMNS)
    metric = cfg.task_metric[task]
    flips = {k[2]: v for k, v in reps.items() if k[0] == variant and k[1] == task and k[4] == "cue_flip_rate"}
    return {"target": task_per_seed(scores, folder, variant, task, metric, cfg.targets),
            "source": task_per_seed(scores, folder, variant, task, metric, [cfg.source_lang]),
            "cue_flip_rate": flips or None}


def _sweep_constant(inputs: EvidenceInputs, task: str, cues: Sequence[float], cfg) -> list[list[str]]:
    """The best constant prediction's target and source scores on each strength's own test sets."""
    labels = {cue: gold_labels(read_predictions(inputs.sweep[cue] / v / "predictions.jsonl"
                                                for v in inputs.sweep_variants), inputs.n_labels) for cue in cues}

    def score(cue: float, langs: Sequence[str]) -> str:
        value = labels[cue].constant(task, cfg.task_metric[task], langs)
        return reference_text(None if value is None else 100.0 * value)

    return [[task, CONSTANT_ROW, name, *(score(cue, langs) for cue in cues)]
            for name, langs in (("target", cfg.targets), ("source", [cfg.source_lang]))]


def sweep(inputs: EvidenceInputs, cfg, out_dir: Path) -> tuple[str, dict, dict]:
    """Target and source test scores and the cue-flip rate of each swept variant, against the cue's strength; also
    each point's per-replicate values, (cue, variant, task) -> measure -> seed -> value, for the cue claim."""
    measures = {"target": "target-language score (%)", "source": "source-language test score (%)",
                "cue_flip_rate": "predictions flipped by removing the cue (%)"}
    cues = sorted(inputs.sweep)
    records, panels, summary, points = [], {title: {} for title in measures.values()}, {}, {}
    table = []
    for task in inputs.sweep_tasks:
        for v in inputs.sweep_variants:
            cells = {}
            for cue in cues:
                point = points[(cue, v, task)] = _sweep_point(inputs.sweep[cue], v, task, cfg)
                for name, values in point.items():
                    stat = _stat_of(values)
                    cells[(name, cue)] = stat
                    if stat is not None:
                        records.append([task, v, cue, name, round(stat.mean, 6),
                                        None if stat.std is None else round(stat.std, 6)])
                        panels[measures[name]].setdefault(f"{cfg.label(v)} · {task}", []).append(
                            (cue, stat.mean, stat.std or 0.0))
                        summary[f"{v}.{task}.cue{cue}.{name}"] = round(stat.mean, 6)
            for name in measures:
                table.append([task, cfg.label(v), name, *(_stat_text(cells[(name, c)]) for c in cues)])
        table += _sweep_constant(inputs, task, cues, cfg)
    atomic_write(out_dir / "sweep.csv", dumps_csv(["task", "variant", "cue_strength", "measure", "mean", "std"],
                                                  records))
    atomic_write(out_dir / "sweep.png", lines_png(panels, "cue strength s (source train/dev)",
                                                  f"The spurious-cue sweep ({cfg.encoder_label})"))
    text = ("### The spurious-cue sweep\n\nThe embedded benchmark plants a particle in the source language that "
            "gives away the label with probability s + (1 − s)/K in training and dev, and says nothing in the test "
            "sets. Each variant is trained at each strength s; shown are the task metric on the target languages and "
            "on the source test set, and the share of source test predictions that change when only the particle "
            "is removed (0 = the cue is ignored), and the best constant prediction's scores on the same test sets. "
            "Data: [sweep.csv](sweep.csv)\n\n![Cue sweep](sweep.png)\n\n"
            + _table(["Task", "Variant", "Measure", *(f"s = {c:g}" for c in cues)], table))
    return text, summary, points


# --- published anchors -------------------------------------------------------------------------------------------
def anchors(scores, cfg, out_dir: Path, variant: str = "erm") -> str:
    """Published zero-shot numbers of the baselines beside our ERM run measured with the same metric."""
    rows, records = [], []
    for a in load_anchors():
        ours = _stat_of(task_per_seed(scores, "scores.csv", variant, a["task"], a["metric"], cfg.targets)) if any(
            k[0] == variant and k[1] == a["task"] for k in scores) else None
        rows.append([a["model"], a["task"], a["metric"], f"{a['value']:.1f}", a["setting"],
                     f"[{a['source']}]({a['url']})", _stat_text(ours)])
        records.append([a["model"], a["task"], a["metric"], a["value"], a["source"], a["url"],
                        None if ours is None else round(ours.mean, 6)])
    atomic_write(out_dir / "anchors.csv", dumps_csv(
        ["model", "task", "metric", "published", "source", "url", f"measured_{variant}"], records))
    return ("### Published anchors\n\nZero-shot numbers of the paper's baselines as other papers published them, "
            f"beside this run's {cfg.label(variant)} ({cfg.encoder_label}) with the same metric over the target "
            "languages. The published models are pretrained on real corpora and tested on the real benchmarks; the "
            "embedded benchmark is not those, so the columns anchor scale, they are not a like-for-like comparison. "
            "Data: [anchors.csv](anchors.csv)\n\n"
            + _table(["Model", "Task", "Metric", "Published", "Setting", "Source", f"Measured ({cfg.label(variant)})"],
                     rows))


# --- the paper's claims ------------------------------------------------------------------------------------------
SIGNIFICANCE_COLUMNS = ["table", "a", "b", "column", "diff", "low", "high", "p_value", "significant", "n_replicates",
                        "df", "resampled"]


def _record(table: str, c: Comparison) -> list:
    def r(x: float):
        return None if math.isnan(x) else round(x, 6)

    return [table, c.a, c.b, c.column, round(c.observed, 6), r(c.low), r(c.high), r(c.p_value), int(c.significant),
            c.n_replicates, "inf" if math.isinf(c.df) else round(c.df, 3), c.resampled]


def _claim_list(comparisons: Mapping[tuple, Comparison], reps, sweep_points, inputs: EvidenceInputs, cfg
                ) -> tuple[list[Claim], list[str]]:
    """Every claim of the report, in table order, and the healthy tasks (when they are a proper subset)."""
    sig = inputs.significance
    ref = sig.reference
    task_metric = {t: m for t, m in cfg.task_metric.items() if t in inputs.n_labels}
    subsets = _healthy_subset(inputs, list(task_metric))
    scopes = {AVERAGE: "Average",
              **{column: f"average of the healthy tasks ({', '.join(tasks)})" for column, tasks in subsets.items()}}
    found = performance_claims(comparisons, scopes, ref, cfg.tables, cfg.label)
    shared = is_shared(list(comparisons.values()))
    t4 = [v for v in cfg.tables.get("table4", ()) if v != ref]
    if t4 and any(k[0] == ref for k in reps):
        found += table4_claims(reps, inputs.predictions, ref, t4, task_metric, inputs.n_labels,
                               cfg.low_resource, cfg, sig, value_resampling(shared))
    if inputs.sweep and sweep_points:
        strongest = max(inputs.sweep)
        others = [v for v in inputs.sweep_variants if v != ref]
        for task in inputs.sweep_tasks:
            points = {v: sweep_points.get((strongest, v, task), {}) for v in inputs.sweep_variants}
            found += cue_claims(points, ref, others, task, strongest, cfg, sig.level, value_resampling(shared))
    return found, subsets.get(HEALTHY_AVERAGE, [])


def claims(comparisons: Mapping[tuple, Comparison], reps, sweep_points, inputs: EvidenceInputs, cfg,
           out_dir: Path) -> tuple[str, dict]:
    """Each claim of the paper (and the embedded benchmark's cue claim) with its measured difference, interval,
    Holm-adjusted p-value and verdict; writes significance.csv (every comparison behind the report's marks and
    claims) and the forest plot claims.png."""
    found, healthy_tasks = _claim_list(comparisons, reps, sweep_points, inputs, cfg)
    holm_p = adjusted(found)
    level = inputs.significance.level
    rows, counts, forest = [], {}, {}
    for claim, p in zip(found, holm_p):
        text = claim_verdict(claim)
        counts[bucket(text)] = counts.get(bucket(text), 0) + 1
        rows.append([claim.table, claim.text, difference_text(claim.comparison),
                     "" if math.isnan(p) else f"{p:.3g}", text])
        c = claim.comparison
        if c is not None and c.tested:
            sign = -1.0 if claim.lower_is_better else 1.0  # drawn as 'reference better' to the right
            lo, hi = sorted((sign * c.low, sign * c.high))
            forest.setdefault(claim.table, []).append((claim.label, sign * c.observed, lo, hi))
    extra = [(claim.table, c) for claim in found if claim.table in ("table4", "sweep")
             for c in (claim.comparison, claim.guard) if c is not None]
    records = [_record(table, c) for (table, _, _), c in comparisons.items()] + [_record(t, c) for t, c in extra]
    atomic_write(out_dir / "significance.csv", dumps_csv(SIGNIFICANCE_COLUMNS, records))
    panels = {f"Table {t.removeprefix('table')}" if t.startswith("table") else "Cue sweep": rows
              for t, rows in forest.items()}
    atomic_write(out_dir / "claims.png", forest_png(
        panels,
        f"{cfg.label(inputs.significance.reference)} better →  (points; where lower is the claim, drawn negated)",
        "The claims: differences and their 95 % intervals"))
    family = sum(not math.isnan(p) for p in holm_p)
    survive = sum(p < 1 - level for p in holm_p if not math.isnan(p))
    verb = "survives" if survive == 1 else "survive"
    text = ("### Which of the paper's claims hold here\n\nEach claim, the measured difference (reference − other, "
            f"percentage points, mean over replicates) with its {100 * level:g}% paired t-interval, and a verdict that "
            "says what the interval counted. A replicate is a fresh draw of the task data (train, dev, test, cue "
            "placement) trained with its own seed, so 'significant over replicates' holds for the benchmark, not "
            "only for one draw; every verdict is still conditional on this encoder, these generated languages and "
            "this training budget. 'Same direction, not significant' does not support the claim. The claims are a "
            f"family of {family} tests: at an uncorrected {100 * (1 - level):g}% about "
            f"{family * (1 - level):.1f} would come out significant by chance if no difference were real, so each "
            f"also has its Holm-adjusted p-value; {survive} of the {family} {verb} a family-wise "
            f"{100 * (1 - level):g}%. The verdicts use the uncorrected interval, as the paper's claims are stated "
            "one by one. Table 4 and sweep claims compare per-replicate values (the probes' and the cue-flip "
            "rate's test examples are not resampled apart from their draw)."
            + (f" The healthy tasks ({', '.join(healthy_tasks)}) are those that pass every health check: the Average "
               "also holds tasks on which this run cannot test a claim." if healthy_tasks else "")
            + " Data: [significance.csv](significance.csv)\n\n![Claims](claims.png)\n\n"
            + _table(["Table", "Claim", "Measured difference", "Holm p", "Verdict"], rows))
    return text, {**{f"claims.{k}": v for k, v in sorted(counts.items())}, "claims.family": family,
                  "claims.survive_holm": survive}


def render_evidence(inputs: EvidenceInputs, cfg, out_dir: Path) -> tuple[list[str], Marks, dict]:
    """Write every section's files into `out_dir` (which already holds the merged scores, representations,
    target-dev scores); return the Markdown sections, the Table 2/3 significance marks and summary metrics."""
    scores = read_long(out_dir / "scores.csv", SCORE_COLUMNS)
    reps = read_long(out_dir / "representations.csv", REPR_COLUMNS)
    sig_md, marks, comparisons = significance(inputs, cfg)
    sel_md, sel_summary = selection(inputs, cfg, out_dir)
    probe_md, probe_summary = probes(reps, cfg, inputs.labels, out_dir)
    cf_md = counterfactuals(inputs, cfg, out_dir)
    sweep_md, sweep_summary, sweep_points = sweep(inputs, cfg, out_dir) if inputs.sweep else ("", {}, {})
    claims_md, claims_summary = claims(comparisons, reps, sweep_points, inputs, cfg, out_dir)
    sections = ["## Beyond the paper\n", claims_md, sig_md, sel_md, probe_md, cf_md, sweep_md,
                anchors(scores, cfg, out_dir)]
    summary = {**claims_summary, **{f"oracle.{k}": v for k, v in sel_summary.items()},
               **{f"probe.{k}": v for k, v in probe_summary.items()},
               **{f"sweep.{k}": v for k, v in sweep_summary.items()},
               "significant_differences": sum(c.significant for c in comparisons.values())}
    return [s for s in sections if s], marks, summary
