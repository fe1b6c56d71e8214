"""Training and evaluation batches: tokenised once, padded per batch, source/pair/counterfactual concatenated.

A training batch is one tensor of up to 4B sequences — the B source examples, the source sides of their pairs when
the pairs come from a parallel corpus rather than translations of the examples, the pairs, the counterfactuals — so
the encoder runs once per step whatever the variant (DESIGN §2). Which segments are included
is decided by the variant's enabled loss terms (`losses.needed_segments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .io import read_jsonl
from .losses import Segments


@dataclass
class Encoded:
    """Token ids of a list of sequences (texts with optional text pairs), with their language index."""

    ids: list[list[int]]
    langs: list[int]


def encode(tokenizer, rows: list[dict], lang_index: dict[str, int], max_length: int) -> Encoded:
    """Tokenise `rows` (each with `text`, optional `text_pair`, `lang`); pairs are encoded jointly as one sequence."""
    texts = [r["text"] for r in rows]
    pairs = [r.get("text_pair") for r in rows]
    if any(p is not None for p in pairs):
        ids = tokenizer(texts, [p or "" for p in pairs], truncation=True, max_length=max_length)["input_ids"]
    else:
        ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    for row, seq in zip(rows, ids):
        if len(seq) <= 2:
            raise ValueError(f"example {row.get('id')!r} ({row['lang']}) tokenises to nothing: {row['text']!r}")
    return Encoded(ids=ids, langs=[lang_index[r["lang"]] for r in rows])


def pad(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch: (N, T) ids and attention mask."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


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


def load_train_set(pairs_file: Path, tokenizer, lang_index: dict[str, int], max_length: int) -> TrainSet:
    rows = read_jsonl(pairs_file)
    if not rows:
        raise ValueError(f"{pairs_file}: no training examples; check the `pairs` stage's filters and its metrics")
    anchored = [r for r in rows if "anchor" in r["pair"]]
    if anchored and len(anchored) != len(rows):
        raise ValueError(f"{pairs_file}: {len(anchored)} of {len(rows)} pairs have an `anchor`; a task's pairs come "
                         "either all from translations (no anchor) or all from a parallel corpus (an anchor each)")
    return TrainSet(
        anchor=encode(tokenizer, [r["pair"]["anchor"] for r in rows], lang_index, max_length) if anchored else None,
        src=encode(tokenizer, rows, lang_index, max_length),
        pair=encode(tokenizer, [r["pair"] for r in rows], lang_index, max_length),
        cf=encode(tokenizer, [r["counterfactual"] for r in rows], lang_index, max_length),
        labels=torch.tensor([r["label"] for r in rows], dtype=torch.long),
        ids=[r["id"] for r in rows],
    )


@dataclass
class Batch:
    input_ids: torch.Tensor  # (N, T), N = n_src + n_pair + n_cf
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
    anchors = [data.anchor] if "pair" in segments and data.anchor is not None else []
    parts = [data.src] + anchors + [data.pair] * ("pair" in segments) + [data.cf] * ("cf" in segments)
    seqs = [enc.ids[i] for enc in parts for i in index]
    langs = [enc.langs[i] for enc in parts for i in index]
    ids, mask = pad(seqs, pad_id)
    n = len(index)
    return Batch(
        input_ids=ids,
        attention_mask=mask,
        lang_ids=torch.tensor(langs, dtype=torch.long),
        labels=data.labels[index],
        n_src=n,
        n_pair=n * ("pair" in segments),
        n_cf=n * ("cf" in segments),
        n_anchor=n * len(anchors),
    )


def eval_batches(enc: Encoded, batch_size: int, pad_id: int):
    """Batches for inference in length order (less padding); yields (positions, ids, mask)."""
    order = sorted(range(len(enc.ids)), key=lambda i: len(enc.ids[i]))
    for start in range(0, len(order), batch_size):
        pos = order[start : start + batch_size]
        ids, mask = pad([enc.ids[i] for i in pos], pad_id)
        yield pos, ids, mask
