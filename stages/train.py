"""`xcrl train`: train one variant on one task for each seed; weights selected on the source-language dev set.

Runs as one process, or as many under `accelerate launch` (e.g. `accelerate launch --multi_gpu --num_processes 4
-m xcrl_cli train --task xnli`); a killed run started again with the same params resumes from its last checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import choice_check, load, params_option, user_errors


@click.command()
@params_option
@click.option("--task", required=True, help="One of data.tasks (xnli, pawsx, mldoc, sentiment).")
@click.option("--variant", default="proposed", show_default=True, help="A variant defined in params.yaml.")
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed(s) to run; default: train.seeds.")
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--tokens", "tokens_dir", type=click.Path(file_okay=False, path_type=Path), default="data/tokens",
              show_default=True, help="Tokenised datasets written by `xcrl tokenise`, one folder per task.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder [default: data/models/<variant>/<task>], one seed<N>/ inside per seed.")
@click.option("--live", "live_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dvclive folder [default: data/live/<variant>/<task>].")
@click.option("--checkpoints", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Checkpoint folder, removed when the task is done [default: data/checkpoints/<variant>/<task>].")
def train(params_path, task, variant, seeds, raw, tokens_dir, out, live_root, checkpoints) -> None:
    """Train the model of DESIGN §2 with the variant's loss terms, on source-language labels only."""
    from xcrl_cli.io import atomic_dir
    from xcrl_cli.raw import not_run_reason, read_meta, write_not_run
    from xcrl_cli.train import train_task

    p = load(params_path)
    choice_check("--task", task, p.data.tasks)
    choice_check("--variant", variant, p.variants)
    out = out or Path("data/models") / variant / task
    live_root = live_root or Path("data/live") / variant / task
    checkpoints = checkpoints or Path("data/checkpoints") / variant / task
    with user_errors():
        reason = not_run_reason(read_meta(raw), task, raw)
    if reason:
        for folder in (out, live_root):
            with atomic_dir(folder) as tmp:
                write_not_run(tmp, reason)
        click.echo(f"{task}/{variant}: not run, its dataset is absent")
        return
    with user_errors():
        summaries = train_task(p, task, variant, seeds or p.train.seeds, raw, tokens_dir / task, out, live_root,
                               checkpoints)
    for s in summaries:
        click.echo(f"{task}/{variant}/seed{s['seed']}: source-dev accuracy {s['source_dev_accuracy']:.4f} "
                   f"(step {s['selected_step']} of {s['steps']}, {s['processes']} process(es))")
