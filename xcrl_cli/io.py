"""File I/O shared by every stage: JSON lines in the common example schema, and atomic writes.

Outputs are written to a temporary sibling and renamed into place, so a killed stage leaves the previous output or
none, never a half-written file that DVC could cache.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence


class DataError(ValueError):
    """A data file that cannot be read as it stands; the message names the file and line, what was found and what
    is valid. The CLI prints it as one line (exit code 2)."""


# Reading a stage's inputs: a missing file, a malformed line and a row without a key the reader needs are each a
# DataError naming the file (and line, and key) and what is valid, so every stage reports them as one line.

def require_file(path: Path, stage: str = "") -> Path:
    """`path`, which the `xcrl <stage>` command writes; missing, a DataError saying so."""
    if not Path(path).is_file():
        writer = f"`xcrl {stage}` writes it" if stage else "an earlier stage writes it"
        raise DataError(f"{path}: missing; {writer} (run it first, or point this stage's folder option at its "
                        "output)")
    return Path(path)


def _lacking(row, keys: Sequence[str]) -> list[str]:
    """The `keys` a JSON object lacks; a dotted key (`pair.text`) names a key of a nested object."""
    def has(obj, key: str) -> bool:
        head, _, rest = key.partition(".")
        return isinstance(obj, dict) and head in obj and (not rest or has(obj[head], rest))
    return [key for key in keys if not has(row, key)]


def iter_jsonl(path: Path, keys: Sequence[str] = (), stage: str = "") -> Iterator[tuple[int, dict]]:
    """(line number, row) of a JSON-lines file that `xcrl <stage>` writes, each row an object holding `keys`."""
    with require_file(path, stage).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{lineno}: not valid JSON ({err.msg}); expected one object per line") from None
            missing = _lacking(row, keys)
            if missing:
                raise DataError(f"{path}:{lineno}: missing key(s) {missing}; a row needs {list(keys)}")
            yield lineno, row


def read_jsonl(path: Path, keys: Sequence[str] = (), stage: str = "") -> list[dict]:
    return [row for _, row in iter_jsonl(path, keys, stage)]


def read_json(path: Path, keys: Sequence[str] = (), stage: str = "") -> dict:
    """The JSON object in a file that `xcrl <stage>` writes, holding `keys`."""
    try:
        obj = json.loads(require_file(path, stage).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg}); expected one JSON object") from None
    missing = _lacking(obj, keys)
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}; expected an object with {list(keys)}")
    return obj


def iter_csv(path: Path, columns: Sequence[str], stage: str = "") -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) of a CSV file with a header that `xcrl <stage>` writes, naming `columns`."""
    with require_file(path, stage).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise DataError(f"{path}:1: header {reader.fieldnames} lacks the column(s) {missing}; expected a "
                            f"header naming {list(columns)}")
        for line, row in enumerate(reader, start=2):
            yield line, row


def dumps_jsonl(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def dumps_csv(header: Sequence[str], records: Iterable[Sequence]) -> str:
    """CSV text with a header; None is written as an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for rec in records:
        writer.writerow(["" if x is None else x for x in rec])
    return buf.getvalue()


def _remove_stale(path: Path) -> None:
    """The temporaries that a killed writer of `path` left beside it (SIGKILL runs no cleanup)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def _fresh_beside(path: Path, create: Callable[[Path], None]) -> Path:
    """A new temporary beside `path`, named as `_remove_stale` finds it, made by `create` (`os.mkdir`, or a file
    opened with O_EXCL) with the user's umask. `tempfile` makes its temporaries 0700 and 0600, and an output renamed
    from one stays unreadable to the rest of a group sharing the project."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            create(tmp)
            return tmp
        except FileExistsError:
            continue


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _fresh_beside(path, lambda p: os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)))
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it replaces `path` whole, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = _fresh_beside(path, os.mkdir)
    old = tmp.with_name(f"{tmp.name}-old")
    try:
        yield tmp
        if path.exists():
            os.replace(path, old)  # a non-empty folder cannot be replaced in one rename: move the old one aside
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
