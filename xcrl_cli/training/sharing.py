"""`xcrl bench --share N`: several runs sharing one device, as `train.runs_per_gpu` (or `train.workers` on CPU)
puts them, with and without `torch.compile`.

One small run leaves a large GPU launch-bound: the paper's step (96 sequences × 128 tokens with pairs and
counterfactuals) is a few TFLOP, kernels too small to fill an H100. N processes each training its own copy of the
full model on the bench's synthetic batch, all at once, show how much of the GPU N runs fill: the sequences per
second they reach together, the model FLOPs utilisation of that (6 × parameters × tokens/s over the device's peak
dense bf16 throughput; none on CPU, whose peak is not known here), and the peak memory each run holds (the CUDA
allocator's peak; on CPU the process's peak resident set).

Each process is spawned (a CUDA context does not survive a fork) with its share of the CPU threads as a pool worker
has, builds its model, runs `warmup` untimed steps (the compile happens there with `compile`), waits at a barrier
for the others, then times `steps` steps. The throughput counts the slowest process's time, so a run that finishes
early does not flatter it.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass

import torch

from ..config import ModelConfig, Variant
from .bench import BenchConfig, config_of, kind_model, peak_flops, synthetic_inputs, timed, train_step
from .inference import autocast, resolve_device
from .workers import Worker, settle


@dataclass(frozen=True)
class SharingResult:
    runs: int  # processes training at once on the device
    compiled: bool
    sequences_per_s: float  # all runs together
    mfu: float | None  # of the sequences/s of all runs together; None on CPU or an unknown GPU
    peak_memory_gb: float  # the largest of the runs' peaks
    seconds_per_step: float  # the slowest run's mean step time


def _one_run(cfg: BenchConfig, model_cfg: ModelConfig, variant: Variant, compiled: bool, warmup: int, steps: int,
             threads: int, barrier, results) -> None:
    """One of the runs sharing the device: build, warm up, wait for the others, time `steps` steps."""
    settle(Worker(threads))
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    x = synthetic_inputs(cfg, variant, config_of(cfg).vocab_size, device)
    model, loss_fn = kind_model("full", cfg, model_cfg, variant, variant, x)
    model.to(device).train()
    if compiled:
        model.forward = torch.compile(model.forward)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    with autocast(device, cfg.precision):
        for _ in range(warmup):
            train_step(model, optimizer, loss_fn)
        barrier.wait()
        seconds = sum(timed(lambda: train_step(model, optimizer, loss_fn), device) for _ in range(steps))
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    parameters = sum(p.numel() for p in model.encoder.parameters())
    results.put((x.n_seq, cfg.seq_len, seconds, peak, parameters, peak_flops(device)))


def measure_sharing(cfg: BenchConfig, model_cfg: ModelConfig, variant: Variant, runs: int, compiled: bool,
                    warmup: int = 2, steps: int = 5) -> SharingResult:
    """`runs` processes training the full model at once on the bench's device (a random encoder:
    `cfg.random_encoder`), each with its share of the CPU threads."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(runs), ctx.Queue()
    threads = max(1, torch.get_num_threads() // runs)
    procs = [ctx.Process(target=_one_run, args=(cfg, model_cfg, variant, compiled, warmup, steps, threads, barrier,
                                                results)) for _ in range(runs)]
    for proc in procs:
        proc.start()
    got = []
    deadline = time.time() + 3600
    while len(got) < runs and time.time() < deadline:
        try:
            got.append(results.get(timeout=1))
        except Exception:  # queue.Empty: none yet; a run that died is found below
            if any(p.exitcode not in (None, 0) for p in procs):
                break
    for proc in procs:
        proc.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed or len(got) < runs:
        raise RuntimeError(f"bench --share {runs}: {len(failed)} of {runs} processes failed (exit codes {failed}); "
                           "their tracebacks are above")
    return summarise([RunTiming(*row) for row in got], compiled, steps)


@dataclass(frozen=True)
class RunTiming:
    """What one of the runs sharing the device measured."""

    sequences: int  # per step
    seq_len: int
    seconds: float  # its `steps` timed steps together
    peak_memory: int  # bytes
    parameters: int  # the encoder's
    peak_flops: float | None  # the device's peak dense bf16 FLOP/s; None on CPU or an unknown GPU


def summarise(timings: list[RunTiming], compiled: bool, steps: int) -> SharingResult:
    """The runs' throughput together, timed by the slowest of them, and its MFU."""
    slowest = max(t.seconds for t in timings)
    first = timings[0]
    sequences_per_s = len(timings) * first.sequences * steps / slowest
    mfu = None if first.peak_flops is None else \
        6 * first.parameters * sequences_per_s * first.seq_len / first.peak_flops
    return SharingResult(len(timings), compiled, sequences_per_s, mfu,
                         max(t.peak_memory for t in timings) / 1e9, slowest / steps)
