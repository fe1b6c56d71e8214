"""The raw folder's contract (`download` writes it; `pairs`, `train` and `evaluate` read it).

`meta.json` names the source, the languages and, per task, its labels and whether it is available. A task whose
dataset could not be obtained (MLDoc without its licensed text) stays in the pipeline as "not run": every stage
downstream writes a `not_run.json` marker instead of outputs, so DVC has a file to track and the report a reason to
print, and the rest of the pipeline goes on.

A task of the embedded benchmark may come in several *draws* (meta.json's `draws` for the task): each replicate's
own sample of train, dev and test data, in `<task>/draw<d>/`, trained and evaluated by the replicate whose seed is
d. Without `draws` the task's files lie in `<task>/` and every seed reads them (the paper's fixed datasets). The
folders `pairs` and `tokenise` write follow the same layout.

`corpus/` is what `pretrain` reads: one `<lang>.txt` of unlabelled lines per language and, from the embedded
benchmark, `parallel/train.jsonl` (English–target pairs `{id, lang, source, target}` for the alignment term) and
`parallel/heldout.jsonl` (pairs no pretraining step sees, for English→target retrieval).
"""

from __future__ import annotations

from pathlib import Path

from ..io import DataError, read_json, write_json

NOT_RUN = "not_run.json"


def read_meta(raw_dir: Path) -> dict:
    return read_json(Path(raw_dir) / "meta.json", ("source_lang", "languages", "tasks"), "download")


def task_meta(meta: dict, task: str, raw_dir: Path) -> dict:
    if task not in meta["tasks"]:
        raise DataError(f"{Path(raw_dir) / 'meta.json'}: no task {task!r}; valid: {sorted(meta['tasks'])}")
    return meta["tasks"][task]


def not_run_reason(meta: dict, task: str, raw_dir: Path) -> str | None:
    """Why `task` cannot run (its dataset is absent), or None when it can."""
    info = task_meta(meta, task, raw_dir)
    return None if info.get("available", True) else info["reason"]


def write_not_run(folder: Path, reason: str) -> None:
    write_json(Path(folder) / NOT_RUN, {"status": "not run", "reason": reason})


def is_not_run(folder: Path) -> bool:
    return (Path(folder) / NOT_RUN).exists()


def task_folder(task: str, draw: int | None) -> str:
    """The task's folder, relative to a raw, pairs or tokens folder: `<task>` or, for a draw, `<task>/draw<d>`."""
    return task if draw is None else f"{task}/draw{draw}"


def task_dir(root: Path, task: str, draw: int | None) -> Path:
    return Path(root) / task_folder(task, draw)


def task_draws(meta: dict, task: str) -> list[int | None]:
    """The task's draws in meta.json; [None] when its data are fixed (one folder for every seed)."""
    return list(meta["tasks"][task].get("draws") or [None])


def draw_of(meta: dict, task: str, seed: int, raw_dir: Path) -> int | None:
    """The draw the replicate with this seed trains and is tested on: its own when the task has draws, else None."""
    draws = meta["tasks"][task].get("draws")
    if not draws:
        return None
    if seed not in draws:
        raise DataError(f"{Path(raw_dir) / 'meta.json'}: task {task!r} has draws {draws}, none for seed {seed}; a seed "
                        "trains on its own draw: add it to train.seeds and rerun `xcrl download`")
    return seed
