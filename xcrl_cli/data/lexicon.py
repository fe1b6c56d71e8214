"""Synthetic languages of the embedded benchmark: scripts, word order, word formation, function words.

Only English is real. `de`, `fr`, `sw`, `ar`, `hi` are synthetic languages named after the paper's Figure 3
targets: each has the named language's script and typology (word order, adpositions, articles) and a vocabulary
derived deterministically from the English concept list. de/fr words are mostly cognates made by spelling rules,
so a subword tokenizer shares pieces with English as real related languages do; sw has few cognates; ar and hi
are written in their own scripts and share no subwords with English. Nothing here depends on a run's seed or on
Python's salted `hash()`: a language is the same in every process.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..config.languages import LANGUAGE_CODES

# --- the concept inventory (English surface forms; every content word is one token) -------------------------
HYPERNYMS: dict[str, tuple[str, ...]] = {
    "leader": ("minister", "senator", "director", "manager", "chairman", "mayor"),
    "worker": ("engineer", "farmer", "teacher", "lawyer", "reporter", "clerk"),
    "expert": ("analyst", "economist", "banker", "broker", "trader", "investor"),
}
AGENTS: tuple[str, ...] = tuple(a for group in HYPERNYMS.values() for a in group)
HYPERNYM_OF: dict[str, str] = {a: h for h, group in HYPERNYMS.items() for a in group}
TOPIC_VERBS: dict[str, tuple[str, ...]] = {
    "CCAT": ("acquired", "merged", "launched", "restructured", "founded", "audited", "expanded", "closed",
             "licensed", "outsourced"),
    "ECAT": ("forecast", "measured", "stimulated", "taxed", "subsidised", "estimated", "increased", "reduced",
             "financed", "deflated"),
    "GCAT": ("elected", "vetoed", "debated", "signed", "reformed", "proposed", "approved", "rejected",
             "ratified", "amended"),
    "MCAT": ("bought", "sold", "traded", "hedged", "priced", "quoted", "listed", "shorted", "underwrote",
             "auctioned"),
}
TOPIC_NOUNS: dict[str, tuple[str, ...]] = {
    "CCAT": ("company", "factory", "product", "contract", "brand", "subsidiary", "merger", "supplier",
             "startup", "warehouse", "patent", "franchise"),
    "ECAT": ("inflation", "budget", "deficit", "wage", "export", "import", "unemployment", "consumption",
             "pension", "productivity", "tariff", "recession"),
    "GCAT": ("law", "election", "parliament", "treaty", "policy", "constitution", "vote", "court", "border",
             "ministry", "referendum", "coalition"),
    "MCAT": ("stock", "bond", "share", "futures", "currency", "commodity", "index", "yield", "dividend",
             "option", "portfolio", "bullion"),
}
ANTONYMS: dict[str, str] = {"expanded": "closed", "closed": "expanded", "increased": "reduced",
                            "reduced": "increased", "approved": "rejected", "rejected": "approved",
                            "bought": "sold", "sold": "bought"}
SOCIAL_VERBS = ("praised", "criticised", "sued", "supported", "interviewed", "advised", "replaced", "thanked")
POSITIVE = ("good", "excellent", "strong", "reliable", "profitable", "efficient", "fair", "successful",
            "stable", "brilliant")
NEGATIVE = ("bad", "poor", "weak", "unreliable", "risky", "inefficient", "unfair", "disappointing", "unstable",
            "terrible")
LOCATIONS = ("capital", "city", "region", "province", "harbour", "village", "suburb", "district")
TIMES = ("yesterday", "today", "recently", "earlier", "tonight", "monday", "friday")


def concept_pos() -> dict[str, str]:
    """Every English content word with its part of speech, in a fixed order (word formation depends on it)."""
    pos = {w: "person" for w in AGENTS + tuple(HYPERNYMS)}
    pos |= {w: "verb" for ws in TOPIC_VERBS.values() for w in ws} | {w: "verb" for w in SOCIAL_VERBS}
    pos |= {w: "noun" for ws in TOPIC_NOUNS.values() for w in ws} | {w: "noun" for w in LOCATIONS}
    pos |= {w: "adj" for w in POSITIVE + NEGATIVE} | {w: "time" for w in TIMES}
    return pos


@dataclass(frozen=True)
class Frame:
    """A latent clause meaning plus its surface choices (voice, adjunct position); `evaluation` is (adjectives,
    negated)."""

    agent: str
    verb: str
    patient: str
    location: str | None = None
    time: str | None = None
    negated: bool = False
    passive: bool = False
    adjunct_first: bool = False
    evaluation: tuple[tuple[str, ...], bool] | None = None

    def content_words(self) -> list[str]:
        """The English content words of the frame (what a dictionary translates)."""
        words = [self.agent, self.verb, self.patient, self.location, self.time]
        words += [self.patient, *self.evaluation[0]] if self.evaluation else []
        return [w for w in words if w]


# --- word formation -------------------------------------------------------------------------------------------
def _rules(word: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, repl in rules:
        word = re.sub(pattern, repl, word)
    return word


_DE_RULES = (("ch", "\0"), ("c", "k"), ("\0", "ch"), ("sh", "sch"), ("th", "t"), ("ph", "f"), ("gh", "ch"),
             ("qu", "kw"), ("ty$", "tät"), ("ence$", "enz"), ("ance$", "anz"), ("y$", "ie"))
_FR_RULES = (("sh", "ch"), ("k", "qu"), ("w", "ou"), ("ty$", "té"), ("ism$", "isme"), ("er$", "eur"),
             ("y$", "ie"), ("ed$", "é"))


def _de_cognate(word: str, pos: str) -> str:
    """German-like spelling; participles become ge-...-t, some nouns take a final -e."""
    stem = _rules(word, _DE_RULES)
    if pos == "verb":
        core = stem.removesuffix("ed")
        return "ge" + (core + "en" if core == stem else core if core.endswith("t") else core + "t")
    if pos == "noun" and stem[-1] not in "aeiou" and zlib.crc32(word.encode()) % 3 == 0:
        return stem + "e"
    return stem


def _fr_cognate(word: str, pos: str) -> str:
    """French-like spelling; participles end in -é, agent nouns in -eur."""
    stem = _rules(word, _FR_RULES)
    if pos == "verb" and not stem.endswith("é"):
        return stem + "é"
    if pos == "noun" and stem[-1] not in "aeioué" and zlib.crc32(word.encode()) % 2 == 0:
        return stem + "e"
    return stem


def _sw_cognate(word: str, pos: str) -> str:
    """Swahili-like loanword: consonant clusters broken up, a final vowel added (-a on verbs, after ali-)."""
    base = word.removesuffix("ed") if pos == "verb" else word
    out = re.sub(r"([bcdfgkmpstvz])(?=[bcdfgkmpstvz])", r"\1i", base.replace("c", "k").replace("x", "ks"))
    final = "a" if pos == "verb" else ("u" if out[-1] in "mb" else "i")
    out = out if out[-1] in "aeiou" else out + final
    return ("ali" + out) if pos == "verb" else out


_SW_PREFIX = {"person": ("m",), "verb": ("ali",), "noun": ("ki", "ma", "u", "ji", "n"), "adj": ("",),
              "time": ("",)}


def _latin_pseudo(rng: np.random.Generator, cons: str, vowels: str, n_syll: int) -> str:
    return "".join(rng.choice(list(cons)) + rng.choice(list(vowels)) for _ in range(n_syll))


def _sw_pseudo(rng: np.random.Generator, pos: str) -> str:
    """CV syllables with a noun-class / verb prefix (m- persons, ki-/ma-/u- things, ali- past verbs)."""
    prefix = str(rng.choice(_SW_PREFIX[pos]))
    return prefix + _latin_pseudo(rng, "bdghjklmnpstwyz", "aeiou", int(rng.integers(2, 4)))


_AR_CONS = "بتثجحخدذرزسشصضطظعغفقكلمنهوي"
_AR_PATTERN = {"person": "مCاCC", "verb": "CaCaC", "noun": "CiCاC", "adj": "CaCيC", "time": "CuCوC"}
_AR_TRANSLIT = dict(zip("bcdfghjklmnpqrstvwxyz", "بكدفغهجكلمنبقرستفوكيز"))


def _ar_word(rng: np.random.Generator, word: str, pos: str) -> str:
    """A triliteral-root pseudo-word in a POS pattern, or (nouns, 1 in 4) an English loan's consonant skeleton."""
    if pos == "noun" and rng.random() < 0.25:
        return "ا" * (word[0] in "aeiou") + "".join(_AR_TRANSLIT.get(c, "") for c in word)
    root = iter(rng.choice(list(_AR_CONS), size=3, replace=True))
    return "".join(next(root) if c == "C" else ("" if c in "aiu" else c) for c in _AR_PATTERN[pos])


_HI_CONS = dict(zip("bcdfghjklmnpqrstvwxyz", "बकदफगहजकलमनपकरसतववकयज"))
_HI_MATRA = {"a": "", "e": "े", "i": "ि", "o": "ो", "u": "ु", "ā": "ा", "ī": "ी"}
_HI_INITIAL = {"a": "अ", "e": "ए", "i": "इ", "o": "ओ", "u": "उ"}
_HI_FINAL_VOWEL = {"verb": "ā", "adj": "ī"}  # Hindi perfective participles end in -ā, many adjectives in -ī


def _devanagari(latin: str) -> str:
    """Transliterate a Latin-letter word into Devanagari aksharas (consonant + vowel sign, virama in clusters)."""
    out, i = [], 0
    while i < len(latin):
        ch = latin[i]
        if ch in _HI_CONS:
            nxt = latin[i + 1] if i + 1 < len(latin) else ""
            out.append(_HI_CONS[ch] + ("्" if nxt in _HI_CONS else ""))
        elif ch in _HI_MATRA and (i == 0 or latin[i - 1] not in _HI_MATRA):
            out.append(_HI_INITIAL.get(ch, "आ") if i == 0 else _HI_MATRA[ch])
        i += 1
    return "".join(out)


def _hi_word(rng: np.random.Generator, word: str, pos: str) -> str:
    """A pseudo-word of CV aksharas, or (nouns, 1 in 3) a transliterated English loan."""
    if pos == "noun" and rng.random() < 1 / 3:
        return _devanagari(word)
    latin = _latin_pseudo(rng, "bdgjklmnprstvh", "aaeiouāī", int(rng.integers(2, 4)))
    return _devanagari(latin[:-1] + _HI_FINAL_VOWEL.get(pos, latin[-1]))


_COGNATE = {"de": (_de_cognate, 0.8), "fr": (_fr_cognate, 0.75), "sw": (_sw_cognate, 0.2)}


def _make_word(code: str, word: str, pos: str, rng: np.random.Generator, attempt: int) -> str:
    """One translation; cognates first (if this word is one), pseudo-words on later attempts."""
    if code in _COGNATE:
        rule, rate = _COGNATE[code]
        if attempt == 0 and zlib.crc32(f"{code}:{word}".encode()) % 100 < rate * 100:
            return rule(word, pos)
        if code == "sw":
            return _sw_pseudo(rng, pos)
        return _latin_pseudo(rng, "bdfgklmnprstvwz" if code == "de" else "bcdfgjlmnprstv", "aeiou", 3)
    return _ar_word(rng, word, pos) if code == "ar" else _hi_word(rng, word, pos)


def build_lexicon(code: str, reserved: frozenset[str]) -> dict[str, str]:
    """English content word -> target word, injective and disjoint from the language's function words."""
    rng = np.random.default_rng(zlib.crc32(f"lexicon:{code}".encode()))
    lexicon: dict[str, str] = {}
    taken = set(reserved)
    for word, pos in concept_pos().items():
        attempt, surface = 0, _make_word(code, word, pos, rng, 0)
        while surface in taken or not surface:
            attempt += 1
            surface = _make_word(code, word, pos, rng, attempt)
        lexicon[word] = surface
        taken.add(surface)
    return lexicon


# --- languages ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Language:
    """One language: its typology, function words and vocabulary, and `render`, which linearises a frame.

    `fw` holds the function words: `art` (articles; one per grammatical gender), `aux`/`pass_aux` (perfect and
    passive auxiliaries), `neg`, `subj`/`obj` (case adpositions, used by hi), `by` (passive agent), `loc`
    ("in"), `cop` (copula), `conj` ("and"). `particles` are discourse particles: the slot where the source
    language carries the planted cue.
    """

    code: str
    name: str
    script: str
    word_order: str  # "SVO" | "SOV" | "VSO"
    fw: dict[str, tuple[str, ...]]
    particles: tuple[str, ...]
    postpositions: bool = False
    sep: str = "."
    lexicon: dict[str, str] = field(default_factory=dict, repr=False)

    def word(self, english: str) -> str:
        """The content word for an English concept (English is the identity)."""
        return self.lexicon.get(english, english) if self.code != "en" else english

    def function_words(self) -> frozenset[str]:
        """Every token that is not a content word (function words, particles, separator)."""
        tokens = {t for ws in self.fw.values() for w in ws for t in w.split()}
        return frozenset(tokens | set(self.particles) | {self.sep, ","})

    def _np(self, english: str, adposition: str = "") -> list[str]:
        """Noun phrase: article (chosen by a stable gender) + noun, with a preposition or postposition."""
        arts = self.fw["art"]
        art = arts[zlib.crc32(english.encode()) % len(arts)] if arts else ""
        words = [art, self.word(english)]
        return words + [adposition] if self.postpositions else [adposition] + words

    def _adjuncts(self, frame: Frame) -> list[str]:
        out = self._np(frame.location, self.fw["loc"][0]) if frame.location else []
        return out + ([self.word(frame.time)] if frame.time else [])

    def render_clause(self, frame: Frame) -> list[str]:
        """The main clause in this language's word order, adjuncts first or in their default slot."""
        fw = self.fw
        neg = fw["neg"][0] if frame.negated else ""
        if frame.passive:
            subj, obj, aux = self._np(frame.patient), self._np(frame.agent, fw["by"][0]), fw["pass_aux"][0]
        else:
            subj, obj, aux = self._np(frame.agent, fw["subj"][0]), self._np(frame.patient, fw["obj"][0]), fw["aux"][0]
        verb, adj = self.word(frame.verb), self._adjuncts(frame)
        first, late = (adj, []) if frame.adjunct_first else ([], adj)
        if self.word_order == "SOV":  # adjuncts sit before the object so the verb stays final
            return first + subj + late + obj + [neg, verb, aux]
        if self.word_order == "VSO":
            return first + [aux, neg, verb] + subj + obj + late
        return first + subj + [aux, neg, verb] + obj + late

    def render_evaluation(self, patient: str, adjectives: tuple[str, ...], negated: bool) -> list[str]:
        """Predicative clause "the X is (not) ADJ and ADJ" (no copula in ar, copula-final in hi)."""
        neg, cop, np_ = self.fw["neg"][0] if negated else "", self.fw["cop"][0], self._np(patient)
        adj = [t for i, a in enumerate(adjectives) for t in ([self.fw["conj"][0]] if i else []) + [self.word(a)]]
        if self.word_order == "SOV":
            return np_ + [neg, *adj, cop]
        return np_ + [cop, neg, *adj]

    def render(self, frame: Frame) -> str:
        """Linearise a frame into a sentence (no final punctuation); an evaluation is conjoined to the clause."""
        tokens = self.render_clause(frame)
        if frame.evaluation:
            tokens += [",", self.fw["conj"][0], *self.render_evaluation(frame.patient, *frame.evaluation)]
        return " ".join(t for t in tokens if t)


_SPECS: dict[str, dict] = {
    "en": dict(name="English", script="Latin", word_order="SVO",
               particles=("indeed", "anyway", "honestly", "frankly"),
               fw=dict(art=("the",), aux=("has",), pass_aux=("was",), neg=("not",), subj=("",), obj=("",),
                       by=("by",), loc=("in",), cop=("is",), conj=("and",))),
    "de": dict(name="German", script="Latin", word_order="SVO", particles=("doch", "halt", "eben", "ja"),
               fw=dict(art=("der", "die", "das"), aux=("hat",), pass_aux=("wurde",), neg=("nicht",), subj=("",),
                       obj=("",), by=("von",), loc=("in",), cop=("ist",), conj=("und",))),
    "fr": dict(name="French", script="Latin", word_order="SVO", particles=("donc", "bref", "quoi", "alors"),
               fw=dict(art=("le", "la"), aux=("a",), pass_aux=("fut",), neg=("pas",), subj=("",), obj=("",),
                       by=("par",), loc=("dans",), cop=("est",), conj=("et",))),
    "ar": dict(name="Arabic", script="Arabic", word_order="VSO", particles=("إذن", "طبعا", "فعلا", "أصلا"),
               fw=dict(art=(), aux=("قد",), pass_aux=("تم",), neg=("لم",), subj=("",), obj=("",),
                       by=("بواسطة",), loc=("في",), cop=("",), conj=("و",))),
    "hi": dict(name="Hindi", script="Devanagari", word_order="SOV", particles=("तो", "ही", "भी", "न"),
               postpositions=True, sep="।",
               fw=dict(art=(), aux=("है",), pass_aux=("गया",), neg=("नहीं",), subj=("ने",), obj=("को",),
                       by=("द्वारा",), loc=("में",), cop=("है",), conj=("और",))),
    "sw": dict(name="Swahili", script="Latin", word_order="SVO", particles=("basi", "tu", "kumbe", "sasa"),
               fw=dict(art=(), aux=("",), pass_aux=("ilikuwa",), neg=("si",), subj=("",), obj=("",),
                       by=("na",), loc=("katika",), cop=("ni",), conj=("na",))),
}


@lru_cache(maxsize=None)
def get_language(code: str) -> Language:
    """Build a language by code; unknown codes raise ValueError naming the allowed ones."""
    if code not in _SPECS:
        raise ValueError(f"unknown language {code!r}; allowed: {', '.join(LANGUAGE_CODES)}")
    lang = Language(code=code, **_SPECS[code])
    return lang if code == "en" else replace(lang, lexicon=build_lexicon(code, lang.function_words()))


def dictionary(source: Language, target: Language) -> list[tuple[str, str]]:
    """A MUSE-style bilingual dictionary (source word, target word), sorted: every content word, and the function
    words and discourse particles too, as MUSE lists function words. Function words pair up by their role (an
    English article lists each of the target's articles, as MUSE lists several translations); particles pair up by
    their position in the language's particle list."""
    entries = {(w, target.word(w)) for w in concept_pos()}
    for role, words in source.fw.items():
        entries |= {(s, t) for s in words for t in target.fw.get(role, ()) if s and t}
    entries |= set(zip(source.particles, target.particles))
    entries.add((source.sep, target.sep))
    return sorted(entries)
