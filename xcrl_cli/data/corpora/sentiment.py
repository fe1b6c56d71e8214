"""Multilingual sentiment (negative / neutral / positive): UMSAB tweets (cardiffnlp/xlm-t, on the Hub as
`cardiffnlp/tweet_sentiment_multilingual`) or the Multilingual Amazon Reviews Corpus (MARC).

A local folder is recognised by its layout: UMSAB's `<language name>/{train,val,test}_{text,labels}.txt` or MARC's
`dataset_<lang>_{train,dev,test}.json`. The datasets are not parallel, so every row keeps its own `meaning_id`, and
there are no translations: this task's pairs come from the parallel corpus. Texts are stripped (every English UMSAB
line ends with a space), and the literal `\\uXXXX` escapes of the English UMSAB tweets are decoded, on the Hub too, so
both sources give the same text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ...config.languages import LANGUAGE_NAMES
from ...io import DataError
from . import hub as hf
from .lines import check_aligned, read_split_file
from .schema import DatasetUnavailable, TaskData, example, label_text, language_files

TASK = "sentiment"
LABELS = ("negative", "neutral", "positive")
HUB_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "it", "pt")  # UMSAB's languages: the Hub configs, local folders
MARC_LANGUAGES = ("de", "en", "es", "fr", "ja", "zh")
UMSAB_SPLITS = (("train", "train"), ("val", "dev"), ("test", "test"))  # (name in the files, our split)
HUB_SPLITS = (("train", "train"), ("validation", "dev"), ("test", "test"))
MARC_SPLITS = (("train", "train"), ("dev", "dev"), ("test", "test"))
STARS = {"1": 0, "2": 0, "3": 1, "4": 2, "5": 2}  # MARC star rating -> label index
HOW_TO_LOCAL = ("Copy the UMSAB folders data/sentiment/<language name>/ of https://github.com/cardiffnlp/xlm-t (or "
                "the MARC files dataset_<lang>_{train,dev,test}.json) into one folder and point "
                "`datasets.sentiment.local` in params.yaml at that folder.")
_ESCAPE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})", re.IGNORECASE)

# (split, language, key, text, label index or label as read, where it was read for error messages)
Record = tuple[str, str, str, str | None, str | int, str]


def load(local: Path | None, hub: str | None, languages: Sequence[str], source_lang: str) -> TaskData:
    """Sentiment in the common schema: `source_lang` train rows and dev/test rows in every wanted language the
    dataset has (the others are absent, and listed in the tally). A local folder wins over the Hub."""
    data = TaskData(TASK, LABELS, pair=False)
    records = hf.read_from("sentiment", "sentiment", local, hub, HOW_TO_LOCAL,
                           lambda path: _local_records(path, languages, source_lang),
                           lambda repo: _hub_records(repo, languages, source_lang))
    for split, lang, key, text, label, where in records:
        if text and text.strip():
            data.add(split, example(TASK, split, lang, key, text.strip(), None, _label(label, where)))
        else:
            data.tally.skip(split, lang, "empty text")
    marc = local is not None and any(Path(local).glob("dataset_*_*.json"))
    data.tally.list_absent(languages, "MARC" if marc else "UMSAB", MARC_LANGUAGES if marc else HUB_LANGUAGES,
                           str(local or hub))
    if not data.rows["train"]:
        raise DatasetUnavailable(f"sentiment: {local or hub} has no {source_lang!r} training rows. {HOW_TO_LOCAL}")
    return data


def decode_escapes(text: str) -> str:
    """`text` with literal `\\uXXXX` sequences (JSON-style, surrogate pairs included) replaced by their character:
    the English UMSAB files were written with them (`i\\u2019m`, `\\u002c` for a comma)."""
    return _ESCAPE.sub(_escaped_char, text)


def _escaped_char(match: re.Match) -> str:
    high, low, single = match.groups()
    if single is None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    code = int(single, 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate is no character: keep it


def _label(value: str | int, where: str) -> int:
    """The label index: UMSAB and the Hub give 0/1/2, as text in files and as integers on the Hub."""
    if str(label_text(value)) in ("0", "1", "2"):
        return int(value)
    raise DataError(f"{where}: label {value!r} is not a sentiment label; valid: 0 negative, 1 neutral, 2 positive")


def _wanted(splits: tuple[tuple[str, str], ...], lang: str, source_lang: str) -> list[tuple[str, str]]:
    """The (file split, our split) pairs to read for `lang`: train belongs to the source language only."""
    return [(name, split) for name, split in splits if split != "train" or lang == source_lang]


def _local_records(root: Path, languages: Sequence[str], source_lang: str) -> Iterator[Record]:
    """Records from whichever of the two layouts `root` holds; failing here, before any reading, when neither."""
    if not root.is_dir():
        raise DatasetUnavailable(f"sentiment: {root} not found. {HOW_TO_LOCAL}")
    if any(root.glob("dataset_*_*.json")):
        return _marc_records(root, languages, source_lang)
    if any(root.glob("*/*_text.txt")):
        return _umsab_records(root, languages, source_lang)
    raise DatasetUnavailable(f"sentiment: {root} holds neither UMSAB folders (english/train_text.txt, ...) nor MARC "
                             f"files (dataset_en_train.json, ...). {HOW_TO_LOCAL}")


def _umsab_records(root: Path, languages: Sequence[str], source_lang: str) -> Iterator[Record]:
    """UMSAB splits of the wanted languages that have a folder (a language without one is absent); a folder must
    hold every split's two files."""
    for lang in languages:
        folder = root / LANGUAGE_NAMES.get(lang, lang)
        if folder.is_dir():
            with language_files(lang):
                for name, split in _wanted(UMSAB_SPLITS, lang, source_lang):
                    yield from _umsab_file(folder / f"{name}_text.txt", folder / f"{name}_labels.txt", split, lang)


def _umsab_file(texts: Path, labels: Path, split: str, lang: str) -> Iterator[Record]:
    """One tweet per line in `texts`, its label on the same line of `labels`; keyed by row index like the Hub."""
    text_lines, label_lines = read_split_file(texts, HOW_TO_LOCAL), read_split_file(labels, HOW_TO_LOCAL)
    check_aligned(texts, labels, text_lines, label_lines, "line i of the labels file labels line i of the text file")
    for index, ((number, text), (_, label)) in enumerate(zip(text_lines, label_lines)):
        yield split, lang, str(index), decode_escapes(text), label, f"{labels}:{number}"


def _marc_records(root: Path, languages: Sequence[str], source_lang: str) -> Iterator[Record]:
    """MARC splits of the wanted languages that have a file (MARC has de, en, es, fr, ja, zh); a language with one
    file must have them all."""
    for lang in languages:
        files = [(root / f"dataset_{lang}_{name}.json", split)
                 for name, split in _wanted(MARC_SPLITS, lang, source_lang)]
        if any(path.is_file() for path, _ in files):
            with language_files(lang):
                for path, split in files:
                    yield from _marc_file(path, split, lang)


def _marc_file(path: Path, split: str, lang: str) -> Iterator[Record]:
    """One review per JSON line; the text is `review_body` alone. The title is left out: it is a short summary
    written by the same reviewer, often restating the rating, and the paper classifies review texts."""
    for number, line in read_split_file(path, HOW_TO_LOCAL):
        if line.strip():
            where = f"{path}:{number}"
            review = _review(line, where)
            stars = str(label_text(review["stars"]))  # a string in the release, an integer in some copies
            if stars not in STARS:
                raise DataError(f"{where}: stars {review['stars']!r} is not a MARC rating; valid: 1 to 5")
            yield split, lang, str(review["review_id"]), review["review_body"], STARS[stars], where


def _review(line: str, where: str) -> dict:
    """The JSON object on one MARC line, with the fields a row needs."""
    try:
        review = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: malformed JSON ({err.msg}); a MARC line holds one review object") from None
    missing = [k for k in ("review_id", "stars", "review_body") if not isinstance(review, dict) or k not in review]
    if missing:
        raise DataError(f"{where}: missing fields {missing}; a MARC review needs review_id, stars and review_body")
    return review


def _hub_records(repo: str, languages: Sequence[str], source_lang: str) -> Iterator[Record]:
    """Hub splits of the wanted languages that have a config; one config per language, named in full."""
    for lang in languages:
        if lang in HUB_LANGUAGES:
            for name, split in _wanted(HUB_SPLITS, lang, source_lang):
                where = f"{repo} config {LANGUAGE_NAMES[lang]!r} split {name!r}"
                yield from _hub_split_records(hf.load_split(repo, LANGUAGE_NAMES[lang], name), split, lang, where)


def _hub_split_records(rows, split: str, lang: str, where: str) -> Iterator[Record]:
    """Records of one Hub split (`text`, `label` columns), keyed by row index like the local files."""
    for index, (text, label) in enumerate(zip(rows["text"], rows["label"])):
        yield split, lang, str(index), decode_escapes(text or ""), label, f"{where} row {index}"
