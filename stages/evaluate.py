"""`xcrl evaluate`: test scores per language and representation metrics for every run of the variants named."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import choice_check, load, params_option, selected_tasks, tasks_option, user_errors


@click.command()
@params_option
@click.option("--variant", "variants", required=True, multiple=True,
              help="A variant defined in params.yaml (repeat for several).")
@tasks_option
@click.option("--models", type=click.Path(file_okay=False, path_type=Path), default="data/models", show_default=True)
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--tokens", "tokens_dir", type=click.Path(file_okay=False, path_type=Path), default="data/tokens",
              show_default=True, help="Tokenised datasets written by `xcrl tokenise`.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/eval", show_default=True,
              help="Parent folder: one <variant>/ per variant, each replaced whole.")
def evaluate(params_path, variants, tasks, models, raw, tokens_dir, out) -> None:
    """Predict every test set (all languages), score it, and measure language-ID, purity and consistency. On CPU,
    `train.workers` runs are evaluated side by side, as they are trained."""
    import functools

    from xcrl_cli.data.raw import is_not_run
    from xcrl_cli.evaluation.evaluate import evaluate_run, write_results
    from xcrl_cli.progress import progress_bar
    from xcrl_cli.training.inference import resolve_device
    from xcrl_cli.training.workers import run_side_by_side

    p = load(params_path)
    for variant in variants:
        choice_check("--variant", variant, p.variants)
    tasks = selected_tasks(p, tasks)
    keys = [{"variant": variant, "task": task, "seed": seed} for variant in variants for task in tasks
            if not is_not_run(models / variant / task) for seed in p.train.seeds]
    run_dirs = [models / k["variant"] / k["task"] / f"seed{k['seed']}" for k in keys]
    untrained = [str(d) for d in run_dirs if not (d / "config.json").exists()]
    if untrained:
        raise click.UsageError(f"no trained run in {', '.join(untrained)}; run `xcrl train` first")
    jobs = [functools.partial(evaluate_run, d, raw, tokens_dir, k, p.evaluate) for d, k in zip(run_dirs, keys)]
    with user_errors():
        side_by_side = min(p.train.workers, len(jobs)) if resolve_device(p.train.device).type == "cpu" else 1
        if side_by_side > 1:
            results = run_side_by_side(jobs, side_by_side)
        else:
            results = []
            with progress_bar() as bar:
                job = bar.add_task(f"evaluate {', '.join(variants)}", total=len(jobs))
                for run in jobs:
                    results.append(run())
                    bar.update(job, advance=1)
    for variant in variants:
        mine = [r for k, r in zip(keys, results) if k["variant"] == variant]
        write_results(mine, out / variant)
        click.echo(f"evaluated {len(mine)} runs of {variant} -> {out / variant}")
