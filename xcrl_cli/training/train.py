"""Training runs (variant × task × seed) under Hugging Face Accelerate: one objective, the variant's terms, model
selection on the source dev set (and, as an oracle, on the targets'), checkpoints a killed run resumes from.

The loop is the same for every variant: the variant decides which modules the model has (`model.py`), which loss
terms are summed (`losses.py`) and therefore which segments each batch encodes (`batches.py`). The same code runs
on CPU, on one GPU and under `accelerate launch` on several (DDP, or FSDP through `accelerate config`): a global
batch of `train.batch_size` examples is split over the processes (`distributed.py`), `train.grad_accum` such batches
make one optimiser step, and bf16 autocast is Accelerate's mixed precision. The trainer knows nothing about where
metrics go: it calls `log(step, metrics)`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ..config import Params, TrainConfig, to_dict
from ..data.raw import draw_of, read_meta, task_dir, task_meta
from ..io import atomic_dir, write_json
from ..model.adversary import grl_coefficient
from ..model.losses import needed_segments, total_loss
from ..model.model import build_model
from ..progress import progress_bar
from .batches import length_grouped_batches, train_batch
from .checkpoint import TrainState, fingerprint, load_checkpoint, remove_checkpoint, save_checkpoint
from .distributed import gather_output, loss_scale, shard
from .guards import collapse_flags
from .inference import resolve_device, to_device
from .selection import (CRITERIA, HONEST, dev_score, improved, load_dev_sets, record, stored_criteria,
                        weights_files)
from .tokens import has_split, load_tokens, load_train_set
from .launcher import launch
from .workers import RunsFailed, longest_first, one_at_a_time, plan_pool

Logger = Callable[[int, dict[str, float]], None]
DEV_METRICS = {"source_dev": "dev/source_accuracy", "target_dev": "dev/target_accuracy"}
SAVE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}  # train.save_precision
# Where a run trains, not what it computes: left out of its fingerprint, so a run resumes wherever it is launched.
POOL_KEYS = ("workers", "runs_per_gpu", "launcher", "slurm")


@dataclass(frozen=True)
class RunSpec:
    task: str
    variant: str
    seed: int
    raw_dir: Path
    tokens_dir: Path  # the task's tokenised dataset (`xcrl tokenise`)
    out_dir: Path | None  # the run's folder (weights, resolved config, summary); None on processes that write nothing
    checkpoint_dir: Path


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator(tcfg: TrainConfig):
    """The Accelerator for `train.device` and `train.precision`; under `accelerate launch` it joins the process
    group the launcher set up (NCCL on GPUs, gloo on CPU)."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    device = resolve_device(tcfg.device)
    # split_batches: train.batch_size is the global batch, so the LR schedule advances once per optimiser step.
    return Accelerator(cpu=device.type == "cpu",
                       mixed_precision="bf16" if tcfg.precision == "bf16" and device.type == "cuda" else "no",
                       dataloader_config=DataLoaderConfiguration(split_batches=True))


# One Accelerator per process and train config: the stage's, inherited by forked workers, or a spawned worker's own.
process_accelerator = functools.cache(make_accelerator)


def epoch_steps(lengths: np.ndarray, tcfg: TrainConfig, seed: int, epoch: int, world: int) -> list[list[list[int]]]:
    """One epoch's optimiser steps, each a list of `grad_accum` global batches; a function of (seed, epoch) only,
    so a resumed run redraws exactly the batches it had. A final batch smaller than the process count is dropped."""
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    batches = [b for b in length_grouped_batches(lengths, tcfg.batch_size, gen, tcfg.length_group) if len(b) >= world]
    return [batches[i : i + tcfg.grad_accum] for i in range(0, len(batches), tcfg.grad_accum)]


def resolved_config(params: Params, spec: RunSpec) -> dict:
    """Everything needed to rebuild the run's model and to tell whether a checkpoint belongs to this run."""
    return {"task": spec.task, "variant": spec.variant, "seed": spec.seed,
            "model": to_dict(params.model), "variant_config": to_dict(params.variant(spec.variant)),
            "train": to_dict(params.train), "data": to_dict(params.data)}


def _tokens_fingerprints(tokens_dir: Path) -> list[str]:
    splits = ["train", *(split for split, _ in CRITERIA.values())]
    return [(tokens_dir / s / "state.json").read_text(encoding="utf-8") for s in splits if has_split(tokens_dir, s)]


def parameter_groups(model, tcfg) -> list[dict]:
    """The encoder at `lr × encoder_lr_scale`, its word embeddings at a further `embedding_lr_scale`, everything on
    top of it at `lr`. Fine-tuning on the source language alone moves the encoder away from where pretraining aligned
    the languages (English→target retrieval of the fine-tuned h falls from 1.0 to 0.03 on the embedded benchmark at
    scale 1), so the encoder moves slower than the freshly initialised heads, as in discriminative fine-tuning (Howard
    & Ruder, 2018). Source-only gradients reach only the source's word embeddings, moving them away from their
    translations', which stay put; a frozen embedding layer (0) keeps that lexical alignment (Wu & Dredze, 2019)."""
    embeddings = list(model.encoder.get_input_embeddings().parameters())
    embedding_ids = {id(p) for p in embeddings}
    encoder = [p for p in model.encoder.parameters() if id(p) not in embedding_ids]
    ids = {id(p) for p in model.encoder.parameters()}
    encoder_lr = tcfg.lr * tcfg.encoder_lr_scale
    return [{"params": encoder, "lr": encoder_lr},
            {"params": embeddings, "lr": encoder_lr * tcfg.embedding_lr_scale},
            {"params": [p for p in model.parameters() if id(p) not in ids], "lr": tcfg.lr}]


def train_run(params: Params, spec: RunSpec, accelerator, log: Logger | None = None) -> dict:
    """Train one run (resuming from its checkpoint if one matches) and save its weights selected on the source dev
    set (`model.safetensors`) and on the target dev sets (`model_target_dev.safetensors`, an oracle, written only
    when it chose another step, and only with `train.oracle_weights`), in `train.save_precision`."""
    from accelerate.utils import broadcast_object_list
    from transformers import get_linear_schedule_with_warmup

    acc = accelerator
    seed_everything(spec.seed)
    variant, tcfg = params.variant(spec.variant), params.train
    meta = read_meta(spec.raw_dir)
    lang_index = {lang: i for i, lang in enumerate(meta["languages"])}
    n_labels = len(task_meta(meta, spec.task, spec.raw_dir)["labels"])
    data = load_train_set(spec.tokens_dir, lang_index)
    devs = load_dev_sets(spec.tokens_dir, lang_index)
    segments = needed_segments(variant)
    lengths = data.lengths(segments)

    model = build_model(params.model, variant, n_labels, len(lang_index))
    pad_id = model.encoder.config.pad_token_id
    optimizer = torch.optim.AdamW(parameter_groups(model, tcfg), lr=tcfg.lr, weight_decay=tcfg.weight_decay,
                                  fused=acc.device.type == "cuda")  # one kernel for all parameters
    if tcfg.compile:
        model = torch.compile(model, dynamic=True)  # batches are padded to their own length: shapes vary
    per_epoch = len(epoch_steps(lengths, tcfg, spec.seed, 0, acc.num_processes))
    total = per_epoch * tcfg.epochs_of(spec.task)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tcfg.warmup_ratio * total), total)
    model, optimizer, scheduler = acc.prepare(model, optimizer, scheduler)

    stored = stored_criteria(tcfg.oracle_weights)
    resolved = resolved_config(params, spec)
    computed = {k: v for k, v in resolved["train"].items() if k not in POOL_KEYS}
    fp = fingerprint({**resolved, "train": computed, "processes": acc.num_processes},
                     *_tokens_fingerprints(spec.tokens_dir))
    state = load_checkpoint(acc, spec.checkpoint_dir, fp) or TrainState()
    for step, metrics in state.history:  # a resumed run hands its logger the whole history, as if never stopped
        if log is not None:
            log(step, metrics)

    model.train()
    name = f"train {spec.task}/{spec.variant}/seed{spec.seed}"
    with progress_bar(disable=None if acc.is_main_process else True) as bar:
        job = bar.add_task(name, total=total, completed=state.step)
        plan = []
        while state.step < total:
            epoch, k = divmod(state.step, per_epoch)
            if k == 0 or not plan:
                plan = epoch_steps(lengths, tcfg, spec.seed, epoch, acc.num_processes)
            coeff = grl_coefficient(state.step / total, params.model.grl_schedule, params.model.grl_gamma)
            where = f"{name} step {state.step} (its last checkpoint stays in {spec.checkpoint_dir})"
            loss, terms = optimisation_step(acc, model, params, variant, data, plan[k], segments, pad_id, coeff)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            bar.update(job, advance=1)
            evaluating = state.step % tcfg.eval_every == 0 or state.step == total
            saving = tcfg.checkpoint_every and (state.step % tcfg.checkpoint_every == 0 or state.step == total)
            if not (evaluating or saving or state.step % tcfg.log_every == 0):
                continue  # the step's losses stay on the device: reading them would wait for the GPU
            metrics = finite_metrics(loss, terms, where, [data.ids[i] for index in plan[k] for i in index])
            if evaluating:
                scores = {c: dev_score(acc.unwrap_model(model), dev, 4 * tcfg.batch_size, pad_id)
                          for c, dev in devs.items()}
                scores = broadcast_object_list([scores])[0]  # one decision for all processes (FSDP gathers below)
                metrics |= {DEV_METRICS[c]: s for c, s in scores.items()}
                better = improved(state.best, scores)
                if better:
                    record(state.best, better, scores, state.step, acc.get_state_dict(model), stored)
            state.history.append((state.step, metrics))
            if log is not None:
                log(state.step, metrics)
            if saving:
                save_checkpoint(acc, spec.checkpoint_dir, state, fp)

    flags = collapse_flags(state.history, devs[HONEST].labels.tolist(), len(lang_index),
                           int(tcfg.warmup_ratio * total))
    summary = {"task": spec.task, "variant": spec.variant, "seed": spec.seed, "steps": total,
               "selected_step": state.best[HONEST]["step"],
               "source_dev_accuracy": round(state.best[HONEST]["score"], 6),
               "selection": {c: {"step": b["step"], "dev_accuracy": round(b["score"], 6)}
                                | ({} if c in stored else {"stored": False}) for c, b in state.best.items()},
               "terms": list(variant.active_terms), "segments": sorted(segments), "processes": acc.num_processes,
               "flags": flags}
    if acc.is_main_process:
        save_run(spec.out_dir, weights_files(state.best), resolved, summary, SAVE_DTYPES[tcfg.save_precision])
    acc.free_memory()
    return summary


def finite_metrics(loss: torch.Tensor, terms: dict[str, torch.Tensor], where: str,
                   batch_ids: list[str]) -> dict[str, float]:
    """The step's loss and terms as floats (one device-to-host copy); a non-finite one stops the run, naming the
    terms and the last step's examples (with `train.log_every` > 1, the losses of steps between logs are unread)."""
    values = torch.stack([loss, *terms.values()]).cpu().tolist()
    named = dict(zip(["total", *terms], values))
    bad = [k for k, v in named.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"{where}: non-finite loss, terms {bad} ("
                                 + ", ".join(f"{k}={v:.4g}" for k, v in named.items())
                                 + f"); batch ids: {', '.join(batch_ids)}")
    return {"train/loss": values[0], **{f"train/{t}": v for t, v in zip(terms, values[1:])}}


def optimisation_step(acc, model, params: Params, variant, data, batches: list[list[int]], segments, pad_id: int,
                      coeff: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Forward and backward over the step's global batches (gradients synchronised on the last one only), each
    weighted by its share of the step's examples; gradients clipped. Returns the step's loss and unweighted terms,
    summed in float64 on the device (as Python floats summed them), read only when they are logged."""
    n_step = sum(len(b) // acc.num_processes * acc.num_processes for b in batches)
    loss_sum, term_sums = torch.zeros((), dtype=torch.float64, device=acc.device), {}
    for j, index in enumerate(batches):
        local = shard(index, acc.process_index, acc.num_processes)
        batch = train_batch(data, local, segments, pad_id, params.train.encode_chunks)
        sync = contextlib.nullcontext() if j == len(batches) - 1 else acc.no_sync(model)
        with sync:
            with acc.autocast():
                types = None if batch.token_type_ids is None else to_device(batch.token_type_ids, acc.device)
                out = model(to_device(batch.input_ids, acc.device), to_device(batch.attention_mask, acc.device),
                            grl_coeff=coeff, token_type_ids=types, chunks=batch.chunks)
                out, seg = gather_output(acc, out, batch.segments.to(acc.device))
                loss, terms = total_loss(variant, out, seg, params.model)
            share = seg.n_src / n_step
            acc.backward(loss * share * loss_scale(acc))
        loss_sum = loss_sum + share * loss.detach().double()
        for k, v in terms.items():
            term_sums[k] = term_sums.get(k, 0.0) + share * v.detach().double()
    acc.clip_grad_norm_(model.parameters(), params.train.max_grad_norm)
    return loss_sum, term_sums


def save_run(out_dir: Path, weights: dict[str, dict], resolved: dict, summary: dict,
             dtype: torch.dtype = torch.float32) -> None:
    """The selected weights (file name -> state dict, as safetensors, floating tensors in `dtype`), the resolved
    config (everything needed to rebuild the model) and the summary, written atomically."""
    with atomic_dir(out_dir) as tmp:
        for name, state in weights.items():
            save_file({k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()},
                      str(tmp / name))
        (tmp / "config.json").write_text(json.dumps(resolved, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def dvclive_logger(live_dir: Path):
    """A `log(step, metrics)` writing dvclive metrics, so `dvc plots` and `dvc exp show` see training; and its Live."""
    from dvclive import Live

    live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None)

    def log(step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            live.log_metric(name, value, plot=True)
        live.next_step()

    return live, log


@dataclass(frozen=True)
class TrainFolders:
    """One benchmark's data (`raw`, and `tokens`: one tokenised dataset per task) and the parents its runs are
    written under at <variant>/<task>/seed<N>/ (`out`, `live`, `checkpoints`)."""

    raw: Path
    tokens: Path
    out: Path
    live: Path
    checkpoints: Path


RunGroup = tuple[TrainFolders, str, str]  # (folders, variant, task): the runs of one summary.json, one per seed


@dataclass(frozen=True)
class TrainJob:
    """One run of a stage as data, so that it can cross to a spawned worker (`workers.py`): the run, and the folder
    its dvclive metrics go to (None on processes that write nothing)."""

    params: Params
    spec: RunSpec
    live_dir: Path | None

    @property
    def name(self) -> str:
        return f"train {self.spec.task}/{self.spec.variant}/seed{self.spec.seed}"

    def __call__(self) -> dict:
        live_run, log = dvclive_logger(self.live_dir) if self.live_dir is not None else (None, None)
        summary = train_run(self.params, self.spec, process_accelerator(self.params.train), log)
        if self.spec.out_dir is not None and not self.params.train.keep_finished_checkpoints:
            remove_checkpoint(self.spec.checkpoint_dir)
        if live_run is not None:
            with one_at_a_time():  # Live.end() removes a signal file that every Live of a DVC run shares
                live_run.end()
        return summary


def run_cost(params: Params, job: TrainJob) -> int:
    """Sequences a run encodes per epoch: its training examples × (1 + the segments its variant's terms need)."""
    examples = len(load_tokens(job.spec.tokens_dir, "train"))
    return examples * (1 + len(needed_segments(params.variant(job.spec.variant))))


def train_runs(params: Params, groups: Sequence[RunGroup], seeds: Sequence[int]) -> dict[RunGroup, list[dict]]:
    """Every seed of every (folders, variant, task) group; returns each group's run summaries, seed by seed.

    The main process replaces each <variant>/<task>/ of `out` (its seeds and a summary.json) and of `live` whole,
    once every run is done, and only then removes their checkpoints: a stage killed anywhere resumes its unfinished
    runs and reloads its finished ones from their last checkpoint. With `train.keep_finished_checkpoints: false` a
    run's checkpoint goes as soon as its weights are written (one run's per worker on disk at a time; a killed stage
    retrains its finished runs). With one process the runs of all groups (of every benchmark given: the cue sweep
    trains all its strengths at once) go to the run pool (`workers.py`): on CPU `train.workers` side by side, on
    CUDA `train.runs_per_gpu` per GPU; under `accelerate launch`, one after another; with `train.launcher: slurm`,
    as one Slurm array (`launcher.py`).
    """
    acc = process_accelerator(params.train)
    main = acc.is_main_process
    runs = [(group, seed) for group in groups for seed in seeds]
    metas = {folders: read_meta(folders.raw) for folders, _, _ in groups}
    # the replicate with seed s trains on draw s of a task that has draws (checked before any run starts)
    draws = {(folders, task, seed): draw_of(metas[folders], task, seed, folders.raw)
             for folders, _, task in groups for seed in seeds}
    workers = plan_pool(params.train.workers, params.train.runs_per_gpu, acc.device, acc.num_processes, len(runs))
    with contextlib.ExitStack() as stack:
        tmp = {g: stack.enter_context(atomic_dir(g[0].out / g[1] / g[2])) for g in groups} if main else {}
        live_tmp = {g: stack.enter_context(atomic_dir(g[0].live / g[1] / g[2])) for g in groups} if main else {}

        def job(group: RunGroup, seed: int) -> TrainJob:
            folders, variant, task = group
            tokens = task_dir(folders.tokens, task, draws[folders, task, seed])
            spec = RunSpec(task=task, variant=variant, seed=seed, raw_dir=folders.raw, tokens_dir=tokens,
                           out_dir=tmp[group] / f"seed{seed}" if main else None,
                           checkpoint_dir=folders.checkpoints / variant / task / f"seed{seed}")
            return TrainJob(params, spec, live_tmp[group] / f"seed{seed}" if main else None)

        if len(workers) > 1 or params.train.launcher == "slurm":
            # Every run is seeded on its own, so the order changes no result, only the pool's idle tail.
            order = longest_first([run_cost(params, job(*run)) for run in runs])
            jobs = [job(*runs[i]) for i in order]
            try:
                done = launch(jobs, [j.name for j in jobs], params.train, workers, "train")
            except RunsFailed as err:
                raise RunsFailed(f"{err}; run the stage again: each run resumes from its last checkpoint") from None
            summaries = [done[order.index(i)] for i in range(len(runs))]
        else:
            summaries = [job(*run)() for run in runs]
        by_group = {g: [s for (group, _), s in zip(runs, summaries) if group == g] for g in groups}
        if main:
            for group, written in by_group.items():
                write_json(tmp[group] / "summary.json", written)
    acc.wait_for_everyone()
    if main:
        for folders, variant, task in groups:
            _remove_checkpoints(folders.checkpoints, variant, task)
    return by_group


def _remove_checkpoints(root: Path, variant: str, task: str) -> None:
    """The checkpoints of one (variant, task), then the folders that leaves empty, `root` included."""
    shutil.rmtree(root / variant / task, ignore_errors=True)
    for folder in (root / variant, root):
        with contextlib.suppress(OSError):  # absent, or still holding another run's checkpoints
            folder.rmdir()
