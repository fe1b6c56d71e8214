"""Training and evaluation batches: token ids stored flat, padded per batch, source/pair/counterfactual concatenated.

A training batch is one tensor of up to 4B sequences — the B source examples, the source sides of their pairs when
the pairs come from a parallel corpus rather than translations of the examples, the pairs, the counterfactuals — so
the encoder runs once per step whatever the variant. Which segments are included
is decided by the variant's enabled loss terms (`losses.needed_segments`). Batches are drawn in length groups
(`length_grouped_batches`), so dynamic padding pads little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model.losses import Segments
from ..model.model import length_chunks


@dataclass
class Encoded:
    """Token ids of n sequences, stored flat: sequence i is `flat[offsets[i]:offsets[i + 1]]` (the layout of an
    Arrow list column, so a tokenised dataset on disk is read without copying); `langs` holds language indices."""

    flat: np.ndarray  # (total tokens,)
    offsets: np.ndarray  # (n + 1,)
    langs: np.ndarray  # (n,)
    types: np.ndarray | None = None  # (total tokens,) segment ids, for encoders that use them (mBERT); else None

    @classmethod
    def from_lists(cls, ids: list[list[int]], langs: list[int], types: list[list[int]] | None = None) -> Encoded:
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in ids], out=offsets[1:])

        def flat(seqs: list[list[int]]) -> np.ndarray:
            return np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(offsets[-1]))

        return cls(flat=flat(ids), offsets=offsets, langs=np.asarray(langs, dtype=np.int64),
                   types=None if types is None else flat(types))

    def __len__(self) -> int:
        return len(self.langs)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def types_of(self, i: int) -> np.ndarray:
        return self.types[self.offsets[i] : self.offsets[i + 1]]


def tokenise(tokenizer, texts: list[str], text_pairs: list[str | None],
             max_length: int) -> tuple[list[list[int]], list[list[int]] | None]:
    """Token ids of each text, jointly with its text pair where it has one (NLI, paraphrase), truncated; and their
    segment ids (0 for the text, 1 for its pair) when the tokenizer's model reads them (BERT), else None."""
    pairs = [p or "" for p in text_pairs] if any(p is not None for p in text_pairs) else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    types = enc["token_type_ids"] if "token_type_ids" in tokenizer.model_input_names else None
    return enc["input_ids"], types


def token_ids(tokenizer, texts: list[str], text_pairs: list[str | None], max_length: int) -> list[list[int]]:
    return tokenise(tokenizer, texts, text_pairs, max_length)[0]


def check_not_empty(ids: list[list[int]], rows_ids: list, texts: list[str], source: str = "") -> None:
    """A sequence of only the special tokens carries nothing to classify: name the example instead of training on it."""
    for seq, rid, text in zip(ids, rows_ids, texts):
        if len(seq) <= 2:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}example {rid!r} tokenises to nothing: {text!r}; remove it or fix its text")


def encode(tokenizer, rows: list[dict], lang_index: dict[str, int] | None, max_length: int) -> Encoded:
    """Tokenise `rows` (each with `text`, optional `text_pair`, `lang`) in memory; without a `lang_index` (new text
    to predict: inference reads no language) every row gets language 0."""
    texts = [r["text"] for r in rows]
    ids, types = tokenise(tokenizer, texts, [r.get("text_pair") for r in rows], max_length)
    check_not_empty(ids, [r.get("id") for r in rows], texts)
    langs = [0] * len(rows) if lang_index is None else [lang_index[r["lang"]] for r in rows]
    return Encoded.from_lists(ids, langs, types)


def pad(seqs: list, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch: (N, T) ids and attention mask."""
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pad_types(encs: list[Encoded], index: list[int]) -> torch.Tensor | None:
    """Segment ids of sequences `index` of each of `encs`, padded with 0 as `pad` pads; None without segment ids."""
    if encs[0].types is None:
        return None
    seqs = [enc.types_of(i) for enc in encs for i in index]
    out = np.zeros((len(seqs), max(len(s) for s in seqs)), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return torch.from_numpy(out)


@dataclass
class TrainSet:
    """The source examples of one task with their pair and counterfactual, tokenised, aligned by position.

    `anchor` holds the pairs' source sides when they are parallel-corpus sentences, None when each pair translates
    its source example.
    """

    src: Encoded
    pair: Encoded
    cf: Encoded
    labels: torch.Tensor  # (n,)
    ids: list[str]
    anchor: Encoded | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def parts(self, segments: frozenset[str]) -> list[Encoded]:
        """The encodings a batch concatenates, in the order of `Segments`: src, anchor, pair, cf."""
        anchors = [self.anchor] if "pair" in segments and self.anchor is not None else []
        return [self.src] + anchors + [self.pair] * ("pair" in segments) + [self.cf] * ("cf" in segments)

    def lengths(self, segments: frozenset[str]) -> np.ndarray:
        """Per example, the longest of the sequences its batch rows hold: what padding a batch pads to."""
        return np.max([enc.lengths for enc in self.parts(segments)], axis=0)


@dataclass
class Batch:
    input_ids: torch.Tensor  # (N, T), N = n_src + n_anchor + n_pair + n_cf
    attention_mask: torch.Tensor  # (N, T)
    lang_ids: torch.Tensor  # (N,)
    labels: torch.Tensor  # (n_src,)
    n_src: int
    n_pair: int
    n_cf: int
    n_anchor: int
    token_type_ids: torch.Tensor | None = None  # (N, T), for encoders with segment ids
    chunks: list[tuple[torch.Tensor, int]] | None = None  # `length_chunks`: the encoder's groups of rows, or one pass

    @property
    def segments(self) -> Segments:
        return Segments(self.labels, self.lang_ids, self.n_src, self.n_pair, self.n_cf, self.n_anchor)


def train_batch(data: TrainSet, index: list[int], segments: frozenset[str], pad_id: int, chunks: int = 1) -> Batch:
    """Concatenate the source examples at `index` with their pairs and counterfactuals when `segments` asks; with
    `chunks` > 1, the rows' `length_chunks` for the encoder."""
    parts = data.parts(segments)
    seqs = [enc[i] for enc in parts for i in index]
    ids, mask = pad(seqs, pad_id)
    n = len(index)
    return Batch(
        input_ids=ids,
        attention_mask=mask,
        lang_ids=torch.from_numpy(np.concatenate([enc.langs[index] for enc in parts])),
        labels=data.labels[index],
        n_src=n,
        n_pair=n * ("pair" in segments),
        n_cf=n * ("cf" in segments),
        n_anchor=n * (data.anchor is not None and "pair" in segments),
        token_type_ids=pad_types(parts, index),
        chunks=length_chunks(np.array([len(q) for q in seqs]), chunks) if chunks > 1 else None,
    )


def length_grouped_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator,
                           group: int) -> list[list[int]]:
    """One epoch's batches: a random permutation cut into mega-batches of `group` batches, each sorted by length
    and cut into batches, then the batches shuffled (the scheme of Hugging Face's `LengthGroupedSampler`).

    Examples of similar length share a batch, so padding is small, while which examples meet stays random.
    `group` = 1 is plain random batching.
    """
    order = torch.randperm(len(lengths), generator=generator).numpy()
    mega = batch_size * group
    batches = []
    for start in range(0, len(order), mega):
        chunk = order[start : start + mega]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def eval_batches(enc: Encoded, batch_size: int, pad_id: int):
    """Batches for inference in length order (less padding); yields (positions, ids, mask, segment ids or None)."""
    order = np.argsort(enc.lengths, kind="stable").tolist()
    for start in range(0, len(order), batch_size):
        pos = order[start : start + batch_size]
        ids, mask = pad([enc[i] for i in pos], pad_id)
        yield pos, ids, mask, pad_types([enc], pos)
