"""`xcrl report`: Tables 2-4 and Figure 3, measured beside the paper's values, from every variant's evaluation."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, user_errors


@click.command()
@params_option
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default="data/eval", show_default=True,
              help="Folder with one <variant>/ of scores.csv and representations.csv per variant.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/report", show_default=True)
def report(params_path: Path, eval_dir: Path, out: Path) -> None:
    """Aggregate over seeds (mean ± std) and render the paper's tables and figure beside its reported values."""
    from xcrl_cli.io import atomic_dir
    from xcrl_cli.report import ReportConfig, merge_long_csv, render_report

    p = load(params_path)
    variants = list(dict.fromkeys(v for rows in [*p.report.tables.values(), p.report.figure3] for v in rows))
    missing = [v for v in variants if not (eval_dir / v / "scores.csv").exists()]
    if missing:
        raise click.UsageError(f"{eval_dir}: no evaluation for {missing}; run `xcrl evaluate --variant <name>`")
    cfg = ReportConfig(
        source_lang=p.data.source_lang, targets=p.data.targets, low_resource=p.data.low_resource,
        task_metric=p.report.task_metric, tables=p.report.tables,
        figure3=p.report.figure3, paper_rows=p.report.paper_rows, encoder_label=p.model.encoder_label,
        variant_labels=p.report.labels, table4_space=p.report.table4_space,
    )
    with user_errors(), atomic_dir(out) as tmp:
        for name in ("scores.csv", "representations.csv", "runs.csv"):
            (tmp / name).write_text(merge_long_csv([eval_dir / v / name for v in variants]), encoding="utf-8")
        render_report(tmp / "scores.csv", tmp / "representations.csv", cfg, tmp, runs_csv=tmp / "runs.csv")
    click.echo(f"Tables 2-4 and Figure 3 written to {out}/ (report.md, table2.md, table3.md, table4.md, figure3.png)")
