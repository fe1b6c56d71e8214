"""The run pool (`xcrl_cli/training/workers.py`): how many workers on CPU and on GPUs, which run lands on which GPU
(two pretend GPUs: the workers run on CPU and report the CUDA_VISIBLE_DEVICES they see), and a worker that fails or
dies failing the stage with one line, its run resuming from its checkpoint on the next attempt."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import ROOT
from test_train import RUN, _params, _train_args, _weights, task_dir  # noqa: F401  (task_dir: the fixture)

from xcrl_cli.cli import main
from xcrl_cli.config import ConfigError, load_params
from xcrl_cli.training.workers import RunsFailed, Worker, plan_pool, run_pool, visible_gpus

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
IMPORTED_IN = os.getpid()  # a forked worker inherits this module from its parent; a spawned one imports it anew


def seen_by_worker(run: int) -> tuple[int, str | None, int, str, int]:
    """What a run sees of its worker: its GPU, its process, how it was started ("spawned" when this module was
    imported in the worker itself, as a spawned process imports what it unpickles) and its threads."""
    started = "spawned" if IMPORTED_IN == os.getpid() else "forked"
    return run, os.environ.get("CUDA_VISIBLE_DEVICES"), os.getpid(), started, torch.get_num_threads()


def raise_error() -> None:
    raise ValueError("diverged")


def test_auto_on_two_cores_is_two_one_thread_workers_and_a_gpu_pool_spreads_over_the_gpus_first(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # the 2-core reference machine
    assert plan_pool("auto", 1, CPU, 1, 8) == [Worker(1), Worker(1)]  # as `workers: 2` always gave
    assert plan_pool("auto", 1, CPU, 1, 1) == [Worker(2)]  # one run: trained in the stage's own process
    assert plan_pool(3, 1, CPU, 1, 8) == [Worker(1)] * 3
    assert [w.gpu for w in plan_pool("auto", 2, CUDA, 1, 8, gpus=["0", "1"])] == ["0", "1", "0", "1"]
    assert [w.gpu for w in plan_pool("auto", 2, CUDA, 1, 3, gpus=["0", "1"])] == ["0", "1", "0"]
    assert plan_pool("auto", 2, CUDA, 2, 8, gpus=["0", "1"]) == []  # under `accelerate launch`: one run at a time
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,7")  # a worker is pinned to the GPU's own id
    assert visible_gpus() == ["3", "5"]


def test_two_gpus_times_two_runs_each_pin_each_spawned_worker_to_its_gpu():
    workers = plan_pool("auto", 2, CUDA, 1, 4, gpus=["0", "1"])
    seen = run_pool([functools.partial(seen_by_worker, run) for run in range(4)], workers)
    table = [(run, gpu) for run, gpu, *_ in seen]
    print(f"\nrun -> CUDA_VISIBLE_DEVICES in its worker: {table}")
    assert table == [(0, "0"), (1, "1"), (2, "0"), (3, "1")]
    assert len({pid for _, _, pid, _, _ in seen} - {os.getpid()}) == 4  # four processes, none of them this one
    assert {(started, threads) for *_, started, threads in seen} == {("spawned", workers[0].threads)}
    assert os.environ.get("CUDA_VISIBLE_DEVICES") != "1"  # set in the workers only


def test_a_spawned_worker_that_dies_or_a_run_that_raises_is_one_error_naming_the_run():
    workers = plan_pool("auto", 1, CUDA, 1, 2, gpus=["0", "1"])
    with pytest.raises(RunsFailed, match=r"^1 of 2 runs failed \(train a: its process died with exit code 3\); "
                                         r"0 not started"):
        run_pool([functools.partial(os._exit, 3), functools.partial(seen_by_worker, 1)], workers,
                 ["train a", "train b"])
    with pytest.raises(RunsFailed, match=r"^1 of 2 runs failed \(train b\); 0 not started; the traceback of each "
                                         r"run that raised is printed above$"):
        run_pool([functools.partial(seen_by_worker, 0), raise_error], workers, ["train a", "train b"])


def test_workers_and_runs_per_gpu_are_checked_naming_the_key_and_what_is_valid(tmp_path):
    import yaml

    for key, value, message in (("workers", "many", "train.workers: 'many' is neither 'auto' nor a whole number >= 1"),
                                ("workers", 0, "train.workers: 0 is outside the allowed range [1, inf)"),
                                ("workers", 1.5, "train.workers: expected int or str, got 1.5"),
                                ("runs_per_gpu", 0, "train.runs_per_gpu: 0 is outside the allowed range [1, inf)")):
        raw = yaml.safe_load((ROOT / "params.yaml").read_text())
        raw["train"][key] = value
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
        with pytest.raises(ConfigError) as err:
            load_params(tmp_path / "params.yaml")
        assert str(err.value) == message


def _workers_of(pid: int) -> list[int]:
    """The pool's workers: the children of the stage's process running its own command line (forked)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [int(c) for c in children if Path(f"/proc/{c}/cmdline").read_bytes() == cmdline]


@pytest.mark.reliability
def test_a_killed_worker_fails_the_stage_in_one_line_and_its_run_resumes_from_its_checkpoint(task_dir, tmp_path):
    """Two seeds on 2 workers, one worker SIGKILLed after both runs' first checkpoint: the stage exits with one
    error line naming the run; started again, each run resumes from its checkpoint (the killed one mid-run, the
    other from where it finished) to the weights of a stage never stopped."""
    params = _params(tmp_path, task_dir / "encoder", {"dropout": 0.3}, epochs=12, checkpoint_every=3, workers=2)
    seeds = ["--seed", "0", "--seed", "1"]
    whole = CliRunner().invoke(main, _train_args(task_dir, params, tmp_path / "whole") + seeds)
    assert whole.exit_code == 0, whole.output

    killed = tmp_path / "killed"
    xcrl = [sys.executable, "-m", "xcrl_cli"] + _train_args(task_dir, params, killed) + seeds
    proc = subprocess.Popen(xcrl, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    markers = [killed / "ckpt" / RUN / f"seed{s}" / "fingerprint" for s in (0, 1)]
    deadline = time.time() + 120
    while not all(m.exists() for m in markers) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(_workers_of(proc.pid)[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    error = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "Traceback" not in stderr, stderr
    assert error[0].startswith(f"Error: 1 of 2 runs failed (train {RUN.parts[1]}/proposed/seed")
    assert error[0].endswith(": its process died with exit code -9); 0 not started; run the stage again: each run "
                             "resumes from its last checkpoint")
    dead = int(error[0].split("seed")[1].split(":")[0])
    step = torch.load(killed / "ckpt" / RUN / f"seed{dead}" / "train_state.pt", weights_only=False)["step"]
    assert 0 < step < 48, "the kill must land mid-run"
    print(f"\n{error[0]}\nseed {dead} killed after its checkpoint at step {step} of 48")
    assert not (killed / "model" / RUN).exists()  # nothing half-written where DVC looks

    again = CliRunner().invoke(main, _train_args(task_dir, params, killed) + seeds)
    assert again.exit_code == 0, again.output
    for seed in (0, 1):
        first, resumed = _weights(tmp_path / "whole", RUN, seed), _weights(killed, RUN, seed)
        assert all(torch.equal(first[k], resumed[k]) for k in first), f"seed {seed}"
    assert not (killed / "ckpt").exists()
