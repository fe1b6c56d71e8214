"""`xcrl download`: the task data, written to data/raw in the common example schema."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.config import SOURCES
from xcrl_cli.options import load, params_option, selected_tasks, tasks_option, user_errors


@click.command()
@params_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True,
              help="Folder the datasets are written to.")
@click.option("--source", type=click.Choice(SOURCES), default=None,
              help="Override data.source: embedded (generated benchmark) or real (the `datasets` section).")
@tasks_option
@click.option("--cue-strength", type=click.FloatRange(0, 1), default=None,
              help="One cue strength for every task, instead of benchmark.cue_strength (embedded source only).")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows read, kept and skipped per dataset, split and language here (JSON); default: "
                   "<out>.download.json beside --out (data/raw.download.json).")
def download(params_path: Path, out: Path, source: str | None, tasks: tuple[str, ...],
             cue_strength: float | None, metrics: Path | None) -> None:
    """Build or read the datasets of every task: `embedded` generates the embedded benchmark (docs/benchmark.md), `real` reads
    XNLI, PAWS-X, MLDoc and multilingual sentiment from the Hub or local copies. data/raw is replaced whole or not
    at all. Prints the rows read, kept and skipped per dataset, split and language, and writes them to --metrics.

    `--source real` checks data.languages against the real datasets' languages, whatever data.source says;
    `--source embedded` renders those of data.languages the embedded benchmark has a lexicon for, and lists the
    others."""
    # The embedded benchmark's languages are a subset of the real datasets', so only `real` widens the check.
    p = load(params_path, source="real" if source == "real" else None)
    chosen = selected_tasks(p, tasks)
    with user_errors():
        if (source or p.data.source) == "real":
            # A task asked for by name must be there; datasets.optional only spares the whole pipeline's run.
            report = _real(p, chosen, () if tasks else p.datasets.optional, out)
        else:
            report = _embedded(p, chosen, out, cue_strength)
    _print_report(report)
    from xcrl_cli.io import write_json

    metrics = metrics or out.with_name(f"{out.name}.download.json")
    write_json(metrics, report)
    click.echo(f"counts written to {metrics}")


def _print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from xcrl_cli.data.sources import report_rows

    table = Table(title="rows read, kept and skipped")
    for column in ("dataset", "split", "language", "read", "kept", "skipped"):
        table.add_column(column, justify="right" if column in ("read", "kept") else "left")
    for row in report_rows(report):
        table.add_row(*row)
    Console(soft_wrap=True).print(table)


def _embedded(p, tasks: tuple[str, ...], out: Path, cue_strength: float | None) -> dict:
    from dataclasses import asdict

    from xcrl_cli.config.languages import LANGUAGE_CODES
    from xcrl_cli.data.benchmark import BenchmarkConfig, generate_benchmark, write_benchmark
    from xcrl_cli.data.sources import embedded_report

    bench = asdict(p.benchmark)
    if cue_strength is not None:
        bench["cue_strength"] = cue_strength
    # With real data.languages (the cue sweep under the paper preset), the benchmark keeps the ones it can render.
    languages = [lang for lang in p.data.languages if lang in LANGUAGE_CODES]
    dropped = sorted(set(p.data.languages) - set(languages))
    if dropped:
        click.echo(f"the embedded benchmark has no lexicon for {dropped}; rendering {languages}")
    cfg = BenchmarkConfig(source_lang=p.data.source_lang, languages=tuple(languages),
                          low_resource=tuple(lang for lang in p.data.low_resource if lang in languages),
                          tasks=tasks, draws=tuple(p.train.seeds) if p.benchmark.draw_per_seed else (), **bench)
    bench = generate_benchmark(cfg)
    write_benchmark(bench, out)
    draws = f", draws {list(cfg.draws)} (one per seed)" if cfg.draws else ""
    click.echo(f"wrote the embedded benchmark ({len(cfg.tasks)} tasks, {len(cfg.languages)} languages{draws}) to {out}")
    return embedded_report(bench)


def _real(p, tasks: tuple[str, ...], optional: tuple[str, ...], out: Path) -> dict:
    from xcrl_cli.data.sources import download_report, load_real, write_real

    data = load_real(p, tasks, optional, echo=click.echo)
    meta = write_real(p, data, out)
    report = download_report(data)
    for task, info in meta["tasks"].items():
        if not info["available"]:
            click.echo(f"{task}: not run (dataset absent)")
            continue
        rows = ", ".join(f"{split} {n}" for split, n in info["rows"].items())
        skipped = f"; skipped {info['skipped']}" if info["skipped"] else ""
        click.echo(f"{task}: {rows}; {info['translations']} translations; languages {info['languages']}{skipped}")
    for name, info in report.items():
        for why in sorted(set(info.get("absent", {}).values())):
            langs = [lang for lang, reason in info["absent"].items() if reason == why]
            click.echo(f"{name}: {', '.join(langs)} {why}")
    click.echo(f"parallel pairs per language: {meta['parallel']}; dictionaries: {meta['dictionaries']}")
    click.echo(f"wrote {out}")
    return report
