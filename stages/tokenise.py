"""`xcrl tokenise`: every task's train pairs, source dev, test and test counterfactuals, tokenised once."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, selected_tasks, tasks_option, user_errors


@click.command()
@params_option
@tasks_option
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True)
@click.option("--pairs", "pairs_dir", type=click.Path(file_okay=False, path_type=Path), default="data/pairs",
              show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/tokens", show_default=True,
              help="One `datasets` folder (save_to_disk) per task.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write rows and truncated sequences per task, split and language here (JSON).")
def tokenise(params_path: Path, tasks: tuple[str, ...], raw: Path, pairs_dir: Path, out: Path,
             metrics: Path | None) -> None:
    """Tokenise with model.encoder's tokenizer, truncating at train.max_length; `train` and `evaluate` read this."""
    from xcrl_cli.data.raw import is_not_run, read_meta, task_draws, task_folder, task_meta, write_not_run
    from xcrl_cli.io import atomic_dir, write_json
    from xcrl_cli.training.tokens import tokenise_task

    p = load(params_path)
    counts = {}
    with user_errors(), atomic_dir(out) as tmp:
        meta = read_meta(raw)
        for task in selected_tasks(p, tasks):
            if is_not_run(pairs_dir / task):
                write_not_run(tmp / task, "its dataset is absent (see data/raw/meta.json)")
                click.echo(f"{task}: not run")
                continue
            task_meta(meta, task, raw)
            for draw in task_draws(meta, task):
                name = task_folder(task, draw)
                counts[name] = tokenise_task(p.model.encoder, raw, pairs_dir, task, p.data.source_lang,
                                             p.train.max_length, tmp / name, draw)
                click.echo(f"{name}: " + ", ".join(f"{split} {c['rows']}" for split, c in counts[name].items()))
        for name, splits in counts.items():
            for split, c in splits.items():
                if c["truncated"]:
                    click.echo(f"warning: {name}/{split}: train.max_length {p.train.max_length} cut "
                               + ", ".join(f"{n} {lang}" for lang, n in c["truncated"].items())
                               + " sequence(s); raise train.max_length (and pretrain.max_length) to keep them whole",
                               err=True)
    if metrics is not None:
        write_json(metrics, counts)
