"""Many processes, one objective: the loss terms see the global batch whatever the number of processes.

Under DDP each process encodes a shard of the global batch (`shard`). Several terms are batch-level — the InfoNCE
negatives of the Contrastive baseline, CORAL/MMD over the batch's languages, the cross-correlation of
`orth_mode: batch` — so computing them per shard would change the objective with the process count.
`gather_output` assembles every process's output into the global batch, segment by segment (all sources, then all
anchors, pairs and counterfactuals, in process order: exactly the single-process layout of that batch). The local
shard keeps its autograd graph; the other shards arrive as constants. Every process then computes the same global
loss L and its backward yields ∂L/∂x for the local shard only; DDP averages parameter gradients over the W processes,
so the loss is multiplied by W before backward (`loss_scale`) and the update is exactly that of ∇L on one process.
"""

from __future__ import annotations

import dataclasses
import itertools

import torch

from ..model.losses import Segments
from ..model.model import ModelOutput


def shard(index: list[int], rank: int, world: int) -> list[int]:
    """This process's contiguous share of a global batch. Every process must hold as many examples for the gather,
    so a remainder that does not divide by `world` is left out of this step (never with one process)."""
    per = len(index) // world
    return index[rank * per : (rank + 1) * per]


def loss_scale(accelerator) -> float:
    return float(accelerator.num_processes)


def _blocks(seg: Segments) -> list[slice]:
    """The four segments as contiguous slices, empty ones included (unlike `Segments.anchor`, which falls back)."""
    starts = list(itertools.accumulate([seg.n_src, seg.n_anchor, seg.n_pair, seg.n_cf], initial=0))
    return [slice(starts[i], starts[i + 1]) for i in range(4)]


def _gather_blocks(accelerator, x: torch.Tensor, blocks: list[slice]) -> torch.Tensor:
    rank, world = accelerator.process_index, accelerator.num_processes
    parts = []
    for block in blocks:
        local = x[block]
        pieces = list(accelerator.gather(local.detach().contiguous()).chunk(world))
        pieces[rank] = local
        parts += pieces
    return torch.cat(parts)


def gather_output(accelerator, out: ModelOutput, seg: Segments) -> tuple[ModelOutput, Segments]:
    """The global batch's output and segments, the local shard differentiable (see the module docstring)."""
    world = accelerator.num_processes
    if world == 1:
        return out, seg
    blocks = _blocks(seg)
    tensors = {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}
    gathered = {k: None if v is None else _gather_blocks(accelerator, v, blocks) for k, v in tensors.items()}
    global_seg = Segments(
        labels=accelerator.gather(seg.labels.contiguous()),
        lang_ids=_gather_blocks(accelerator, seg.lang_ids, blocks),
        n_src=world * seg.n_src, n_pair=world * seg.n_pair, n_cf=world * seg.n_cf, n_anchor=world * seg.n_anchor,
    )
    return ModelOutput(**gathered), global_seg
