"""Resumable training: a run's whole state every N steps, and the fingerprint that ties a checkpoint to its run.

A checkpoint is Accelerate's `save_state` (model, optimiser, scheduler, every process's RNG states) plus `TrainState`
(the step reached, the best weights under each selection criterion, the metrics logged so far). The data position
needs no state of its own: an epoch's batch order is a function of (seed, epoch), so a resumed run redraws it and
starts at its step. A checkpoint is written beside the previous one and swapped in by rename, so a kill at any
moment leaves a complete checkpoint or the one before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

STATE_FILE = "train_state.pt"
FINGERPRINT_FILE = "fingerprint"


@dataclass
class TrainState:
    step: int = 0
    best: dict = field(default_factory=dict)  # criterion (selection.CRITERIA) -> {score, step, weights}
    history: list = field(default_factory=list)  # [(step, {metric: value})] as handed to the logger


def fingerprint(resolved_config: dict, *inputs: str) -> str:
    """What a checkpoint must match to be resumed: the run's resolved config and its inputs' fingerprints."""
    text = json.dumps(resolved_config, sort_keys=True) + "\n".join(inputs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _candidates(folder: Path) -> list[Path]:
    return [folder, folder.with_name(folder.name + ".old")]


def save_checkpoint(accelerator, folder: Path, state: TrainState, fp: str) -> None:
    """Save the run's state into `folder`, replacing the previous checkpoint only once this one is complete."""
    folder = Path(folder)
    partial, old = folder.with_name(folder.name + ".partial"), folder.with_name(folder.name + ".old")
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(partial, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    if main:
        torch.save(asdict(state), partial / STATE_FILE)
        (partial / FINGERPRINT_FILE).write_text(fp, encoding="utf-8")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(partial, folder)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def remove_checkpoint(folder: Path) -> None:
    """A run's checkpoint, with any half-swapped copy `save_checkpoint` may have left beside it."""
    for candidate in [*_candidates(Path(folder)), Path(folder).with_name(Path(folder).name + ".partial")]:
        shutil.rmtree(candidate, ignore_errors=True)


def load_checkpoint(accelerator, folder: Path, fp: str) -> TrainState | None:
    """Restore the newest complete checkpoint of this run (same fingerprint) into the prepared objects and RNGs;
    None when there is none, or only one of another config (which a fresh start then replaces)."""
    for candidate in _candidates(Path(folder)):
        marker = candidate / FINGERPRINT_FILE
        if marker.exists() and marker.read_text(encoding="utf-8") == fp:
            accelerator.load_state(str(candidate))
            return TrainState(**torch.load(candidate / STATE_FILE, weights_only=False))
    return None
