"""Model selection: which weights of a run are kept, judged on which dev set.

Zero-shot transfer is honest only when the checkpoint is chosen on the source-language dev set, since a user of a
zero-shot model has no labelled target data. Selecting on the target languages' dev sets instead is an
oracle: it shows how much of a method's apparent gain could come from checkpoint choice alone. A run keeps the best
weights under each criterion; `model.safetensors` is the honest one, `model_target_dev.safetensors` the oracle,
reported as such. The oracle's file is written only when it chose another step than the honest one (at paper scale
each file is 1.1 GB); otherwise the run's summary says both criteria picked the same step, and the honest file
serves both. With `train.oracle_weights: false` the oracle's step and score are still recorded but its weights are
neither kept nor written, and the summary marks it `"stored": false`: no oracle scores exist for that run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..io import read_json
from .batches import Encoded
from .inference import infer
from .tokens import has_split, load_eval_set

# criterion -> (tokenised split it is measured on, weights file it selects)
CRITERIA = {"source_dev": ("dev", "model.safetensors"), "target_dev": ("dev_targets", "model_target_dev.safetensors")}
HONEST = "source_dev"


@dataclass(frozen=True)
class DevSet:
    enc: Encoded
    labels: np.ndarray


def load_dev_sets(tokens_dir: Path, lang_index: dict[str, int]) -> dict[str, DevSet]:
    """The dev set of each criterion the tokenised task has (a real dataset may lack target-language dev sets)."""
    out = {}
    for criterion, (split, _) in CRITERIA.items():
        if criterion == HONEST or has_split(tokens_dir, split):
            enc, _, labels = load_eval_set(tokens_dir, split, lang_index)
            out[criterion] = DevSet(enc, np.asarray(labels))
    return out


def dev_score(model, dev: DevSet, batch_size: int, pad_id: int) -> float:
    """Accuracy averaged over the dev set's languages, so that each target language weighs the same (one language,
    the source, for the honest criterion)."""
    logits, _ = infer(model, dev.enc, batch_size, pad_id)
    correct = logits.argmax(-1).numpy() == dev.labels
    return float(np.mean([correct[dev.enc.langs == lang].mean() for lang in np.unique(dev.enc.langs)]))


def improved(best: dict[str, dict], scores: dict[str, float]) -> list[str]:
    """The criteria on which `scores` beat the best so far (strictly: ties keep the earlier, less trained weights)."""
    return [c for c, s in scores.items() if s > best.get(c, {}).get("score", -1.0)]


def stored_criteria(oracle_weights: bool) -> tuple[str, ...]:
    """The criteria whose selected weights a run keeps and writes (`train.oracle_weights`)."""
    return tuple(CRITERIA) if oracle_weights else (HONEST,)


def record(best: dict[str, dict], criteria: list[str], scores: dict[str, float], step: int,
           state_dict: dict[str, torch.Tensor], stored: tuple[str, ...]) -> None:
    """Keep a CPU copy of the weights under every criterion they improved that is `stored` (one copy shared by all
    of them); the others keep only their step and score."""
    weights = {k: v.detach().cpu().clone() for k, v in state_dict.items()} if set(criteria) & set(stored) else None
    for c in criteria:
        best[c] = {"score": scores[c], "step": step, "weights": weights if c in stored else None}


def weights_files(best: dict[str, dict]) -> dict[str, dict[str, torch.Tensor]]:
    """File name -> state dict to save: the honest weights, and each other stored criterion's only where it chose
    another step."""
    honest = best[HONEST]
    return {CRITERIA[c][1]: b["weights"] for c, b in best.items()
            if c == HONEST or (b["weights"] is not None and b["step"] != honest["step"])}


def unstored(selection: dict[str, dict]) -> list[str]:
    """The criteria of a run's summary `selection` whose weights the run did not store."""
    return [c for c, s in selection.items() if s.get("stored") is False]


def selected_weights(run_dir: Path, criterion: str) -> Path | None:
    """The weights file a criterion selected in a saved run (the honest file where both chose one step); None when
    the run has no such criterion (a task without target-language dev sets) or did not store its weights."""
    selection = read_json(Path(run_dir) / "summary.json", ("selection",), "train")["selection"]
    if criterion not in selection or criterion in unstored(selection):
        return None
    own = Path(run_dir) / CRITERIA[criterion][1]
    return own if own.exists() else Path(run_dir) / CRITERIA[HONEST][1]


def load_weights(path: Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device=str(device))
