"""PAWS-X (Yang et al., 2019): adversarial paraphrase pairs from PAWS-Wiki, English train, human-translated dev/test
in six more languages, and machine translations of the English training set (translate-train).

Read from the original `x-final.tar.gz` tree in a local folder, or from `google-research-datasets/paws-x` on the
Hub. Every row carries its PAWS-Wiki `id`, shared by all renderings of a pair: it is the key, the `meaning_id` of
dev/test rows, and what links a translated training pair to its English original.

The release still holds rows whose translation failed: "NS" placeholders in dev/test (68 in German dev, the
difference between the file sizes and the README's counts) and empty fields in translated train. Both are skipped
and counted, never read as text.
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

TASK = "pawsx"
LABELS = ("different", "paraphrase")  # PAWS label 1 = paraphrase
LANGUAGES = ("de", "en", "es", "fr", "ja", "ko", "zh")
PLACEHOLDER = "NS"
MISSING_LABEL = "-1"  # the Hub copy marks labels it found missing or wrong so (dataset card)
EVALUATION = {"dev": ("dev_2k.tsv", "validation"), "test": ("test_2k.tsv", "test")}  # split: (local file, Hub split)
HOW_TO_LOCAL = ("Download https://storage.googleapis.com/paws/pawsx/x-final.tar.gz, extract it into a folder (it "
                "unpacks to x-final/<lang>/), and point `datasets.pawsx.local` in params.yaml at that folder.")


def _label(value: str | int, where: str) -> int:
    """The label's index: files write "0"/"1", the Hub 0/1. Anything else is an error, never a guess."""
    if str(value) in ("0", "1"):
        return int(value)
    raise DataError(f"{where}: label {value!r} is not a PAWS-X label; valid: 0 ({LABELS[0]}), 1 ({LABELS[1]})")


def _local_sources(local: Path, wanted: list[str], others: list[str], source_lang: str):
    """(train, {lang: translations}, {split: dev/test}) record streams from the x-final tree at `local` (or at
    `local/x-final`), after checking that every file needed is there. A copy may hold only some language folders:
    those are read (the source language's must be there), the others are absent; a folder lacking a file is an
    error naming it."""
    root = local / "x-final" if (local / "x-final").is_dir() else local
    present = [lang for lang in wanted if lang == source_lang or (root / lang).is_dir()]
    train = root / source_lang / "train.tsv"
    translated = {lang: root / lang / "translated_train.tsv" for lang in others if lang in present}
    evaluation = {split: [root / lang / name for lang in present] for split, (name, _) in EVALUATION.items()}
    files = [train, *translated.values(), *chain(*evaluation.values())]
    require_files("PAWS-X", local, {path: path.parent.name for path in files}, source_lang, HOW_TO_LOCAL)
    return (_tsv_records(train), {lang: _tsv_records(path) for lang, path in translated.items()},
            {split: chain.from_iterable(map(_tsv_records, paths)) for split, paths in evaluation.items()})


def _tsv_records(path: Path) -> Iterator[Record]:
    """Rows of one x-final file (`id sentence1 sentence2 label`); the language is the name of its folder."""
    with language_files(path.parent.name):
        for line, row in read_rows(path, ("id", "sentence1", "sentence2", "label")):
            yield path.parent.name, row["id"], row["sentence1"], row["sentence2"], row["label"], f"{path}:{line}"


def _hub_sources(repo: str, wanted: list[str], others: list[str], source_lang: str):
    """(train, {lang: translations}, {split: dev/test}) record streams from the Hub: one config per language, whose
    "train" split is the translated train outside English."""
    return (_hub_records(repo, source_lang, "train"),
            {lang: _hub_records(repo, lang, "train") for lang in others},
            {split: chain.from_iterable([_hub_records(repo, lang, hub_split) for lang in wanted])
             for split, (_, hub_split) in EVALUATION.items()})


def _hub_records(repo: str, config: str, split: str) -> Iterator[Record]:
    """Records of one Hub split, keyed by the PAWS-Wiki id like the local files."""
    rows = hf.load_split(repo, config, split)
    columns = zip(rows["id"], rows["sentence1"], rows["sentence2"], rows["label"])  # column reads: fast
    for index, (key, sentence1, sentence2, label) in enumerate(columns):
        yield config, str(key), sentence1, sentence2, label, f"{repo} config {config!r} split {split!r} row {index}"


FORMAT = PairFormat(TASK, "PAWS-X", LABELS, LANGUAGES, HOW_TO_LOCAL, _label, _local_sources, _hub_sources,
                    skipped_labels={MISSING_LABEL: "missing label (-1)"},
                    placeholders=(PLACEHOLDER,))


def load(local: Path | None, hub: str | None, languages: Sequence[str], source_lang: str) -> TaskData:
    """PAWS-X in the common schema (see `pairtask.load`)."""
    return pairtask.load(FORMAT, local, hub, languages, source_lang)
