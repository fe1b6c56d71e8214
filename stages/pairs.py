"""`xcrl pairs`: parallel pairs P and counterfactuals x̃ for every task, with their chrF and filter counts."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, selected_tasks, tasks_option, user_errors


@click.command()
@params_option
@tasks_option
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/pairs", show_default=True)
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False, path_type=Path),
              default="data/metrics/pairs.json", show_default=True, help="Per-task pair counts and chrF per kind.")
def pairs(params_path: Path, tasks: tuple[str, ...], raw: Path, out: Path, metrics_path: Path) -> None:
    """Build translation pairs and counterfactuals for each task in data.tasks (each draw of a task's data on its
    own: metrics keyed `<task>/draw<d>`)."""
    from dataclasses import asdict

    from xcrl_cli.data.pairs import PairsConfig, build_pairs, describe_stats
    from xcrl_cli.data.raw import read_meta, task_draws, task_folder, task_meta
    from xcrl_cli.io import atomic_dir, write_json

    p = load(params_path)
    cfg = PairsConfig(**asdict(p.pairs))
    stats = {}
    with user_errors(), atomic_dir(out) as tmp:
        meta = read_meta(raw)
        for task in selected_tasks(p, tasks):
            task_meta(meta, task, raw)
            for draw in task_draws(meta, task):  # each draw of the task's data: its own pairs
                stats[task_folder(task, draw)] = build_pairs(raw, tmp, task, cfg, draw)
    write_json(metrics_path, stats)
    for task, s in stats.items():
        click.echo(describe_stats(task, s))
