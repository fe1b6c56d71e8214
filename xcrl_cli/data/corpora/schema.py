"""The common example schema every dataset loader produces, and the errors a loader raises.

A task's data is a `TaskData`: rows in the schema the `pairs`, `train` and `evaluate` stages read (the embedded
benchmark writes the same), plus the machine translations of the source-language training rows (translate-train),
plus a `Tally` of rows read, kept and skipped (and why) per split and language, and the wanted languages the files
do not have, so nothing disappears silently.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "dev", "test")

# Paper-scale language codes (ISO 639-1) and the ISO 639-3 codes that distributions use for them (their
# names: config.languages.LANGUAGE_NAMES).
ISO639_3 = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "ru": "rus", "zh": "cmn",
    "ja": "jpn", "ko": "kor", "ar": "ara", "hi": "hin", "sw": "swh", "bg": "bul", "el": "ell", "th": "tha",
    "tr": "tur", "ur": "urd", "vi": "vie",
}


class DatasetUnavailable(RuntimeError):
    """A dataset that cannot be read here (no network, no local copy, a licence, a missing or empty file); the
    message says which file and how to get it, `reason` the short form (the file and what is wrong with it)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class LanguageUnavailable(DatasetUnavailable):
    """Missing or empty files of some languages only, none of them the source language: the rest of the dataset can
    be read without them. `languages` maps each language to its `reason`."""

    def __init__(self, message: str, languages: Mapping[str, str]):
        super().__init__(message)
        self.languages = dict(languages)


@contextlib.contextmanager
def language_files(lang: str) -> Iterator[None]:
    """Blame a missing or empty file met while reading `lang`'s own files on that language alone."""
    try:
        yield
    except LanguageUnavailable:
        raise
    except DatasetUnavailable as err:
        raise LanguageUnavailable(str(err), {lang: err.reason}) from None


def require_files(name: str, root: Path, files: Mapping[Path, str | None], source_lang: str, how_to: str) -> None:
    """Fail before reading anything when the folder or a file is missing, naming them and how to get them. `files`
    maps each file to its language (None: a file every language needs); when only other languages than the source
    lack files, the error is theirs alone (`LanguageUnavailable`)."""
    missing = {root: None} if not root.is_dir() else {path: lang for path, lang in files.items() if not path.is_file()}
    if not missing:
        return
    message = f"{name}: {', '.join(map(str, missing))} not found. {how_to}"
    by_lang: dict[str | None, list[str]] = {}
    for path, lang in missing.items():
        by_lang.setdefault(lang, []).append(str(path))
    if None in by_lang or source_lang in by_lang:
        raise DatasetUnavailable(message)
    raise LanguageUnavailable(message, {lang: f"{', '.join(paths)} not found" for lang, paths in by_lang.items()})


def label_text(value: str | int) -> str | int:
    """The label as the loaders compare it: surrounding whitespace (a trailing space or TAB, a CR) is never part of
    a label, in any loader; integers (the Hub) pass as they are."""
    return value.strip() if isinstance(value, str) else value


@dataclass
class Tally:
    """What a loader read: rows read, kept and skipped (by reason) per (split, language), every row read being kept
    or skipped, {language: why} for the wanted languages it found no rows for, and {language: why} for those left
    out of an optional dataset because a file of theirs is missing or empty (their cells read "not run")."""

    counts: dict[tuple[str, str], dict] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)
    languages_not_run: dict[str, str] = field(default_factory=dict)

    def _cell(self, split: str, lang: str) -> dict:
        return self.counts.setdefault((split, lang), {"read": 0, "kept": 0, "skipped": Counter()})

    def keep(self, split: str, lang: str, n: int = 1) -> None:
        cell = self._cell(split, lang)
        cell["read"] += n
        cell["kept"] += n

    def skip(self, split: str, lang: str, reason: str) -> None:
        cell = self._cell(split, lang)
        cell["read"] += 1
        cell["skipped"][reason] += 1

    def skipped(self) -> Counter:
        return sum((cell["skipped"] for cell in self.counts.values()), Counter())

    def list_absent(self, languages: Sequence[str], dataset: str, available: Sequence[str], copy: str) -> None:
        """Record the wanted languages without a row: "not in <dataset>" when its distribution lacks them, else
        "not in <copy>" (a partial copy, a language folder left out)."""
        present = {lang for _, lang in self.counts}
        for lang in languages:
            if lang not in present:
                self.absent[lang] = f"not in {dataset}" if lang not in available else f"not in {copy}"

    def as_dict(self) -> dict:
        """{"splits": {split: {lang: {read, kept, skipped: {reason: n}}}}, "absent": {lang: why},
        "languages_not_run": {lang: why}}, sorted."""
        splits: dict = {}
        for (split, lang), cell in sorted(self.counts.items()):
            splits.setdefault(split, {})[lang] = {**cell, "skipped": dict(sorted(cell["skipped"].items()))}
        return {"splits": splits, "absent": dict(sorted(self.absent.items())),
                "languages_not_run": dict(sorted(self.languages_not_run.items()))}


def example(task: str, split: str, lang: str, key: str, text: str, text_pair: str | None, label: int,
            meaning_id: str | None = None) -> dict:
    """One row of the common schema. `meaning_id` links parallel renderings (XNLI pairID, PAWS-X id); a row with no
    parallel rendering gets its own id, so clustering purity and translation swaps see it as unique."""
    row_id = f"{task}-{split}-{key}-{lang}"
    return {"id": row_id, "meaning_id": meaning_id or row_id, "task": task, "lang": lang, "split": split,
            "text": text, "text_pair": text_pair, "label": label, "cue_label": None}


def translation(source_id: str, lang: str, text: str, text_pair: str | None) -> dict:
    """A machine translation of the source-language training row `source_id` into `lang` (its label is not kept)."""
    return {"id": source_id, "lang": lang, "text": text, "text_pair": text_pair}


@dataclass
class TaskData:
    """One task from one distribution: rows per split (train holds the source language only), translations of the
    train rows, and the tally of rows read, kept and skipped (for example `NS placeholder`, `empty text`) per split
    and language."""

    task: str
    labels: tuple[str, ...]
    pair: bool
    rows: dict[str, list[dict]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    translations: list[dict] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)

    @property
    def skipped(self) -> Counter:
        """Skipped rows per reason, over every split and language."""
        return self.tally.skipped()

    def add(self, split: str, row: dict) -> None:
        """Keep one example of `split` (counted)."""
        self.rows[split].append(row)
        self.tally.keep(split, row["lang"])

    @property
    def languages(self) -> list[str]:
        """Languages with test rows, sorted."""
        return sorted({r["lang"] for r in self.rows["test"]})
