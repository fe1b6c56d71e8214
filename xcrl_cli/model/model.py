"""The model of formulas 1 and 3: shared encoder E, disentangler D, causal gate C, task head f.

Which modules exist is decided once, from the variant, when the model is built; `forward` then runs the same code for
every variant and returns named tensors. Losses are computed outside (`losses.py`), so an ablation never touches the
model, and a module no enabled term needs is never built (no unused parameters under DDP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig, Variant
from .adversary import LanguageDiscriminator
from .gate import CausalGate


@dataclass
class ModelOutput:
    """Per-sequence representations of one (concatenated) batch; N sequences."""

    h: torch.Tensor  # (N, H) pooled encoder output
    r: torch.Tensor  # (N, R) the representation the task head reads
    logits: torch.Tensor  # (N, C)
    z_inv: torch.Tensor | None = None  # (N, d_inv)
    z_spe: torch.Tensor | None = None  # (N, d_spe)
    z_task: torch.Tensor | None = None  # (N, d_task)
    lang_logits: torch.Tensor | None = None  # (N, L) discriminator on GRL(z_inv)

    def spaces(self) -> dict[str, torch.Tensor]:
        """The representation spaces this model has, by name (for probes and metrics)."""
        named = {"h": self.h, "z_inv": self.z_inv, "z_spe": self.z_spe, "z_task": self.z_task, "r": self.r}
        return {k: v for k, v in named.items() if v is not None}


class MLPHead(nn.Module):
    """Linear -> GELU -> Linear, the shape of each disentangling head."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim_in, hidden), nn.GELU(), nn.Linear(hidden, dim_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Disentangler(nn.Module):
    """D of formula 1: h -> (z_inv, z_spe, z_task), three independent heads.

    z_spe enters no prediction; only the orthogonality term shapes it. Without that term the head would receive no
    gradient at all, so it is built only when the variant has `orth` (`with_spe`): *w/o Semantic Disentanglement* and
    *w/o Orthogonal Constraint* keep z_inv and z_task, which feed the gate, and have no z_spe.
    """

    def __init__(self, hidden_size: int, cfg: ModelConfig, with_spe: bool):
        super().__init__()
        self.inv = MLPHead(hidden_size, cfg.head_hidden, cfg.inv_dim)
        self.spe = MLPHead(hidden_size, cfg.head_hidden, cfg.spe_dim) if with_spe else None
        self.task = MLPHead(hidden_size, cfg.head_hidden, cfg.task_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        return self.inv(h), self.spe(h) if self.spe is not None else None, self.task(h)


def pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor, mode: str) -> torch.Tensor:
    """(N, T, H) -> (N, H): first token (`cls`) or the mean over non-padding tokens (`mean`)."""
    if mode == "cls":
        return last_hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def length_chunks(lengths: np.ndarray, n: int) -> list[tuple[torch.Tensor, int]]:
    """The rows of a padded batch sorted by length and cut into `n` near-equal groups: each group's row indices and
    its longest length, the width it is cut to when `hidden_states` runs it alone.

    A batch of sequences of mixed lengths pads every row to the longest: a training batch concatenates segments in
    different languages (32-34 % of the embedded Proposed batches' tokens are padding, 21-23 % fewer tokens in 3
    groups), a pretraining batch is drawn at random (57 % padding, 40 % fewer tokens in 3 groups).
    """
    order = np.argsort(lengths, kind="stable")
    return [(torch.from_numpy(group), int(lengths[group].max())) for group in np.array_split(order, n) if len(group)]


def hidden_states(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  chunks: list[tuple[torch.Tensor, int]] | None = None, **inputs: torch.Tensor) -> torch.Tensor:
    """(N, T, H): the encoder's last hidden states. With `chunks` (`length_chunks`), each group of rows runs alone,
    cut to its width, and comes back in its place, zero beyond its width: the same states up to float rounding, as
    a row attends to no other row and never to its padding."""
    if chunks is None:
        return encoder(input_ids=input_ids, attention_mask=attention_mask, **inputs).last_hidden_state
    full = {"input_ids": input_ids, "attention_mask": attention_mask, **inputs}
    rows = [index.to(input_ids.device) for index, _ in chunks]
    parts = [F.pad(encoder(**{k: v[index, :width] for k, v in full.items()}).last_hidden_state,
                   (0, 0, 0, input_ids.shape[1] - width))
             for index, (_, width) in zip(rows, chunks)]
    return torch.cat(parts)[torch.argsort(torch.cat(rows))]


class XcrlModel(nn.Module):
    def __init__(self, encoder: nn.Module, cfg: ModelConfig, variant: Variant, n_labels: int, n_languages: int):
        super().__init__()
        self.encoder = encoder
        self.pooling = cfg.pooling
        hidden = encoder.config.hidden_size
        self.disentangler = Disentangler(hidden, cfg, variant.weight("orth") > 0) if variant.disentangle else None
        r_dim = cfg.inv_dim + cfg.task_dim if variant.disentangle else hidden
        self.gate = CausalGate(r_dim, cfg.gate_init, cfg.gate_bias) if variant.gate else nn.Identity()
        # what the causal path reads, in the order it is concatenated: [z_inv; z_task] with D, h without
        self.causal_parts = ("z_inv", "z_task") if variant.disentangle else ("h",)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(r_dim, n_labels)
        self.discriminator = (
            LanguageDiscriminator(cfg.inv_dim, cfg.head_hidden, n_languages) if variant.weight("adv") > 0 else None
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, grl_coeff: float = 0.0,
                token_type_ids: torch.Tensor | None = None,
                chunks: list[tuple[torch.Tensor, int]] | None = None) -> ModelOutput:
        """One (concatenated) batch; with `chunks` (`length_chunks`) the encoder runs it group by group."""
        segments = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        last = hidden_states(self.encoder, input_ids, attention_mask, chunks, **segments)
        h = pool(last, attention_mask, self.pooling)
        z_inv = z_spe = z_task = None
        if self.disentangler is not None:
            z_inv, z_spe, z_task = self.disentangler(h)
        r = self.gate(self.causal_input({"h": h, "z_inv": z_inv, "z_task": z_task}))
        logits = self.classifier(self.dropout(r))
        lang_logits = self.discriminator(z_inv, grl_coeff) if self.discriminator is not None else None
        return ModelOutput(h=h, r=r, logits=logits, z_inv=z_inv, z_spe=z_spe, z_task=z_task, lang_logits=lang_logits)

    def causal_input(self, spaces: dict[str, torch.Tensor]) -> torch.Tensor:
        """(N, R): the spaces the causal path reads (`causal_parts`), side by side."""
        parts = [spaces[name] for name in self.causal_parts]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    @torch.no_grad()
    def gate_openness(self, spaces: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{part: (N,)}: per sequence, the gate's mean σ(W_c x + b_c) over each space it reads (z_inv and z_task,
        or h without D), from `ModelOutput.spaces()`; 1 = every factor passes, 0 = all shut. {} without a gate."""
        if not isinstance(self.gate, CausalGate):
            return {}
        weights = self.gate.weights(self.causal_input(spaces))
        sizes = [spaces[name].shape[-1] for name in self.causal_parts]
        return {name: w.mean(-1) for name, w in zip(self.causal_parts, weights.split(sizes, dim=-1))}


def load_encoder(path_or_id: str, dropout: float | None = None) -> nn.Module:
    """The shared encoder E, loaded exactly as a hub model would be (`data/encoder` or `xlm-roberta-base`); with
    `dropout`, its hidden and attention dropout replaced (BERT's and XLM-R's config names)."""
    from transformers import AutoModel
    from transformers.utils import logging

    logging.set_verbosity_error()  # the MLM head left behind in a pretraining checkpoint is expected, not news
    logging.disable_progress_bar()
    overrides = {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    return AutoModel.from_pretrained(path_or_id, add_pooling_layer=False, **overrides)


def build_model(cfg: ModelConfig, variant: Variant, n_labels: int, n_languages: int, encoder_path: str | None = None):
    """The model to train: the encoder with `model.encoder_dropout` (evaluation runs it in eval mode, no dropout)."""
    encoder = load_encoder(encoder_path or cfg.encoder, cfg.encoder_dropout)
    return XcrlModel(encoder, cfg, variant, n_labels, n_languages)
