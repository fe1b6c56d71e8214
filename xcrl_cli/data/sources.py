"""The paper's datasets assembled into the raw folder: the library side of `xcrl download` with data.source = real.

Every task is read by its loader (`corpora/`) from the Hub or a local copy, then written in the same layout as the
embedded benchmark (`meta.json`, `<task>/{train,dev,test,translations}.jsonl`, `dictionaries/`, `corpus/`), plus
`parallel.jsonl`, the general parallel corpus that gives pairs to tasks shipping no translations. The whole folder is
built in memory and written atomically: a dataset that cannot be read leaves the previous folder untouched.

What was read is accounted for in `download.json` (`download_report`): per dataset, split and language the rows read,
kept and skipped by reason, the wanted languages the dataset has no rows for, and the files whose byte order mark
was removed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Params
from ..io import DataError
from .corpora import dictionaries, mldoc, parallel, pawsx, sentiment, table, xnli
from .corpora import hub as hf
from .corpora.lines import bom_log
from .corpora.schema import SPLITS, DatasetUnavailable, LanguageUnavailable, Tally, TaskData
from .raw_writer import RawFolder, write_raw


def _path(local: str | None) -> Path | None:
    return Path(local) if local else None


def _loader(p: Params, task: str) -> Callable[[list[str]], TaskData]:
    """Task `task`'s loader given the languages to read: its built-in format's, or the table reader of its
    registry entry."""
    d, src, entry = p.datasets, p.data.source_lang, p.task(task)
    return {
        "xnli": lambda langs: xnli.load(_path(d.xnli.local), d.xnli.hub, langs, src),
        "pawsx": lambda langs: pawsx.load(_path(d.pawsx.local), d.pawsx.hub, langs, src),
        "mldoc": lambda langs: mldoc.load(_path(d.mldoc.local), None, langs, src, train_size=d.mldoc.train_size),
        "sentiment": lambda langs: sentiment.load(_path(d.sentiment.local), d.sentiment.hub, langs, src),
        "table": lambda langs: table.load(task, entry, langs, src),
    }[entry.format]


def read_task(p: Params, task: str, optional: bool) -> TaskData:
    """Task `task` in data.languages, read by its loader from its local folder or the Hub (what `download` reads,
    and `xcrl check` samples). In an optional dataset a language whose own file is missing or empty is left out (the
    dataset is read again without it) and recorded in the tally as not run; not the source language, without which
    the task cannot train: its error stands, and makes the whole task not run."""
    load, languages, source_lang = _loader(p, task), list(p.data.languages), p.data.source_lang
    not_run: dict[str, str] = {}
    while True:
        try:
            data = load([lang for lang in languages if lang not in not_run])
        except LanguageUnavailable as err:
            if not optional or source_lang in err.languages or not err.languages.keys() - not_run.keys():
                raise
            not_run.update(err.languages)
            continue
        data.tally.languages_not_run.update(not_run)
        return data


def read_parallel(p: Params, tally: Tally) -> dict[str, list[tuple[str, str]]]:
    """The parallel corpus's pairs for every target language it has, counted in `tally` (its local folder wins)."""
    d = p.datasets.parallel
    return parallel.load(_path(d.local), d.hub, p.data.source_lang, p.data.targets, d.max_pairs, tally)


def read_dictionaries(p: Params, tally: Tally) -> dict[str, list[tuple[str, str]]]:
    """The MUSE word pairs for every target language that has a dictionary, counted in `tally`."""
    d = p.datasets.dictionaries
    return dictionaries.load(_path(d.local), d.url, p.data.source_lang, p.data.targets, tally)


def _tested(data: TaskData, source_lang: str) -> list[str]:
    """The target languages of a task's test rows."""
    return sorted({row["lang"] for row in data.rows["test"]} - {source_lang})


def _source(spec) -> str:
    """Where a dataset is read from, as params name it: its local folder, else its Hub id."""
    return f"local {spec.local}" if getattr(spec, "local", None) else f"hub {getattr(spec, 'hub', None)}"


def where_read(p: Params, task: str) -> str:
    """Where a task's data is read from: its dataset's source, or a table task's files or Hub id."""
    entry = p.task(task)
    if entry.format != "table":
        return _source(getattr(p.datasets, entry.format))
    return f"files {dict(entry.files)}" if entry.files else f"hub {entry.hub}"


@dataclass
class RealData:
    tasks: dict[str, TaskData]
    not_run: dict[str, str]  # task -> why its dataset is absent
    parallel: dict[str, list[tuple[str, str]]]
    dictionaries: dict[str, list[tuple[str, str]]]
    # dataset (task, "parallel", "dictionaries") -> its tally; -> the files whose byte order mark was removed
    tallies: dict[str, Tally] = field(default_factory=dict)
    boms: dict[str, list[str]] = field(default_factory=dict)


# params key -> (name in messages, how to get the local copy) of every dataset that can come from the Hub
HUB_DATASETS = {"xnli": ("XNLI", xnli.HOW_TO_LOCAL), "pawsx": ("PAWS-X", pawsx.HOW_TO_LOCAL),
                "sentiment": ("sentiment", sentiment.HOW_TO_LOCAL), "parallel": ("parallel corpus", parallel.HOW_TO_LOCAL)}
UNTRANSLATED = ("mldoc", "sentiment")  # paper tasks whose pairs come from the parallel corpus


def untranslated(p: Params, task: str) -> bool:
    """Whether a task ships no translations of its training rows, so that its pairs come from the parallel corpus:
    MLDoc, sentiment, and a table task naming no translations."""
    entry = p.task(task)
    if entry.format != "table":
        return entry.format in UNTRANSLATED
    return "translations" not in (entry.files if entry.files else entry.hub_splits)


@dataclass(frozen=True)
class HubSource:
    key: str  # datasets.<key> in params.yaml
    name: str
    repo: str
    how_to_local: str


def hub_sources(p: Params, tasks: tuple[str, ...]) -> list[HubSource]:
    """The Hub datasets reading `tasks` will use: each task without a local copy, and the parallel corpus when a
    task ships no translations."""
    keys = [*(t for t in tasks if t in HUB_DATASETS and p.task(t).format == t),
            *(["parallel"] if any(untranslated(p, t) for t in tasks) else [])]
    out = []
    for key in keys:
        spec = getattr(p.datasets, key)
        if key in HUB_DATASETS and spec.local is None and spec.hub is not None:
            name, how_to_local = HUB_DATASETS[key]
            out.append(HubSource(key, name, spec.hub, how_to_local))
    return out


def load_real(p: Params, tasks: tuple[str, ...], optional: tuple[str, ...],
              echo: Callable[[str], None] = print) -> RealData:
    """Read every task, then the parallel corpus (only if a task lacks translations) and the MUSE dictionaries.

    An absent dataset (or a missing or empty file of it) fails the download unless its task is in `optional`, where
    it is recorded as not run, with a warning: the whole task, or only the languages whose own files are missing or
    empty. Every Hub source is probed before anything is downloaded, so an unreachable one fails in seconds, not
    after the others' downloads; any error the Hub gives while reading is the same one-line DatasetUnavailable.
    """
    loaded, not_run, boms = {}, {}, {}
    for source in hub_sources(p, tasks):
        if source.key not in optional:
            hf.probe(source.repo, source.name, source.how_to_local)
    for task in tasks:
        echo(f"reading {task} ...")
        hub_errors = hf.unavailable(*HUB_DATASETS[task]) if task in HUB_DATASETS else contextlib.nullcontext()
        try:
            with hub_errors, bom_log() as boms[task]:
                loaded[task] = read_task(p, task, task in optional)
        except DatasetUnavailable as err:
            if task not in optional:
                raise
            echo(f"WARNING {task}: not run — {err}")
            not_run[task] = str(err)
            continue
        for lang, why in loaded[task].tally.languages_not_run.items():
            echo(f"WARNING {task}: {lang} not run — {why}")
    d, targets = p.datasets, [lang for lang in p.data.languages if lang != p.data.source_lang]
    tested = {task: _tested(data, p.data.source_lang) for task, data in loaded.items()}
    for task, langs in tested.items():
        if not langs and task in optional:  # its languages were left out one by one, each with its warning
            echo(f"WARNING {task}: no target language left; nothing will score its transfer")
        elif not langs:
            raise DataError(f"data.languages {list(p.data.languages)}: {task} ({where_read(p, task)}) has test "
                            f"rows in none of the target languages {targets}, so nothing could score its transfer; "
                            "add a language its dataset holds")
    tallies = {task: data.tally for task, data in loaded.items()}
    corpus, words = {}, {}
    if any(not t.translations for t in loaded.values()):
        echo("reading the parallel corpus ...")
        with hf.unavailable(*HUB_DATASETS["parallel"]), bom_log() as boms["parallel"]:
            corpus = read_parallel(p, tallies.setdefault("parallel", Tally()))
        needed = {task: sorted(set(langs) - set(corpus)) for task, langs in tested.items()
                  if not loaded[task].translations}
        lacking = sorted({lang for langs in needed.values() for lang in langs})
        if lacking:
            raise DataError(f"datasets.parallel ({_source(d.parallel)}): no English pair for {lacking}, which "
                            f"{[t for t, langs in needed.items() if langs]} need for their pairs (they ship no "
                            f"translations); a local folder needs tatoeba.<xxx>-eng.<xxx> and tatoeba.<xxx>-eng.eng "
                            "for each")
    if d.dictionaries.url or d.dictionaries.local:
        echo("reading the MUSE dictionaries ...")
        with bom_log() as boms["dictionaries"]:
            words = read_dictionaries(p, tallies.setdefault("dictionaries", Tally()))
    return RealData(loaded, not_run, corpus, words, tallies, {k: v for k, v in boms.items() if k not in not_run})


def download_report(data: RealData) -> dict:
    """download.json: per dataset its tally (rows read, kept, skipped by reason per split and language; the absent
    languages) and the files whose byte order mark was removed; a task not run gives its reason instead."""
    report = {name: {**tally.as_dict(), "bom_removed": data.boms.get(name, [])}
              for name, tally in data.tallies.items()}
    report.update({task: {"not_run": reason} for task, reason in data.not_run.items()})
    return dict(sorted(report.items()))


def embedded_report(bench) -> dict:
    """download.json of the embedded benchmark: every generated row is read and kept, none skipped (a task's rows
    summed over its draws)."""
    tallies: dict[str, Tally] = {}
    for draw in bench.draws.values():  # a task's rows summed over its draws
        for task, splits in draw.examples.items():
            tally = tallies.setdefault(task, Tally())
            for split, examples in splits.items():
                for e in examples:
                    tally.keep(split, e.lang)
            for t in draw.translations[task]:
                tally.keep("translations", t["lang"])
    return {task: {**tally.as_dict(), "bom_removed": []} for task, tally in sorted(tallies.items())}


def report_rows(report: dict) -> list[tuple[str, ...]]:
    """download.json as table rows: (dataset, split, language, read, kept, skipped by reason), then one row per
    dataset not run, per reason languages are absent and per language not run."""
    rows = []
    for name, info in report.items():
        if "not_run" in info:
            rows.append((name, "-", "-", "-", "-", "not run"))
            continue
        for split, langs in info["splits"].items():
            for lang, cell in langs.items():
                skipped = ", ".join(f"{reason} {n}" for reason, n in cell["skipped"].items())
                rows.append((name, split, lang, str(cell["read"]), str(cell["kept"]), skipped))
        for why in sorted(set(info["absent"].values())):
            rows.append((name, "-", ", ".join(k for k, v in info["absent"].items() if v == why), "0", "0", why))
        for lang, why in info["languages_not_run"].items():
            rows.append((name, "-", lang, "-", "-", f"not run: {why}"))
        if info["bom_removed"]:
            rows.append((name, "-", "-", "-", "-", f"byte order mark removed: {len(info['bom_removed'])} file(s)"))
    return rows


def _meta(p: Params, data: RealData) -> dict:
    tasks = {name: {"labels": list(t.labels), "pair": t.pair, "languages": t.languages, "available": True,
                    "languages_not_run": dict(sorted(t.tally.languages_not_run.items())),
                    "rows": {s: len(t.rows[s]) for s in SPLITS}, "translations": len(t.translations),
                    "skipped": dict(sorted(t.skipped.items()))}
             for name, t in data.tasks.items()}
    tasks.update({name: {"available": False, "reason": reason} for name, reason in data.not_run.items()})
    return {"source": "real", "source_lang": p.data.source_lang, "languages": list(p.data.languages),
            "tasks": dict(sorted(tasks.items())),
            "parallel": {lang: len(pairs) for lang, pairs in sorted(data.parallel.items())},
            "dictionaries": {lang: len(w) for lang, w in sorted(data.dictionaries.items())}}


def _corpus(data: RealData, source_lang: str) -> dict[str, list[str]]:
    """Unlabelled text per language for the tiny encoder's masked-LM pretraining: training text, translations and
    the parallel corpus. Dev and test text stay out, so the encoder never sees an evaluation sentence."""
    lines: dict[str, dict[str, None]] = {}

    def add(lang: str, *texts: str | None) -> None:
        lines.setdefault(lang, {}).update((" ".join(t.split()), None) for t in texts if t and t.strip())

    for task in data.tasks.values():
        for row in task.rows["train"]:
            add(row["lang"], row["text"], row["text_pair"])
        for row in task.translations:
            add(row["lang"], row["text"], row["text_pair"])
    for lang, pairs in data.parallel.items():
        for source, target in pairs:
            add(source_lang, source)
            add(lang, target)
    return {lang: list(texts) for lang, texts in sorted(lines.items())}


def write_real(p: Params, data: RealData, out: Path) -> dict:
    """Write the raw folder atomically (`raw.write_raw`); returns its meta."""
    meta = _meta(p, data)
    parallel = [{"lang": lang, "source": s, "target": t} for lang, pairs in data.parallel.items() for s, t in pairs]
    write_raw(RawFolder(meta=meta, rows={name: t.rows for name, t in data.tasks.items()},
                        translations={name: t.translations for name, t in data.tasks.items()},
                        corpus=_corpus(data, p.data.source_lang), dictionaries=data.dictionaries,
                        parallel=parallel, not_run=data.not_run), out)
    return meta
