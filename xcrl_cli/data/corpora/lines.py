"""Reading the one-item-per-line files that distributions ship (tweets, labels, aligned sentences, MLDoc documents).

A decode error from Python names neither the file nor the line, and decoding with `errors="replace"` would silently
change the text a model sees, so each line is decoded on its own and a bad one is reported by file and line number.
A UTF-8 byte order mark (which Windows editors write) is no part of the first line's text: it is removed, as
`utf-8-sig` does, and the file is recorded in the `bom_log` open around the read, so `download` can count it.

Inside a `sampled` block every file is read only up to a few lines, and recorded: `xcrl check` runs the very loaders
`download` runs so, opening the files a dataset's layout requires and parsing their first rows in seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

from ...io import DataError
from .schema import DatasetUnavailable

BOM = b"\xef\xbb\xbf"
_BOM_FILES: ContextVar[list[str] | None] = ContextVar("bom_files", default=None)
_SAMPLE: ContextVar[tuple[int, list[str]] | None] = ContextVar("sample", default=None)  # (lines per file, opened)


@contextlib.contextmanager
def bom_log() -> Iterator[list[str]]:
    """Collect the files read inside the block that began with a BOM (each once, in reading order)."""
    files: list[str] = []
    token = _BOM_FILES.set(files)
    try:
        yield files
    finally:
        _BOM_FILES.reset(token)


def record_bom(path: Path | str) -> None:
    """Note that `path` began with a BOM (removed), in the `bom_log` open, if any."""
    files = _BOM_FILES.get()
    if files is not None and str(path) not in files:
        files.append(str(path))


@contextlib.contextmanager
def sampled(lines: int) -> Iterator[list[str]]:
    """Inside the block, `read_lines` gives only the first `lines` lines of each file, and the files it opens are
    collected (each once, in opening order) in the list yielded."""
    opened: list[str] = []
    token = _SAMPLE.set((lines, opened))
    try:
        yield opened
    finally:
        _SAMPLE.reset(token)


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its line ending, LF or CRLF) for each line of the UTF-8 file `path` (its
    first lines only inside a `sampled` block)."""
    sample = _SAMPLE.get()
    limit = sample[0] if sample else None
    with open(path, "rb") as handle:
        if sample and str(path) not in sample[1]:
            sample[1].append(str(path))
        for number, raw in enumerate(handle, start=1):
            if limit is not None and number > limit:
                break
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
                record_bom(path)
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{number}: byte {raw[err.start]:#04x} at column {err.start + 1} is not "
                                f"valid UTF-8; the file must be UTF-8 (re-download or re-extract it)") from None


def read_split_file(path: Path, how_to_get: str) -> list[tuple[int, str]]:
    """The numbered lines of a file that holds one split of a dataset, without the blank lines at its end (an
    editor's extra newline is no row). A missing or empty file is an error naming it: the split would vanish."""
    if not Path(path).is_file():
        raise DatasetUnavailable(f"{path} not found, but its folder holds the dataset's other files. {how_to_get}",
                                 f"{path} not found")
    lines = list(read_lines(path))
    end = len(lines)
    while end and not lines[end - 1][1].strip():
        end -= 1
    if not end:
        raise DatasetUnavailable(f"{path}: empty, a split without a row. {how_to_get}", f"{path} empty")
    return lines[:end]


def check_aligned(first: Path, second: Path, a: Sequence[tuple[int, str]], b: Sequence[tuple[int, str]],
                  rule: str) -> None:
    """Fail when two line-aligned files differ in length, naming the first line where they stop matching: the first
    line blank in one file only (where a line was most likely lost), or else the shorter file's end."""
    if len(a) == len(b):
        return
    for (number, x), (_, y) in zip(a, b):
        if bool(x.strip()) != bool(y.strip()):
            blank = first if not x.strip() else second
            raise DataError(f"{first} has {len(a)} lines but {second} has {len(b)}; they stop matching at line "
                            f"{number}, blank in {blank} only ({rule})")
    (short, n), (long, _) = sorted([(first, len(a)), (second, len(b))], key=lambda f: f[1])
    raise DataError(f"{first} has {len(a)} lines but {second} has {len(b)}; {long}:{n + 1} has no counterpart, "
                    f"{short} ends after line {n} ({rule})")
