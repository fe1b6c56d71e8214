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
