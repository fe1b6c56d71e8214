"""XNLI (Conneau et al., 2018): English MultiNLI training pairs, human-translated dev/test pairs in 15 languages, and
the XNLI-MT machine translations of the training set (translate-train).

Read from the original `XNLI-1.0.zip` + `XNLI-MT-1.0.zip` files in a local folder, or from `facebook/xnli` on the
Hub. Dev/test rows keep the pairID (locally) or the row index of the Hub's `all_languages` config (one row per pair
with every language's rendering in it) as `meaning_id`, so the renderings of one pair are linked. Train rows are
keyed by their row index, the only thing that links an English training pair to its translations: XNLI-MT files
are line-aligned with the English one, and on the Hub one `all_languages` row holds a pair and all its translations.
The Hub's per-language configs are not read: their row indices link languages only if every split kept one order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path

from ...io import DataError
from . import hub as hf, pairtask
from .pairtask import PairFormat, Record
from .schema import TaskData, language_files, require_files
from .tsv import read_rows

TASK = "xnli"
LABELS = ("entailment", "neutral", "contradiction")
LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
SPELLINGS = {"contradictory": "contradiction"}  # the XNLI-MT training files spell it so
NO_GOLD = "-"  # MultiNLI pairs whose annotators did not agree on a label
HOW_TO_LOCAL = ("Download https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip and "
                "https://dl.fbaipublicfiles.com/XNLI/XNLI-MT-1.0.zip, unzip both into one folder, and point "
                "`datasets.xnli.local` in params.yaml at that folder.")


def _label(value: str | int, where: str) -> int:
    """The label's index, from its name (files) or its index (Hub); anything else is an error, never a guess."""
    if isinstance(value, str) and SPELLINGS.get(value, value) in LABELS:
        return LABELS.index(SPELLINGS.get(value, value))
    if isinstance(value, int) and 0 <= value < len(LABELS):
        return value
    valid = ", ".join(f"{i} {name}" for i, name in enumerate(LABELS))
    raise DataError(f"{where}: label {value!r} is not an XNLI label; valid: {valid} (or 'contradictory')")


def _local_sources(root: Path, wanted: list[str], others: list[str], source_lang: str):
    """(train, {lang: translations}, {split: dev/test}) record streams from the original files under `root`, after
    checking that every file needed is there. Without XNLI-MT, English train comes from MultiNLI 1.0 (untranslated)."""
    evaluation = {split: root / "XNLI-1.0" / f"xnli.{split}.tsv" for split in ("dev", "test")}
    mt = root / "XNLI-MT-1.0" / "multinli"
    multinli = root / "multinli_1.0" / "multinli_1.0_train.txt"
    shared: dict[Path, str | None] = {path: None for path in evaluation.values()}
    if not mt.is_dir() and multinli.is_file() and source_lang == "en":
        require_files("XNLI", root, {**shared, multinli: None}, source_lang, HOW_TO_LOCAL)
        train, translated = _multinli_records(multinli), {}
    else:
        files = {lang: mt / f"multinli.train.{lang}.tsv" for lang in [source_lang, *others]}
        require_files("XNLI", root, {**shared, **{path: lang for lang, path in files.items()}}, source_lang,
                      HOW_TO_LOCAL)
        train = _mt_records(files.pop(source_lang), source_lang)
        translated = {lang: _mt_records(path, lang) for lang, path in files.items()}
    return train, translated, {split: _xnli_records(path, wanted) for split, path in evaluation.items()}


def _xnli_records(path: Path, wanted: list[str]) -> Iterator[Record]:
    """Dev/test rows of XNLI-1.0 (19 columns, read by name) in the wanted languages, keyed by pairID."""
    columns = ("language", "gold_label", "sentence1", "sentence2", "pairID")
    for line, row in read_rows(path, columns):
        if row["language"] in wanted:
            yield (row["language"], row["pairID"], row["sentence1"], row["sentence2"], row["gold_label"],
                   f"{path}:{line}")


def _mt_records(path: Path, lang: str) -> Iterator[Record]:
    """Rows of an XNLI-MT training file (`premise hypo label`), keyed by row index for line alignment."""
    with language_files(lang):
        for index, (line, row) in enumerate(read_rows(path, ("premise", "hypo", "label"))):
            yield lang, str(index), row["premise"], row["hypo"], row["label"], f"{path}:{line}"


def _multinli_records(path: Path) -> Iterator[Record]:
    """English training rows of MultiNLI 1.0 (15 columns, read by name), keyed by row index like XNLI-MT."""
    for index, (line, row) in enumerate(read_rows(path, ("gold_label", "sentence1", "sentence2"))):
        yield "en", str(index), row["sentence1"], row["sentence2"], row["gold_label"], f"{path}:{line}"


ALL_LANGUAGES = "all_languages"  # the Hub config with one row per pair and every language in it


def _hub_sources(repo: str, wanted: list[str], others: list[str], source_lang: str):
    """(train, {lang: translations}, {split: dev/test}) record streams from the Hub's `all_languages` config."""
    return (_hub_records(repo, source_lang, "train"),
            {lang: _hub_records(repo, lang, "train") for lang in others},
            {split: chain.from_iterable([_hub_records(repo, lang, hub_split) for lang in wanted])
             for split, hub_split in (("dev", "validation"), ("test", "test"))})


def _hub_records(repo: str, lang: str, split: str) -> Iterator[Record]:
    """One language's records of an `all_languages` split, keyed by row index: the row is the pair."""
    table = hf.load_split(repo, ALL_LANGUAGES, split).with_format("arrow")[:]
    where = f"{repo} config {ALL_LANGUAGES!r} split {split!r}"
    premises = table.column("premise").combine_chunks().field(lang).to_pylist()
    columns = zip(premises, _hypotheses(table, lang, where), table.column("label").to_pylist())
    for index, (premise, hypothesis, label) in enumerate(columns):
        yield lang, str(index), premise, hypothesis, label, f"{where} row {index}"


def _hypotheses(table, lang: str, where: str) -> list[str]:
    """Each row's hypothesis in `lang`: the `translation` beside `lang` in the row's `language` list (the Hub's
    TranslationVariableLanguages), picked in Arrow rather than row by row."""
    import pyarrow.compute as pc

    hypothesis = table.column("hypothesis").combine_chunks()
    languages, translations = hypothesis.field("language"), hypothesis.field("translation")
    mask = pc.equal(pc.list_flatten(languages), lang)
    owners = pc.filter(pc.list_parent_indices(languages), mask).to_pylist()
    if owners != list(range(len(table))):
        raise ValueError(f"{where}: not every row has exactly one {lang!r} hypothesis")
    return pc.filter(pc.list_flatten(translations), mask).to_pylist()


FORMAT = PairFormat(TASK, "XNLI", LABELS, LANGUAGES, HOW_TO_LOCAL, _label, _local_sources, _hub_sources,
                    skipped_labels={NO_GOLD: "no gold label"})


def load(local: Path | None, hub: str | None, languages: Sequence[str], source_lang: str) -> TaskData:
    """XNLI in the common schema (see `pairtask.load`)."""
    return pairtask.load(FORMAT, local, hub, languages, source_lang)
