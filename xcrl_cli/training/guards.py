"""Training guards: a run that collapsed is flagged in its summary, so the report marks it instead of averaging it
in silently.

Two failures are known from fine-tuning this kind of model. (1) Collapse to one class, a known failure of XLM-R
fine-tuning (and of the causal gate closing, docs/method.md): after warm-up the source-dev
accuracy never rises above the majority-class rate. (2) A language discriminator that diverges: under gradient
reversal the encoder can win so completely that the discriminator's cross-entropy climbs far above chance, ln L.
"""

from __future__ import annotations

import math

import numpy as np

CHANCE_MARGIN = 0.02  # accuracy points above the majority-class rate that still count as chance
DIVERGED_FACTOR = 2.0  # discriminator loss above this many times chance (ln L) has diverged
TAIL_SHARE = 0.1  # the share of the last steps whose mean discriminator loss is judged


def collapse_flags(history: list, dev_labels: list[int], n_languages: int, warmup_steps: int) -> list[str]:
    """Reasons this run should not be averaged in silently; empty when it trained normally."""
    flags = []
    majority = float(np.bincount(dev_labels).max() / len(dev_labels))
    after = [m["dev/source_accuracy"] for step, m in history if step > warmup_steps and "dev/source_accuracy" in m]
    if after and max(after) <= majority + CHANCE_MARGIN:
        flags.append(f"collapsed: source-dev accuracy after warm-up peaked at {max(after):.3f}, at chance (majority "
                     f"class {majority:.3f} + {CHANCE_MARGIN})")
    adv = [m["train/adv"] for _, m in history if "train/adv" in m]
    if adv:
        tail = adv[-max(1, int(len(adv) * TAIL_SHARE)):]
        limit = DIVERGED_FACTOR * math.log(n_languages)
        if float(np.mean(tail)) > limit:
            flags.append(f"discriminator diverged: language-adversarial loss {np.mean(tail):.3f} over the last "
                         f"{len(tail)} steps > {DIVERGED_FACTOR} ln {n_languages} = {limit:.3f}")
    return flags
