"""The causal gate C of formula 3: a learned, element-wise selection of the factors the task head may use."""

from __future__ import annotations

import torch
from torch import nn


class CausalGate(nn.Module):
    """r = sigmoid(W_c [z_inv; z_task] + b_c) ⊙ [z_inv; z_task]   (formula 3).

    The input is whatever the variant feeds the causal path: `[z_inv; z_task]` with the disentangler, `h` without.
    `z_spe` never enters, so language-specific factors have no direct route to the prediction.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, dim) -> (N, dim)
        return torch.sigmoid(self.proj(x)) * x
