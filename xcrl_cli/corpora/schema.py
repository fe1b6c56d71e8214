"""The common example schema every dataset loader produces, and the error a loader raises when a dataset is absent.

A task's data is a `TaskData`: rows in the schema the `pairs`, `train` and `evaluate` stages read (the embedded
benchmark writes the same), plus the machine translations of the source-language training rows (translate-train),
plus counts of rows a loader skipped and why, so nothing disappears silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

SPLITS = ("train", "dev", "test")

# Paper-scale language codes (ISO 639-1) and the names or ISO 639-3 codes that distributions use for them.
LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "ru": "russian", "zh": "chinese", "ja": "japanese", "ko": "korean", "ar": "arabic", "hi": "hindi",
    "sw": "swahili", "bg": "bulgarian", "el": "greek", "th": "thai", "tr": "turkish", "ur": "urdu", "vi": "vietnamese",
}
ISO639_3 = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "ru": "rus", "zh": "cmn",
    "ja": "jpn", "ko": "kor", "ar": "ara", "hi": "hin", "sw": "swh", "bg": "bul", "el": "ell", "th": "tha",
    "tr": "tur", "ur": "urd", "vi": "vie",
}


class DatasetUnavailable(RuntimeError):
    """A dataset that cannot be read here (no network, no local copy, a licence); the message says how to get it."""


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
    train rows, and the count of skipped rows per reason (for example `NS placeholder`, `empty text`)."""

    task: str
    labels: tuple[str, ...]
    pair: bool
    rows: dict[str, list[dict]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    translations: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    @property
    def languages(self) -> list[str]:
        """Languages with test rows, sorted."""
        return sorted({r["lang"] for r in self.rows["test"]})
