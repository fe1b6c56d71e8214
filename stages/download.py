"""`xcrl download`: the task data, written to data/raw in the common example schema."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option


@click.command()
@params_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True,
              help="Folder the datasets are written to.")
@click.option("--cue-strength", type=click.FloatRange(0, 1), default=None,
              help="Override benchmark.cue_strength (embedded source only).")
def download(params_path: Path, out: Path, cue_strength: float | None) -> None:
    """Build or fetch the datasets of every task (data.source; `embedded` generates the benchmark of DESIGN §4)."""
    from dataclasses import asdict

    from xcrl_cli.benchmark import BenchmarkConfig, generate_benchmark, write_benchmark

    p = load(params_path)
    bench = asdict(p.benchmark)
    if cue_strength is not None:
        bench["cue_strength"] = cue_strength
    cfg = BenchmarkConfig(source_lang=p.data.source_lang, languages=p.data.languages,
                          low_resource=p.data.low_resource, tasks=p.data.tasks, **bench)
    write_benchmark(generate_benchmark(cfg), out)
    click.echo(f"wrote the embedded benchmark ({len(cfg.tasks)} tasks, {len(cfg.languages)} languages) to {out}")
