"""The run pool: a stage's independent runs (and `evaluate`'s scoring of them) spread over worker processes, on CPU
cores or on GPUs, each worker taking the next run as soon as it finishes one (runs of different tasks differ in
length, so waves would leave a device idle).

On CPU (`train.workers`, `auto` = one per core torch uses): one small model cannot keep every core busy. On the
2-core reference machine a training step of the embedded encoder (96 sequences × 64 tokens) takes 94 ms with 2
threads, and 120 ms in each of two 1-thread processes running at once — 1.55 times the throughput. So the workers
are forked, each with its share of the threads. Fork rather than spawn: a worker inherits the imported torch and the
parent's objects (the jobs themselves), and what a run imports on first use (the encoder's modelling code, dvclive
and DVC, the `datasets` loader) is imported once per worker, not once per run — measured, a forked erm run of the
embedded sentiment task took 20-23 s importing them itself and 7-9 s with them imported.

On CUDA: one worker per visible GPU × `train.runs_per_gpu`, each a spawned process pinned to its GPU
(`CUDA_VISIBLE_DEVICES` set in the worker before anything initialises CUDA there, so the run sees one device,
`cuda:0`). A CUDA context does not survive a fork, hence spawn; the jobs cross to the worker pickled, so a job is
data (a module-level callable with picklable arguments), never a closure. One model that needs several GPUs is not
the pool's business: that is `accelerate launch` (DDP, FSDP), under which the runs go one after another.

Only job numbers and results cross the pipes once a worker runs. Once a job fails no further job starts; those
running finish (their checkpoints serve the next attempt), then `run_pool` raises `RunsFailed`, one line naming
each failed run (a worker killed or out of memory shows as its exit code; tracebacks are on stderr).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import torch

from ..data import USER_ERRORS
from ..io import DataError

# Read by OpenBLAS, OpenMP and MKL when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_lock = None  # in a worker, the lock every worker of its pool shares (`one_at_a_time`)


class RunsFailed(RuntimeError):
    """Runs of a pool failed; the message names each, the tracebacks are on stderr."""


@dataclass(frozen=True)
class Worker:
    """One process of the pool: its share of the CPU threads and the GPU it is pinned to (None on CPU)."""

    threads: int
    gpu: str | None = None  # the worker's CUDA_VISIBLE_DEVICES


def visible_gpus() -> list[str]:
    """The CUDA_VISIBLE_DEVICES value that pins a worker to each GPU this process sees (an entry of this process's
    own CUDA_VISIBLE_DEVICES when that is set)."""
    n = torch.cuda.device_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    return ([d.strip() for d in listed.split(",")] if listed else [str(i) for i in range(n)])[:n]


def pool_size(workers: int | str) -> int:
    """`train.workers` as a number of CPU workers: `auto` is one per thread torch uses (one per core)."""
    return torch.get_num_threads() if workers == "auto" else workers


def cpu_workers(n: int) -> list[Worker]:
    """`n` CPU workers, each with its share of the threads torch uses."""
    return [Worker(max(1, torch.get_num_threads() // n))] * n


def gpu_workers(gpus: Sequence[str], runs_per_gpu: int, n_jobs: int) -> list[Worker]:
    """`runs_per_gpu` workers pinned to each of `gpus`, spread over the GPUs first, at most `n_jobs` of them."""
    slots = [gpu for _ in range(runs_per_gpu) for gpu in gpus][:n_jobs]
    return [Worker(max(1, torch.get_num_threads() // max(1, len(slots))), gpu) for gpu in slots]


def plan_pool(workers: int | str, runs_per_gpu: int, device: torch.device, processes: int, n_jobs: int,
              gpus: Sequence[str] | None = None) -> list[Worker]:
    """The workers for `n_jobs` runs on `device`, at most one per run: on CPU `train.workers`; on CUDA
    `runs_per_gpu` per GPU of `gpus` (default: those visible). None under `accelerate launch` (`processes` > 1),
    whose processes train each run together."""
    if processes > 1 or n_jobs == 0:
        return []
    if device.type == "cuda":
        return gpu_workers(visible_gpus() if gpus is None else gpus, runs_per_gpu, n_jobs)
    return cpu_workers(min(pool_size(workers), n_jobs))


def longest_first(costs: Sequence[float]) -> list[int]:
    """The order the pool takes runs in: the costliest first, so that its last runs are short ones and its idle tail
    is short (greedy list scheduling, longest processing time first); ties keep their order."""
    return sorted(range(len(costs)), key=lambda i: -costs[i])


def one_at_a_time():
    """A lock the pool's workers share, for the few steps that must not overlap; outside a pool, nothing to wait for."""
    return _lock if _lock is not None else contextlib.nullcontext()


def settle(worker: Worker, lock=None) -> None:
    """A worker's first act: its GPU and thread share, before anything in it initialises CUDA or loads a BLAS."""
    from threadpoolctl import threadpool_limits

    global _lock
    _lock = lock
    if worker.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = worker.gpu
    torch.set_num_threads(worker.threads)
    # numpy's BLAS and scikit-learn's OpenMP too: thread pools beyond the process's share spin against each other.
    # threadpool_limits reaches the libraries loaded now; the environment, those a job loads later (scipy's own
    # OpenBLAS arrives with the probes' first import: with it at 2 threads an evaluated run took 4.5 s beside
    # another process instead of 1.5 s).
    for name in THREAD_VARIABLES:
        os.environ[name] = str(worker.threads)
    threadpool_limits(worker.threads)
    os.environ["XCRL_NO_PROGRESS"] = "1"  # bars of processes sharing one terminal would overwrite each other


def _serve(jobs: Sequence[Callable[[], object]], conn: Connection, worker: Worker, lock) -> None:
    """Run the jobs whose numbers arrive on `conn` until None arrives; send back (succeeded, result) for each."""
    settle(worker, lock)
    while (i := conn.recv()) is not None:
        # What the process holds between jobs (imported modules, mostly) lives to its end: frozen, it is skipped by
        # the full collection that closes each run (accelerate's free_memory), 0.27 s of a 2.1 s ERM run otherwise.
        gc.freeze()
        try:
            conn.send((True, jobs[i]()))
        except USER_ERRORS as err:  # the user's to fix: sent back (as a DataError, which always pickles), for the
            sent = DataError(str(err))  # parent to raise as one line
            sent.add_note(traceback.format_exc())  # the worker's traceback, which `--debug` shows
            conn.send((False, sent))
        except Exception:
            traceback.print_exc()
            conn.send((False, None))


def run_pool(jobs: Sequence[Callable[[], object]], workers: Sequence[Worker],
             names: Sequence[str] | None = None) -> list:
    """Run `jobs` in order on `workers` (spawned when pinned to GPUs, else forked) and return their results in order;
    raise `RunsFailed` naming each failed job (`names`, default "job N") once those still running have finished, or
    the first job's error itself when every failure is the user's to fix (`data.USER_ERRORS`: a missing or malformed
    input)."""
    names = names or [f"job {i + 1}" for i in range(len(jobs))]
    ctx = multiprocessing.get_context("spawn" if any(w.gpu is not None for w in workers) else "fork")
    lock = ctx.Lock()
    pool, busy, results, failed, errors, pending = [], {}, {}, [], [], list(range(len(jobs)))
    try:
        for worker in workers[:len(jobs)]:
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(jobs, child, worker, lock))
            proc.start()  # spawned: the jobs are pickled here, so a closure fails before any run starts
            child.close()  # the worker holds the only other end: its death reads as end of file
            pool.append((conn, proc))
        idle = list(pool)
        while True:
            while idle and pending and not failed:
                conn, proc = idle.pop(0)
                busy[conn] = (proc, pending.pop(0))
                conn.send(busy[conn][1])
            if not busy:
                break
            for conn in wait(list(busy)):
                proc, i = busy.pop(conn)
                try:
                    succeeded, results[i] = conn.recv()
                except EOFError:  # killed or out of memory: no traceback, only its exit code
                    proc.join()
                    failed.append((names[i], f": its process died with exit code {proc.exitcode}"))
                    continue
                idle.append((conn, proc))
                if not succeeded:
                    failed.append((names[i], ""))
                    errors.append(results.pop(i))
    finally:
        for conn, proc in pool:
            if conn in busy:  # only when this process itself was interrupted
                proc.terminate()
            else:
                with contextlib.suppress(OSError):  # a worker that died has closed its end
                    conn.send(None)
            proc.join()
    if failed and len(errors) == len(failed) and all(errors):
        raise errors[0]
    if failed:
        raised = "; the traceback of each run that raised is printed above" if any(not how for _, how in failed) else ""
        raise RunsFailed(f"{len(failed)} of {len(jobs)} runs failed ({', '.join(name + how for name, how in failed)}); "
                         f"{len(pending)} not started{raised}")
    return [results[i] for i in range(len(jobs))]
