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


@dataclass
class Encoded:
    """Token ids of n sequences, stored flat: sequence i is `flat[offsets[i]:offsets[i + 1]]` (the layout of an
    Arrow list column, so a tokenised dataset on disk is read without copying); `langs` holds language indices."""

    flat: np.ndarray  # (total tokens,)
    offsets: np.ndarray  # (n + 1,)
    langs: np.ndarray  # (n,)

    @classmethod
    def from_lists(cls, ids: list[list[int]], langs: list[int]) -> Encoded:
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in ids], out=offsets[1:])
        flat = np.fromiter((t for s in ids for t in s), dtype=np.int64, count=int(offsets[-1]))
        return cls(flat=flat, offsets=offsets, langs=np.asarray(langs, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.langs)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]


def token_ids(tokenizer, texts: list[str], text_pairs: list[str | None], max_length: int) -> list[list[int]]:
    """Token ids of each text, jointly with its text pair where it has one (NLI, paraphrase), truncated."""
    if any(p is not None for p in text_pairs):
        return tokenizer(texts, [p or "" for p in text_pairs], truncation=True, max_length=max_length)["input_ids"]
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def check_not_empty(ids: list[list[int]], rows_ids: list, texts: list[str], source: str = "") -> None:
    """A sequence of only the special tokens carries nothing to classify: name the example instead of training on it."""
    for seq, rid, text in zip(ids, rows_ids, texts):
        if len(seq) <= 2:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}example {rid!r} tokenises to nothing: {text!r}; remove it or fix its text")


def encode(tokenizer, rows: list[dict], lang_index: dict[str, int], max_length: int) -> Encoded:
    """Tokenise `rows` (each with `text`, optional `text_pair`, `lang`) in memory."""
    texts = [r["text"] for r in rows]
    ids = token_ids(tokenizer, texts, [r.get("text_pair") for r in rows], max_length)
    check_not_empty(ids, [r.get("id") for r in rows], texts)
    return Encoded.from_lists(ids, [lang_index[r["lang"]] for r in rows])


def pad(seqs: list, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch: (N, T) ids and attention mask."""
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


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

    @property
    def segments(self) -> Segments:
        return Segments(self.labels, self.lang_ids, self.n_src, self.n_pair, self.n_cf, self.n_anchor)


def train_batch(data: TrainSet, index: list[int], segments: frozenset[str], pad_id: int) -> Batch:
    """Concatenate the source examples at `index` with their pairs and counterfactuals when `segments` asks."""
    parts = data.parts(segments)
    ids, mask = pad([enc[i] for enc in parts for i in index], pad_id)
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
    """Batches for inference in length order (less padding); yields (positions, ids, mask)."""
    order = np.argsort(enc.lengths, kind="stable").tolist()
    for start in range(0, len(order), batch_size):
        pos = order[start : start + batch_size]
        ids, mask = pad([enc[i] for i in pos], pad_id)
        yield pos, ids, mask
