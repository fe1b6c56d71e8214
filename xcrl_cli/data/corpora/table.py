"""A `table` task of the registry: any dataset in csv, tsv, jsonl or parquet files, or on the Hub, read through the
column map of its entry (`tasks.<name>` in params.yaml; docs/your-task.md) into the common schema.

Per split (train, dev, test, and optionally translations of the training rows), the entry names a file, a folder of
parquet files, or a Hub split; `{lang}` in a path or in `hub_config` makes it one per language. Otherwise a `lang`
column says each row's language, or every row is in `language` (default: the source language). Training keeps
the source language's rows; dev and test every language of `data.languages` the data has; a row in another language
is skipped and counted. Translations, linked to their training row by the `id` column, give the task its pairs;
without them the pairs come from the parallel corpus, as for MLDoc and sentiment.

The rows are then assembled as XNLI's and PAWS-X's are (`pairtask.assemble`): the same skips (empty texts, the
entry's `skip_texts`), the same ids, so PAWS-X described as a table gives the rows of its built-in format.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from ...config import TaskEntry
from ...io import DataError, iter_jsonl
from . import hub as hf, pairtask
from .pairtask import PairFormat, Record
from .schema import DatasetUnavailable, TaskData
from .tsv import read_rows

FILE_TYPES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")  # a folder: its *.parquet files, in name order


def label_reader(name: str, entry: TaskEntry):
    """(label as read, where) -> the label's index: by `label_values`, else by its name or its index as text."""
    values = entry.label_values or entry.labels
    index = {str(v): i for i, v in enumerate(values)}
    if not entry.label_values:
        index |= {str(i): i for i in range(len(values))}

    def label_of(value: str | int | float, where: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # whole numbers stored as floats, as pandas writes an integer column with gaps
        if str(value) in index:
            return index[str(value)]
        raise DataError(f"{where}: label {value!r} is not one of tasks.{name}'s labels; valid: "
                        f"{', '.join(f'{v} ({label})' for v, label in zip(values, entry.labels))}")

    return label_of


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, dict]]:
    """(where, row) of one file or parquet folder, each row holding `columns` (a file without one is an error)."""
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        if not parts:
            raise DataError(f"{path}: a folder with no *.parquet file; name a {'/'.join(FILE_TYPES)} file or a "
                            "folder of parquet files")
        for part in parts:
            yield from _rows(part, columns)
        return
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        for line, row in read_rows(path, columns):
            yield f"{path}:{line}", row
        return
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".jsonl", ".json"):
        rows = ((f"{path}:{line}", row) for line, row in iter_jsonl(path))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = ((f"{path} row {i + 1}", row) for i, row in enumerate(pq.read_table(path).to_pylist()))
    else:
        raise DataError(f"{path}: {suffix or 'no extension'} is not a format a table task reads; use "
                        f"{', '.join(FILE_TYPES)}, or a folder of parquet files")
    for where, row in rows:
        missing = [c for c in columns if c not in row]
        if missing:
            raise DataError(f"{where}: no column {missing}; the row has {list(row)}")
        yield where, row


def _csv_rows(path: Path) -> Iterator[tuple[str, dict]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield f"{path}:{reader.line_num}", row


class Table:
    """One table task's data as record streams per split, read from files or the Hub."""

    def __init__(self, name: str, entry: TaskEntry, languages: Sequence[str], source_lang: str):
        self.name, self.entry, self.languages, self.source_lang = name, entry, list(languages), source_lang
        self.columns = entry.columns
        self.absent: dict[str, str] = {}  # language -> why it has no rows (a {lang} file or config missing)

    def _langs(self, split: str) -> list[str]:
        """The languages a split is read in when its path or config is per language."""
        if split == "train":
            return [self.source_lang]
        if split == "translations":
            return [lang for lang in self.languages if lang != self.source_lang]
        return self.languages

    def _sources(self, split: str) -> list[tuple[str | None, object]]:
        """(language or None when the rows say it, where to read) of a split: files, or Hub (config, split)."""
        e = self.entry
        template = e.files.get(split) if e.files else e.hub_splits.get(split)
        if template is None:
            return []
        per_lang = "{lang}" in template or (e.hub is not None and "{lang}" in (e.hub_config or ""))
        langs = self._langs(split) if per_lang else [None]
        if e.files:
            return [(lang, Path(template.format(lang=lang) if lang else template)) for lang in langs]
        return [(lang, ((e.hub_config or "").format(lang=lang) or None if lang else e.hub_config, template))
                for lang in langs]

    def _available(self, split: str) -> list[tuple[str | None, object]]:
        """The split's sources that exist: a missing per-language file is that language absent, any other missing
        file (the source language's, or the one file of a split) is the dataset unavailable."""
        kept = []
        for lang, where in self._sources(split):
            if isinstance(where, Path) and not where.exists():
                if lang is None or lang == self.source_lang:
                    raise DatasetUnavailable(f"{self.name}: {where} not found; fix tasks.{self.name}.files.{split} "
                                             "in params.yaml (a path from the project root)", f"{where} not found")
                self.absent[lang] = f"{where} not found"
                continue
            kept.append((lang, where))
        return kept

    def records(self, split: str) -> Iterator[Record]:
        """The split's records; rows in a language not read for this split are skipped upstream (`_language`)."""
        c = self.columns
        wanted = [c[role] for role in ("text", "text_pair", "label", "lang", "id") if role in c]
        if split == "translations":
            wanted = [col for col in wanted if col != c["label"]]
        for lang, where in self._available(split):
            rows = _rows(where, wanted) if isinstance(where, Path) else self._hub_rows(*where, wanted)
            for n, (at, row) in enumerate(rows):
                row_lang = lang or (str(row[c["lang"]]) if "lang" in c else self.entry.language or self.source_lang)
                key = str(row[c["id"]]) if "id" in c else f"{row_lang}-row{n + 1}"
                yield (row_lang, key, row[c["text"]], row[c["text_pair"]] if "text_pair" in c else None,
                       row.get(c["label"], ""), at)

    def _hub_rows(self, config: str | None, split: str, columns: Sequence[str]) -> Iterator[tuple[str, dict]]:
        rows = hf.load_split(self.entry.hub, config, split)
        missing = [col for col in columns if col not in rows.column_names]
        if missing:
            raise DataError(f"{self.entry.hub!r} config {config!r} split {split!r}: no column {missing}; it has "
                            f"{rows.column_names}")
        for i, values in enumerate(zip(*(rows[col] for col in columns))):
            yield f"{self.entry.hub!r} config {config!r} split {split!r} row {i}", dict(zip(columns, values))


def _in(records: Iterator[Record], langs: Sequence[str], split: str, data_skips: list) -> Iterator[Record]:
    """The records in `langs`; the others are set aside to be counted as skipped."""
    for record in records:
        if record[0] in langs:
            yield record
        else:
            data_skips.append((split, record[0]))


def load(name: str, entry: TaskEntry, languages: Sequence[str], source_lang: str) -> TaskData:
    """Task `name` of the registry in the common schema."""
    table = Table(name, entry, languages, source_lang)
    fmt = PairFormat(name, name, tuple(entry.labels), tuple(languages), f"fix tasks.{name} in params.yaml",
                     label_reader(name, entry), None, None, placeholders=tuple(entry.skip_texts),
                     pair=entry.kind == "pair")
    others = [lang for lang in languages if lang != source_lang]
    skipped: list[tuple[str, str]] = []
    with hf.unavailable(name, f"Check tasks.{name}.hub in params.yaml") if entry.hub else contextlib.nullcontext():
        if entry.hub:
            hf.probe(entry.hub, name, f"check tasks.{name}.hub in params.yaml")
        data = pairtask.assemble(
            fmt, _in(table.records("train"), [source_lang], "train", skipped),
            {"all": _in(table.records("translations"), others, "translations", skipped)},
            {split: _in(table.records(split), list(languages), split, skipped) for split in ("dev", "test")})
    for split, lang in skipped:
        data.tally.skip(split, lang, "language not read for this split" if lang in languages
                        else "not in data.languages")
    data.tally.absent.update(table.absent)
    data.tally.list_absent([lang for lang in languages if lang not in table.absent], name, languages, name)
    return data
