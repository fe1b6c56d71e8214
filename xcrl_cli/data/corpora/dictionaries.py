"""The MUSE bilingual dictionaries (Conneau et al., 2018): source -> target word pairs, used for code-switching.

Read from a local folder of MUSE files `<src>-<tgt>.txt`, or from a base URL serving them (MUSE's own is
https://dl.fbaipublicfiles.com/arrival/dictionaries) through `datasets`, which caches the download. MUSE has no
dictionary for some languages (Swahili among them): such a language is absent from the result, not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ...io import DataError
from .lines import read_lines, record_bom
from .schema import DatasetUnavailable, Tally

PROBE_TIMEOUT_S = 10.0
HOW_TO_LOCAL = ("Download the MUSE dictionaries <src>-<tgt>.txt (https://github.com/facebookresearch/MUSE, "
                "\"Ground-truth bilingual dictionaries\") into one folder and point `datasets.dictionaries.local` in "
                "params.yaml at that folder.")

Pairs = dict[str, list[tuple[str, str]]]


def load(local: Path | None, url: str | None, source_lang: str, languages: Sequence[str],
         tally: Tally | None = None) -> Pairs:
    """(source word, target word) pairs in file order for each wanted language that has a dictionary, counted in
    `tally`, which lists the languages without one. A local folder wins over the URL."""
    tally = Tally() if tally is None else tally
    pairs = _load(local, url, {lang: f"{source_lang}-{lang}.txt" for lang in languages})
    for lang, words in pairs.items():
        tally.keep("pairs", lang, len(words))
    tally.absent.update({lang: f"no {source_lang}-{lang}.txt in {local or url}" for lang in languages
                         if lang not in pairs})
    return pairs


def _load(local: Path | None, url: str | None, names: dict[str, str]) -> Pairs:
    if local is not None:
        if not Path(local).is_dir():
            raise DatasetUnavailable(f"dictionaries: {local} not found. {HOW_TO_LOCAL}")
        paths = {lang: Path(local) / name for lang, name in names.items()}
        return {lang: parse_pairs(str(path), read_lines(path)) for lang, path in paths.items() if path.is_file()}
    if url is not None:
        urls = {lang: f"{url.rstrip('/')}/{name}" for lang, name in names.items()}
        return {lang: _read_url(file_url) for lang, file_url in urls.items() if _exists(file_url)}
    raise DatasetUnavailable("dictionaries: neither `datasets.dictionaries.local` nor `datasets.dictionaries.url` is "
                             f"set in params.yaml. {HOW_TO_LOCAL}")


def parse_pairs(origin: str, lines: Iterable[tuple[int, str]]) -> list[tuple[str, str]]:
    """Word pairs from numbered MUSE lines `source<sep>target`. The separator is a space in some files and a TAB in
    others, so lines are split on any whitespace, as MUSE (and `pairs.load_muse`) does; blank lines are skipped."""
    pairs = []
    for number, line in lines:
        fields = line.split()
        if len(fields) == 2:
            pairs.append((fields[0], fields[1]))
        elif fields:
            raise DataError(f"{origin}:{number}: expected 'source<space or TAB>target', got {line!r}")
    return pairs


def _exists(file_url: str) -> bool:
    """Whether the server has `file_url`. An HTTP error answer (404, or 403 from S3-backed hosts like MUSE's) means
    no dictionary for that language; no answer at all means the URL cannot be used from here, reported at once.
    `datasets` cannot tell the two apart: it raises the same FileNotFoundError for both. Its offline mode does not
    help either: it still looks the URL up on the network before reading its cache, so this probe always runs."""
    import aiohttp
    import fsspec

    fs, _ = fsspec.core.url_to_fs(file_url, client_kwargs={"timeout": aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)})
    try:
        fs.info(file_url)
    except FileNotFoundError as err:  # fsspec's HTTP filesystem wraps every failure so, the cause attached
        if getattr(err.__cause__, "status", None) is not None:
            return False
        raise DatasetUnavailable(f"dictionaries: cannot read {file_url} ({err.__cause__ or err}). "
                                 f"{HOW_TO_LOCAL}") from None
    return True


def _read_url(file_url: str) -> list[tuple[str, str]]:
    """The pairs of one dictionary file on a server, read through `datasets` (which caches the download)."""
    import datasets

    datasets.logging.set_verbosity_error()
    texts = datasets.load_dataset("text", data_files=file_url, split="train")["text"]
    if texts and texts[0].startswith("\ufeff"):  # `datasets` reads UTF-8 and keeps a byte order mark
        texts[0] = texts[0][1:]
        record_bom(file_url)
    return parse_pairs(file_url, enumerate(texts, start=1))
