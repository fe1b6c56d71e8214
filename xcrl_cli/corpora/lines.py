"""Reading the one-item-per-line files that distributions ship (tweets, labels, aligned sentences, MLDoc documents).

A decode error from Python names neither the file nor the line, and decoding with `errors="replace"` would silently
change the text a model sees, so each line is decoded on its own and a bad one is reported by file and line number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its line ending) for each line of the UTF-8 file `path`."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}:{number}: byte {raw[err.start]:#04x} at column {err.start + 1} is not "
                                 f"valid UTF-8; the file must be UTF-8 (re-download or re-extract it)") from None
