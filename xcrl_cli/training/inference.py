"""Running a trained model over a set of sequences: predictions and every representation space, in input order."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .batches import Encoded, eval_batches


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when a GPU is visible, else CPU; asking for `cuda` without one fails here, not mid-run."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device: 'cuda' requested but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device(name)


def autocast(device: torch.device, precision: str):
    """bf16 autocast on CUDA when asked; on CPU, or for fp32, a context that changes nothing."""
    enabled = precision == "bf16" and device.type == "cuda"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on `device`; on CUDA from pinned memory without waiting, so the copy overlaps the GPU's work."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


@torch.no_grad()
def infer(model, enc: Encoded, batch_size: int, pad_id: int,
          done: Callable[[int], None] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits (n, C) and representations {space: (n, d)} of every sequence of `enc`, in `enc`'s order; `done` is
    called with each batch's size once it is through (a progress bar)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = len(enc)
    logits = None
    spaces: dict[str, torch.Tensor] = {}
    for pos, ids, mask, types in eval_batches(enc, batch_size, pad_id):
        out = model(to_device(ids, device), to_device(mask, device),
                    token_type_ids=None if types is None else to_device(types, device))
        if logits is None:
            logits = torch.empty(n, out.logits.shape[1])
            spaces = {k: torch.empty(n, v.shape[1]) for k, v in out.spaces().items()}
        index = torch.tensor(pos)
        logits[index] = out.logits.float().cpu()
        for k, v in out.spaces().items():
            spaces[k][index] = v.float().cpu()
        if done is not None:
            done(len(pos))
    model.train(was_training)
    return logits, spaces
