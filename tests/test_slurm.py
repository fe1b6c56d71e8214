"""`train.launcher: slurm` (`xcrl_cli/training/launcher.py`) on submitit's local executor: the code path a Slurm
cluster runs (the jobs pickled, run as real subprocesses, their signals handled and requeued by submitit), on this
machine. A preempted job receives what Slurm sends before it ends a job (SIGUSR2), is requeued and resumes from
its checkpoint, and the stage's outputs are those of the local pool; `evaluate`'s runs as an array give the pool's
files too."""

from __future__ import annotations

import functools
import json
import operator
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import ROOT
from test_train import RUN, _params, _train_args, _weights, task_dir  # noqa: F401  (task_dir: the fixture)

from xcrl_cli.cli import main
from xcrl_cli.config import ConfigError, load_params
from xcrl_cli.training.launcher import executor_for, run_array
from xcrl_cli.training.workers import RunsFailed

SEEDS = ["--seed", "0", "--seed", "1"]


def _slurm(folder: Path, **more) -> dict:
    """train.slurm for the local executor: no GPU, one CPU per job, a short poll."""
    return {"cluster": "local", "folder": str(folder), "gpus_per_job": 0, "cpus_per_job": 1, "poll_s": 0.2,
            "time_min": 10, **more}


def _jobs_running(folder: Path) -> list[int]:
    """The processes running a job of the array: submitit starts each as `python -u -m submitit.core._submit
    <folder>` under a controller that requeues it."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:  # ended meanwhile
                continue
            if b"submitit.core._submit" in cmdline and str(folder).encode() in cmdline:
                found.append(int(proc.name))
    return found


def test_an_array_returns_results_in_order_and_a_failed_job_is_one_error_naming_it_and_its_log(tmp_path):
    cfg = load_params_with(tmp_path, _slurm(tmp_path / "jobs")).train.slurm
    add = functools.partial
    assert run_array([add(operator.add, 1, 2), add(operator.add, 3, 4)], ["one", "two"], cfg) == [3, 7]
    with pytest.raises(RunsFailed) as err:
        run_array([add(operator.add, 1, 2), add(int, "diverged")], ["one", "two"], cfg)
    message = str(err.value)
    assert message.startswith("1 of 2 jobs failed: two (job "), message
    assert message.endswith(": ValueError: invalid literal for int() with base 10: 'diverged')"), message
    log = Path(message.split(", log ")[1].split(": ")[0])
    assert log.parent == tmp_path / "jobs" and "Traceback" in log.read_text(), message


def test_the_executor_gets_the_params_slurm_needs(tmp_path, monkeypatch):
    """What sbatch receives: the slurm executor's parameters from train.slurm (pretend `srun` and `sbatch` on PATH:
    building the executor submits nothing); without them, one error naming the key."""
    import submitit

    with pytest.raises(ConfigError, match=r"^train\.slurm\.cluster: slurm, but there is no `sbatch` here"):
        executor_for(load_params_with(tmp_path, {"cluster": "slurm"}).train.slurm, "train")
    for command in ("srun", "sbatch"):
        (tmp_path / command).write_text("#!/bin/sh\nexit 1\n")
        (tmp_path / command).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    cfg = load_params_with(tmp_path, {"cluster": "slurm", "folder": str(tmp_path), "partition": "gpu", "account": "nlp",
                                      "time_min": 90, "gpus_per_job": 2, "array_parallelism": 16,
                                      "setup": ["source .venv/bin/activate"]}).train.slurm
    executor = executor_for(cfg, "train")
    assert isinstance(executor._executor, submitit.SlurmExecutor)
    got = executor._executor.parameters
    assert (got["partition"], got["account"], got["time"], got["gpus_per_node"], got["array_parallelism"],
            got["setup"]) == ("gpu", "nlp", 90, 2, 16, ["source .venv/bin/activate"])
    assert "constraint" not in got  # empty: left to the cluster's default


def load_params_with(root: Path, slurm: dict):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(launcher="slurm", slurm={**params["train"]["slurm"], **slurm})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return load_params(root / "params.yaml")


def test_launcher_and_cluster_are_checked_naming_the_key_and_what_is_valid(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.slurm\.cluster: 'pbs' is not one of \['slurm', 'local'\]"):
        load_params_with(tmp_path, {"cluster": "pbs"})


@pytest.mark.reliability
def test_a_train_stage_as_an_array_with_a_preempted_job_requeued_gives_the_pool_s_outputs(task_dir, tmp_path):
    """Two seeds as two jobs; once both have a checkpoint each job gets SIGUSR2 (Slurm's warning before it preempts
    or times a job out): submitit requeues it, the run resumes from its checkpoint, and the weights and summaries
    are the local pool's, bit for bit."""
    model, train = {"dropout": 0.3}, {"epochs": 8, "checkpoint_every": 2, "workers": 2}
    started = time.time()
    pool = CliRunner().invoke(main, _train_args(task_dir, _params(tmp_path, task_dir / "encoder", model, **train),
                                                tmp_path / "pool") + SEEDS)
    assert pool.exit_code == 0, pool.output

    print(f"\nthe pool: {time.time() - started:.0f} s")
    jobs, out = tmp_path / "jobs", tmp_path / "slurm"
    params = _params(tmp_path, task_dir / "encoder", model, **train, launcher="slurm", slurm=_slurm(jobs))
    proc = subprocess.Popen([sys.executable, "-m", "xcrl_cli"] + _train_args(task_dir, params, out) + SEEDS,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    markers = [out / "ckpt" / RUN / f"seed{s}" / "fingerprint" for s in (0, 1)]
    deadline = time.time() + 180
    while not all(m.exists() for m in markers) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    running = _jobs_running(jobs)
    for pid in running:
        os.kill(pid, signal.SIGUSR2)
    steps = [torch.load(out / "ckpt" / RUN / f"seed{s}" / "train_state.pt", weights_only=False)["step"] for s in (0, 1)]
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert len(running) == 2 and all(0 < step < 32 for step in steps), (running, steps)
    logs = "".join(p.read_text() for p in sorted(jobs.glob("*_log.out")))
    assert logs.count("Caught signal SIGUSR2") == 2 and logs.count("Requeued job") == 2, logs
    print(f"\ntwo jobs preempted after their checkpoints at steps {steps} of 32, requeued, resumed")

    for seed in (0, 1):
        first, resumed = _weights(tmp_path / "pool", RUN, seed), _weights(out, RUN, seed)
        assert all(torch.equal(first[k], resumed[k]) for k in first), f"seed {seed}"
    summaries = [json.loads((root / "model" / RUN / "summary.json").read_text()) for root in (tmp_path / "pool", out)]
    assert summaries[0] == summaries[1]
    assert "source-dev accuracy" in stdout and not (out / "ckpt").exists()

    # evaluate's runs as an array too (one job per run): the files of the pool's evaluation of the same weights
    for root, launcher in ((tmp_path / "pool", {}), (out, {"launcher": "slurm", "slurm": _slurm(tmp_path / "ejobs")})):
        params = _params(tmp_path, task_dir / "encoder", model, **train, seeds=[0, 1], **launcher)
        done = CliRunner().invoke(main, ["evaluate", "--params", str(params), "--variant", "proposed", "--task",
                                         RUN.name, "--models", str(root / "model"), "--raw", str(task_dir / "raw"),
                                         "--tokens", str(task_dir / "tokens"), "--out", str(root / "eval")])
        assert done.exit_code == 0, done.output
    files = sorted(p.relative_to(out / "eval") for p in (out / "eval").rglob("*") if p.is_file())
    assert "proposed/scores.csv" in map(str, files) and len(list((tmp_path / "ejobs").glob("*_log.out"))) == 2
    for name in files:
        assert (out / "eval" / name).read_bytes() == (tmp_path / "pool" / "eval" / name).read_bytes(), name
