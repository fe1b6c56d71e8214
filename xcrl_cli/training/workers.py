"""Independent runs side by side on a CPU.

Runs share nothing, and one small model cannot keep every core busy: on the 2-core reference machine a training
step of the embedded encoder (96 sequences × 64 tokens) takes 94 ms with 2 threads, and 120 ms in each of two
1-thread processes running at once — 1.55 times the throughput. `run_side_by_side` forks `workers` processes, each
with its share of the threads, and hands a worker the next job as soon as it finishes one (runs of different tasks
differ in length, so waves would leave cores idle).

A worker serves many jobs: what a run imports on first use (the encoder's modelling code, dvclive and DVC, the
`datasets` loader) is imported once per worker, not once per run — measured, a forked erm run of the embedded
sentiment task took 20-23 s importing them itself and 7-9 s with them imported. Fork rather than spawn: a worker
inherits the imported torch and the parent's objects (the jobs themselves), so only job numbers and results cross
between processes.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

import torch

from ..data import USER_ERRORS
from ..io import DataError

# Read by OpenBLAS, OpenMP and MKL when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Created before any fork, so every side-by-side process holds the same lock.
_ONE_AT_A_TIME = multiprocessing.get_context("fork").Lock()


def one_at_a_time():
    """A lock the side-by-side processes share, for the few steps that must not overlap (a no-op cost alone)."""
    return _ONE_AT_A_TIME


def _serve(jobs: list[Callable[[], object]], conn: Connection, threads: int) -> None:
    """Run the jobs whose numbers arrive on `conn` until None arrives; send back (succeeded, result) for each."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    # numpy's BLAS and scikit-learn's OpenMP too: thread pools beyond the process's share spin against each other.
    # threadpool_limits reaches the libraries loaded now; the environment, those a job loads later (scipy's own
    # OpenBLAS arrives with the probes' first import: with it at 2 threads an evaluated run took 4.5 s beside
    # another process instead of 1.5 s).
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    threadpool_limits(threads)
    os.environ["XCRL_NO_PROGRESS"] = "1"  # bars of processes sharing one terminal would overwrite each other
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


def run_side_by_side(jobs: list[Callable[[], object]], workers: int) -> list:
    """Run `jobs` in order in `workers` forked processes and return their results in order. Once a job fails no
    further job starts; those running finish (their checkpoints serve the next attempt), then this raises: the
    first job's error itself when every failure is the user's to fix (`data.USER_ERRORS`: a missing or malformed
    input), else a RuntimeError (each traceback is on stderr)."""
    threads = max(1, torch.get_num_threads() // workers)
    ctx = multiprocessing.get_context("fork")
    pool = []
    for _ in range(min(workers, len(jobs))):
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(jobs, child, threads))
        proc.start()
        child.close()  # the worker holds the only other end: its death reads as end of file
        pool.append((conn, proc))
    pending, idle, busy, results, failed, errors = list(range(len(jobs))), list(pool), {}, {}, [], []
    try:
        while True:
            while idle and pending and not failed:
                conn, proc = idle.pop()
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
                    failed.append(f"job {i + 1}: its process died with exit code {proc.exitcode}")
                    continue
                idle.append((conn, proc))
                if not succeeded:
                    failed.append(f"job {i + 1}")
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
        raise RuntimeError(f"{len(failed)} of {len(jobs)} side-by-side runs failed ({', '.join(failed)}); "
                           f"{len(pending)} not started; the traceback of each is printed above")
    return [results[i] for i in range(len(jobs))]
