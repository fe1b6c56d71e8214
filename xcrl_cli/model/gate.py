"""The causal gate C of formula 3: a learned, element-wise selection of the factors the task head may use."""

from __future__ import annotations

import torch
from torch import nn


class CausalGate(nn.Module):
    """r = sigmoid(W_c [z_inv; z_task] + b_c) ⊙ [z_inv; z_task]   (formula 3).

    The input is whatever the variant feeds the causal path: `[z_inv; z_task]` with the disentangler, `h` without.
    `z_spe` never enters, so language-specific factors have no direct route to the prediction.

    `init="open"` starts with W_c = 0 and b_c = `bias`, so every factor passes with weight σ(bias) (0.95 for 3) and C
    is close to the identity at step 0, as highway networks and LSTM forget gates are initialised: the gate learns
    what to close. `"default"` keeps nn.Linear's own init, σ ≈ 0.5 for every factor. Closing is absorbing: as σ → 0
    both ∂r/∂x and ∂r/∂b_c vanish, so a factor shut early never reopens, and a half-closed start is halfway there.
    """

    def __init__(self, dim: int, init: str = "open", bias: float = 3.0):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        if init == "open":
            nn.init.zeros_(self.proj.weight)
            nn.init.constant_(self.proj.bias, bias)

    def weights(self, x: torch.Tensor) -> torch.Tensor:  # (N, dim) -> (N, dim), each in (0, 1)
        """σ(W_c x + b_c): how much of each factor passes (1 = open, 0 = shut)."""
        return torch.sigmoid(self.proj(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, dim) -> (N, dim)
        return self.weights(x) * x
