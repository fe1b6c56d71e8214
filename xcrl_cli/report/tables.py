"""Tables 2-4 and Figure 3 of the paper, rebuilt from the `evaluate` stage's long-format CSVs.

Every number is a mean ± sample standard deviation over seeds, in percent, printed beside the paper's value
(from `published_values.yaml`, the only place published numbers live) with the difference, so a reader sees at once
how far the reproduction is from the claim. Every table ends with a reference row, what the best constant
prediction scores on the same test sets (`chance.py`), so a reader also sees how far each number is from learning
nothing. A task scored by binary F1 (PAWS-X) also gets its accuracy column, since F1 of one class rewards always
predicting it. Outputs are written atomically and byte-for-byte deterministically, so DVC does not see a change
where there is none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..evaluation.chance import GoldLabels, reference_cells, table4_reference
from ..evaluation.columns import REPR_COLUMNS, SCORE_COLUMNS
from ..io import atomic_write, dumps_csv
from .cells import ReportConfig, Stat, performance_columns, table4_cells, task_cells
from .inputs import PUBLISHED_VALUES, ReportError, load_paper_values, read_flags, read_long

TABLE4_COLUMNS = ("lang_id_acc", "cluster_purity", "cf_consistency", "low_resource_avg")
TABLE4_HEADERS = ("Lang-ID acc ↓", "Cluster purity ↑", "CF consistency ↑", "Low-resource avg ↑")
NOT_RUN = "not run"
REFERENCE = "constant"  # the reference row's variant name in the tables' CSVs
CONSTANT_ROW = "Constant predictor"
NO_REFERENCE = "—"


@dataclass(frozen=True)
class Row:
    """One printed line: a paper row (or a variant with none) and the measured cells of the variant standing for it."""

    paper_row: str | None
    variant: str
    cells: Mapping[str, Stat | None]  # column -> measurement; None = not run
    space: str = ""


@dataclass(frozen=True)
class Marks:
    """Text appended to table cells, (table, variant, column) -> mark, and the legend that explains the marks."""

    cells: Mapping[tuple[str, str, str], str]
    legend: str


NO_MARKS = Marks({}, "")


def _check_inputs(scores, reps, cfg: ReportConfig, paper, paths: tuple[Path, Path]) -> None:
    """Fail early, naming the culprit, on a variant without rows or a paper row the paper does not have."""
    in_scores = sorted({k[0] for k in scores})
    for name, variants in [*cfg.tables.items(), ("figure3", cfg.figure3)]:
        for v in variants:
            if v not in in_scores:
                raise ReportError(f"{paths[0]}: variant {v!r} (in tables.{name}) has no rows; present: {in_scores}")
    in_reps = sorted({k[0] for k in reps})
    for v in cfg.tables.get("table4", ()):
        if v not in in_reps:
            raise ReportError(f"{paths[1]}: variant {v!r} (in tables.table4) has no rows; present: {in_reps}")
    known = sorted({row for table in paper.values() for row in table})
    for v, rows in cfg.paper_rows.items():
        for row in rows:
            if row not in known:
                raise ReportError(f"paper_rows.{v}: {row!r} is not a row of the paper's tables; valid: {known}")


def _rows(cfg: ReportConfig, table: str, paper, cells_of) -> list[Row]:
    """One line per paper row a variant stands for (ERM prints as both mBERT and XLM-R), in config order."""
    rows = []
    for variant in cfg.tables.get(table, ()):
        cells, space = cells_of(variant)
        mapped = [r for r in cfg.paper_rows.get(variant, ()) if r in paper.get(table, {})] or [None]
        rows.extend(Row(paper_row, variant, cells, space) for paper_row in mapped)
    return rows


def _cell_text(stat: Stat | None, ref: float | None) -> str:
    measured = NOT_RUN if stat is None else stat.text()
    if ref is None:
        return measured
    diff = "" if stat is None else f", Δ {stat.mean - ref:+.2f}"
    return f"{measured} (paper {ref:.2f}{diff})"


def _markdown(title: str, caption: str, rows: list[Row], columns, headers, cfg, paper_table,
              marks: Mapping[tuple[str, str], str], reference: Mapping[str, float | None]) -> str:
    """A Markdown table; each cell reads 'measured mean ± std (paper value, Δ measured − paper)' and its mark; the
    last line is the constant predictor's score per column (— where none is defined)."""
    has_space = any(r.space for r in rows)
    head = ["Paper row", "Measured as", *(["Space"] if has_space else []), *headers]
    lines = [f"### {title}", "", caption, "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        ref = paper_table.get(r.paper_row, {})
        cells = [_cell_text(r.cells[c], ref.get(c)) + marks.get((r.variant, c), "") for c in columns]
        name = r.paper_row or "—"
        measured_as = f"{cfg.label(r.variant)} · {cfg.encoder_label}"
        lines.append("| " + " | ".join([name, measured_as, *([r.space] if has_space else []), *cells]) + " |")
    lines.append("| " + " | ".join([CONSTANT_ROW, "no model, from the test labels", *([""] if has_space else []),
                                    *(reference_text(reference[c]) for c in columns)]) + " |")
    return "\n".join(lines) + "\n"


def reference_text(value: float | None) -> str:
    """A constant-predictor cell: the score in percent, or a dash where no constant reference is defined."""
    return NO_REFERENCE if value is None else f"{value:.2f}"


def _table_csv(rows: list[Row], columns, paper_table, reference: Mapping[str, float | None]) -> str:
    """Raw numbers, one line per (row, column): mean, std, paper, diff as separate columns; the constant
    predictor's lines last (status 'reference', or 'not defined' where it has no score)."""
    records = []
    for r in rows:
        for c in columns:
            stat, ref = r.cells[c], paper_table.get(r.paper_row, {}).get(c)
            mean, std = (None, None) if stat is None else (round(stat.mean, 6), _round(stat.std))
            diff = None if stat is None or ref is None else round(stat.mean - ref, 6)
            records.append([r.paper_row, r.variant, r.space, c, 0 if stat is None else stat.n, mean, std, ref,
                            diff, NOT_RUN if stat is None else "ok"])
    records += [[None, REFERENCE, "", c, 0, _round(reference[c]), None, None, None,
                 "not defined" if reference[c] is None else "reference"] for c in columns]
    header = ["paper_row", "variant", "space", "column", "n_seeds", "mean", "std", "paper", "diff", "status"]
    return dumps_csv(header, records)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _seeds_phrase(rows: list[Row]) -> str:
    ns = sorted({s.n for r in rows for s in r.cells.values() if s is not None})
    if not ns:
        return "no replicates"
    span = str(ns[0]) if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"
    return f"{span} replicate{'s' if ns[-1] > 1 else ''} (seeds; on the embedded benchmark each with its own draw)"


def _figure3_stats(scores, where, cfg: ReportConfig) -> list[tuple[str, str, Stat]]:
    """Per variant and target language: the task metric averaged over tasks run, mean ± std over seeds."""
    out = []
    for variant in cfg.figure3:
        for lang in cfg.figure3_langs():
            average = task_cells(scores, where, cfg, variant, [lang])["average"]
            if average is not None:
                out.append((variant, lang, average))
    return out


def _figure3_png(stats: list[tuple[str, str, Stat]], cfg: ReportConfig, labels: GoldLabels, paper) -> bytes:
    """The bars, each language's constant-predictor level as a marker and, as horizontal lines, the paper's Table 2
    Average of the Figure 3 variants (the paper prints Figure 3's per-language values only as a figure)."""
    from .figures import grouped_bars_png

    bars = {cfg.label(v): {lang: (s.mean, s.std or 0.0) for v2, lang, s in stats if v2 == v} for v in cfg.figure3}
    chance = {lang: reference_cells(labels, cfg.task_metric, [lang])["average"] for lang in cfg.figure3_langs()}
    rows = paper.get("table2", {})
    lines = {f"paper: {row}, Table 2 Average": rows[row]["average"] for v in cfg.figure3
             for row in cfg.paper_rows.get(v, ())[-1:] if "average" in rows.get(row, {})}
    return grouped_bars_png(cfg.figure3_langs(), bars, f"Figure 3: transfer per target language ({cfg.encoder_label})",
                            f"target language (trained on {cfg.source_lang})", "task metric, mean over tasks (%)",
                            markers={"constant predictor": {k: v for k, v in chance.items() if v is not None}},
                            lines=lines)


def _summary(cfg: ReportConfig, perf: dict, t4: dict) -> dict:
    """Flat metrics for `dvc metrics show`: per variant target avg, low-resource avg and lang-ID, in percent."""
    out: dict[str, float | int | None] = {}
    variants = dict.fromkeys([v for vs in cfg.tables.values() for v in vs] + list(cfg.figure3))
    for v in variants:
        cells = t4[v][0] if v in t4 else {}
        for key, stat in [("target_avg", perf[v]["average"]), ("low_resource_avg", cells.get("low_resource_avg")),
                          ("lang_id_acc", cells.get("lang_id_acc"))]:
            if stat is not None:
                out.update({f"{v}.{key}.mean": _round(stat.mean), f"{v}.{key}.std": _round(stat.std),
                            f"{v}.{key}.n_seeds": stat.n})
    return out


def _coverage_note(scores, cfg: ReportConfig, paper) -> str:
    """Say so when the averages are over other tasks than the paper's Average (fewer of its four, or a task of the
    user's own), since the difference from the paper's value is then not like for like."""
    run = [task for task in cfg.task_metric if any(k[1] == task for k in scores)]
    averaged = list(dict.fromkeys(c for row in paper.get("table2", {}).values() for c in row if c != "average"))
    if not averaged or set(run) == set(averaged):
        return ""
    return f"; averages cover the tasks run ({', '.join(run)}), the paper's Average {', '.join(averaged)}"


def _emit(out_dir: Path, table: str, title: str, rows: list[Row], columns, headers, cfg, paper, note: str,
          marks: Marks, reference: Mapping[str, float | None]) -> str:
    """Write one table as .md and .csv, with its constant-predictor line; return its Markdown for report.md."""
    paper_table = paper.get(table, {})
    table_marks = {(v, c): m for (t, v, c), m in marks.cells.items() if t == table}
    legend = f" {marks.legend}" if table_marks and marks.legend else ""
    caption = (f"{note}. Each cell: measured mean ± sample std over {_seeds_phrase(rows)}, in percent "
               f"(paper value, Δ = measured − paper). Encoder: {cfg.encoder_label}.{legend}")
    md = _markdown(title, caption, rows, columns, headers, cfg, paper_table, table_marks, reference)
    atomic_write(out_dir / f"{table}.md", md)
    atomic_write(out_dir / f"{table}.csv", _table_csv(rows, columns, paper_table, reference))
    return md + f"\nRaw numbers: [{table}.csv]({table}.csv)\n"


def _flagged_md(flagged: Mapping[tuple, str]) -> str:
    """The runs training flagged, each with its reason; the cells they enter carry † and their count."""
    lines = ["### Flagged runs", "", ("Runs that training flagged (`xcrl_cli/training/guards.py`). They are averaged "
                                      "into their cells, which carry † and the number of such runs."), ""]
    lines += [f"- {v}/{t}/seed{s}: {reason}" for (v, t, s), reason in sorted(flagged.items())] or ["- none"]
    return "\n".join(lines) + "\n"


def _report_md(cfg: ReportConfig, sections: list[str], perf: dict, flagged: Mapping[tuple, str],
               front_sections: Sequence[str], extra_sections: Sequence[str]) -> str:
    all_rows = [Row(None, v, cells) for v, cells in perf.items()]
    header = (f"# Reproduction report\n\nScale: embedded benchmark, encoder {cfg.encoder_label}; every number is a "
              f"mean ± sample std over {_seeds_phrase(all_rows)}. One measured run may stand for several paper rows "
              f"(e.g. ERM for mBERT and XLM-R); the 'Measured as' column names what was actually trained. "
              f"The same report with its figures in one file: [report.html](report.html).\n")
    figure = ("### Figure 3: per target language\n\n![Figure 3](figure3.png)\n\n"
              "Data: [figure3.csv](figure3.csv); metrics: [summary.json](summary.json)\n")
    return "\n".join([header, *front_sections, *sections, _flagged_md(flagged), figure, *extra_sections])


def _language_note(scores, cfg: ReportConfig) -> str:
    """Which targets each task was tested on, when some task lacks some (real datasets), and which of them were not
    run (an optional dataset without their files); empty otherwise."""
    tested = {task: [lang for lang in cfg.targets if any(k[1] == task and k[3] == lang for k in scores)]
              for task in cfg.task_metric}
    partial = {task: langs for task, langs in tested.items() if langs and langs != list(cfg.targets)}
    if not partial:
        return ""

    def coverage(task: str, langs: list[str]) -> str:
        not_run = [lang for lang in cfg.targets if lang in cfg.languages_not_run.get(task, {})]
        return f"{task}: {', '.join(langs)}" + (f"; {', '.join(not_run)} {NOT_RUN}" if not_run else "")

    return " its test set has (" + "; ".join(coverage(t, ls) for t, ls in partial.items()) + ")"


CONSTANT_NOTE = ("The last row is the best constant prediction (one class for every example of a task, chosen per "
                 "task), scored with each column's metric on the same test sets: what a model that learnt nothing "
                 "scores")
TABLE4_CONSTANT_NOTE = ("The last row is chance: for Lang-ID the majority language's share of the test sets the "
                        "probe is trained and scored on (every language, averaged over tasks), for the "
                        "low-resource average the best constant prediction as in Table 2; cluster purity and CF "
                        "consistency have no constant reference (a constant predictor is 100% consistent by "
                        "construction, which is why consistency must be read beside the scores), so those cells "
                        "are blank")


def _render_tables(scores, reps, cfg: ReportConfig, paper, paths: tuple[Path, Path], out_dir: Path,
                   flagged: Mapping[tuple, str], marks: Marks, labels: GoldLabels):
    """Tables 2-4 as .md/.csv; returns their Markdown and the per-variant cells the summary is built from."""
    variants = dict.fromkeys([v for vs in cfg.tables.values() for v in vs] + list(cfg.figure3))
    perf = {v: task_cells(scores, paths[0], cfg, v, cfg.targets, flagged) for v in variants}
    t4 = {v: table4_cells(scores, reps, paths, cfg, v) for v in variants if any(k[0] == v for k in reps)}
    coverage = _coverage_note(scores, cfg, paper)
    columns, headers = performance_columns(cfg)
    zero_shot = (f"Zero-shot {cfg.source_lang} → {', '.join(cfg.targets)}, mean over target languages"
                 f"{_language_note(scores, cfg)}{coverage}. {CONSTANT_NOTE}")
    reference = reference_cells(labels, cfg.task_metric, cfg.targets)
    sections = [_emit(out_dir, table, title, _rows(cfg, table, paper, lambda v: (perf[v], "")), columns, headers,
                      cfg, paper, zero_shot, marks, reference)
                for table, title in [("table2", "Table 2: overall performance"), ("table3", "Table 3: ablation")]]
    note = f"Low-resource = {', '.join(cfg.low_resource)}{coverage}. {TABLE4_CONSTANT_NOTE}"
    sections.append(_emit(out_dir, "table4", "Table 4: representations", _rows(cfg, "table4", paper, t4.__getitem__),
                          TABLE4_COLUMNS, TABLE4_HEADERS, cfg, paper, note, marks,
                          table4_reference(labels, cfg.task_metric, cfg.low_resource)))
    return sections, perf, t4


def render_report(scores_csv: Path, representations_csv: Path, cfg: ReportConfig, out_dir: Path,
                  labels: GoldLabels, paper_values: Path | None = None, runs_csv: Path | None = None,
                  marks: Marks = NO_MARKS, front_sections: Sequence[str] = (), extra_sections: Sequence[str] = (),
                  extra_summary: Mapping | None = None) -> dict:
    """Write Tables 2-4, Figure 3, report.md and summary.json into `out_dir`; return the summary.

    `labels` are the test sets' gold labels, for the tables' constant-predictor rows. `front_sections` (Markdown
    put before the tables: the run's health) come from `health.py`; `marks` (significance marks on cells, with
    their legend), `extra_sections` (Markdown appended to report.md) and `extra_summary` from `evidence.py`."""
    paths = (Path(scores_csv), Path(representations_csv))
    scores, reps = read_long(paths[0], SCORE_COLUMNS), read_long(paths[1], REPR_COLUMNS)
    flagged = read_flags(runs_csv)
    paper = load_paper_values(paper_values or PUBLISHED_VALUES)
    _check_inputs(scores, reps, cfg, paper, paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections, perf, t4 = _render_tables(scores, reps, cfg, paper, paths, out_dir, flagged, marks, labels)
    fig_stats = _figure3_stats(scores, paths[0], cfg)
    atomic_write(out_dir / "figure3.png", _figure3_png(fig_stats, cfg, labels, paper))
    atomic_write(out_dir / "figure3.csv", dumps_csv(["variant", "lang", "mean", "std"], [
        [v, lang, _round(s.mean), _round(s.std)] for v, lang, s in fig_stats]))
    summary = {**_summary(cfg, perf, t4), "flagged_runs": len(flagged), **(extra_summary or {})}
    atomic_write(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    atomic_write(out_dir / "report.md", _report_md(cfg, sections, perf, flagged, front_sections, extra_sections))
    return summary


