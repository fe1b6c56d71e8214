"""Parallel pairs P and counterfactuals x̃ for one task, the library side of the `pairs` stage.

Reads the `download` stage's raw folder (source-language train set, its machine translations, the parallel test set,
MUSE dictionaries) and writes `out_dir/{task}/train.jsonl` and `test_cf.jsonl`. Target-language labels are never
read: translations carry none, and a pair is only `{lang, text, text_pair}` (zero-shot transfer).

A task that ships no translations (MLDoc, sentiment) takes its pairs from the general parallel corpus instead: each
training example is given one clean corpus pair, whose source side travels with it as the pair's `anchor`, so the
pair losses compare the two sides of a real translation.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import track
from sacrebleu.metrics import CHRF

from xcrl_cli.data.corpora.dictionaries import parse_pairs
from xcrl_cli.data.corpora.lines import read_lines
from xcrl_cli.data.counterfactuals import (
    COUNTERFACTUAL_KINDS,
    CounterfactualContext,
    Surface,
    sample_counterfactual,
    word_tokenizer,
)
from xcrl_cli.data.raw import not_run_reason, read_meta, task_dir, write_not_run
from xcrl_cli.io import DataError, atomic_write, dumps_jsonl, iter_jsonl

__all__ = ["PairsConfig", "build_pairs", "describe_stats", "load_muse", "word_tokenizer", "COUNTERFACTUAL_KINDS"]

_EXAMPLE_KEYS = ("id", "meaning_id", "task", "lang", "split", "text", "text_pair", "label", "cue_label")
_TRANSLATION_KEYS = ("id", "lang", "text", "text_pair")
_PARALLEL_KEYS = ("lang", "source", "target")
# Separate random streams, so that changing the counterfactual mix does not change which pairs are chosen.
_STREAM_PAIRS, _STREAM_TRAIN_CF, _STREAM_TEST_CF = 0, 1, 2


def _default_mix() -> dict[str, float]:
    return {kind: 1.0 / len(COUNTERFACTUAL_KINDS) for kind in COUNTERFACTUAL_KINDS}


@dataclass(frozen=True)
class PairsConfig:
    """The `pairs` section of params.yaml; validated on construction so a bad value fails before any work."""

    seed: int = 0
    min_len_ratio: float = 0.5
    max_len_ratio: float = 2.0
    counterfactual_mix: dict = field(default_factory=_default_mix)
    code_switch_rate: float = 0.3
    word_order_window: int = 3

    def __post_init__(self):
        mix = self.counterfactual_mix
        unknown = sorted(set(mix) - set(COUNTERFACTUAL_KINDS))
        if unknown:
            raise ValueError(f"counterfactual_mix has unknown kinds {unknown}; valid: {list(COUNTERFACTUAL_KINDS)}")
        if any(p < 0 for p in mix.values()) or not math.isclose(sum(mix.values()), 1.0, abs_tol=1e-6):
            raise ValueError(f"counterfactual_mix {mix} must hold non-negative probabilities summing to 1 "
                             f"(sums to {sum(mix.values()):g})")
        if not 0 < self.min_len_ratio <= self.max_len_ratio:
            raise ValueError(f"need 0 < min_len_ratio <= max_len_ratio, got {self.min_len_ratio}, "
                             f"{self.max_len_ratio}")
        if not 0 <= self.code_switch_rate <= 1:
            raise ValueError(f"code_switch_rate must be in [0, 1], got {self.code_switch_rate}")
        if self.word_order_window < 2:
            raise ValueError(f"word_order_window must be >= 2 (a swap needs two words), got {self.word_order_window}")


def load_muse(path: Path) -> dict[str, list[str]]:
    """MUSE dictionary `src<sep>tgt` per line -> {src: [tgt, ...]} in file order, each translation once."""
    dictionary: dict[str, list[str]] = defaultdict(list)
    for source, target in parse_pairs(str(path), read_lines(Path(path))):
        if target not in dictionary[source]:
            dictionary[source].append(target)
    return dict(dictionary)


def _surface(row: dict) -> Surface:
    return Surface(lang=row["lang"], text=row["text"], text_pair=row["text_pair"])


def _read_translations(path: Path, train_ids: set, languages: list[str]) -> dict[str, dict[str, Surface]]:
    """Source example id -> {target lang: translation}, languages in sorted order for deterministic draws."""
    by_id: dict[str, dict[str, Surface]] = defaultdict(dict)
    for lineno, row in iter_jsonl(path, _TRANSLATION_KEYS, "download"):
        if row["id"] not in train_ids:
            raise DataError(f"{path}:{lineno}: id {row['id']!r} is not in train.jsonl; a translation's id must be "
                            "the id of the source example it translates")
        if row["lang"] not in languages:
            raise DataError(f"{path}:{lineno}: lang {row['lang']!r} is not a target language; valid: {languages}")
        if row["lang"] in by_id[row["id"]]:
            raise DataError(f"{path}:{lineno}: second translation of {row['id']!r} into {row['lang']!r}; "
                            "expected at most one per (id, lang)")
        by_id[row["id"]][row["lang"]] = _surface(row)
    return {i: dict(sorted(t.items())) for i, t in by_id.items()}


def _pair_filter(src: Surface, tgt: Surface, cfg: PairsConfig) -> str | None:
    """Name of the per-pair filter that rejects (src, tgt), or None when the pair is clean."""
    tgt_sides = [tgt.text] if src.text_pair is None else [tgt.text, tgt.text_pair or ""]
    if any(not side.strip() for side in src.sides() + tgt_sides):
        return "empty"
    for s, t in zip(src.sides(), tgt_sides):
        n_src, n_tgt = len(word_tokenizer(src.lang)(s)), len(word_tokenizer(tgt.lang)(t))
        if not cfg.min_len_ratio <= n_tgt / max(n_src, 1) <= cfg.max_len_ratio:
            return "length_ratio"
    return None


class _PairChooser:
    """Chooses one clean, unseen translation per source example, counting every rejection per language."""

    def __init__(self, cfg: PairsConfig, rng: np.random.Generator):
        self.cfg, self.rng = cfg, rng
        self.seen: set[tuple] = set()
        self.kept: dict[str, int] = defaultdict(int)
        self.dropped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def clean(self, src: Surface, translations: dict[str, Surface]) -> dict[str, Surface]:
        """Translations passing `empty` and `length_ratio`; all are checked, so counts do not depend on the draw."""
        out = {}
        for lang, tgt in translations.items():
            reason = _pair_filter(src, tgt, self.cfg)
            if reason:
                self.dropped[reason][lang] += 1
            else:
                out[lang] = tgt
        return out

    def choose(self, src: Surface, translations: dict[str, Surface], clean: dict[str, Surface]) -> Surface | None:
        """Uniform over target languages; a filtered choice falls back to the others in random order."""
        langs = list(translations)
        for lang in (langs[i] for i in self.rng.permutation(len(langs))):
            if lang not in clean:
                continue
            key = (src.text, src.text_pair, lang, clean[lang].text, clean[lang].text_pair)
            if key in self.seen:
                self.dropped["duplicate"][lang] += 1
                continue
            self.seen.add(key)
            self.kept[lang] += 1
            return clean[lang]
        self.dropped["no_pair"][src.lang] += 1
        return None


def _read_parallel(path: Path, source_lang: str, languages: list[str]) -> dict[str, list[tuple[Surface, Surface]]]:
    """The general parallel corpus: target lang -> [(source sentence, target sentence)] in file order."""
    if not path.exists():
        raise DataError(f"{path}: missing; a task without translations takes its pairs from the parallel corpus "
                        "(`datasets.parallel` in params.yaml)")
    corpus: dict[str, list[tuple[Surface, Surface]]] = defaultdict(list)
    for lineno, row in iter_jsonl(path, _PARALLEL_KEYS, "download"):
        if row["lang"] not in languages:
            raise DataError(f"{path}:{lineno}: lang {row['lang']!r} is not a target language; valid: {languages}")
        corpus[row["lang"]].append((Surface(source_lang, row["source"]), Surface(row["lang"], row["target"])))
    return dict(sorted(corpus.items()))


def _clean_corpus(corpus: dict[str, list[tuple[Surface, Surface]]], chooser: _PairChooser) -> dict[str, list]:
    """The corpus pairs passing every filter, per language; the chooser counts what each filter dropped."""
    clean: dict[str, list[tuple[Surface, Surface]]] = {}
    for lang, pairs in corpus.items():
        kept = []
        for src, tgt in pairs:
            reason = _pair_filter(src, tgt, chooser.cfg)
            key = (src.text, tgt.text)
            if reason is None and key in chooser.seen:
                reason = "duplicate"
            if reason:
                chooser.dropped[reason][lang] += 1
                continue
            chooser.seen.add(key)
            kept.append((src, tgt))
        chooser.kept[lang] = len(kept)
        if kept:
            clean[lang] = kept
    return clean


def _corpus_pairs(clean: dict[str, list], n: int, rng: np.random.Generator) -> list[tuple[Surface, Surface]]:
    """n corpus pairs: languages uniformly, pairs within a language in a random order, reused only when exhausted."""
    langs = list(clean)
    if not langs:
        raise DataError("the parallel corpus has no clean pair in any target language; see the pairs stage metrics")
    orders = {lang: rng.permutation(len(clean[lang])) for lang in langs}
    used: dict[str, int] = defaultdict(int)
    out = []
    for lang_i in rng.integers(len(langs), size=n):
        lang = langs[lang_i]
        out.append(clean[lang][orders[lang][used[lang] % len(clean[lang])]])
        used[lang] += 1
    return out


def _context(cfg: PairsConfig, renderings: dict[str, Surface], avoid_lang: str | None,
             dictionaries: dict[str, dict[str, list[str]]]) -> CounterfactualContext:
    return CounterfactualContext(renderings=renderings, avoid_lang=avoid_lang, dictionaries=dictionaries,
                                 code_switch_rate=cfg.code_switch_rate, word_order_window=cfg.word_order_window)


def _side(surface: Surface) -> dict:
    return {"lang": surface.lang, "text": surface.text, "text_pair": surface.text_pair}


def _record(kind: str, surface: Surface) -> dict:
    return {"kind": kind, **_side(surface)}


def _sentence_chrf(x: Surface, cf: Surface) -> float:
    """chrF of x̃ against x, both sides joined: how much of the surface the counterfactual kept (100 = unchanged)."""
    return round(CHRF().sentence_score(" ".join(cf.sides()), [" ".join(x.sides())]).score, 4)


def _surface_stats(changes: list[tuple[str, Surface, Surface]]) -> dict:
    """Per kind: count, corpus chrF(x̃ against x) over all sides, and how many x̃ equal x (kinds that did nothing)."""
    stats = {}
    for kind in COUNTERFACTUAL_KINDS:
        rows = [(x, cf) for k, x, cf in changes if k == kind]
        hyps = [side for _, cf in rows for side in cf.sides()]
        refs = [side for x, _ in rows for side in x.sides()]
        chrf = round(CHRF().corpus_score(hyps, [refs]).score, 4) if rows else None
        unchanged = sum(x.sides() == cf.sides() for x, cf in rows)
        stats[kind] = {"n": len(rows), "chrf": chrf, "unchanged": unchanged}
    return stats


def _pair_stats(chooser: _PairChooser) -> dict:
    """Kept and dropped pairs per language."""
    return {"kept": dict(sorted(chooser.kept.items())),
            "dropped": {f: dict(sorted(c.items())) for f, c in sorted(chooser.dropped.items())}}


def _build_train_from_corpus(train: list[dict], parallel: Path, cfg: PairsConfig, rngs: list[np.random.Generator],
                             languages: list[str], dictionaries: dict) -> tuple[list[dict], dict, list]:
    """Train rows each given a parallel-corpus pair (with its source side as `anchor`) and a counterfactual."""
    source_lang = train[0]["lang"]
    chooser = _PairChooser(cfg, rngs[_STREAM_PAIRS])
    clean = _clean_corpus(_read_parallel(parallel, source_lang, languages), chooser)
    rows, changes = [], []
    for row, (anchor, pair) in zip(train, _corpus_pairs(clean, len(train), rngs[_STREAM_PAIRS])):
        x = _surface(row)
        kind, cf = sample_counterfactual(x, _context(cfg, {}, None, dictionaries), cfg.counterfactual_mix,
                                         rngs[_STREAM_TRAIN_CF])
        changes.append((kind, x, cf))
        rows.append({**row, "pair": {**_side(pair), "anchor": _side(anchor)}, "counterfactual": _record(kind, cf)})
    return rows, {"source": "parallel corpus", **_pair_stats(chooser)}, changes


def _build_train(raw: Path, parallel: Path, cfg: PairsConfig, rngs: list[np.random.Generator], languages: list[str],
                 dictionaries: dict) -> tuple[list[dict], dict, list]:
    """Kept train rows with their pair and counterfactual, the pair stats, and (kind, x, x̃) for chrF.

    Pairs are translations of the examples when the task ships them, else drawn from the parallel corpus.
    """
    train = [row for _, row in iter_jsonl(raw / "train.jsonl", _EXAMPLE_KEYS, "download")]
    if not train:
        raise DataError(f"{raw / 'train.jsonl'}: empty; the source-language training split has no examples")
    translations_file = raw / "translations.jsonl"
    if not translations_file.exists() or translations_file.stat().st_size == 0:
        return _build_train_from_corpus(train, parallel, cfg, rngs, languages, dictionaries)
    translations = _read_translations(translations_file, {r["id"] for r in train}, languages)
    chooser, rows, changes = _PairChooser(cfg, rngs[_STREAM_PAIRS]), [], []
    for row in track(train, description=f"pairs {raw}", transient=True, disable=len(train) < 10_000):
        x, available = _surface(row), translations.get(row["id"], {})
        clean = chooser.clean(x, available)
        pair = chooser.choose(x, available, clean)
        if pair is None:
            continue
        ctx = _context(cfg, clean, pair.lang, dictionaries)
        kind, cf = sample_counterfactual(x, ctx, cfg.counterfactual_mix, rngs[_STREAM_TRAIN_CF])
        changes.append((kind, x, cf))
        rows.append({**row, "pair": _side(pair),
                     "counterfactual": _record(kind, cf)})
    return rows, {"source": "translations", **_pair_stats(chooser)}, changes


def _build_test(path: Path, cfg: PairsConfig, rng: np.random.Generator, source_lang: str,
                dictionaries: dict) -> tuple[list[dict], list]:
    """One counterfactual per test example; translation_swap draws on the parallel renderings of its meaning_id."""
    test = list(iter_jsonl(path, _EXAMPLE_KEYS, "download"))
    by_meaning: dict = defaultdict(dict)
    for lineno, row in test:
        if row["lang"] in by_meaning[row["meaning_id"]]:
            raise DataError(f"{path}:{lineno}: meaning_id {row['meaning_id']!r} appears twice in {row['lang']!r}; "
                            "a parallel test set holds one rendering per (meaning_id, lang)")
        by_meaning[row["meaning_id"]][row["lang"]] = _surface(row)
    rows, changes = [], []
    for _, row in test:
        x = _surface(row)
        others = {lang: s for lang, s in sorted(by_meaning[row["meaning_id"]].items()) if lang != x.lang}
        ctx = _context(cfg, others, None, dictionaries if x.lang == source_lang else {})
        kind, cf = sample_counterfactual(x, ctx, cfg.counterfactual_mix, rng)
        changes.append((kind, x, cf))
        rows.append({"id": row["id"], **_record(kind, cf), "chrf": _sentence_chrf(x, cf)})
    return rows, changes


def _load_dictionaries(raw_dir: Path, source_lang: str, languages: list[str]) -> dict[str, dict[str, list[str]]]:
    """MUSE dictionaries from the source language into each target language that has one."""
    paths = {lang: raw_dir / "dictionaries" / f"{source_lang}-{lang}.txt" for lang in languages}
    return {lang: load_muse(p) for lang, p in paths.items() if p.exists()}


def build_pairs(raw_dir: Path, out_dir: Path, task: str, cfg: PairsConfig, draw: int | None = None) -> dict:
    """Write `out_dir/{task}/train.jsonl` (pairs P and counterfactuals) and `test_cf.jsonl` (for a draw of the task,
    in `{task}/draw{d}/`, from the raw folder's same draw); return the stats.

    Deterministic: every random choice comes from numpy Generators seeded by (cfg.seed, task, stream) and the draw.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    meta = read_meta(raw_dir)
    reason = not_run_reason(meta, task, raw_dir)
    if reason:
        write_not_run(out_dir / task, reason)
        return {"not_run": reason}
    source_lang = meta["source_lang"]
    languages = sorted(lang for lang in meta["languages"] if lang != source_lang)
    dictionaries = _load_dictionaries(raw_dir, source_lang, languages)
    drawn = () if draw is None else (draw,)
    rngs = [np.random.default_rng([cfg.seed, zlib.crc32(task.encode()), stream, *drawn]) for stream in range(3)]
    raw_task, out_task = task_dir(raw_dir, task, draw), task_dir(out_dir, task, draw)
    train_rows, pair_stats, train_changes = _build_train(raw_task, raw_dir / "parallel.jsonl", cfg, rngs, languages,
                                                         dictionaries)
    test_rows, test_changes = _build_test(raw_task / "test.jsonl", cfg, rngs[_STREAM_TEST_CF], source_lang,
                                          dictionaries)
    atomic_write(out_task / "train.jsonl", dumps_jsonl(train_rows))
    atomic_write(out_task / "test_cf.jsonl", dumps_jsonl(test_rows))
    # A reported skip: training sees no text of these languages, yet their test sets are scored zero-shot. A
    # language without a test set of this task (not in PAWS-X, say) is not scored, so it is no skip of the pairs.
    tested = {x.lang for _, x, _ in test_changes}
    no_pairs = [lang for lang in languages if lang in tested and not pair_stats["kept"].get(lang)]
    return {"pairs": {**pair_stats, "no_pairs": no_pairs},
            "counterfactuals": {"train": _surface_stats(train_changes), "test": _surface_stats(test_changes)}}


def describe_stats(task: str, stats: dict) -> str:
    """A few human-readable lines of `build_pairs`' stats: pairs kept and dropped per filter and language, chrF and
    count per counterfactual kind (`-` where a kind never applied)."""
    if "not_run" in stats:
        return f"{task}: not run ({stats['not_run'].splitlines()[0]})"
    pairs = stats["pairs"]
    lines = [f"{task}: pairs from {pairs['source']}; kept " + ", ".join(f"{k} {v}" for k, v in pairs["kept"].items())]
    for reason, by_lang in pairs["dropped"].items():
        lines.append(f"  dropped by {reason}: " + ", ".join(f"{k} {v}" for k, v in by_lang.items()))
    if pairs.get("no_pairs"):
        lines.append(f"  WARNING no pairs for {', '.join(pairs['no_pairs'])}: training sees none of their text; their "
                     "test sets are still scored zero-shot")
    for split, kinds in stats["counterfactuals"].items():
        cells = [f"{k} {'-' if v['chrf'] is None else format(v['chrf'], '.1f')} "
                 f"(n={v['n']}, unchanged {v['unchanged']})" for k, v in kinds.items()]
        lines.append(f"  chrF {split}: " + "; ".join(cells))
    return "\n".join(lines)
