"""MLDoc (Schwenk and Li, 2018): Reuters news stories in eight languages, classified into four top-level topics.

The text is licensed, so it is never on the Hub: it is built locally from RCV1/RCV2 with the official script, which
writes `<language name>.train.<size>`, `.dev` and `.test`, one document per line as `LABEL<TAB>text`. Run under
Python 3, that script writes each text as a bytes literal (`b'Germany\\'s ...'`, `b"..."`, non-ASCII as `\\xc3\\xa9`);
those are decoded back to the text, while files written as plain text are read as they are. The datasets are not
parallel, so every row keeps its own `meaning_id`, and there are no translations (pairs come from the parallel corpus).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ...config import ConfigError
from ...config.languages import LANGUAGE_NAMES
from ...io import DataError
from .lines import read_split_file
from .schema import DatasetUnavailable, TaskData, example, label_text, language_files

TASK = "mldoc"
LABELS = ("CCAT", "ECAT", "GCAT", "MCAT")
LANGUAGES = ("de", "en", "es", "fr", "it", "ja", "ru", "zh")
HOW_TO_LOCAL = ("MLDoc is built from the Reuters corpora RCV1 and RCV2, which require a NIST agreement "
                "(https://trec.nist.gov/data/reuters/reuters.html); generate its files with the script of "
                "https://github.com/facebookresearch/MLDoc into one folder and point `datasets.mldoc.local` in "
                "params.yaml at that folder.")
_BYTES_LITERAL = re.compile(r"b(['\"]).*\1", re.DOTALL)


def load(local: Path | None, hub: str | None, languages: Sequence[str], source_lang: str,
         train_size: int = 1000) -> TaskData:
    """MLDoc in the common schema: the `source_lang` training file of `train_size` documents, and dev/test rows in
    the source language and every other wanted language whose files exist (the others are listed in the tally)."""
    if hub is not None:
        raise ConfigError(f"mldoc: `datasets.mldoc.hub` is {hub!r}, but MLDoc is licensed Reuters text and is not on "
                         f"the Hugging Face Hub; set it to null. {HOW_TO_LOCAL}")
    data = TaskData(TASK, LABELS, pair=False)
    for split, lang, path in _files(local, languages, source_lang, train_size):
        with language_files(lang):
            for number, label, text in _documents(path):
                if text.strip():
                    data.add(split, example(TASK, split, lang, str(number), text.strip(), None, label))
                else:
                    data.tally.skip(split, lang, "empty text")
    data.tally.list_absent(languages, "MLDoc", LANGUAGES, str(local))
    return data


def _files(local: Path | None, languages: Sequence[str], source_lang: str,
           train_size: int) -> list[tuple[str, str, Path]]:
    """(split, language, file) to read: the source language's three files must exist (model selection reads its dev
    split), the other languages' dev and test files are read where present."""
    if local is None:
        raise DatasetUnavailable(f"mldoc: `datasets.mldoc.local` is not set in params.yaml. {HOW_TO_LOCAL}")
    root = Path(local)
    files = [("train", source_lang, root / f"{_name(source_lang)}.train.{train_size}")]
    files += [(split, lang, root / f"{_name(lang)}.{split}") for split in ("dev", "test") for lang in languages]
    missing = [str(path) for _, lang, path in files if lang == source_lang and not path.is_file()]
    if missing:
        raise DatasetUnavailable(f"mldoc: {', '.join(missing) if root.is_dir() else root} not found. {HOW_TO_LOCAL}")
    return [(split, lang, path) for split, lang, path in files if path.is_file()]


def _name(lang: str) -> str:
    """The file-name prefix MLDoc uses for a language (`english`, `german`, ...)."""
    return LANGUAGE_NAMES.get(lang, lang)


def _documents(path: Path) -> Iterator[tuple[int, int, str]]:
    """(line number, label index, text) for each document line of an MLDoc file; blank lines are not documents."""
    for number, line in read_split_file(path, HOW_TO_LOCAL):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{path}:{number}: {len(fields)} tab-separated fields; an MLDoc line is LABEL<TAB>text")
        label, text = label_text(fields[0]), fields[1]
        if label not in LABELS:
            raise DataError(f"{path}:{number}: label {label!r} is not an MLDoc label; valid: {', '.join(LABELS)}")
        yield number, LABELS.index(label), _text(text, f"{path}:{number}")


def _text(field: str, where: str) -> str:
    """The document text: a bytes literal written by the script under Python 3 is evaluated and decoded as UTF-8."""
    if not _BYTES_LITERAL.fullmatch(field):
        return field
    try:
        return ast.literal_eval(field).decode("utf-8")
    except (ValueError, SyntaxError, UnicodeDecodeError) as err:
        raise DataError(f"{where}: the text looks like a Python bytes literal (b'...') but cannot be decoded "
                         f"({type(err).__name__}: {err}); expected a valid literal of UTF-8 bytes") from None
