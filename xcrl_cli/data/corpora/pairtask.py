"""Assembling a task from record streams: English train, its translations, dev/test (XNLI, PAWS-X, and any `table`
task of the registry, single text or pair).

These datasets ship the same shape — a training set, machine translations of it linked by a key, human-translated
dev/test sets linked by a pair id — and differ only in how labels are written and which rows are unusable. Those
differences are a `PairFormat`; the assembly is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import hub as hf
from .schema import TaskData, example, label_text, translation

# (language, key, first text, second text (None for a single-text task), label as read, where it was read for error
# messages)
Record = tuple[str, str, str, str | None, str | int, str]
# (train, {lang: translated train}, {split: dev/test}) record streams, read from a folder or from the Hub given
# (folder or repo, wanted languages, wanted languages but the source, source language)
Sources = tuple[Iterable[Record], Mapping[str, Iterable[Record]], Mapping[str, Iterable[Record]]]
Reader = Callable[[Path | str, list[str], list[str], str], Sources]


@dataclass(frozen=True)
class PairFormat:
    task: str
    name: str  # the dataset's name in messages
    labels: tuple[str, ...]
    languages: tuple[str, ...]  # every language the dataset has
    how_to_local: str  # how to get the original files, for the error when they are missing
    label_of: Callable[[str | int, str], int]  # (label as read, where) -> index; raises on a label outside the set
    local_sources: Reader
    hub_sources: Reader
    skipped_labels: Mapping[str, str] = field(default_factory=dict)  # label as read -> why its row is skipped
    placeholders: tuple[str, ...] = ()  # texts standing for a failed translation (PAWS-X's "NS")
    pair: bool = True  # two texts per example; False: one (the second of each record is None)


def load(fmt: PairFormat, local: Path | None, hub: str | None, languages: Sequence[str], source_lang: str) -> TaskData:
    """The task in the common schema: `source_lang` train rows, their translations into the other wanted languages,
    and dev/test rows in every wanted language the dataset has. A local folder wins over the Hub. The wanted
    languages without a row are listed in the tally (not in the dataset, or not in this copy of it)."""
    wanted = [lang for lang in fmt.languages if lang in languages]
    others = [lang for lang in wanted if lang != source_lang]
    sources = hf.read_from(fmt.name, fmt.task, local, hub, fmt.how_to_local,
                           lambda path: fmt.local_sources(path, wanted, others, source_lang),
                           lambda repo: fmt.hub_sources(repo, wanted, others, source_lang))
    data = assemble(fmt, *sources)
    data.tally.list_absent(languages, fmt.name, fmt.languages, str(local or hub))
    return data


def assemble(fmt: PairFormat, train: Iterable[Record], translated: Mapping[str, Iterable[Record]],
             evaluation: Mapping[str, Iterable[Record]]) -> TaskData:
    """The task's rows and translations; every record read is counted in the tally, kept or skipped by reason (a
    translation too: of a training row that was not kept, it has nothing to translate)."""
    data = TaskData(fmt.task, fmt.labels, pair=fmt.pair)
    kept = _add_rows(fmt, data, "train", train)
    for records in translated.values():
        for lang, key, first, second, _label_as_read, _where in records:
            reason = _unusable(fmt, first, second) or (None if key in kept else "its training row is not kept")
            if reason:
                data.tally.skip("translations", lang, reason)
            else:
                data.translations.append(translation(kept[key], lang, first, second))
                data.tally.keep("translations", lang)
    for split, records in evaluation.items():
        _add_rows(fmt, data, split, records)
    return data


def _add_rows(fmt: PairFormat, data: TaskData, split: str, records: Iterable[Record]) -> dict[str, str]:
    """Append the usable records as examples of `split`; returns {key: example id} for matching translations."""
    kept = {}
    for lang, key, first, second, label, where in records:
        label = label_text(label)
        reason = fmt.skipped_labels.get(str(label)) or _unusable(fmt, first, second)
        if reason:
            data.tally.skip(split, lang, reason)
            continue
        meaning = None if split == "train" else f"{fmt.task}-{split}-{key}"
        row = example(fmt.task, split, lang, key, first, second, fmt.label_of(label, where), meaning)
        data.add(split, row)
        kept[key] = row["id"]
    return kept


def _unusable(fmt: PairFormat, first: str | None, second: str | None) -> str | None:
    """Why an example gives nothing for a model to read (a placeholder, an empty or missing text), or None."""
    texts = (first, second) if fmt.pair else (first,)
    for placeholder in fmt.placeholders:
        if placeholder in texts:
            return f"{placeholder} placeholder"
    if not all(text and text.strip() for text in texts):
        return "empty text"
    return None
