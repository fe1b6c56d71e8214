"""Reading the tab-separated files that dataset distributions ship (XNLI, MultiNLI, PAWS-X, ...).

These files write text unquoted and contain unbalanced quotes, so fields are split on tabs alone: what `csv` does with
QUOTE_NONE, except that a stray carriage return inside a text stays text instead of stopping the read (a quote-aware
reader would swallow whole stretches of the file into one field). Every row comes with its line number, so a loader's
error can point at the exact line of the file a user has to look at.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ...io import DataError
from .lines import read_lines
from .schema import DatasetUnavailable


def read_rows(path: Path, columns: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for each line after the header line, which names the columns.

    `columns` are the ones the caller reads; a header without them means the wrong file, reported before any row.
    Missing trailing fields read as empty (MultiNLI strips empty trailing columns, failed machine translations leave
    fields out), and a blank line is a row of empty fields, so line-aligned files stay aligned. More fields than the
    header names means a tab inside a text: the columns after it cannot be trusted, so that raises. A file without a
    row after its header is an empty split, which no dataset ships: it raises too, naming the file.
    """
    lines = read_lines(path)
    header = _fields(next(lines, (1, ""))[1])
    if not header:
        raise DatasetUnavailable(f"{path}: empty (no header line); re-download or re-extract it", f"{path} empty")
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path}:1: header {header} lacks the column(s) {missing}; expected a header naming "
                        f"{list(columns)}")
    empty = True
    for number, line in lines:
        empty = False
        fields = _fields(line)
        if len(fields) > len(header):
            raise DataError(f"{path}:{number}: {len(fields)} tab-separated fields, but the header names "
                            f"{len(header)} ({', '.join(header)}); a text field probably contains a tab")
        yield number, dict(zip(header, fields + [""] * (len(header) - len(fields))))
    if empty:
        raise DatasetUnavailable(f"{path}: no rows after the header; re-download or re-extract it",
                                 f"{path} empty (a header, no row)")


def _fields(line: str) -> list[str]:
    """The tab-separated fields of one line; a blank line has none."""
    return line.split("\t") if line else []

