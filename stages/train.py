"""`xcrl train`: train variants on tasks for each seed; weights selected on the source-language dev set.

Runs as one process, or as many under `accelerate launch` (e.g. `accelerate launch --multi_gpu --num_processes 4
-m xcrl_cli train --task xnli`); a killed run started again with the same params resumes from its last checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import (benchmark_folders, choice_check, load, one_line, params_option, per_cue_option,
                              selected_tasks, tasks_option, user_errors)

DIR = click.Path(file_okay=False, path_type=Path)


@click.command()
@params_option
@tasks_option
@click.option("--variant", "variants", multiple=True, default=("proposed",), show_default=True,
              help="A variant defined in params.yaml (repeat for several).")
@click.option("--every-variant", is_flag=True,
              help="Every variant of params.yaml's `variants`, all their runs in one pool (what `dvc repro` runs).")
@click.option("--seed", "seeds", type=int, multiple=True,
              help="A seed to run (repeat for several); default: train.seeds.")
@click.option("--raw", type=DIR, default="data/raw", show_default=True)
@click.option("--tokens", "tokens_dir", type=DIR, default="data/tokens", show_default=True,
              help="Tokenised datasets written by `xcrl tokenise`, one folder per task.")
@click.option("--out", type=DIR, default="data/models", show_default=True,
              help="Parent folder: one <variant>/<task>/ per variant and task trained, each replaced whole, with "
                   "one seed<N>/ per seed.")
@click.option("--live", "live_root", type=DIR, default="data/live", show_default=True,
              help="dvclive parent folder, laid out as --out.")
@click.option("--checkpoints", type=DIR, default="data/checkpoints", show_default=True,
              help="Checkpoint parent folder, laid out as --out; a <variant>/<task>/ is removed once its outputs "
                   "are in place.")
@per_cue_option
def train(params_path, tasks, variants, every_variant, seeds, raw, tokens_dir, out, live_root, checkpoints,
          per_cue) -> None:
    """Train the model with each variant's loss terms, on source-language labels only; with a task whose dataset
    is absent, write its "not run" marker instead."""
    from xcrl_cli.data.raw import not_run_reason, read_meta, write_not_run
    from xcrl_cli.io import atomic_dir
    from xcrl_cli.training.train import TrainFolders, train_runs
    from xcrl_cli.training.workers import RunsFailed

    p = load(params_path)
    tasks = selected_tasks(p, tasks)
    if every_variant:
        variants = tuple(p.variants)
    for variant in variants:
        choice_check("--variant", variant, p.variants)
    benchmarks = [TrainFolders(**f) for f in benchmark_folders(p, per_cue, raw=raw, tokens=tokens_dir, out=out,
                                                               live=live_root, checkpoints=checkpoints)]
    reasons = {}
    with user_errors():
        for b in benchmarks:
            meta = read_meta(b.raw)
            reasons |= {(b, task): not_run_reason(meta, task, b.raw) for task in tasks}
    for (b, task), reason in reasons.items():
        if reason:
            for variant in variants:
                for folder in (b.out / variant / task, b.live / variant / task):
                    with atomic_dir(folder) as tmp:
                        write_not_run(tmp, reason)
                click.echo(f"{task}/{variant}: not run, its dataset is absent ({b.raw})")
    groups = [(b, variant, task) for b in benchmarks for variant in variants for task in tasks if not reasons[b, task]]
    if not groups:
        return
    with user_errors(), one_line(RunsFailed):
        summaries = train_runs(p, groups, seeds or p.train.seeds)
    for (b, variant, task), runs in summaries.items():
        for s in runs:
            click.echo(f"{task}/{variant}/seed{s['seed']}: source-dev accuracy {s['source_dev_accuracy']:.4f} "
                       f"(step {s['selected_step']} of {s['steps']}, {s['processes']} process(es)) -> "
                       f"{b.out / variant / task}")
