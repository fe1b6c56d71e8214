"""Click options shared by the stage commands: where params.yaml is, and turning errors caused by the params or the
data into one line.

A bad params value, a dataset that cannot be read and a data file that does not parse are the user's to fix, not the
code's: each prints one `Error:` line naming the file (and line), what was found and what is valid, and exits with
code 2. `xcrl --debug` (or XCRL_DEBUG=1) lets them through with their traceback instead.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import click

from .config import Params, load_params
from .data import USER_ERRORS

params_option = click.option(
    "--params",
    "params_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="params.yaml",
    show_default=True,
    help="The params file every default is read from.",
)


tasks_option = click.option("--task", "tasks", multiple=True,
                            help="Only these tasks (repeat for several); default: data.tasks.")


def selected_tasks(p: Params, tasks: tuple[str, ...]) -> tuple[str, ...]:
    """The tasks a stage works on: those named (each checked against data.tasks), else every task of data.tasks."""
    for task in tasks:
        choice_check("--task", task, p.data.tasks)
    return tasks or tuple(p.data.tasks)


per_cue_option = click.option(
    "--per-cue", is_flag=True,
    help="The cue sweep's layout: each folder option is a parent holding one cue<strength>/ per strength of "
         "sweep.cue_strengths, and every strength's runs go side by side in this one process.")


def benchmark_folders(p: Params, per_cue: bool, **folders: Path) -> list[dict[str, Path]]:
    """The folders a stage reads and writes, one dict per benchmark: the options as given, or with `--per-cue` each
    option's cue<strength>/ for every strength of sweep.cue_strengths (the cue sweep's folders, as the report reads
    them)."""
    if not per_cue:
        return [folders]
    return [{name: folder / f"cue{cue}" for name, folder in folders.items()} for cue in p.sweep.cue_strengths]


def load(params_path: Path, source: str | None = None) -> Params:
    """Load params.yaml (data.source replaced by `source` if given), reporting a bad value as one error line (exit
    code 2) before any work starts."""
    with user_errors():
        return load_params(params_path, source)


class UserError(click.ClickException):
    """An error the user fixes in the params or the data: one line on stderr, exit code 2."""

    exit_code = 2

    def __init__(self, err: Exception) -> None:
        super().__init__(" ".join(str(err).split()))  # one line, whatever the message's own line breaks


def debug() -> bool:
    """Whether `--debug` or XCRL_DEBUG=1 asks for tracebacks."""
    ctx = click.get_current_context(silent=True)
    flag = ctx is not None and ctx.find_root().params.get("debug", False)
    return bool(flag) or os.environ.get("XCRL_DEBUG", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as err:
        if debug():
            raise
        raise UserError(err) from None


@contextlib.contextmanager
def one_line(*kinds: type[Exception]) -> Iterator[None]:
    """Errors of `kinds` whose details are already on stderr (the run pool's failed runs, each traceback printed by
    its worker) as one `Error:` line, exit code 1; `--debug` lets them through."""
    try:
        yield
    except kinds as err:
        if debug():
            raise
        raise click.ClickException(" ".join(str(err).split())) from None


def choice_check(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise click.BadParameter(f"{value!r} is not one of {sorted(allowed)}", param_hint=name)
    return value
