"""Counterfactual kinds x̃: the same meaning and label as x under a different surface form.

Every kind is one function `kind(x, ctx, rng) -> Surface | None` registered in `COUNTERFACTUAL_KINDS`, so adding a
kind is one entry. A kind returns None when it cannot apply to x (no other rendering, no dictionary word, a single
word); it then draws nothing from `rng`, which lets `sample_counterfactual` renormalise the mix over the kinds that
apply without disturbing the random stream of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

_CJK = frozenset({"zh", "ja"})
_LATIN = frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "ro", "hu", "tr",
                    "vi", "sw", "id", "ms", "et", "lv", "lt", "sk", "sl", "hr", "ca", "eu", "gl", "af", "tl"})
_FINAL_PUNCT = ".!?。！？"


@dataclass(frozen=True)
class Surface:
    """One example's surface in one language; `text_pair` is None for single-sentence tasks."""

    lang: str
    text: str
    text_pair: str | None = None

    def map_sides(self, fn: Callable[[str], str]) -> Surface:
        """Apply `fn` to both sides, because a pair task's counterfactual perturbs premise and hypothesis alike."""
        return replace(self, text=fn(self.text), text_pair=None if self.text_pair is None else fn(self.text_pair))

    def sides(self) -> list[str]:
        return [self.text] if self.text_pair is None else [self.text, self.text_pair]


@dataclass(frozen=True)
class CounterfactualContext:
    """What a kind may draw on besides x itself.

    renderings: the same meaning in other languages (translations of a train example, the parallel test set).
    avoid_lang: a language `translation_swap` avoids when it can (the pair's, so x̃ differs from the pair).
    dictionaries: MUSE dictionaries from x's language, target language -> word -> translations; empty when none.
    """

    renderings: dict[str, Surface]
    avoid_lang: str | None
    dictionaries: dict[str, dict[str, list[str]]]
    code_switch_rate: float
    word_order_window: int


@lru_cache(maxsize=None)
def _sacrebleu_tokenizer(name: str):
    return {"13a": Tokenizer13a, "zh": TokenizerZh, "intl": TokenizerV14International}[name]()


def word_tokenizer(lang: str) -> Callable[[str], list[str]]:
    """sacrebleu's tokenizer for `lang`: `13a` for Latin script, `zh` for Chinese/Japanese, `intl` otherwise.

    `intl` is the default for scripts we do not list because it splits on Unicode punctuation classes.
    """
    name = "zh" if lang in _CJK else "13a" if lang in _LATIN else "intl"
    tokenizer = _sacrebleu_tokenizer(name)
    return lambda text: tokenizer(text).split()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def _locate(text: str, lang: str) -> tuple[str, list[str], list[tuple[int, int]]]:
    """Tokens of `text` with their character spans, so edits touch words and keep the original spacing.

    13a may rewrite characters (`&quot;`); when a token cannot be found we fall back to the space-joined tokens.
    """
    tokens = word_tokenizer(lang)(text)
    for base in (text, " ".join(tokens)):
        spans, cursor = [], 0
        for token in tokens:
            start = base.find(token, cursor)
            if start < 0:
                break
            spans.append((start, start + len(token)))
            cursor = start + len(token)
        else:
            return base, tokens, spans
    raise AssertionError("space-joined tokens always contain every token")


def _rewrite(text: str, lang: str, edit: Callable[[list[str]], list[str]]) -> str:
    """Replace the tokens of `text` by `edit(tokens)` in place (same number of tokens)."""
    base, tokens, spans = _locate(text, lang)
    new_tokens = edit(tokens)
    pieces, cursor = [], 0
    for (start, end), token in zip(spans, new_tokens):
        pieces += [base[cursor:start], token]
        cursor = end
    return "".join(pieces) + base[cursor:]


def translation_swap(x: Surface, ctx: CounterfactualContext, rng: np.random.Generator) -> Surface | None:
    """x in another language: the strongest surface change that provably keeps meaning and label."""
    langs = sorted(lang for lang in ctx.renderings if lang != x.lang)
    preferred = [lang for lang in langs if lang != ctx.avoid_lang] or langs
    if not preferred:
        return None
    return ctx.renderings[preferred[rng.integers(len(preferred))]]


def _options(token: str, dictionary: dict[str, list[str]]) -> list[str]:
    """Translations of a word that differ from it: an identity entry (`hotel -> hotel`) would switch nothing."""
    word = token.lower()
    return [w for w in dictionary.get(word, []) if w != word] if _is_word(token) else []


def _switch_words(tokens: list[str], dictionary: dict[str, list[str]], rate: float,
                  rng: np.random.Generator) -> list[str]:
    """Replace each switchable word with probability `rate`, and at least one, so x̃ always mixes languages."""
    hits = [i for i, t in enumerate(tokens) if _options(t, dictionary)]
    if not hits:
        return tokens
    chosen = rng.random(len(hits)) < rate
    if not chosen.any():
        chosen[rng.integers(len(hits))] = True
    out = list(tokens)
    for i in np.asarray(hits)[chosen]:
        options = _options(tokens[i], dictionary)
        out[i] = options[rng.integers(len(options))]
    return out


def code_switch(x: Surface, ctx: CounterfactualContext, rng: np.random.Generator) -> Surface | None:
    """Dictionary code-switching (CoSDA-ML style) into one target language chosen among those that match a word.

    x̃.lang is that target language: the words it brings in are what distinguishes this x̃.
    """
    tokenize = word_tokenizer(x.lang)
    langs = sorted(lang for lang, d in ctx.dictionaries.items()
                   if any(_options(t, d) for side in x.sides() for t in tokenize(side)))
    if not langs:
        return None
    lang = langs[rng.integers(len(langs))]
    dictionary = ctx.dictionaries[lang]
    switched = x.map_sides(lambda s: _rewrite(
        s, x.lang, lambda toks: _switch_words(toks, dictionary, ctx.code_switch_rate, rng)))
    return replace(switched, lang=lang)


def _swap_in_windows(tokens: list[str], window: int, rng: np.random.Generator) -> list[str]:
    """Swap one random adjacent pair of words inside each window of `window` words (punctuation stays put)."""
    words = [i for i, t in enumerate(tokens) if _is_word(t)]
    out = list(tokens)
    for start in range(0, len(words), window):
        span = words[start:start + window]
        if len(span) < 2:
            continue
        k = rng.integers(len(span) - 1)
        a, b = span[k], span[k + 1]
        out[a], out[b] = out[b], out[a]
    return out


def word_order(x: Surface, ctx: CounterfactualContext, rng: np.random.Generator) -> Surface | None:
    """Local word-order perturbation: meaning survives small reorderings, a bag-of-n-grams shortcut does not."""
    tokenize = word_tokenizer(x.lang)
    if not any(sum(map(_is_word, tokenize(side))) >= 2 for side in x.sides()):
        return None
    return x.map_sides(lambda s: _rewrite(s, x.lang, lambda toks: _swap_in_windows(toks, ctx.word_order_window, rng)))


def _toggle_initial_case(s: str) -> str:
    i = next((i for i, ch in enumerate(s) if ch.isalpha()), None)
    return s if i is None else s[:i] + s[i].swapcase() + s[i + 1:]


def _toggle_final_punct(s: str) -> str:
    stripped = s.rstrip()
    return stripped[:-1] if stripped and stripped[-1] in _FINAL_PUNCT else stripped + "."


def _capitalise_words(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


def _normalise_spaces(s: str) -> str:
    return " ".join(s.split())


# Whole-sentence upper-casing is left out on purpose: it rewrites nearly every character n-gram, which is a change of
# script-level surface, not of style, and would make `style` as far from x in chrF as a translation.
_STYLE_OPS = (str.lower, _toggle_initial_case, _capitalise_words, _normalise_spaces, _toggle_final_punct)


def style(x: Surface, ctx: CounterfactualContext, rng: np.random.Generator) -> Surface | None:
    """Casing and punctuation change; tries the ops in random order and keeps the first that changes x.

    `_toggle_final_punct` always changes a string, so style always applies.
    """
    for k in rng.permutation(len(_STYLE_OPS)):
        changed = x.map_sides(_STYLE_OPS[k])
        if changed != x:
            return changed
    raise AssertionError("_toggle_final_punct always changes the text")


COUNTERFACTUAL_KINDS: dict[str, Callable[[Surface, CounterfactualContext, np.random.Generator], Surface | None]] = {
    "translation_swap": translation_swap,
    "code_switch": code_switch,
    "word_order": word_order,
    "style": style,
}


def sample_counterfactual(x: Surface, ctx: CounterfactualContext, mix: dict[str, float],
                          rng: np.random.Generator) -> tuple[str, Surface]:
    """Draw a kind from `mix` renormalised over the kinds that apply to x, and apply it.

    Drawing, then dropping an inapplicable kind and drawing again from the rest, gives exactly the renormalised mix.
    When nothing applies, x̃ is x itself under the first kind drawn, which the `unchanged` count makes visible.
    """
    kinds = [k for k in COUNTERFACTUAL_KINDS if mix.get(k, 0.0) > 0]
    first = None
    while kinds:
        p = np.array([mix[k] for k in kinds], dtype=float)
        kind = kinds[rng.choice(len(kinds), p=p / p.sum())]
        first = first or kind
        out = COUNTERFACTUAL_KINDS[kind](x, ctx, rng)
        if out is not None:
            return kind, out
        kinds.remove(kind)
    return first, x
