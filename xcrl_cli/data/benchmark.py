"""The embedded multilingual benchmark: four tasks rendered from latent frames in six languages.

Every example is a *meaning* (frames + label) rendered in a language, so parallel renderings and meaning ids are
known. The source language carries a planted spurious cue, Colored-MNIST style: a discourse particle at the end of
a share `cue_rate` of its train/dev examples (the rest have none) that points to the label with probability
`cue_strength + (1 - cue_strength) / K`; in the source test split and in every target language every example closes
with a particle drawn uniformly, which says nothing about the label. `test_nocue` holds every language's test
examples without their particle: in the source language it measures how many predictions the cue alone decides, and
in each language it scores the content alone. Generation is deterministic: every random stream is a numpy Generator seeded with `[seed, task, split, ...]`
(the pretraining corpora: `[corpus_seed, ...]`).

A *draw* is one sample of every task's train, dev and test data and of where the cue lands; the pretraining corpus,
the parallel corpus and the dictionaries are the same for every draw (one pretrained encoder serves them all, as one
XLM-R serves every paper-scale run). `draws` names them: draw d's streams end in d and its ids carry `-d<d>-`, so the
examples of two draws never share an id. Without draws the benchmark is one draw with the streams and ids it always
had.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from xcrl_cli.config.languages import LANGUAGE_CODES
from xcrl_cli.config.params import BenchmarkParams
from xcrl_cli.data.lexicon import (
    AGENTS,
    ANTONYMS,
    HYPERNYM_OF,
    HYPERNYMS,
    LOCATIONS,
    NEGATIVE,
    POSITIVE,
    SOCIAL_VERBS,
    TIMES,
    TOPIC_NOUNS,
    TOPIC_VERBS,
    Frame,
    Language,
    dictionary,
    get_language,
)
from xcrl_cli.data.raw import task_folder
from xcrl_cli.data.raw_writer import RawFolder, write_raw

TASK_LABELS: dict[str, list[str]] = {
    "xnli": ["entailment", "neutral", "contradiction"],
    "pawsx": ["different", "paraphrase"],
    "mldoc": ["CCAT", "ECAT", "GCAT", "MCAT"],
    "sentiment": ["negative", "positive"],
}
PAIR_TASKS = frozenset({"xnli", "pawsx"})
SPLITS = ("train", "dev", "test")
TOPICS = tuple(TASK_LABELS["mldoc"])


@dataclass(frozen=True)
class BenchmarkConfig(BenchmarkParams):
    """The generator's knobs (the `benchmark:` section) and what it renders (the `data:` section's languages and
    tasks); `cue_strength` may also be one strength for every task."""

    cue_strength: float | Mapping[str, float] = 0.9
    source_lang: str = "en"
    languages: tuple[str, ...] = ("en", "de", "fr", "ar", "hi", "sw")
    low_resource: tuple[str, ...] = ("ar", "hi", "sw")
    tasks: tuple[str, ...] = ("xnli", "pawsx", "mldoc", "sentiment")
    draws: tuple[int, ...] = ()  # the task data's draws (each replicate's); () = one draw, the layout without draws

    def __post_init__(self) -> None:
        """Reject unknown languages/tasks early, naming the bad value and the allowed ones."""
        for code in (self.source_lang, *self.languages, *self.low_resource):
            if code not in LANGUAGE_CODES:
                raise ValueError(f"unknown language {code!r}; allowed: {', '.join(LANGUAGE_CODES)}")
        for task in self.tasks:
            if task not in TASK_LABELS:
                raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASK_LABELS)}")
        if self.source_lang not in self.languages:
            raise ValueError(f"source_lang {self.source_lang!r} must be one of languages {self.languages}")
        for task in self.tasks:
            if not 0.0 <= self.cue_of(task) <= 1.0:
                raise ValueError(f"cue_strength of {task} must be in [0, 1], got {self.cue_of(task)}")
            if not 0.0 < self.rate_of(task) <= 1.0:
                raise ValueError(f"cue_rate of {task} must be in (0, 1], got {self.rate_of(task)}")
        if len(set(self.draws)) != len(self.draws) or any(d < 0 for d in self.draws):
            raise ValueError(f"draws must be distinct non-negative integers, got {list(self.draws)}")

    def cue_of(self, task: str) -> float:
        """The planted cue's strength on `task`'s source train/dev sets."""
        if isinstance(self.cue_strength, Mapping):
            if task not in self.cue_strength:
                raise ValueError(f"cue_strength has no strength for task {task!r}; it has {sorted(self.cue_strength)}")
            return float(self.cue_strength[task])
        return float(self.cue_strength)

    def rate_of(self, task: str) -> float:
        """The share of `task`'s source train/dev examples that carry a particle (1 where cue_rate names no rate)."""
        return float(self.cue_rate.get(task, 1.0))


@dataclass(frozen=True)
class Meaning:
    """A latent example: the frames of `text` (and of `text_pair` for pair tasks) and the label."""

    text: tuple[Frame, ...]
    pair: tuple[Frame, ...] | None
    label: int


@dataclass(frozen=True)
class Example:
    """One labelled rendering; `cue_label` is the label index of its closing particle (random outside source)."""

    id: str
    meaning_id: str
    task: str
    lang: str
    split: str
    text: str
    text_pair: str | None
    label: int
    cue_label: int | None


@dataclass
class Draw:
    """One draw of the task data: examples[task][split] and translations[task] (of its source train split)."""

    examples: dict[str, dict[str, list[Example]]]
    translations: dict[str, list[dict]]


@dataclass
class Benchmark:
    """Everything `write_benchmark` puts on disk, in memory: each draw's task data (draws[d], d None without
    draws), the corpora and dictionaries every draw shares, meta.json."""

    config: BenchmarkConfig
    draws: dict[int | None, Draw]
    corpus: dict[str, list[str]]
    dictionaries: dict[str, list[tuple[str, str]]]
    meta: dict
    corpus_parallel: dict[str, list[dict]] = field(default_factory=dict)  # split -> {id, lang, source, target}

    def _only(self) -> Draw:
        if len(self.draws) != 1:
            raise ValueError(f"the benchmark has draws {sorted(self.draws)}; read benchmark.draws[d]")
        return next(iter(self.draws.values()))

    @property
    def examples(self) -> dict[str, dict[str, list[Example]]]:
        """examples[task][split] of a benchmark with one draw."""
        return self._only().examples

    @property
    def translations(self) -> dict[str, list[dict]]:
        return self._only().translations


# --- frame sampling -------------------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, seq: Sequence[str]) -> str:
    return seq[int(rng.integers(len(seq)))]


def _frame(rng: np.random.Generator, topic: str, person_patient: bool = False) -> Frame:
    """A random clause about `topic`, each adjunct present with probability 1/2 and a random surface."""
    agent = _pick(rng, AGENTS)
    patient = _pick(rng, [a for a in AGENTS if a != agent]) if person_patient else _pick(rng, TOPIC_NOUNS[topic])
    verbs = TOPIC_VERBS[topic] + (SOCIAL_VERBS if person_patient else ())
    u = rng.random(4)
    return Frame(agent=agent, verb=_pick(rng, verbs), patient=patient,
                 location=_pick(rng, LOCATIONS) if u[0] < 0.5 else None,
                 time=_pick(rng, TIMES) if u[1] < 0.5 else None,
                 passive=bool(u[2] < 0.3), adjunct_first=bool(u[3] < 0.3))


def _resurface(rng: np.random.Generator, frame: Frame, **changes) -> Frame:
    """Apply meaning changes and draw a fresh surface (voice, adjunct position), which never changes meaning."""
    u = rng.random(2)
    return replace(frame, **{"passive": bool(u[0] < 0.3), "adjunct_first": bool(u[1] < 0.3), **changes})


def _drop_adjunct(rng: np.random.Generator, f: Frame) -> dict:
    return {_pick(rng, [k for k in ("location", "time") if getattr(f, k)]): None}


def _add_adjunct(rng: np.random.Generator, f: Frame) -> dict:
    slot = _pick(rng, [k for k in ("location", "time") if not getattr(f, k)])
    return {slot: _pick(rng, LOCATIONS if slot == "location" else TIMES)}


# Each NLI label is a set of meaning edits (premise -> hypothesis), each with its applicability test.
_XNLI_EDITS: dict[int, list[tuple[Callable[[Frame], bool], Callable]]] = {
    0: [(lambda f: bool(f.location or f.time), _drop_adjunct),
        (lambda f: f.agent in HYPERNYM_OF, lambda rng, f: {"agent": HYPERNYM_OF[f.agent]})],
    1: [(lambda f: not (f.location and f.time), _add_adjunct),
        (lambda f: f.agent in HYPERNYMS, lambda rng, f: {"agent": _pick(rng, HYPERNYMS[f.agent])})],
    2: [(lambda f: True, lambda rng, f: {"negated": True}),
        (lambda f: f.verb in ANTONYMS, lambda rng, f: {"verb": ANTONYMS[f.verb]})],
}


def _xnli(rng: np.random.Generator, label: int) -> Meaning:
    """Entailment drops information or generalises the agent; neutral adds some; contradiction negates."""
    while True:
        premise = _frame(rng, _pick(rng, TOPICS))
        if rng.random() < 0.15:
            premise = replace(premise, agent=HYPERNYM_OF[premise.agent])
        edits = [edit for applies, edit in _XNLI_EDITS[label] if applies(premise)]
        if edits:
            break
    changes = edits[int(rng.integers(len(edits)))](rng, premise)
    if label == 2 and (premise.location or premise.time) and rng.random() < 0.3:
        changes |= _drop_adjunct(rng, premise)  # "did not sell" still contradicts "sold ... in the city"
    return Meaning((premise,), (_resurface(rng, premise, **changes),), label)


def _pawsx(rng: np.random.Generator, label: int) -> Meaning:
    """Paraphrase: the same frame on a new surface; different: PAWS-style agent/patient swap, the same words.

    Both labels get their second surface the same way: the adjuncts move (every frame has one) and the voice is drawn
    afresh, as for every sentence of the benchmark. So only who does what to whom tells the labels apart; a surface
    change that depended on the label would be a cue that the second sentence gives away on its own."""
    first = _frame(rng, _pick(rng, TOPICS), person_patient=True)
    if not (first.location or first.time):
        first = replace(first, **_add_adjunct(rng, first))
    if rng.random() < 0.2:
        first = replace(first, negated=True)
    roles = {"agent": first.patient, "patient": first.agent} if label == 0 else {}
    second = _resurface(rng, first, adjunct_first=not first.adjunct_first, **roles)
    return Meaning((first,), (second,), label)


def _mldoc(rng: np.random.Generator, label: int) -> Meaning:
    """2-3 sentences on the label's topic; n-1 of them carry one content word from another topic.

    The label topic keeps n+1 of the 2n topical words (verbs and patients), the distractors n-1."""
    topic = TOPICS[label]
    frames = [replace(_frame(rng, topic), negated=bool(rng.random() < 0.2)) for _ in range(int(rng.integers(2, 4)))]
    for i in rng.permutation(len(frames))[: len(frames) - 1]:
        other = _pick(rng, [t for t in TOPICS if t != topic])
        slot, pool = ("verb", TOPIC_VERBS[other]) if rng.random() < 0.5 else ("patient", TOPIC_NOUNS[other])
        frames[i] = replace(frames[i], **{slot: _pick(rng, pool)})
    return Meaning(tuple(frames), None, label)


def _sentiment(rng: np.random.Generator, label: int, negation: float) -> Meaning:
    """Polarity of two evaluative words of one polarity ("is strong and reliable"), flipped by their negation
    (probability `negation`); the main clause's own negation is a distractor. Two words, as reviews carry several:
    the pretraining corpus then has each evaluative word beside others of its polarity, as real text does, so masked
    LM gives polarity a distributional signature (with one word per clause every adjective had the same contexts)."""
    negated_eval = bool(rng.random() < negation)
    pool = POSITIVE if (label == 1) != negated_eval else NEGATIVE
    adjectives = tuple(pool[int(i)] for i in rng.choice(len(pool), 2, replace=False))
    frame = replace(_frame(rng, _pick(rng, TOPICS)), negated=bool(rng.random() < 0.3),
                    evaluation=(adjectives, negated_eval))
    return Meaning((frame,), None, label)


SAMPLERS: dict[str, Callable[..., Meaning]] = {
    "xnli": _xnli, "pawsx": _pawsx, "mldoc": _mldoc, "sentiment": _sentiment}


def sample_meaning(cfg: BenchmarkConfig, task: str, rng: np.random.Generator, label: int) -> Meaning:
    """One meaning of `task` with `label`, under the benchmark's generation knobs."""
    knobs = {"negation": cfg.sentiment_negation} if task == "sentiment" else {}
    return SAMPLERS[task](rng, label, **knobs)


# --- rendering and the planted cue ----------------------------------------------------------------------------
def _render(lang: Language, frames: tuple[Frame, ...]) -> str:
    return f" {lang.sep} ".join(lang.render(f) for f in frames)


def _rendered(lang: Language, meaning: Meaning, particle: str | None) -> tuple[str, str | None]:
    """(text, text_pair) with the particle closing the example (the pair's second side when there is one); no
    particle at all when `particle` is None."""
    closing = "" if particle is None else f" {particle}"
    text = _render(lang, meaning.text)
    if meaning.pair is None:
        return f"{text}{closing}", None
    return text, f"{_render(lang, meaning.pair)}{closing}"


def _cue_labels(rng: np.random.Generator, labels: np.ndarray, k: int, strength: float) -> np.ndarray:
    """Own-label particle with probability `strength`, else uniform over all k (strength 0 = independent)."""
    own = rng.random(len(labels)) < strength
    return np.where(own, labels, rng.integers(k, size=len(labels)))


def _stream(cfg: BenchmarkConfig, draw: int | None, *keys: int) -> np.random.Generator:
    """The generator of one stream of a draw's task data: `[seed, *keys]`, then the draw (none without draws)."""
    return np.random.default_rng([cfg.seed, *keys, *(() if draw is None else (draw,))])


def _meaning_id(task: str, split: str, i: int, draw: int | None) -> str:
    return f"{task}-{split}-{i:05d}" if draw is None else f"{task}-d{draw}-{split}-{i:05d}"


def _meanings(cfg: BenchmarkConfig, task: str, split: str, n: int, draw: int | None) -> list[Meaning]:
    """n meanings with exactly balanced labels (up to n mod K), in a random order."""
    rng = _stream(cfg, draw, list(TASK_LABELS).index(task), SPLITS.index(split))
    labels = rng.permutation(np.arange(n) % len(TASK_LABELS[task]))
    return [sample_meaning(cfg, task, rng, int(y)) for y in labels]


def _split_examples(cfg: BenchmarkConfig, task: str, split: str, meanings: list[Meaning],
                    langs: Sequence[str], draw: int | None) -> list[Example]:
    """Render meanings in each language; only source train/dev cues are correlated with the label, and only there
    do some examples (1 − cue_rate of them) carry no particle."""
    k, labels = len(TASK_LABELS[task]), np.array([m.label for m in meanings], dtype=np.int64)
    out = []
    for code in langs:
        lang = get_language(code)
        rng = _stream(cfg, draw, list(TASK_LABELS).index(task), SPLITS.index(split), LANGUAGE_CODES.index(code), 1)
        correlated = code == cfg.source_lang and split != "test"
        cues = _cue_labels(rng, labels, k, cfg.cue_of(task) if correlated else 0.0)
        # Its own stream, so a rate of 1 leaves every particle where the generator without rates put it.
        rate_rng = _stream(cfg, draw, list(TASK_LABELS).index(task), SPLITS.index(split), LANGUAGE_CODES.index(code), 3)
        carries = rate_rng.random(len(labels)) < (cfg.rate_of(task) if correlated else 1.0)
        for i, (meaning, cue, carried) in enumerate(zip(meanings, cues, carries)):
            text, pair = _rendered(lang, meaning, lang.particles[cue] if carried else None)
            mid = _meaning_id(task, split, i, draw)
            out.append(Example(f"{mid}-{code}", mid, task, code, split, text, pair, meaning.label,
                               int(cue) if carried else None))
    return out


def _cue_free(cfg: BenchmarkConfig, task: str, meanings: list[Meaning], draw: int | None) -> list[Example]:
    """Every language's test examples with their closing particle removed and nothing else changed (same ids): in
    the source language a prediction that changes between the two rests on the cue alone; in every language the
    score is that of the content alone, so source and targets compare without a particle on either side."""
    out = []
    for code in cfg.languages:
        lang = get_language(code)
        for i, meaning in enumerate(meanings):
            text, pair = _rendered(lang, meaning, None)
            mid = _meaning_id(task, "test", i, draw)
            out.append(Example(f"{mid}-{code}", mid, task, code, "test_nocue", text, pair, meaning.label, None))
    return out


def _translations(train: list[Example], train_targets: list[Example]) -> list[dict]:
    """translate-train (XNLI-MT style): target renderings keyed by the source example id, labels dropped."""
    src_id = {ex.meaning_id: ex.id for ex in train}
    return [{"id": src_id[t.meaning_id], "lang": t.lang, "text": t.text, "text_pair": t.text_pair}
            for t in train_targets]


CORPUS_PARTICLE_RATE = 0.3  # share of pretraining sentences closed by a discourse particle (carrying no label)


def _corpus_frame(cfg: BenchmarkConfig, rng: np.random.Generator) -> Frame:
    """One clause of any task's frame types, as every pretraining sentence is drawn."""
    task = _pick(rng, tuple(TASK_LABELS))
    meaning = sample_meaning(cfg, task, rng, int(rng.integers(len(TASK_LABELS[task]))))
    frames = meaning.text + (meaning.pair or ())
    return frames[int(rng.integers(len(frames)))]


def _corpus_particle(rng: np.random.Generator, k: int) -> int | None:
    """The index of the closing particle among k, or None (no particle) with probability 1 − CORPUS_PARTICLE_RATE."""
    return int(rng.integers(k)) if rng.random() < CORPUS_PARTICLE_RATE else None


def _closed(lang: Language, frame: Frame, particle: int | None) -> str:
    line = lang.render(frame)
    return line if particle is None else f"{line} {lang.particles[particle]}"


def _corpus_size(cfg: BenchmarkConfig, code: str) -> int:
    return cfg.corpus_size if code not in cfg.low_resource else round(cfg.corpus_size * cfg.low_resource_fraction)


def _corpus(cfg: BenchmarkConfig, code: str) -> list[str]:
    """Monolingual MLM sentences from every task's frame types; particles appear but carry no label."""
    rng = np.random.default_rng([cfg.corpus_seed, 99, LANGUAGE_CODES.index(code)])
    lang = get_language(code)
    lines = []
    for _ in range(_corpus_size(cfg, code)):
        frame = _corpus_frame(cfg, rng)
        lines.append(_closed(lang, frame, _corpus_particle(rng, len(lang.particles))))
    return lines


def _pair_row(row_id: str, source: Language, target: Language, frame: Frame, particle: int | None) -> dict:
    """The same clause in both languages, closed by the particle of the same index on both sides (or by none), so
    pretraining sees the particles as translations of each other."""
    return {"id": row_id, "lang": target.code, "source": _closed(source, frame, particle),
            "target": _closed(target, frame, particle)}


def _parallel_train(cfg: BenchmarkConfig, targets: list[str]) -> tuple[list[dict], set[str]]:
    """`parallel_size` English–target pairs, each target drawn in proportion to its monolingual corpus size (so
    low-resource languages get `low_resource_fraction` of a high-resource one's share), and their English clauses."""
    rng = np.random.default_rng([cfg.corpus_seed, 98, 0])
    source = get_language(cfg.source_lang)
    sizes = np.array([_corpus_size(cfg, c) for c in targets], dtype=float)
    langs = rng.choice(len(targets), size=cfg.parallel_size, p=sizes / sizes.sum())
    draws = [(_corpus_frame(cfg, rng), _corpus_particle(rng, len(source.particles))) for _ in langs]
    rows = [_pair_row(f"parallel-train-{i:06d}", source, get_language(targets[t]), frame, particle)
            for i, (t, (frame, particle)) in enumerate(zip(langs, draws))]
    return rows, {source.render(frame) for frame, _ in draws}


def _parallel_heldout(cfg: BenchmarkConfig, code: str, seen: set[str]) -> list[dict]:
    """`retrieval_size` pairs in `code` for English→target retrieval, from their own random stream: no English clause
    of the training pairs (`seen`) and no repeated clause on either side, so each English sentence has exactly one
    correct neighbour and none was aligned during pretraining."""
    rng = np.random.default_rng([cfg.corpus_seed, 98, 1, LANGUAGE_CODES.index(code)])
    source, target = get_language(cfg.source_lang), get_language(code)
    rows, used_source, used_target = [], set(seen), set()
    for _ in range(50 * cfg.retrieval_size):
        frame = _corpus_frame(cfg, rng)
        particle = _corpus_particle(rng, len(source.particles))
        clauses = source.render(frame), target.render(frame)
        if clauses[0] in used_source or clauses[1] in used_target:
            continue
        used_source.add(clauses[0])
        used_target.add(clauses[1])
        rows.append(_pair_row(f"parallel-heldout-{code}-{len(rows):05d}", source, target, frame, particle))
        if len(rows) == cfg.retrieval_size:
            return rows
    raise ValueError(f"benchmark.retrieval_size: {cfg.retrieval_size} distinct held-out clauses in {code!r} could not "
                     f"be drawn (got {len(rows)}); lower it")


def _corpus_parallel(cfg: BenchmarkConfig) -> dict[str, list[dict]]:
    """The parallel pretraining corpus: `train` pairs and, per target language, a `heldout` retrieval set."""
    targets = [c for c in cfg.languages if c != cfg.source_lang]
    if not targets:
        return {}
    train, seen = _parallel_train(cfg, targets)
    return {"train": train, "heldout": [row for c in targets for row in _parallel_heldout(cfg, c, seen)]}


def _meta(cfg: BenchmarkConfig) -> dict:
    info = {c: {"name": get_language(c).name, "script": get_language(c).script,
                "word_order": get_language(c).word_order} for c in cfg.languages}
    source = get_language(cfg.source_lang)
    drawn = {"draws": list(cfg.draws)} if cfg.draws else {}
    return {"source": "embedded", "source_lang": cfg.source_lang, "languages": list(cfg.languages),
            "cue_strength": {t: cfg.cue_of(t) for t in cfg.tasks}, "cue_rate": {t: cfg.rate_of(t) for t in cfg.tasks},
            "seed": cfg.seed, "corpus_seed": cfg.corpus_seed,
            "language_info": info,
            "tasks": {t: {"labels": TASK_LABELS[t], "pair": t in PAIR_TASKS, **drawn} for t in cfg.tasks},
            "cue_particles": {t: list(source.particles[: len(TASK_LABELS[t])]) for t in cfg.tasks}}


def generate_draw(cfg: BenchmarkConfig, draw: int | None) -> Draw:
    """One draw of every task's train, dev and test data, cue placement and translations."""
    targets = [c for c in cfg.languages if c != cfg.source_lang]
    sizes = {"train": cfg.train_size, "dev": cfg.dev_size, "test": cfg.test_size}
    examples, translations = {}, {}
    for task in cfg.tasks:
        examples[task] = {}
        for split in SPLITS:
            meanings = _meanings(cfg, task, split, sizes[split], draw)
            if split == "train":
                examples[task][split] = _split_examples(cfg, task, split, meanings, [cfg.source_lang], draw)
                translated = _split_examples(cfg, task, split, meanings, targets, draw)
                translations[task] = _translations(examples[task][split], translated)
            else:
                examples[task][split] = _split_examples(cfg, task, split, meanings, cfg.languages, draw)
            if split == "test":
                examples[task]["test_nocue"] = _cue_free(cfg, task, meanings, draw)
    return Draw(examples, translations)


def generate_benchmark(cfg: BenchmarkConfig) -> Benchmark:
    """Build the whole benchmark in memory (deterministic in `cfg`): each draw's task data, the shared rest."""
    targets = [c for c in cfg.languages if c != cfg.source_lang]
    draws = {d: generate_draw(cfg, d) for d in (cfg.draws or (None,))}
    dictionaries = {c: dictionary(get_language(cfg.source_lang), get_language(c)) for c in targets}
    corpus = {c: _corpus(cfg, c) for c in cfg.languages}
    return Benchmark(cfg, draws, corpus, dictionaries, _meta(cfg), _corpus_parallel(cfg))


# --- writing --------------------------------------------------------------------------------------------------
def write_benchmark(bench: Benchmark, out_dir: Path) -> None:
    """Write the benchmark as a raw folder (`raw.write_raw`: atomic, the layout every later stage reads; a draw's
    task data in `<task>/draw<d>/`)."""
    rows, translations = {}, {}
    for d, draw in bench.draws.items():
        for task, splits in draw.examples.items():
            folder = task_folder(task, d)
            rows[folder] = {split: [asdict(e) for e in exs] for split, exs in splits.items()}
            translations[folder] = draw.translations[task]
    write_raw(RawFolder(bench.meta, rows, translations, bench.corpus, bench.dictionaries,
                        corpus_parallel=bench.corpus_parallel), out_dir)
