"""Language adversary of formula 2: a discriminator on z_inv trained through a gradient-reversal layer."""

from __future__ import annotations

import math

import torch
from torch import nn


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad, None


def reverse_grad(x: torch.Tensor, coeff: float) -> torch.Tensor:
    """Identity forward; backward multiplies the gradient by -coeff (Ganin & Lempitsky, 2015).

    The coefficient is passed in on every call by the trainer, never advanced here, so the layer has no hidden state.
    """
    return _ReverseGrad.apply(x, coeff)


def grl_coefficient(progress: float, schedule: str, gamma: float) -> float:
    """DANN's ramp 2 / (1 + exp(-gamma * p)) - 1 from 0 to ~1 over training (p in [0, 1]), or a constant 1."""
    if schedule == "constant":
        return 1.0
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


class LanguageDiscriminator(nn.Module):
    """Predicts the language of a sequence from GRL(z_inv): Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int, n_languages: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, n_languages))

    def forward(self, z_inv: torch.Tensor, coeff: float) -> torch.Tensor:  # (N, d) -> (N, n_languages)
        return self.net(reverse_grad(z_inv, coeff))
