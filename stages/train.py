"""`xcrl train`: train one variant on one task for each seed; weights selected on the source-language dev set."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import choice_check, load, params_option, user_errors


def _dvclive_logger(live_dir: Path):
    """A `log(step, metrics)` callback writing dvclive metrics, so `dvc plots` and `dvc exp show` see training."""
    from dvclive import Live

    live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None)

    def log(step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            live.log_metric(name, value, plot=True)
        live.next_step()

    return live, log


@click.command()
@params_option
@click.option("--task", required=True, help="One of data.tasks (xnli, pawsx, mldoc, sentiment).")
@click.option("--variant", default="proposed", show_default=True, help="A variant defined in params.yaml.")
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed(s) to run; default: train.seeds.")
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--pairs", "pairs_dir", type=click.Path(file_okay=False, path_type=Path), default="data/pairs",
              show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder [default: data/models/<variant>/<task>], one seed<N>/ inside per seed.")
@click.option("--live", "live_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dvclive folder [default: data/live/<variant>/<task>].")
def train(params_path, task, variant, seeds, raw, pairs_dir, out, live_root) -> None:
    """Train the model of DESIGN §2 with the variant's loss terms, on source-language labels only."""
    from xcrl_cli.io import atomic_dir, write_json
    from xcrl_cli.raw import not_run_reason, read_meta, write_not_run
    from xcrl_cli.train import RunSpec, train_run

    p = load(params_path)
    choice_check("--task", task, p.data.tasks)
    choice_check("--variant", variant, p.variants)
    out = out or Path("data/models") / variant / task
    live_root = live_root or Path("data/live") / variant / task
    with user_errors():
        reason = not_run_reason(read_meta(raw), task, raw)
    if reason:
        for folder in (out, live_root):
            with atomic_dir(folder) as tmp:
                write_not_run(tmp, reason)
        click.echo(f"{task}/{variant}: not run, its dataset is absent")
        return
    summaries = []
    with user_errors(), atomic_dir(out) as tmp, atomic_dir(live_root) as live_tmp:
        for seed in seeds or p.train.seeds:
            live, log = _dvclive_logger(live_tmp / f"seed{seed}")
            spec = RunSpec(task=task, variant=variant, seed=seed, raw_dir=raw, pairs_dir=pairs_dir,
                           out_dir=tmp / f"seed{seed}")
            summaries.append(train_run(p, spec, log))
            live.end()
        write_json(tmp / "summary.json", summaries)
    for s in summaries:
        click.echo(f"{task}/{variant}/seed{s['seed']}: source-dev accuracy {s['source_dev_accuracy']:.4f} "
                   f"(step {s['selected_step']} of {s['steps']})")
