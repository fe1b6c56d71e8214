"""The loss terms of formulas 2 and 4, one small function each, registered in `LOSSES`.

Every term has the same signature `(out, seg, opts) -> scalar`. A batch is one concatenated forward pass over up to
four segments: the source examples x (labelled), the source sides of the parallel pairs when they are not x itself,
the target sides x_j and the counterfactuals x̃ (`Segments` says where each lies). A term declares which extra
segments it needs, so a variant whose enabled terms need no pairs or counterfactuals never encodes them. The
objective is the weighted sum over the terms whose weight is non-zero (`total_loss`); a new term is one function and
one registry entry.

Read literally, the squared distances of formulas 2 and 4 are scale-degenerate: z_inv and r reach the prediction only
through the gate and a linear head, so shrinking them by c < 1 shrinks ‖z_i − z_j‖² by c² while the head scales its
weights by 1/c at no cost to L_task. The easy way down such a term is to shrink, not to align, and the gradient that
shrinks r also shuts the gate of formula 3. The default readings are scale-free: `sem` and `inv` compare
L2-normalised vectors (`model.distance`), CORAL and MMD compare standardised features (`model.align_mode`). The
literal forms stay reachable (`distance: squared`, `align_mode: coral_literal | mmd_biased`; preset `paper_literal`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F

from ..config import ModelConfig, Variant
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

    @property
    def lang_rows(self) -> slice:
        """The language-labelled rows that `adv` and `align` compare: sources and pairs, or, with a parallel corpus,
        anchors and pairs only. Counterfactuals are never among them (a code-switched sentence is mostly English under
        the target's label), and with a corpus the task's own sentences stay out, so the comparison is between
        languages within one domain rather than between the task's text and the corpus's."""
        return slice(self.n_src if self.n_anchor else 0, self.n_src + self.n_anchor + self.n_pair)


def _sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).sum(-1).mean()


def _pair_dist(a: torch.Tensor, b: torch.Tensor, opts: ModelConfig) -> torch.Tensor:
    """Mean ‖a_i − b_i‖²; with `model.distance: normalized` between a_i/‖a_i‖ and b_i/‖b_i‖ (= 2 − 2 cos), which a
    rescale of a and b leaves unchanged, so the term pulls pairs together in direction instead of shrinking them."""
    if opts.distance == "normalized":
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    return _sq_dist(a, b)


def task_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """L_task (formulas 2, 4): cross-entropy of f(r) on the source-language labels only (zero-shot)."""
    return F.cross_entropy(out.logits[seg.src], seg.labels)


def contrastive_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """Cross-lingual Contrastive baseline: symmetric InfoNCE between r(x_i) and r(x_j), in-batch negatives.

    L = ½ [CE(S, I) + CE(Sᵀ, I)],  S_ik = cos(r_i, r_k^pair) / τ.
    """
    return info_nce(out.r[seg.anchor], out.r[seg.pair], opts.temperature)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE of (B, D) rows a_i ↔ b_i with the other rows of the batch as negatives (LaBSE's and CLIP's
    form): L = ½ [CE(S, I) + CE(Sᵀ, I)],  S_ik = cos(a_i, b_k) / τ."""
    sim = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature  # (B, B)
    target = torch.arange(sim.shape[0], device=sim.device)
    return 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target))


def sem_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """λ1 term of formula 2: mean over pairs (i, j) ∈ P of ‖z_inv(x_i) − z_inv(x_j)‖².

    By default between L2-normalised z_inv (`model.distance`): the squared form is lowered by shrinking z_inv.
    """
    return _pair_dist(out.z_inv[seg.anchor], out.z_inv[seg.pair], opts)


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
    """λ3 term of formula 2: the language discriminator's cross-entropy on GRL(z_inv), over the language-labelled
    rows (`Segments.lang_rows`: no counterfactual, and with a parallel corpus only its two sides).

    It enters the total with a plus sign: the discriminator descends it, while the gradient-reversal layer hands the
    encoder and D its negative, so they ascend it. That is the paper's −λ3·L_adv, in one backward pass.
    """
    rows = seg.lang_rows
    return F.cross_entropy(out.lang_logits[rows], seg.lang_ids[rows])


def inv_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """α term of formula 4: mean over pairs (i, j) ∈ P of ‖r_i − r_j‖².

    By default between L2-normalised r (`model.distance`): the squared form is lowered by shrinking r, which is what
    closing the gate does.
    """
    return _pair_dist(out.r[seg.anchor], out.r[seg.pair], opts)


def cf_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """β term of formula 4: mean ‖softmax f(r_i) − softmax f(r̃_i)‖², r̃_i from the counterfactual x̃_i."""
    return _sq_dist(out.logits[seg.src].softmax(-1), out.logits[seg.cf].softmax(-1))


def _standardise(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """a and b centred and scaled per dimension by the mean and standard deviation of their union, so that any
    rescale of a dimension of r, such as a gate closing it, leaves what is compared unchanged."""
    x = torch.cat([a, b])
    mean, std = x.mean(0), (x.var(0, unbiased=False) + 1e-8).sqrt()
    return (a - mean) / std, (b - mean) / std


def _coral_terms(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """‖μ_a − μ_b‖² and ‖Σ_a − Σ_b‖_F² / (4 d²), the covariance term of Sun & Saenko's Deep CORAL (2016)."""
    d = a.shape[1]
    return (a.mean(0) - b.mean(0)).pow(2).sum(), (torch.cov(a.T) - torch.cov(b.T)).pow(2).sum() / (4 * d * d)


def _coral(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """CORAL on standardised features, mean term normalised by d: ‖μ_a − μ_b‖² / d + ‖Σ_a − Σ_b‖_F² / (4 d²).

    Unnormalised, the mean term of two samples of one distribution is its sampling bias tr Σ / n_a + tr Σ / n_b,
    which grows with d and falls with ‖r‖: it dwarfs the covariance term and rewards shrinking r.
    """
    a, b = _standardise(a, b)
    mean, cov = _coral_terms(a, b)
    return mean / a.shape[1] + cov


def _coral_literal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖μ_a − μ_b‖² + ‖Σ_a − Σ_b‖_F² / (4 d²) on r itself, as first implemented (`align_mode: coral_literal`)."""
    mean, cov = _coral_terms(a, b)
    return mean + cov


def _rbf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The kernel matrix of [a; b]: a sum of RBF kernels at {0.5, 1, 2} × the median pairwise squared distance."""
    x = torch.cat([a, b])
    d2 = torch.cdist(x, x).pow(2)
    scale = d2.detach()[d2 > 0].median() if (d2 > 0).any() else d2.new_tensor(1.0)
    return sum(torch.exp(-d2 / (s * scale)) for s in (0.5, 1.0, 2.0))


def _mmd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² (the U-statistic, Gretton et al. 2012) on standardised features:
    Σ_{i≠i'} k(a_i, a_i') / n(n−1) + Σ_{j≠j'} k(b_j, b_j') / m(m−1) − 2 Σ_ij k(a_i, b_j) / nm.

    Its expectation is 0 when a and b come from one distribution. The biased form's is not: it includes every k(x, x),
    the kernel's maximum, so two small samples of one distribution score a distance set by their sizes alone.
    """
    a, b = _standardise(a, b)
    k, n, m = _rbf(a, b), a.shape[0], b.shape[0]
    k_aa, k_bb = k[:n, :n], k[n:, n:]
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return within_a + within_b - 2 * k[:n, n:].mean()


def _mmd_biased(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Biased MMD² on r itself, as first implemented (`align_mode: mmd_biased`): the diagonal k(x, x) included."""
    k, n = _rbf(a, b), a.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


ALIGN_DISTANCES = {"coral": _coral, "coral_literal": _coral_literal, "mmd": _mmd, "mmd_biased": _mmd_biased}


def align_groups(langs: torch.Tensor, src_lang: int, min_rows: int) -> list[list[int]]:
    """The target languages compared with the source, as groups: each target language with at least `min_rows` rows
    alone; the smaller ones pooled into one group, kept when the pool reaches `min_rows` rows. A target language
    with few rows has a covariance that is mostly sampling noise; pooling it with the other small ones keeps its rows
    without diluting the languages that have enough rows of their own."""
    counts = {int(lang): int((langs == lang).sum()) for lang in torch.unique(langs) if int(lang) != src_lang}
    small = [lang for lang, n in counts.items() if n < min_rows]
    groups = [[lang] for lang, n in counts.items() if n >= min_rows]
    return groups + ([small] if sum(counts[lang] for lang in small) >= min_rows else [])


def align_loss(out: ModelOutput, seg: Segments, opts: ModelConfig) -> torch.Tensor:
    """γ term of formula 4: distribution alignment of r between the source language and the targets of the batch,
    averaged over the target groups of `align_groups` (`model.align_mode`; CORAL by default).

    Only language-labelled rows take part (`Segments.lang_rows`). A target language with at least
    `model.align_min_per_lang` rows in the batch is aligned with the source on its own; the languages with fewer are
    pooled into one group. Zero when the source has fewer rows than that, or when no group has enough.
    """
    rows = seg.lang_rows
    r, langs = out.r[rows], seg.lang_ids[rows]
    src_lang = int(seg.lang_ids[0])
    ref = r[langs == src_lang]
    groups = align_groups(langs, src_lang, opts.align_min_per_lang) if len(ref) >= opts.align_min_per_lang else []
    dist = ALIGN_DISTANCES[opts.align_mode]
    return (torch.stack([dist(ref, r[torch.isin(langs, torch.tensor(g, device=langs.device))]) for g in groups]).mean()
            if groups else out.r.sum() * 0.0)


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
