"""Where a stage's runs go (`train.launcher`): the run pool on this machine (`local`, `workers.py`), or a Slurm job
array through submitit (`slurm`): beyond one node, the paper's matrix is a textbook array of independent jobs.

Each run of a stage (a `TrainJob`, or `evaluate`'s scoring of a run) becomes one task of one array, pickled into
`train.slurm.folder` with its outputs written where the local pool writes them, so that folder, the project and its
`data/` must be on a file system every node sees. The stage itself (under `dvc repro`, on a login node) submits the
array, waits for it and writes the same outputs DVC tracks as with the local pool.

A preempted or timed-out job receives Slurm's warning signal; submitit then pickles the job again and requeues it,
and the requeued job starts the run over, which resumes from its last checkpoint (`training/checkpoint.py`): a run
is a pure function of its params and inputs, so the result is the one an uninterrupted run gives.
`train.slurm.cluster: local` runs the same path with submitit's local executor (one process per job on this
machine, its signals and requeueing included): what the tests run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from ..config import ConfigError, SlurmConfig, TrainConfig
from ..progress import progress_bar
from .workers import RunsFailed, Worker, run_pool, settle


def launch(jobs: Sequence[Callable[[], object]], names: Sequence[str], tcfg: TrainConfig,
           workers: Sequence[Worker], stage: str) -> list:
    """The results of `jobs`, in order, run as `train.launcher` says: a Slurm array, or the pool of `workers`."""
    if tcfg.launcher == "slurm":
        return run_array(jobs, names, tcfg.slurm, stage)
    return run_pool(jobs, workers, names)


class Requeueable:
    """A job that submitit requeues as it is when its allocation ends (it resumes from its own checkpoint), run on
    the CPUs it asked for (`cpus_per_job` threads, as a pool worker runs on its share)."""

    def __init__(self, job: Callable[[], object], threads: int):
        self.job, self.threads = job, threads

    def __call__(self) -> object:
        settle(Worker(self.threads))
        return self.job()

    def checkpoint(self) -> object:
        """What submitit resubmits on preemption or timeout: the same job (its progress is in its checkpoint)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


def executor_for(cfg: SlurmConfig, name: str):
    """A submitit executor for `cfg`: Slurm's, or the local one (`cluster: local`) with the same parameters."""
    import shutil

    import submitit

    if cfg.cluster == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("train.slurm.cluster: slurm, but there is no `sbatch` here; launch the stage on the "
                          "cluster's login node, or set train.slurm.cluster: local (this machine's processes)")
    executor = submitit.AutoExecutor(folder=cfg.folder, cluster=cfg.cluster, slurm_max_num_timeout=cfg.max_requeues,
                                     local_max_num_timeout=cfg.max_requeues)
    optional = {"slurm_partition": cfg.partition, "slurm_account": cfg.account, "slurm_constraint": cfg.constraint}
    executor.update_parameters(
        name=name, timeout_min=cfg.time_min, nodes=1, tasks_per_node=1, gpus_per_node=cfg.gpus_per_job,
        cpus_per_task=cfg.cpus_per_job, mem_gb=cfg.mem_gb, slurm_array_parallelism=cfg.array_parallelism,
        slurm_setup=list(cfg.setup), local_setup=list(cfg.setup), **{k: v for k, v in optional.items() if v})
    return executor


def run_array(jobs: Sequence[Callable[[], object]], names: Sequence[str], cfg: SlurmConfig,
              stage: str = "xcrl") -> list:
    """Run `jobs` as one array and return their results in order, once every job has ended; raise `RunsFailed`
    naming each failed job and its log file."""
    executor = executor_for(cfg, stage)
    with executor.batch():
        submitted = [executor.submit(Requeueable(job, cfg.cpus_per_job)) for job in jobs]
    with progress_bar() as bar:
        task = bar.add_task(f"{stage}: {len(jobs)} jobs of array {submitted[0].job_id.split('_')[0]}",
                            total=len(jobs))
        while (done := sum(job.done() for job in submitted)) < len(jobs):
            bar.update(task, completed=done)
            time.sleep(cfg.poll_s)
        bar.update(task, completed=done)
    results, failed = [], []
    for name, job in zip(names, submitted):
        try:
            results.append(job.result())
        except Exception as err:  # submitit's FailedJobError or UncompletedJobError: the job's log has the traceback
            failed.append(f"{name} (job {job.job_id}, log {job.paths.stderr}: {_raised(err)})")
    if failed:
        raise RunsFailed(f"{len(failed)} of {len(jobs)} jobs failed: {'; '.join(failed)}")
    return results


def _raised(err: Exception) -> str:
    """The line naming what a failed job raised, from the trace submitit wraps in its own text; else its first line
    (a job that was killed, or ended without a result)."""
    lines = str(err).splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    if not starts:
        return lines[0]
    trace = itertools.takewhile(lambda line: not line.startswith("----"), lines[starts[-1]:])
    return [line.strip() for line in trace if line.strip()][-1]
