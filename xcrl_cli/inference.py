"""Running a trained model over a set of sequences: predictions and every representation space, in input order."""

from __future__ import annotations

import torch

from .batches import Encoded, eval_batches


@torch.no_grad()
def infer(model, enc: Encoded, batch_size: int, pad_id: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits (n, C) and representations {space: (n, d)} of every sequence of `enc`, in `enc`'s order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = len(enc.ids)
    logits = None
    spaces: dict[str, torch.Tensor] = {}
    for pos, ids, mask in eval_batches(enc, batch_size, pad_id):
        out = model(ids.to(device), mask.to(device))
        if logits is None:
            logits = torch.empty(n, out.logits.shape[1])
            spaces = {k: torch.empty(n, v.shape[1]) for k, v in out.spaces().items()}
        index = torch.tensor(pos)
        logits[index] = out.logits.float().cpu()
        for k, v in out.spaces().items():
            spaces[k][index] = v.float().cpu()
    model.train(was_training)
    return logits, spaces
