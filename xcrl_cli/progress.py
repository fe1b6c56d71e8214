"""The one progress-bar style of the project (rich), quiet when the output is not a terminal or under CI."""

from __future__ import annotations

import os

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_disabled() -> bool:
    """True under XCRL_NO_PROGRESS (tests, CI, worker processes sharing one terminal)."""
    return bool(os.environ.get("XCRL_NO_PROGRESS"))


def progress_bar(disable: bool | None = None, stderr: bool = False) -> Progress:
    """A bar on standard output, or on standard error with `stderr` (a command whose output is its stdout)."""
    if disable is None:
        disable = progress_disabled()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True) if stderr else None,
        disable=disable,
        transient=False,
    )
