"""Training one run (variant × task × seed): one objective, the variant's terms, source-dev model selection.

The loop is the same for every variant: the variant decides which modules the model has (`model.py`), which loss
terms are summed (`losses.py`) and therefore which segments each batch encodes (`batches.py`). The trainer knows
nothing about where metrics go: it calls `log(step, metrics)`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .adversary import grl_coefficient
from .batches import encode, load_train_set, train_batch
from .config import Params, to_dict
from .inference import autocast, infer, resolve_device
from .io import atomic_dir, read_jsonl
from .losses import needed_segments, total_loss
from .model import build_model
from .progress import progress_bar
from .raw import read_meta, task_meta

Logger = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class RunSpec:
    task: str
    variant: str
    seed: int
    raw_dir: Path
    pairs_dir: Path
    out_dir: Path  # the run's folder: model weights, resolved config, summary


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def source_dev(raw_dir: Path, task: str, source_lang: str) -> list[dict]:
    """The source-language dev set: the only data model selection may look at in zero-shot transfer."""
    path = Path(raw_dir) / task / "dev.jsonl"
    rows = [r for r in read_jsonl(path) if r["lang"] == source_lang]
    if not rows:
        raise ValueError(f"{path}: no {source_lang!r} rows; the source-language dev set selects the checkpoint")
    return rows


def dev_accuracy(model, dev, labels: torch.Tensor, batch_size: int, pad_id: int) -> float:
    logits, _ = infer(model, dev, batch_size, pad_id)
    return float((logits.argmax(-1) == labels).float().mean())


def train_run(params: Params, spec: RunSpec, log: Logger | None = None) -> dict:
    """Train one run and save its source-dev-selected weights; returns the run summary."""
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    seed_everything(spec.seed)
    variant, tcfg = params.variant(spec.variant), params.train
    meta = read_meta(spec.raw_dir)
    languages = meta["languages"]
    lang_index = {lang: i for i, lang in enumerate(languages)}
    n_labels = len(task_meta(meta, spec.task, spec.raw_dir)["labels"])
    tokenizer = AutoTokenizer.from_pretrained(params.model.encoder)
    data = load_train_set(spec.pairs_dir / spec.task / "train.jsonl", tokenizer, lang_index, tcfg.max_length)
    dev_rows = source_dev(spec.raw_dir, spec.task, params.data.source_lang)
    dev = encode(tokenizer, dev_rows, lang_index, tcfg.max_length)
    dev_labels = torch.tensor([r["label"] for r in dev_rows])

    device = resolve_device(tcfg.device)
    model = build_model(params.model, variant, n_labels, len(languages)).to(device)
    segments = needed_segments(variant)
    optimizer = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    steps_per_epoch = -(-len(data) // tcfg.batch_size)
    total = steps_per_epoch * tcfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tcfg.warmup_ratio * total), total)
    gen = torch.Generator().manual_seed(spec.seed)
    pad_id = tokenizer.pad_token_id

    best = {"dev_accuracy": -1.0, "step": 0}
    best_state = None
    step = 0
    model.train()
    with progress_bar() as bar:
        job = bar.add_task(f"train {spec.task}/{spec.variant}/seed{spec.seed}", total=total)
        for _ in range(tcfg.epochs):
            order = torch.randperm(len(data), generator=gen).tolist()
            for start in range(0, len(order), tcfg.batch_size):
                batch = train_batch(data, order[start : start + tcfg.batch_size], segments, pad_id)
                coeff = grl_coefficient(step / total, params.model.grl_schedule, params.model.grl_gamma)
                with autocast(device, tcfg.precision):
                    out = model(batch.input_ids.to(device), batch.attention_mask.to(device), grl_coeff=coeff)
                    loss, terms = total_loss(variant, out, batch.segments.to(device), params.model)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"{spec.task}/{spec.variant}/seed{spec.seed}: non-finite loss at step {step}: "
                        + ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                step += 1
                bar.update(job, advance=1)
                metrics = {"train/loss": loss.item(), **{f"train/{k}": v.item() for k, v in terms.items()}}
                if step % tcfg.eval_every == 0 or step == total:
                    acc = dev_accuracy(model, dev, dev_labels, 4 * tcfg.batch_size, pad_id)
                    metrics["dev/source_accuracy"] = acc
                    if acc > best["dev_accuracy"]:
                        best = {"dev_accuracy": acc, "step": step}
                        best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                if log is not None:
                    log(step, metrics)

    summary = {"task": spec.task, "variant": spec.variant, "seed": spec.seed, "steps": total,
               "selected_step": best["step"], "source_dev_accuracy": round(best["dev_accuracy"], 6),
               "terms": list(variant.active_terms), "segments": sorted(segments)}
    save_run(spec.out_dir, best_state, params, spec, summary)
    return summary


def save_run(out_dir: Path, state: dict, params: Params, spec: RunSpec, summary: dict) -> None:
    """Weights, the resolved config (everything needed to rebuild the model) and the summary, written atomically."""
    resolved = {"task": spec.task, "variant": spec.variant, "seed": spec.seed,
                "model": to_dict(params.model), "variant_config": to_dict(params.variant(spec.variant)),
                "train": to_dict(params.train), "data": to_dict(params.data)}
    with atomic_dir(out_dir) as tmp:
        torch.save(state, tmp / "model.pt")
        (tmp / "config.json").write_text(json.dumps(resolved, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
