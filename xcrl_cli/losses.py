"""The loss terms of formulas 2 and 4, one small function each, registered in `LOSSES`.

Every term has the same signature `(out, seg, opts) -> scalar`. A batch is one concatenated forward pass over up to
four segments: the source examples x (labelled), the source sides of the parallel pairs when they are not x itself,
the target sides x_j and the counterfactuals x̃ (`Segments` says where each lies). A term declares which extra
segments it needs, so a variant whose enabled terms need no pairs or counterfactuals never encodes them. The
objective is the weighted sum over the terms whose weight is non-zero (`total_loss`); a new term is one function and
one registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F

from .config import ModelConfig, Variant
from .model import ModelOutput


@dataclass
class Segments:
    """Where the segments of a concatenated batch lie: [0, n_src) source, then n_anchor anchors, n_pair pairs and
    n_cf counterfactuals. Counterfactual i belongs to source example i; pair i translates anchor i.

    With translate-train data a pair translates the source example itself, so there are no anchors (`anchor` is the
    source segment). With a general parallel corpus (tasks that ship no translations) the pair's source side is an
    unlabelled sentence of its own, encoded in the anchor segment.
    """

    labels: torch.Tensor  # (n_src,) source-language labels; target-language labels never enter training
    lang_ids: torch.Tensor  # (N,) language index of every sequence
    n_src: int
    n_pair: int = 0
    n_cf: int = 0
    n_anchor: int = 0

    def to(self, device: torch.device) -> Segments:
        return replace(self, labels=self.labels.to(device), lang_ids=self.lang_ids.to(device))

    @property
    def src(self) -> slice:
        return slice(0, self.n_src)

    @property
    def anchor(self) -> slice:
        return slice(self.n_src, self.n_src + self.n_anchor) if self.n_anchor else self.src

    @property
    def pair(self) -> slice:
        start = self.n_src + self.n_anchor
        return slice(start, start + self.n_pair)

    @property
    def cf(self) -> slice:
        start = self.n_src + self.n_anchor + self.n_pair
        return slice(start, start + self.n_cf)


def _sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).sum(-1).mean()


def task_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """L_task (formulas 2, 4): cross-entropy of f(r) on the source-language labels only (zero-shot)."""
    return F.cross_entropy(out.logits[seg.src], seg.labels)


def contrastive_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """Cross-lingual Contrastive baseline: symmetric InfoNCE between r(x_i) and r(x_j), in-batch negatives.

    L = ½ [CE(S, I) + CE(Sᵀ, I)],  S_ik = cos(r_i, r_k^pair) / τ.
    """
    a = F.normalize(out.r[seg.anchor], dim=-1)
    b = F.normalize(out.r[seg.pair], dim=-1)
    sim = a @ b.T / opts.temperature  # (B, B)
    target = torch.arange(sim.shape[0], device=sim.device)
    return 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target))


def sem_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """λ1 term of formula 2: mean over pairs (i, j) ∈ P of ‖z_inv(x_i) − z_inv(x_j)‖²."""
    return _sq_dist(out.z_inv[seg.anchor], out.z_inv[seg.pair])


def _orth_per_sample(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over samples of (â·b̂)², â = a/‖a‖: the paper's ((z_a)ᵀ z_b)² on normalised vectors; equal dims."""
    return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1).pow(2).mean()


def _orth_batch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖C‖_F², C = Âᵀ B̂ / N the cross-correlation of the batch matrices, columns centred and scaled to unit norm."""
    a = F.normalize(a - a.mean(0, keepdim=True), dim=0)
    b = F.normalize(b - b.mean(0, keepdim=True), dim=0)
    return (a.T @ b).pow(2).sum()


def orth_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """λ2 term of formula 2: orthogonality of (z_inv, z_spe), (z_inv, z_task), (z_spe, z_task), summed.

    `per_sample` is the paper's formula; `batch` decorrelates the subspaces over the batch (any dims).
    """
    pair_fn = _orth_per_sample if opts.orth_mode == "per_sample" else _orth_batch
    z = (out.z_inv, out.z_spe, out.z_task)
    return pair_fn(z[0], z[1]) + pair_fn(z[0], z[2]) + pair_fn(z[1], z[2])


def adv_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """λ3 term of formula 2: the language discriminator's cross-entropy on GRL(z_inv), over every sequence.

    It enters the total with a plus sign: the discriminator descends it, while the gradient-reversal layer hands the
    encoder and D its negative, so they ascend it. That is the paper's −λ3·L_adv, in one backward pass.
    """
    return F.cross_entropy(out.lang_logits, seg.lang_ids)


def inv_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """α term of formula 4: mean over pairs (i, j) ∈ P of ‖r_i − r_j‖²."""
    return _sq_dist(out.r[seg.anchor], out.r[seg.pair])


def cf_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """β term of formula 4: mean ‖softmax f(r_i) − softmax f(r̃_i)‖², r̃_i from the counterfactual x̃_i."""
    return _sq_dist(out.logits[seg.src].softmax(-1), out.logits[seg.cf].softmax(-1))


def _coral(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖μ_a − μ_b‖² + ‖Σ_a − Σ_b‖_F² / (4 d²)   (mean and covariance matching, Sun & Saenko 2016)."""
    d = a.shape[1]
    return (a.mean(0) - b.mean(0)).pow(2).sum() + (torch.cov(a.T) - torch.cov(b.T)).pow(2).sum() / (4 * d * d)


def _mmd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Biased MMD² with a sum of RBF kernels at bandwidths {0.5, 1, 2} × the median pairwise squared distance."""
    x = torch.cat([a, b])
    d2 = torch.cdist(x, x).pow(2)
    scale = d2.detach()[d2 > 0].median() if (d2 > 0).any() else d2.new_tensor(1.0)
    k = sum(torch.exp(-d2 / (s * scale)) for s in (0.5, 1.0, 2.0))
    n = a.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def align_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """γ term of formula 4: distribution alignment of r between the source language and each other language in the
    batch (CORAL or MMD, `model.align_mode`), averaged over the languages with at least two sequences."""
    dist = _coral if opts.align_mode == "coral" else _mmd
    src_lang = seg.lang_ids[0]
    ref = out.r[seg.lang_ids == src_lang]
    terms = [
        dist(ref, out.r[seg.lang_ids == lang])
        for lang in torch.unique(seg.lang_ids)
        if lang != src_lang and int((seg.lang_ids == lang).sum()) >= 2
    ]
    return torch.stack(terms).mean() if terms else out.r.sum() * 0.0


@dataclass(frozen=True)
class Term:
    fn: Callable[[ModelOutput, Segments, ModelConfig], torch.Tensor]
    needs: frozenset[str] = frozenset()  # extra segments its forward pass needs: "pair", "cf"


LOSSES: dict[str, Term] = {
    "task": Term(task_loss),
    "contrastive": Term(contrastive_loss, frozenset({"pair"})),
    "sem": Term(sem_loss, frozenset({"pair"})),
    "orth": Term(orth_loss),
    "adv": Term(adv_loss, frozenset({"pair"})),
    "inv": Term(inv_loss, frozenset({"pair"})),
    "cf": Term(cf_loss, frozenset({"cf"})),
    "align": Term(align_loss, frozenset({"pair"})),
}


def needed_segments(variant: Variant) -> frozenset[str]:
    """The extra segments ("pair", "cf") that the variant's enabled terms need encoded."""
    return frozenset().union(*(LOSSES[t].needs for t in variant.active_terms))


def total_loss(
    variant: Variant, out: ModelOutput, seg: Segments, opts: ModelConfig
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Σ_t w_t · L_t over the variant's non-zero weights; also returns each unweighted term for logging."""
    terms = {name: LOSSES[name].fn(out, seg, opts) for name in variant.active_terms}
    total = sum(variant.weight(name) * value for name, value in terms.items())
    return total, terms
