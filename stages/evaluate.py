"""`xcrl evaluate`: test scores per language and representation metrics for every run of the variants named."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import (benchmark_folders, choice_check, load, one_line, params_option, per_cue_option,
                              selected_tasks, tasks_option, user_errors)


@click.command()
@params_option
@click.option("--variant", "variants", multiple=True,
              help="A variant defined in params.yaml (repeat for several); default: every variant there.")
@tasks_option
@click.option("--models", type=click.Path(file_okay=False, path_type=Path), default="data/models", show_default=True)
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--tokens", "tokens_dir", type=click.Path(file_okay=False, path_type=Path), default="data/tokens",
              show_default=True, help="Tokenised datasets written by `xcrl tokenise`.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/eval", show_default=True,
              help="Parent folder: one <variant>/ per variant, each replaced whole.")
@per_cue_option
def evaluate(params_path, variants, tasks, models, raw, tokens_dir, out, per_cue) -> None:
    """Predict every test set (all languages), score it, and measure language-ID, purity and consistency. The runs
    are evaluated in the run pool they are trained in (`train.workers` on CPU, `train.runs_per_gpu` per GPU), all
    variants in one pool."""
    from xcrl_cli.evaluation.evaluate import EvalFolders, evaluate_runs
    from xcrl_cli.training.workers import RunsFailed

    p = load(params_path)
    for variant in variants:
        choice_check("--variant", variant, p.variants)
    benchmarks = [EvalFolders(**f) for f in benchmark_folders(p, per_cue, models=models, raw=raw, tokens=tokens_dir,
                                                              out=out)]
    tasks = selected_tasks(p, tasks)
    with user_errors(), one_line(RunsFailed):
        written = evaluate_runs(p, benchmarks, variants or tuple(p.variants), tasks)
    for folder, runs in written:
        click.echo(f"evaluated {runs} runs of {folder.name} -> {folder}")
