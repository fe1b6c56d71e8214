"""The general parallel corpus: (source sentence, target sentence) pairs that give translation pairs to the tasks
whose distribution ships no translations (MLDoc, sentiment).

Read from Tatoeba as LASER distributes it (`tatoeba.<xxx>-eng.<xxx>` + `tatoeba.<xxx>-eng.eng`, line-aligned, ISO
639-3 codes) in a local folder, or from OPUS-100 on the Hub (one config per language pair, `de-en`, `en-hi`, ...).
A pair with an empty side is skipped and counted: it teaches nothing about meaning across languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from . import hub as hf
from .lines import check_aligned, read_split_file
from .schema import ISO639_3, DatasetUnavailable, Tally

HOW_TO_LOCAL = ("Download the Tatoeba files tatoeba.<xxx>-eng.<xxx> and tatoeba.<xxx>-eng.eng from "
                "https://github.com/facebookresearch/LASER/tree/main/data/tatoeba/v1 into one folder and point "
                "`datasets.parallel.local` in params.yaml at that folder.")

Pairs = dict[str, list[tuple[str, str]]]


def load(local: Path | None, hub: str | None, source_lang: str, languages: Sequence[str], max_pairs: int,
         tally: Tally | None = None) -> Pairs:
    """Up to `max_pairs` pairs, in corpus order, for each wanted target language the corpus has; a language without
    data is absent from the result and listed in `tally`, which also counts the pairs read, kept and skipped. A
    local folder wins over the Hub."""
    tally = Tally() if tally is None else tally
    corpus = hf.read_from("parallel corpus", "parallel", local, hub, HOW_TO_LOCAL,
                          lambda path: _local(path, source_lang, languages, max_pairs, tally),
                          lambda repo: _hub(repo, source_lang, languages, max_pairs, tally))
    tally.absent.update({lang: f"not in {local or hub}" for lang in languages if lang not in corpus})
    return corpus


def _first(pairs: Iterable[tuple[str | None, str | None]], max_pairs: int, lang: str,
           tally: Tally) -> list[tuple[str, str]]:
    """The first `max_pairs` pairs with text on both sides, stripped (reading stops there)."""
    kept = []
    for source, target in pairs:
        if len(kept) == max_pairs:
            break
        if source and source.strip() and target and target.strip():
            kept.append((source.strip(), target.strip()))
            tally.keep("pairs", lang)
        else:
            tally.skip("pairs", lang, "empty side")
    return kept


def _local(root: Path, source_lang: str, languages: Sequence[str], max_pairs: int, tally: Tally) -> Pairs:
    """Tatoeba pairs for each wanted language that has a file in `root`; it must have both."""
    if not root.is_dir():
        raise DatasetUnavailable(f"parallel corpus: {root} not found. {HOW_TO_LOCAL}")
    src, corpus = ISO639_3.get(source_lang, source_lang), {}
    for lang in languages:
        tgt = ISO639_3.get(lang, lang)
        source_file, target_file = root / f"tatoeba.{tgt}-{src}.{src}", root / f"tatoeba.{tgt}-{src}.{tgt}"
        if source_file.is_file() or target_file.is_file():
            corpus[lang] = _first(_aligned(source_file, target_file), max_pairs, lang, tally)
    return corpus


def _aligned(source_file: Path, target_file: Path) -> Iterator[tuple[str, str]]:
    """Line i of one file with line i of the other, after checking both files have as many lines."""
    sources, targets = read_split_file(source_file, HOW_TO_LOCAL), read_split_file(target_file, HOW_TO_LOCAL)
    check_aligned(source_file, target_file, sources, targets, "line i of one must translate line i of the other")
    return ((source, target) for (_, source), (_, target) in zip(sources, targets))


def _hub(repo: str, source_lang: str, languages: Sequence[str], max_pairs: int, tally: Tally) -> Pairs:
    """OPUS-100 pairs for each wanted language that has a config; a missing config means no data, not an error."""
    corpus = {}
    for lang in languages:
        config = "-".join(sorted([source_lang, lang]))
        try:
            rows = hf.load_split(repo, config, "train")
        except hf.NoSuchConfig:
            continue
        corpus[lang] = _first(_hub_pairs(rows, source_lang, lang), max_pairs, lang, tally)
    return corpus


def _hub_pairs(rows, source_lang: str, lang: str) -> Iterator[tuple[str | None, str | None]]:
    """(source, target) from the `translation` column ({language: text}), row by row: a split holds up to a million
    pairs and only the first few thousand are read."""
    for row in rows:
        yield row["translation"].get(source_lang), row["translation"].get(lang)
