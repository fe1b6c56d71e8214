"""`xcrl report`: Tables 2-4 and Figure 3, measured beside the paper's values, from every variant's evaluation."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, user_errors


@click.command()
@params_option
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default="data/eval", show_default=True,
              help="Folder with one <variant>/ of scores.csv and representations.csv per variant.")
@click.option("--sweep-dir", type=click.Path(file_okay=False, path_type=Path), default="data/sweep/eval",
              show_default=True, help="The cue sweep's evaluations, one cue<strength>/ per sweep.cue_strengths.")
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True,
              help="For meta.json: each task's labels and the languages.")
@click.option("--pretrain-metrics", type=click.Path(dir_okay=False, path_type=Path),
              default="data/metrics/pretrain.json", show_default=True,
              help="Pretraining's metrics, for the encoder's English→target retrieval in health.json; optional: "
              "without the file the retrieval is reported as not measured.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/report", show_default=True)
def report(params_path: Path, eval_dir: Path, sweep_dir: Path, raw: Path, pretrain_metrics: Path, out: Path) -> None:
    """Aggregate over seeds (mean ± std), render the paper's tables and figure beside its reported values with a
    constant-predictor row, the run's health (health.json: can it test the claims at all?), the evidence beyond
    them (significance, selection, probes, counterfactuals, cue sweep, anchors, claims) and one self-contained
    report.html."""
    from xcrl_cli.data.raw import read_meta
    from xcrl_cli.evaluation.chance import gold_labels
    from xcrl_cli.evaluation.significance import read_predictions
    from xcrl_cli.io import atomic_dir
    from xcrl_cli.report.cells import ReportConfig
    from xcrl_cli.report.evidence import EvidenceInputs, render_evidence
    from xcrl_cli.report.health import render_health
    from xcrl_cli.report.html_report import render_html
    from xcrl_cli.report.inputs import MERGED_CSVS, merge_long_csv
    from xcrl_cli.report.tables import render_report

    p = load(params_path)
    variants = list(dict.fromkeys(v for rows in [*p.report.tables.values(), p.report.figure3] for v in rows))
    missing = [v for v in variants if not (eval_dir / v / "scores.csv").exists()]
    if missing:
        raise click.UsageError(f"{eval_dir}: no evaluation for {missing}; run `xcrl evaluate --variant <name>`")
    with user_errors():
        meta = read_meta(raw)
        n_labels = {t: len(m["labels"]) for t, m in meta["tasks"].items() if "labels" in m}  # absent: not run
        predictions = read_predictions(eval_dir / v / "predictions.jsonl" for v in variants)  # read once
        labels = gold_labels(predictions, n_labels)
    cfg = ReportConfig(
        source_lang=p.data.source_lang, targets=p.data.targets, low_resource=p.data.low_resource,
        task_metric={task: entry.metric for task, entry in p.tasks.items()}, tables=p.report.tables,
        figure3=p.report.figure3, paper_rows=p.report.paper_rows, encoder_label=p.model.encoder_label,
        variant_labels=p.report.labels, table4_space=p.report.table4_space,
        languages_not_run={t: m.get("languages_not_run", {}) for t, m in meta["tasks"].items()},
        figure3_targets=p.report.figure3_languages,
    )
    sweep = {c: sweep_dir / f"cue{c}" for c in p.sweep.cue_strengths}
    if p.data.source == "embedded":  # the main runs are a point of the sweep only on the benchmark it rebuilds
        sweep[p.benchmark.cue_strength[p.sweep.tasks["task"][0]]] = eval_dir  # one strength for all (validated)
    with user_errors(), atomic_dir(out) as tmp:
        for name, columns in MERGED_CSVS.items():
            (tmp / name).write_text(merge_long_csv([eval_dir / v / name for v in variants], columns), encoding="utf-8")
        health_md, healthy = render_health(eval_dir, [sweep_dir / f"cue{c}" for c in p.sweep.cue_strengths], labels,
                                          cfg, pretrain_metrics, tmp)
        inputs = EvidenceInputs(
            eval_dir=eval_dir, sweep=sweep, sweep_tasks=p.sweep.tasks["task"],
            sweep_variants=p.sweep.variants["variant"], n_labels=n_labels, significance=p.report.significance,
            labels=labels, healthy_tasks=healthy, predictions=predictions)
        sections, marks, summary = render_evidence(inputs, cfg, tmp)
        render_report(tmp / "scores.csv", tmp / "representations.csv", cfg, tmp, labels, runs_csv=tmp / "runs.csv",
                      marks=marks, front_sections=[health_md], extra_sections=sections, extra_summary=summary)
        render_html(tmp / "report.md", tmp / "report.html")
    click.echo(f"report written to {out}/: report.html (everything in one file), report.md, tables, figures")
