"""New text to predict on: rows of a csv, tsv, JSON-lines or plain-text file (or standard input), each reduced to
the text (and, for a sentence-pair model, its pair) the model reads, the id and language it may carry, and where it
stands in its file.

The columns are those of the raw folder's JSON lines (`text`, `text_pair`) or their common other names (`text_a`,
`text_b`), unless named; a plain-text file is one text per line. A file that cannot serve (no such column, no row,
a text that is not a string) is a `DataError` naming the file and line, as every bad data file is.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..io import DataError

FORMATS = ("csv", "tsv", "jsonl", "txt")
TEXT_COLUMNS = ("text", "text_a")  # tried in order when no column is named
PAIR_COLUMNS = ("text_pair", "text_b")
PASSED_THROUGH = ("id", "lang")  # copied from an input row to its prediction when the input has them


@dataclass(frozen=True)
class Columns:
    """Which columns hold the text and its pair (None: the first of TEXT_COLUMNS / PAIR_COLUMNS the file has), and
    whether the model reads a pair at all."""

    text: str | None = None
    pair: str | None = None
    pair_model: bool = False


def input_format(name: str, given: str | None) -> str:
    """The format asked for, else the file's suffix (`.json` as JSON lines); standard input is JSON lines."""
    if given:
        return given
    if name == "-":
        return "jsonl"
    suffix = Path(name).suffix.lower().lstrip(".")
    suffix = {"json": "jsonl", "ndjson": "jsonl", "text": "txt"}.get(suffix, suffix)
    if suffix not in FORMATS:
        raise DataError(f"{name}: cannot tell its format from its suffix; name it with --input-format "
                        f"({' | '.join(FORMATS)})")
    return suffix


def _records(name: str, text: str, fmt: str) -> tuple[list[str] | None, list[tuple[int, dict]]]:
    """(column names where the format has a header, else None; (line, row) of every non-blank row)."""
    if fmt == "txt":
        return None, [(n, {"text": line}) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if fmt == "jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{name}:{n}: not valid JSON ({err.msg}); expected one object per line") from None
            if not isinstance(row, dict):
                raise DataError(f"{name}:{n}: a JSON {type(row).__name__}, not an object with a text column")
            rows.append((n, row))
        return None, rows
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ",")
    rows = [(reader.line_num, row) for row in reader]  # the csv module skips blank lines, as JSON lines are
    return list(reader.fieldnames or []), rows


def _column(name: str, keys: list[str], named: str | None, candidates: tuple[str, ...], what: str,
            option: str) -> str:
    """The column named, else the first of `candidates` the input has."""
    column = named if named is not None else next((c for c in candidates if c in keys), None)
    if column is None or column not in keys:
        wanted = repr(named) if named is not None else " or ".join(map(repr, candidates))
        raise DataError(f"{name}: no {what} column {wanted} (its columns: {', '.join(keys) or 'none'}); "
                        f"name it with {option}")
    return column


def read_texts(name: str, text: str, fmt: str, columns: Columns) -> list[dict]:
    """The rows of `text` (the contents of file `name`, `-` for standard input) in `fmt`: each
    {where, text, text_pair (None for a single-text model), and `id` and `lang` where the input has them}."""
    if columns.pair is not None and not columns.pair_model:
        raise DataError(f"--pair-column {columns.pair}: the model reads single texts, not sentence pairs")
    header, records = _records(name, text, fmt)
    if not records:
        raise DataError(f"{name}: no rows to predict on (an empty file, or a header alone)")
    keys = header if header is not None else list(dict.fromkeys(k for _, row in records for k in row))
    text_col = _column(name, keys, columns.text, TEXT_COLUMNS, "text", "--text-column")
    pair_col = _column(name, keys, columns.pair, PAIR_COLUMNS, "text-pair", "--pair-column") \
        if columns.pair_model else None
    out = []
    for line, row in records:
        where = f"{name}:{line}"
        texts = {key: row.get(col) for key, col in (("text", text_col), ("text_pair", pair_col)) if col}
        for key, value in texts.items():
            if not isinstance(value, str) or not value.strip():
                column = text_col if key == "text" else pair_col
                raise DataError(f"{where}: {column!r} is {json.dumps(value)}, not a text to classify")
        out.append({"where": where, "text_pair": None, **texts,
                    **{k: row[k] for k in PASSED_THROUGH if row.get(k) not in (None, "")}})
    return out


def read_input(name: str, fmt: str | None, columns: Columns) -> list[dict]:
    """`read_texts` of a file, or of standard input when `name` is `-`."""
    fmt = input_format(name, fmt)
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{name}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{name}: a folder, not a file of texts") from None
    return read_texts(name, text, fmt, columns)
