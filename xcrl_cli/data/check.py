"""`xcrl check`: every source the current params read, probed in seconds before a long run depends on it.

Hub datasets: the repository's metadata, then the first row of one split of every config the run reads, streamed
through `datasets` (a loading-script repository through its parquet export). Local folders (and the dictionaries'):
read by the loader `download` runs (`sources.read_task`, `read_parallel`, `read_dictionaries`), sampled: every file
the dataset's layout requires is opened and its first `SAMPLE_LINES` lines parsed, so a wrong layout fails with the
loader's own message and files beside the layout are ignored, as `download` ignores them. The MUSE dictionary URL:
one file looked up. The encoder: its config and tokenizer loaded. All probes run side by side, each bounded in time,
so an unreachable Hub costs one timeout in all; each row lists the local files its probe opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Params
from ..config.languages import LANGUAGE_NAMES
from .corpora import hub as hf
from .corpora import pawsx, sentiment, xnli
from .corpora.dictionaries import HOW_TO_LOCAL as DICTIONARIES_HOW_TO_LOCAL
from .corpora.dictionaries import _exists as dictionary_exists
from .corpora.lines import sampled
from .corpora.schema import SPLITS, Tally
from .sources import (HUB_DATASETS, hub_sources, read_dictionaries, read_parallel, read_task, untranslated,
                      where_read)

CHECK_TIMEOUT_S = 25.0  # per probe; they run in parallel, so about the whole command's bound too
SAMPLE_LINES = 6  # of every local file a probe opens: a TSV's header and five rows
PRETRAINED_HERE = "data/encoder"  # where `xcrl pretrain` writes the encoder (model.encoder's default)


@dataclass(frozen=True)
class Row:
    source: str
    found: str
    ok: bool
    fix: str = ""  # what to do when not ok
    opened: tuple[str, ...] = ()  # the local files the probe opened, in order


@dataclass(frozen=True)
class Probe:
    source: str
    fix: str
    run: Callable[[], str]  # returns what was found; raises when the source is unusable
    optional: bool = False  # a task in datasets.optional: its absence is reported, not a failure


def hub_configs(key: str, p: Params) -> list[tuple[str, str]]:
    """(config, split) of every config a run reads from dataset `key`, one split each (the smallest that exists)."""
    langs, src = list(p.data.languages), p.data.source_lang
    if key == "xnli":
        return [(xnli.ALL_LANGUAGES, "test")]
    if key == "pawsx":
        return [(lang, "test") for lang in pawsx.LANGUAGES if lang in langs]
    if key == "sentiment":
        return [(LANGUAGE_NAMES[lang], "test") for lang in sentiment.HUB_LANGUAGES if lang in langs]
    return [("-".join(sorted([src, lang])), "train") for lang in langs if lang != src]


def _hub_probe(key: str, name: str, repo: str, p: Params) -> str:
    hf.probe(repo, name, "")
    found, absent = [], []
    for config, split in hub_configs(key, p):
        try:
            row = hf.first_row(repo, config, split)
        except hf.NoSuchConfig:
            if key != "parallel":  # the parallel corpus simply lacks some language pairs
                raise
            absent.append(config)
            continue
        found.append(f"{config}/{split} ({', '.join(row)})")
    note = f"; no config for {', '.join(absent)} (those languages get no pairs)" if absent else ""
    return f"{len(found)} configs: " + "; ".join(found[:3]) + (" …" if len(found) > 3 else "") + note


def _task_probe(p: Params, task: str) -> str:
    """The task read from its local folder as `download` reads it (inside `run_checks`' sampling)."""
    data = read_task(p, task, task in p.datasets.optional)
    rows = ", ".join(f"{split} {len(data.rows[split])}" for split in SPLITS)
    return f"rows parsed: {rows}, translations {len(data.translations)}" + _notes(data.tally)


def _parallel_probe(p: Params) -> str:
    tally = Tally()
    corpus = read_parallel(p, tally)
    pairs = ", ".join(f"{lang} {len(words)}" for lang, words in corpus.items())
    return f"pairs parsed: {pairs or 'none'}" + _notes(tally, " (those languages get no pairs)")


def _dictionaries_probe(p: Params) -> str:
    tally = Tally()
    words = read_dictionaries(p, tally)
    pairs = ", ".join(f"{lang} {len(w)}" for lang, w in words.items())
    return f"word pairs parsed: {pairs or 'none'}" + _notes(tally, " (those languages get no code-switching)")


def _notes(tally: Tally, consequence: str = "") -> str:
    """The languages a sampled read found absent or left out, for a row's `found`."""
    notes = [f"absent: {', '.join(sorted(tally.absent))}{consequence}"] if tally.absent else []
    notes += [f"not run: {lang} ({why})" for lang, why in tally.languages_not_run.items()]
    return "".join(f"; {note}" for note in notes)


def _dictionary_probe(url: str, p: Params) -> str:
    target = next(lang for lang in p.data.languages if lang != p.data.source_lang)
    file_url = f"{url.rstrip('/')}/{p.data.source_lang}-{target}.txt"
    if not dictionary_exists(file_url):
        raise FileNotFoundError(f"{file_url} is not served")
    return f"{file_url} served"


def _encoder_probe(encoder: str) -> str:
    from transformers import AutoTokenizer

    config = hf.encoder_config(encoder)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    return (f"{config.model_type}: {config.num_hidden_layers} layers, hidden {config.hidden_size}; tokenizer "
            f"{type(tokenizer).__name__} ({len(tokenizer)} tokens)")


def probes(p: Params) -> list[Probe]:
    """Every source the params read, as a probe."""
    out = []
    if p.data.source == "embedded":
        out.append(Probe("embedded benchmark", "", lambda: "generated by `xcrl download`: nothing to fetch"))
    else:
        tasks = tuple(p.data.tasks)
        hub_keys = {s.key for s in hub_sources(p, tasks)}
        tables = [t for t in tasks if p.task(t).format == "table"]
        for task in tables:  # read whole by the loader `download` runs
            out.append(Probe(f"table {where_read(p, task)} ({task})", f"fix tasks.{task} in params.yaml",
                             lambda k=task: _task_probe(p, k), task in p.datasets.optional))
        keys = [*(t for t in tasks if t not in tables),
                *(["parallel"] if any(untranslated(p, t) for t in tasks) else [])]
        for key in keys:
            spec = getattr(p.datasets, key)
            fix = f"set `datasets.{key}.local` to a local copy"
            if key in hub_keys:
                name, how_to_local = HUB_DATASETS[key]
                out.append(Probe(f"hub {spec.hub}", how_to_local,
                                 lambda k=key, n=name, r=spec.hub: _hub_probe(k, n, r, p)))
            elif spec.local is not None:
                run = (lambda: _parallel_probe(p)) if key == "parallel" else (lambda k=key: _task_probe(p, k))
                out.append(Probe(f"local {spec.local} ({key})", fix, run, key in p.datasets.optional))
            else:
                out.append(Probe(f"datasets.{key}", fix, _raise(f"neither datasets.{key}.local nor .hub is set")))
        d = p.datasets.dictionaries
        if d.local:
            out.append(Probe(f"local {d.local} (dictionaries)", DICTIONARIES_HOW_TO_LOCAL, lambda: _dictionaries_probe(p)))
        elif d.url:
            out.append(Probe(f"url {d.url}", DICTIONARIES_HOW_TO_LOCAL, lambda: _dictionary_probe(d.url, p)))
    encoder = p.pretrain.init if p.pretrain.init != "scratch" else p.model.encoder
    if p.pretrain.init == "scratch" and encoder == PRETRAINED_HERE:
        out.append(Probe(f"encoder {encoder}", "", lambda: "trained from scratch by `xcrl pretrain`"))
    else:
        out.append(Probe(f"encoder {encoder}", "download it once with network, or point pretrain.init (or "
                         "model.encoder) at a local folder holding config.json and the tokenizer files",
                         lambda: _encoder_probe(encoder)))
    return out


def _raise(message: str) -> Callable[[], str]:
    def run() -> str:
        raise ValueError(message)
    return run


def run_checks(p: Params, timeout_s: float = CHECK_TIMEOUT_S) -> list[Row]:
    """One row per source, probes run side by side; a probe still running after `timeout_s` is a failure. Every
    local file a probe opens gives only its first `SAMPLE_LINES` lines, and is listed in the row's `opened`."""
    todo = probes(p)
    results: list[Row | None] = [None] * len(todo)

    def work(i: int, probe: Probe) -> None:
        with sampled(SAMPLE_LINES) as opened:  # a local file is opened and its first lines parsed
            try:
                results[i] = Row(probe.source, probe.run(), True, opened=tuple(opened))
            except Exception as err:  # noqa: BLE001 — every failure is a row of the table, not a crash
                if probe.optional:
                    results[i] = Row(probe.source, f"{hf.one_line(err)} (optional: its task is reported as not run)",
                                     True, opened=tuple(opened))
                else:
                    results[i] = Row(probe.source, hf.one_line(err), False, probe.fix, tuple(opened))

    threads = [threading.Thread(target=work, args=(i, probe), daemon=True) for i, probe in enumerate(todo)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [row or Row(probe.source, f"no answer within {timeout_s:.0f} s", False, probe.fix)
            for row, probe in zip(results, todo)]
