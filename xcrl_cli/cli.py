"""The `xcrl` command: one subcommand per pipeline stage (the same names as in dvc.yaml and stages/)."""

from __future__ import annotations

import click

from stages.download import download
from stages.evaluate import evaluate
from stages.pairs import pairs
from stages.pretrain import pretrain
from stages.report import report
from stages.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xcrl")
def main() -> None:
    """Cross-lingual causal representation learning: reproduce the paper as a DVC pipeline.

    Every option defaults to params.yaml; `dvc repro` runs the stages in order, `xcrl <stage>` runs one ad hoc.
    """


for command in (download, pairs, pretrain, train, evaluate, report):
    main.add_command(command)


@main.command()
@click.argument("name")
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
def preset(name: str, params_path: str) -> None:
    """Print the `dvc exp run -S ...` arguments of preset NAME (checked against params.yaml first).

    Example: dvc exp run -n paper $(xcrl preset paper)
    """
    from xcrl_cli import presets
    from xcrl_cli.config import load_yaml
    from xcrl_cli.options import user_errors

    with user_errors(), open(params_path, encoding="utf-8") as f:
        presets.validate(load_yaml(f.read()), name)
    click.echo(presets.set_param_args(name))
