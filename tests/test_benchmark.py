"""Tests of the embedded benchmark: determinism, the planted cue, balance, parallelism, scripts, word order."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from xcrl_cli.config.languages import LANGUAGE_CODES
from xcrl_cli.data.benchmark import (
    SAMPLERS,
    TASK_LABELS,
    BenchmarkConfig,
    generate_benchmark,
    sample_meaning,
    write_benchmark,
)
from xcrl_cli.data.lexicon import (
    ANTONYMS,
    HYPERNYM_OF,
    HYPERNYMS,
    NEGATIVE,
    POSITIVE,
    TOPIC_NOUNS,
    TOPIC_VERBS,
    Frame,
    concept_pos,
    get_language,
)

SMALL = BenchmarkConfig(seed=3, train_size=60, dev_size=13, test_size=12, corpus_size=40, parallel_size=200,
                        retrieval_size=20)
TARGETS = [c for c in SMALL.languages if c != SMALL.source_lang]


@pytest.fixture(scope="module")
def bench():
    return generate_benchmark(SMALL)


@pytest.fixture(scope="module")
def written(bench, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "data"
    write_benchmark(bench, out)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _content(code: str, text: str) -> Counter:
    """Content-word multiset of a rendered text (function words, particles and punctuation removed)."""
    fws = get_language(code).function_words()
    return Counter(t for t in text.split() if t not in fws)


def test_same_seed_gives_identical_files(written, tmp_path):
    write_benchmark(generate_benchmark(SMALL), tmp_path / "again")
    first, again = _files(written), _files(tmp_path / "again")
    assert first.keys() == again.keys() and first == again
    assert {"meta.json", "xnli/train.jsonl", "xnli/translations.jsonl", "mldoc/test.jsonl", "corpus/hi.txt",
            "dictionaries/en-sw.txt"} <= first.keys()


def test_seed_draws_the_task_data_and_corpus_seed_the_pretraining_corpora(bench):
    """benchmark.seed changes every task's examples and leaves the corpora (hence the encoder) alone; corpus_seed
    changes the monolingual and parallel corpora and leaves the task data alone."""
    other_tasks = generate_benchmark(BenchmarkConfig(**{**SMALL.__dict__, "seed": 4}))
    other_corpora = generate_benchmark(BenchmarkConfig(**{**SMALL.__dict__, "corpus_seed": 4}))
    for task in SMALL.tasks:
        texts = [e.text for e in bench.examples[task]["train"]]
        assert texts != [e.text for e in other_tasks.examples[task]["train"]]
        assert texts == [e.text for e in other_corpora.examples[task]["train"]]
    assert other_tasks.corpus == bench.corpus and other_tasks.corpus_parallel == bench.corpus_parallel
    assert all(other_corpora.corpus[c] != bench.corpus[c] for c in SMALL.languages)
    assert other_corpora.corpus_parallel["train"] != bench.corpus_parallel["train"]
    assert other_corpora.corpus_parallel["heldout"] != bench.corpus_parallel["heldout"]


def test_each_draw_is_its_own_sample_of_the_task_data_and_shares_the_corpora(bench, written, tmp_path):
    drawn = generate_benchmark(BenchmarkConfig(**{**SMALL.__dict__, "draws": (0, 4)}))
    write_benchmark(drawn, tmp_path / "drawn")
    files = _files(tmp_path / "drawn")

    assert set(drawn.draws) == {0, 4}
    for task in SMALL.tasks:
        first, other = (drawn.draws[d].examples[task] for d in (0, 4))
        assert [e.text for e in first["test"]] != [e.text for e in other["test"]]
        assert [e.cue_label for e in first["train"]] != [e.cue_label for e in other["train"]]
        assert {e.id for e in first["test"]}.isdisjoint(e.id for e in other["test"])  # no id names two examples
        assert other["test"][0].id == f"{task}-d4-test-00000-en"
        assert other["test"][0].meaning_id == f"{task}-d4-test-00000"
        assert files[f"{task}/draw4/test.jsonl"] != files[f"{task}/draw0/test.jsonl"]
        assert f"{task}/test.jsonl" not in files
    one = _files(written)  # the corpora, parallel pairs and dictionaries are the same with or without draws
    for name in ("corpus/hi.txt", "corpus/parallel/train.jsonl", "corpus/parallel/heldout.jsonl",
                 "dictionaries/en-sw.txt"):
        assert files[name] == one[name]
    meta = json.loads(files["meta.json"])
    assert all(info["draws"] == [0, 4] for info in meta["tasks"].values())
    assert "draws" not in json.loads(one["meta.json"])["tasks"]["xnli"]
    with pytest.raises(ValueError, match="the benchmark has draws"):
        drawn.examples
    with pytest.raises(ValueError, match="draws must be distinct"):
        BenchmarkConfig(**{**SMALL.__dict__, "draws": (1, 1)})


def test_rewrite_replaces_tree_and_leaves_no_temp_folders(bench, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    write_benchmark(bench, out)
    assert not (out / "stale.txt").exists() and (out / "meta.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def _match_rate(examples) -> tuple[float, int]:
    return float(np.mean([e.cue_label == e.label for e in examples])), len(examples)


def _tolerance(p: float, n: int) -> float:
    """Four binomial standard deviations of an observed match rate (false alarm ~6e-5 per check)."""
    return 4 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("strength", [0.0, 0.5, 0.9])
def test_measured_cue_strength_matches_param(strength):
    cfg = BenchmarkConfig(seed=11, languages=("en", "hi"), tasks=("sentiment", "mldoc"), cue_strength=strength,
                          train_size=3000, dev_size=10, test_size=10, corpus_size=5)
    bench = generate_benchmark(cfg)
    for task in cfg.tasks:
        k = len(TASK_LABELS[task])
        match, n = _match_rate(bench.examples[task]["train"])
        s_hat = (match - 1 / k) / (1 - 1 / k)
        expected = strength + (1 - strength) / k
        assert abs(s_hat - strength) <= _tolerance(expected, n) / (1 - 1 / k), (task, s_hat)


def test_each_task_takes_its_own_cue_strength():
    strengths = {"sentiment": 0.2, "mldoc": 0.8}
    cfg = BenchmarkConfig(seed=3, languages=("en", "de"), tasks=tuple(strengths), cue_strength=strengths,
                          train_size=3000, dev_size=10, test_size=10, corpus_size=5)
    bench = generate_benchmark(cfg)
    for task, strength in strengths.items():
        k = len(TASK_LABELS[task])
        match, n = _match_rate(bench.examples[task]["train"])
        expected = strength + (1 - strength) / k
        assert abs(match - expected) <= _tolerance(expected, n), (task, match)
    assert bench.meta["cue_strength"] == strengths


def test_a_task_without_a_cue_strength_is_refused_naming_it():
    with pytest.raises(ValueError, match="no strength for task 'xnli'"):
        BenchmarkConfig(tasks=("sentiment", "xnli"), cue_strength={"sentiment": 0.5})


def test_source_test_split_and_targets_carry_no_cue():
    cfg = BenchmarkConfig(seed=5, languages=("en", "ar", "hi"), tasks=("sentiment", "xnli"), cue_strength=1.0,
                          train_size=20, dev_size=3000, test_size=3000, corpus_size=5)
    bench = generate_benchmark(cfg)
    for task in cfg.tasks:
        k = len(TASK_LABELS[task])
        groups = [[e for e in bench.examples[task]["test"] if e.lang == "en"]]
        groups += [[e for e in bench.examples[task][s] if e.lang == c] for s in ("dev", "test") for c in ("ar", "hi")]
        for group in groups:
            match, n = _match_rate(group)
            assert abs(match - 1 / k) <= _tolerance(1 / k, n), (task, group[0].lang, group[0].split, match)
        dev_en, _ = _match_rate([e for e in bench.examples[task]["dev"] if e.lang == "en"])
        assert dev_en == 1.0


@pytest.mark.parametrize("task", list(TASK_LABELS))
def test_labels_balanced_and_pair_fields(bench, task):
    k = len(TASK_LABELS[task])
    for split, exs in bench.examples[task].items():
        for code in {e.lang for e in exs}:
            counts = Counter(e.label for e in exs if e.lang == code)
            assert set(counts) == set(range(k)) and max(counts.values()) - min(counts.values()) <= 1
        assert all((e.text_pair is not None) == (task in ("xnli", "pawsx")) for e in exs)
        assert all(e.task == task and e.split == split for e in exs)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_dev_test_parallel_across_languages(bench, split):
    for task in SMALL.tasks:
        exs = bench.examples[task][split]
        by_lang = {c: [e.meaning_id for e in exs if e.lang == c] for c in SMALL.languages}
        assert all(ids == by_lang["en"] and len(ids) == len(set(ids)) for ids in by_lang.values())
        labels = {(e.meaning_id, e.label) for e in exs}
        assert len(labels) == len(by_lang["en"])  # every rendering of a meaning has the same label
    assert {e.lang for e in bench.examples["xnli"]["train"]} == {"en"}


def test_translations_unlabelled_and_cover_every_target(written):
    for task in SMALL.tasks:
        train = [json.loads(x) for x in (written / task / "train.jsonl").read_text("utf-8").splitlines()]
        rows = [json.loads(x) for x in (written / task / "translations.jsonl").read_text("utf-8").splitlines()]
        assert all(set(r) == {"id", "lang", "text", "text_pair"} for r in rows)
        assert Counter((r["id"], r["lang"]) for r in rows) == Counter((e["id"], c) for e in train for c in TARGETS)
        en_particles = set(get_language("en").particles)
        for r in rows:  # the source cue does not survive translation; the target's own particle closes it
            last = (r["text_pair"] or r["text"]).split()[-1]
            assert last in get_language(r["lang"]).particles and last not in en_particles


def test_example_schema(written):
    row = json.loads((written / "pawsx" / "dev.jsonl").read_text("utf-8").splitlines()[0])
    assert set(row) == {"id", "meaning_id", "task", "lang", "split", "text", "text_pair", "label", "cue_label"}
    meta = json.loads((written / "meta.json").read_text("utf-8"))
    assert meta["source"] == "embedded" and meta["tasks"]["mldoc"]["labels"] == TASK_LABELS["mldoc"]
    assert meta["language_info"]["hi"] == {"name": "Hindi", "script": "Devanagari", "word_order": "SOV"}


def test_scripts(bench):
    scripts = {"ar": "[\u0600-\u06ff]", "hi": "[\u0900-\u097f]"}
    for code, script in scripts.items():
        texts = [e.text for t in SMALL.tasks for e in bench.examples[t]["test"] if e.lang == code]
        texts += bench.corpus[code]
        assert all(re.search(script, t) and not re.search("[A-Za-z]", t) for t in texts)
    assert all(re.fullmatch(r"[a-zäöüéèàçâêîôû .,']+", e.text) for e in bench.examples["xnli"]["dev"]
               if e.lang in ("de", "fr", "sw"))


@pytest.mark.parametrize("passive", [False, True])
def test_word_order_through_renderer(passive):
    frame = Frame(agent="minister", verb="approved", patient="law", passive=passive, negated=True)
    order = {}
    for code in LANGUAGE_CODES:
        lang = get_language(code)
        content = [t for t in lang.render(frame).split() if t not in lang.function_words()]
        order[code] = content.index(lang.word("approved"))
    assert order["hi"] == 2 and order["ar"] == 0 and order["en"] == order["de"] == order["sw"] == 1


def test_pawsx_pairs_use_the_same_content_words(bench):
    for split in ("train", "dev"):
        for e in bench.examples["pawsx"][split]:
            assert _content(e.lang, e.text) == _content(e.lang, e.text_pair)
            assert e.label == 1 or e.text.split() != e.text_pair.split()[:-1]


def test_pawsx_roles_alone_tell_the_labels_apart():
    """Paraphrase and swap get their second surface the same way, so nothing but the roles differs between labels:
    each surface feature of the pair (voice of both sentences and whether it changed, adjunct order, negation,
    adjuncts) is as frequent under one label as under the other (within 0.04, 3.5 standard errors of 4000 pairs each),
    the adjuncts always move, and the roles are kept or swapped exactly."""
    rng = np.random.default_rng(7)
    rates = {}
    for label in (0, 1):
        features = []
        for _ in range(4000):
            meaning = SAMPLERS["pawsx"](rng, label)
            (first,), (second,) = meaning.text, meaning.pair
            kept = (second.agent, second.patient) == (first.agent, first.patient)
            assert kept == (label == 1) and {second.agent, second.patient} == {first.agent, first.patient}
            assert (first.location or first.time) and second.adjunct_first != first.adjunct_first
            features.append((first.passive, second.passive, first.passive != second.passive, first.adjunct_first,
                             first.negated, first.location is not None, first.time is not None))
        rates[label] = np.mean(features, axis=0)
    assert np.abs(rates[0] - rates[1]).max() < 0.04


def test_dictionaries_muse_format_cover_every_english_word_particles_included(written):
    """As MUSE covers function words, the dictionaries cover every token English renders: content words, function
    words, particles (the cue slot gets no special case) and the separator; particles pair up by position."""
    english = get_language("en")
    for code in TARGETS:
        target = get_language(code)
        lines = (written / "dictionaries" / f"en-{code}.txt").read_text("utf-8").splitlines()
        pairs = [line.split(" ") for line in lines]
        assert all(len(p) == 2 and all(p) for p in pairs)
        translatable = {w for role, ws in english.fw.items() for w in ws if w and any(target.fw.get(role, ()))}
        assert {p[0] for p in pairs} == set(concept_pos()) | translatable | set(english.particles) | {english.sep}
        assert {(e, t) for e, t in pairs if e in english.particles} == set(zip(english.particles, target.particles))


def test_corpus_sizes(bench):
    assert {c: len(v) for c, v in bench.corpus.items()} == {"en": 40, "de": 40, "fr": 40, "ar": 20, "hi": 20, "sw": 20}


@pytest.mark.parametrize(("field", "value", "bad"), [("languages", ("en", "xx"), "'xx'"),
                                                      ("tasks", ("xnli", "qa"), "'qa'")])
def test_unknown_values_rejected(field, value, bad):
    with pytest.raises(ValueError, match=bad) as info:
        BenchmarkConfig(**{field: value})
    assert "allowed" in str(info.value)


def test_meanings_respect_the_task_semantics():
    """Labels follow from the frames: sentiment composition, MLDoc topic majority, NLI edits."""
    rng = np.random.default_rng(0)
    topic_of = {w: t for table in (TOPIC_VERBS, TOPIC_NOUNS) for t, ws in table.items() for w in ws}
    for _ in range(300):
        y = int(rng.integers(2))
        ((adjectives, negated),) = [f.evaluation for f in SAMPLERS["sentiment"](rng, y, negation=0.5).text]
        polarity = POSITIVE if (y == 1) != negated else NEGATIVE
        assert len(set(adjectives)) == 2 and set(adjectives) <= set(polarity)
        doc = SAMPLERS["mldoc"](rng, y + 2)
        (top, n_top), (_, n_next) = Counter(topic_of[w] for f in doc.text for w in (f.verb, f.patient)).most_common(2)
        assert top == TASK_LABELS["mldoc"][y + 2] and n_top > n_next
        label = int(rng.integers(3))
        meaning = SAMPLERS["xnli"](rng, label)
        p, h = meaning.text[0], meaning.pair[0]
        if label == 0:  # a subset of the premise, possibly with the agent generalised
            assert h.agent in (p.agent, HYPERNYM_OF.get(p.agent)) and not h.negated
            assert set(h.content_words()) - {h.agent} <= set(p.content_words())
        elif label == 1:  # strictly more information
            assert len(h.content_words()) > len(p.content_words()) or h.agent in HYPERNYMS.get(p.agent, ())
        else:
            assert h.negated or h.verb == ANTONYMS.get(p.verb)


def test_cue_free_test_split_is_every_test_example_without_its_particle(bench):
    """test_nocue: one row per test example of every language, same id, meaning and label; only the closing particle
    gone."""
    for task in SMALL.tasks:
        test = bench.examples[task]["test"]
        nocue = bench.examples[task]["test_nocue"]
        assert [e.id for e in nocue] == [e.id for e in test]
        assert {e.lang for e in nocue} == set(SMALL.languages)
        for x, free in zip(test, nocue):
            assert (free.label, free.meaning_id, free.lang, free.cue_label) == (x.label, x.meaning_id, x.lang, None)
            cued = x.text if x.text_pair is None else x.text_pair
            bare = free.text if free.text_pair is None else free.text_pair
            head, particle = cued.rsplit(" ", 1)
            assert particle in get_language(x.lang).particles and bare == head
            assert (free.text_pair is None) == (x.text_pair is None)
            if x.text_pair is not None:
                assert free.text == x.text


def test_cue_rate_leaves_that_share_of_source_train_and_dev_with_a_particle():
    """cue_rate r: a share r of English train/dev examples close with a particle (naming the label as strength
    says), the rest with none; the test split and every target still close with one. Without a rate nothing moves."""
    rates = {"sentiment": 0.3, "mldoc": 0.7}
    common = dict(seed=4, languages=("en", "de"), tasks=tuple(rates), cue_strength=1.0, train_size=3000,
                  dev_size=3000, test_size=20, corpus_size=5)
    bench = generate_benchmark(BenchmarkConfig(cue_rate=rates, **common))
    full = generate_benchmark(BenchmarkConfig(**common))
    particles = {code: set(get_language(code).particles) for code in ("en", "de")}
    for task, rate in rates.items():
        for split in ("train", "dev"):
            source = [e for e in bench.examples[task][split] if e.lang == "en"]
            carried = [e for e in source if e.cue_label is not None]
            assert abs(len(carried) / len(source) - rate) <= _tolerance(rate, len(source)), (task, split)
            assert all(e.cue_label == e.label for e in carried)  # strength 1: each particle names the label
            closing = [(e.text if e.text_pair is None else e.text_pair).rsplit(" ", 1)[1] for e in source]
            assert sum(word in particles["en"] for word in closing) == len(carried)
            reference = {e.id: e for e in full.examples[task][split]}
            for e in carried:  # the same particle the generator without rates placed
                assert (e.text, e.cue_label) == (reference[e.id].text, reference[e.id].cue_label)
        others = [e for e in bench.examples[task]["test"]] + [e for e in bench.examples[task]["dev"] if e.lang == "de"]
        assert all(e.cue_label is not None for e in others)
    assert bench.meta["cue_rate"] == rates and full.meta["cue_rate"] == {t: 1.0 for t in rates}
    with pytest.raises(ValueError, match="cue_rate of mldoc must be in"):
        BenchmarkConfig(cue_rate={"mldoc": 0.0}, **common)


@pytest.mark.parametrize("rate", [0.0, 0.2, 1.0])
def test_sentiment_negation_rate_follows_its_param(rate):
    cfg = BenchmarkConfig(seed=2, languages=("en", "de"), tasks=("sentiment",), train_size=400, dev_size=2,
                          test_size=2, corpus_size=2, sentiment_negation=rate)
    meanings = [sample_meaning(cfg, "sentiment", np.random.default_rng(i), i % 2) for i in range(400)]
    share = np.mean([m.text[0].evaluation[1] for m in meanings])
    assert abs(share - rate) < 0.06
