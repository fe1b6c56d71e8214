"""What the report reads: the `evaluate` stage's long-format CSVs and runs.csv, and the published values.

Every input is checked as it is read, so a malformed file fails naming the file, the line and what is valid.
`published_values.yaml` beside this module is the only place published numbers live.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from ..evaluation.columns import REPR_COLUMNS, RUN_COLUMNS, SCORE_COLUMNS
from ..io import DataError, iter_csv, require_file

PUBLISHED_VALUES = Path(__file__).with_name("published_values.yaml")
PAPER_TABLES = ("table2", "table3", "table4")


class ReportError(DataError):
    """An input the report cannot use; the message names the file, the column or variant, and what is valid."""


def read_long(path: Path, columns: tuple[str, ...]) -> dict[tuple, float]:
    """Index a long CSV by its key columns; values must be fractions, since every metric here is a rate."""
    table = {}
    for line, rec in iter_csv(path, columns, "evaluate"):
        try:
            seed, value = int(rec["seed"]), float(rec["value"])
        except ValueError:
            raise ReportError(f"{path}:{line}: seed must be an int and value a float, got {rec}") from None
        if not 0.0 <= value <= 1.0:
            raise ReportError(f"{path}:{line}: column 'value' = {value} is not a fraction in [0, 1]")
        key = (rec[columns[0]], rec[columns[1]], seed, rec[columns[3]], rec[columns[4]])
        table[key] = value
    return table


def load_paper_values(path: Path = PUBLISHED_VALUES) -> dict[str, dict[str, dict[str, float]]]:
    """The paper's Tables 2-4 as table -> row -> column -> percent."""
    raw = yaml.safe_load(Path(path).read_text())
    try:
        return {table: {row: {c: float(v) for c, v in cols.items()} for row, cols in raw[table]["rows"].items()}
                for table in PAPER_TABLES}
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ReportError(f"{path}: expected table -> {{source, rows: row -> column -> number}} ({err})") from None


def load_anchors(path: Path = PUBLISHED_VALUES) -> list[dict]:
    """Published zero-shot numbers of the baselines from other papers: model, task, metric, value, setting, source."""
    rows = yaml.safe_load(Path(path).read_text()).get("anchors", {}).get("rows", [])
    keys = {"model", "task", "metric", "value", "setting", "source", "url"}
    for i, row in enumerate(rows):
        if set(row) != keys:
            raise ReportError(f"{path}: anchors.rows[{i}] has keys {sorted(row)}, expected {sorted(keys)}")
    return rows


def read_flags(runs_csv: Path | None) -> dict[tuple, str]:
    """(variant, task, seed) -> the reasons training flagged it, from evaluate's runs.csv; none without the file."""
    if runs_csv is None or not Path(runs_csv).exists():
        return {}
    return {(r["variant"], r["task"], int(r["seed"])): r["flags"]
            for _, r in iter_csv(runs_csv, ("variant", "task", "seed", "flags"), "evaluate") if r["flags"]}


# The CSVs of every variant's evaluation that the report merges into one each, with their columns.
MERGED_CSVS = {"scores.csv": SCORE_COLUMNS, "scores_target_dev.csv": SCORE_COLUMNS,
               "representations.csv": REPR_COLUMNS, "runs.csv": RUN_COLUMNS}


def merge_long_csv(paths: Sequence[Path], columns: Sequence[str]) -> str:
    """Concatenate long-format CSVs (one per variant) whose header names `columns`."""
    header = ",".join(columns) + "\n"
    texts = [require_file(p, "evaluate").read_text(encoding="utf-8").splitlines(keepends=True) for p in paths]
    for path, lines in zip(paths, texts):
        if lines[:1] != [header]:
            raise ReportError(f"{path}:1: header {''.join(lines[:1]).strip()!r} is not the expected "
                              f"{header.strip()!r}")
    return header + "".join(line for lines in texts for line in lines[1:])
