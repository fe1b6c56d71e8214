"""Training at scale: tokenised once, length-grouped batches, gradient accumulation, two processes under Accelerate,
and a killed run that resumes to the same weights."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import ROOT, run_cmd

from xcrl_cli.cli import main
from xcrl_cli.io import read_jsonl
from xcrl_cli.training.batches import encode, length_grouped_batches
from xcrl_cli.training.selection import load_weights
from xcrl_cli.training.tokens import load_eval_set, load_train_set

TASK = "sentiment"
TINY = {
    "data": {"tasks": [TASK]},
    # one draw for every seed: these tests are about training, not about replicates (test_pipeline has those)
    "benchmark": {"train_size": 64, "dev_size": 16, "test_size": 24, "corpus_size": 150, "draw_per_seed": False},
    "model": {"inv_dim": 16, "spe_dim": 16, "task_dim": 16, "head_hidden": 32},
    "train": {"seeds": [0], "epochs": 2, "batch_size": 16, "eval_every": 2, "checkpoint_every": 2, "max_length": 32},
    "sweep": {"tasks": {"task": [TASK]}},  # the sweep's tasks are among data.tasks
}


def _params(root: Path, encoder: Path, model: dict | None = None, **train) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    params["model"].update(encoder=str(encoder), **(model or {}))
    params["train"].update(train)
    path = root / f"params-{len(list(root.glob('params-*')))}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _xcrl(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory, tiny_encoder) -> Path:
    """raw, pairs and tokens of one tiny embedded task, and an encoder copy without dropout (so 1 and 2 processes
    can be compared step by step: dropout masks depend on how the batch is split)."""
    root = tmp_path_factory.mktemp("task")
    encoder = root / "encoder"
    shutil.copytree(tiny_encoder, encoder)
    config = json.loads((encoder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (encoder / "config.json").write_text(json.dumps(config))
    params = str(_params(root, encoder))
    _xcrl("download", "--params", params, "--out", str(root / "raw"))
    _xcrl("pairs", "--params", params, "--raw", str(root / "raw"), "--out", str(root / "pairs"),
          "--metrics", str(root / "pairs.json"))
    _xcrl("tokenise", "--params", params, "--raw", str(root / "raw"), "--pairs", str(root / "pairs"),
          "--out", str(root / "tokens"))
    return root


def _lang_index(root: Path) -> dict[str, int]:
    return {lang: i for i, lang in enumerate(json.loads((root / "raw" / "meta.json").read_text())["languages"])}


def test_tokenised_dataset_holds_what_the_tokenizer_gives_and_is_byte_identical_when_rebuilt(task_dir, tmp_path):
    from transformers import AutoTokenizer

    lang_index = _lang_index(task_dir)
    data = load_train_set(task_dir / "tokens" / TASK, lang_index)
    rows = read_jsonl(task_dir / "pairs" / TASK / "train.jsonl")
    tok = AutoTokenizer.from_pretrained(task_dir / "encoder")
    for name, enc in [("src", data.src), ("cf", data.cf)]:
        expected = encode(tok, [r if name == "src" else r["counterfactual"] for r in rows], lang_index, 32)
        assert np.array_equal(enc.flat, expected.flat) and np.array_equal(enc.offsets, expected.offsets)
        assert np.array_equal(enc.langs, expected.langs)
    assert data.ids == [r["id"] for r in rows] and data.labels.tolist() == [r["label"] for r in rows]
    test, ids, labels = load_eval_set(task_dir / "tokens" / TASK, "test", lang_index)
    test_rows = read_jsonl(task_dir / "raw" / TASK / "test.jsonl")
    assert len(test) == len(labels) == len(test_rows) and ids == [r["id"] for r in test_rows]

    params = str(_params(tmp_path, task_dir / "encoder"))
    _xcrl("tokenise", "--params", params, "--raw", str(task_dir / "raw"), "--pairs", str(task_dir / "pairs"),
          "--out", str(tmp_path / "again"))
    for path in sorted((task_dir / "tokens").rglob("*")):
        twin = tmp_path / "again" / path.relative_to(task_dir / "tokens")
        assert path.is_dir() or path.read_bytes() == twin.read_bytes(), path


def test_length_grouped_batches_cover_every_example_once_and_pad_little():
    lengths = np.random.default_rng(0).integers(5, 120, size=1000)
    grouped = length_grouped_batches(lengths, 32, torch.Generator().manual_seed(1), group=50)
    plain = length_grouped_batches(lengths, 32, torch.Generator().manual_seed(1), group=1)
    for batches in (grouped, plain):
        assert sorted(i for b in batches for i in b) == list(range(1000))

    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches)

    assert lengths.sum() / padded(grouped) > 0.95
    assert lengths.sum() / padded(plain) < 0.7
    assert grouped == length_grouped_batches(lengths, 32, torch.Generator().manual_seed(1), group=50)
    assert grouped != length_grouped_batches(lengths, 32, torch.Generator().manual_seed(2), group=50)


def test_gradient_accumulation_over_two_half_batches_equals_one_full_batch(task_dir, params):
    """ERM's loss is a per-example mean, so 2 × 8 examples accumulated must give the gradient of 16 at once."""
    from xcrl_cli.model.losses import needed_segments
    from xcrl_cli.model.model import build_model
    from xcrl_cli.training.train import make_accelerator, optimisation_step

    data = load_train_set(task_dir / "tokens" / TASK, _lang_index(task_dir))
    variant = params.variant("erm")
    index = list(range(16))
    grads = []
    for batches in ([index], [index[:8], index[8:]]):
        torch.manual_seed(0)
        model = build_model(params.model, variant, 3, 7, encoder_path=str(task_dir / "encoder"))
        model.dropout.p = 0.0
        acc = make_accelerator(params.train)
        prepared = acc.prepare(model)
        optimisation_step(acc, prepared, params, variant, data, batches, needed_segments(variant),
                          model.encoder.config.pad_token_id, 0.0)
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
        acc.free_memory()
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_side_by_side_runs_jobs_in_worker_processes_returns_their_results_and_reports_failures(tmp_path):
    from xcrl_cli.training.workers import cpu_workers, run_pool

    def pid(name: str) -> int:
        (tmp_path / name).write_text(name)
        return os.getpid()

    pids = run_pool([functools.partial(pid, n) for n in "abcd"], cpu_workers(2))
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers, each serving two jobs

    def fail() -> None:
        raise ValueError("seed 1 diverged")

    with pytest.raises(RuntimeError, match=r"1 of 2 runs failed \(job 2\); 0 not started"):
        run_pool([lambda: pid("d"), fail], cpu_workers(2))
    with pytest.raises(RuntimeError, match=r"1 of 3 runs failed \(job 1\); 2 not started"):
        run_pool([fail, lambda: pid("e"), lambda: pid("f")], cpu_workers(1))
    assert not (tmp_path / "e").exists() and not (tmp_path / "f").exists()
    with pytest.raises(RuntimeError, match=r"\(job 1: its process died with exit code 3\)"):
        run_pool([lambda: os._exit(3)], cpu_workers(1))


def test_a_worker_freezes_what_it_holds_between_jobs_so_a_run_s_full_collection_skips_it():
    import gc

    from xcrl_cli.training.workers import cpu_workers, run_pool

    kept = []

    def hold_and_count() -> tuple[int, int]:
        kept.append([[i] for i in range(1000)])  # 1001 lists (gc-tracked) kept between jobs, as modules are
        return gc.get_freeze_count(), len(kept)

    (first, _), (second, n) = run_pool([hold_and_count, hold_and_count], cpu_workers(1))
    assert n == 2 and second >= first + 1000


WORKER_THREADS = """
import torch
from threadpoolctl import threadpool_info
from xcrl_cli.training.workers import cpu_workers, run_pool

def loaded_late():
    import scipy.optimize  # noqa: F401  (not imported before the fork: its OpenBLAS loads in the worker)
    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}

torch.set_num_threads(2)
print([sorted(set(pools.values())) for pools in run_pool([loaded_late, loaded_late], cpu_workers(2))])
"""


def test_thread_pools_a_job_loads_after_the_fork_get_the_worker_s_share_too():
    """Two workers on 2 threads: one thread each, in the BLAS a job loads itself as in those loaded before."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", WORKER_THREADS], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[[1], [1]]"


def test_side_by_side_starts_the_next_job_as_soon_as_a_slot_frees(tmp_path):
    """One long job and three short ones on 2 workers: the short ones run one after another beside the long one
    (in waves of 2, job 3 would wait for the long job 1 to end)."""
    from xcrl_cli.training.workers import cpu_workers, run_pool

    def job(name: str, seconds: float) -> None:
        (tmp_path / f"{name}.start").write_text(repr(time.time()))
        time.sleep(seconds)
        (tmp_path / f"{name}.end").write_text(repr(time.time()))

    run_pool([functools.partial(job, "long", 1.5)] + [functools.partial(job, f"short{i}", 0.1)
                                                              for i in range(3)], cpu_workers(2))
    stamp = {f.name: float(f.read_text()) for f in tmp_path.iterdir()}
    assert stamp["short2.end"] < stamp["long.end"], stamp
    assert stamp["short0.end"] <= stamp["short1.start"] and stamp["short1.end"] <= stamp["short2.start"]


def _losses(live: Path) -> list[float]:
    lines = (live / "plots" / "metrics" / "train" / "loss.tsv").read_text().splitlines()
    return [float(line.split("\t")[-1]) for line in lines[1:]]


RUN = Path("proposed", TASK)  # where _train_args's run lands under --out, --live and --checkpoints


def _weights(root: Path, run: Path = RUN, seed: int = 0) -> dict[str, torch.Tensor]:
    return load_weights(root / "model" / run / f"seed{seed}" / "model.safetensors")


def _train_args(task_dir: Path, params: Path, out: Path) -> list[str]:
    return ["train", "--params", str(params), "--task", TASK, "--variant", "proposed", "--raw",
            str(task_dir / "raw"), "--tokens", str(task_dir / "tokens"), "--out", str(out / "model"),
            "--live", str(out / "live"), "--checkpoints", str(out / "ckpt")]


def test_two_processes_under_accelerate_follow_the_one_process_loss_trajectory(task_dir, tmp_path):
    """2 CPU processes (gloo) × 8 examples against 1 process × 16: same global batches, same losses, step by step —
    the batch-level terms (CORAL alignment, InfoNCE) included, since the loss is computed on the gathered batch."""
    params = _params(tmp_path, task_dir / "encoder", {"dropout": 0.0}, batch_size=16, checkpoint_every=0)
    xcrl = [sys.executable, "-m", "xcrl_cli"]
    run_cmd(xcrl + _train_args(task_dir, params, tmp_path / "one"), tmp_path)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "xcrl_cli"]
    done = run_cmd(launch + _train_args(task_dir, params, tmp_path / "two"), tmp_path, CUDA_VISIBLE_DEVICES="")
    assert "2 process(es)" in done.stdout
    one, two = _losses(tmp_path / "one" / "live" / RUN / "seed0"), _losses(tmp_path / "two" / "live" / RUN / "seed0")
    assert len(one) == len(two) == 8
    print(f"\n1 process: {np.round(one, 6).tolist()}\n2 processes: {np.round(two, 6).tolist()}\n"
          f"max |difference|: {np.abs(np.subtract(one, two)).max():.2e}")
    assert np.allclose(one, two, rtol=1e-4, atol=1e-5), (one, two)
    assert one[0] != one[-1]


def test_one_command_trains_every_variant_and_seed_side_by_side(task_dir, tmp_path):
    """Two variants × two seeds on 2 workers: <variant>/<task>/seed<N>/ under --out and --live, a summary per
    variant and task, the checkpoints gone."""
    params = _params(tmp_path, task_dir / "encoder", epochs=1, workers=2)
    args = _train_args(task_dir, params, tmp_path)
    args[args.index("proposed")] = "erm"
    out = _xcrl(*args, "--variant", "proposed", "--seed", "0", "--seed", "1")
    assert [line.split(":")[0] for line in out.splitlines() if "source-dev accuracy" in line] == [
        f"{TASK}/{v}/seed{s}" for v in ("erm", "proposed") for s in (0, 1)]
    for variant in ("erm", "proposed"):
        run = Path(variant, TASK)
        summary = json.loads((tmp_path / "model" / run / "summary.json").read_text())
        assert [(r["variant"], r["task"], r["seed"]) for r in summary] == [(variant, TASK, 0), (variant, TASK, 1)]
        for seed in (0, 1):
            assert (tmp_path / "model" / run / f"seed{seed}" / "model.safetensors").exists()
            assert _losses(tmp_path / "live" / run / f"seed{seed}")
        assert _weights(tmp_path, run, 0).keys() == _weights(tmp_path, run, 1).keys()
        assert not all(torch.equal(a, b) for a, b in zip(_weights(tmp_path, run, 0).values(),
                                                          _weights(tmp_path, run, 1).values()))
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["erm", "proposed"]
    assert not (tmp_path / "ckpt").exists()


def test_a_task_s_own_epochs_replace_train_epochs_for_that_task_only(task_dir, tmp_path):
    """train.task_epochs: sentiment trains 3 passes of its 64 examples (4 steps of 16 each), the 1 of train.epochs
    left to the tasks it does not name."""
    params = _params(tmp_path, task_dir / "encoder", epochs=1, checkpoint_every=0, task_epochs={TASK: 3, "xnli": 5})
    args = _train_args(task_dir, params, tmp_path)
    args[args.index("proposed")] = "erm"
    _xcrl(*args)
    summary = json.loads((tmp_path / "model" / "erm" / TASK / "summary.json").read_text())
    assert summary[0]["steps"] == 3 * 4


def test_a_task_whose_dataset_is_absent_gets_its_not_run_marker_for_every_variant(task_dir, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(task_dir / "raw", raw)
    meta = json.loads((raw / "meta.json").read_text())
    meta["tasks"][TASK] = {"available": False, "reason": "its licensed text is not here"}
    (raw / "meta.json").write_text(json.dumps(meta))
    args = _train_args(task_dir, _params(tmp_path, task_dir / "encoder"), tmp_path)
    args[args.index("--raw") + 1] = str(raw)
    out = _xcrl(*args, "--variant", "erm")
    assert f"{TASK}/erm: not run, its dataset is absent" in out
    for root in ("model", "live"):
        for variant in ("proposed", "erm"):
            folder = tmp_path / root / variant / TASK
            assert [p.name for p in folder.iterdir()] == ["not_run.json"]
            assert json.loads((folder / "not_run.json").read_text())["reason"] == "its licensed text is not here"


def test_evaluate_without_a_variant_evaluates_every_variant_of_the_params(task_dir, tmp_path):
    from xcrl_cli.data.raw import write_not_run

    """(Each with its task's "not run" marker: no run to load, only the folder per variant to write.)"""
    params = _params(tmp_path, task_dir / "encoder")
    variants = list(yaml.safe_load(params.read_text())["variants"])
    assert len(variants) > 2
    for variant in variants:
        write_not_run(tmp_path / "model" / variant / TASK, "its licensed text is not here")
    out = _xcrl("evaluate", "--params", str(params), "--models", str(tmp_path / "model"), "--raw",
                str(task_dir / "raw"), "--tokens", str(task_dir / "tokens"), "--out", str(tmp_path / "eval"))
    assert out.splitlines() == [f"evaluated 0 runs of {v} -> {tmp_path / 'eval' / v}" for v in variants]
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == sorted(variants)


def test_per_cue_trains_and_evaluates_every_cue_strengths_benchmark_in_one_process(task_dir, tmp_path):
    """--per-cue: the folder options are parents of one cue<strength>/ per sweep.cue_strengths, and each cue's runs
    read their own benchmark (the second one here has half the training and two thirds of the test examples)."""
    params = _params(tmp_path, task_dir / "encoder", epochs=1, workers=2, checkpoint_every=0)
    raw = yaml.safe_load(params.read_text())
    raw["sweep"]["cue_strengths"] = [0.0, 0.99]
    raw["benchmark"].update(train_size=32, test_size=16, parallel_size=400, retrieval_size=50)
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    sweep = tmp_path / "sweep"
    for kind in ("raw", "tokens"):
        (sweep / kind).mkdir(parents=True)
        (sweep / kind / "cue0.0").symlink_to(task_dir / kind)
    cue = {kind: str(sweep / kind / "cue0.99") for kind in ("raw", "tokens")}
    _xcrl("download", "--params", str(params), "--cue-strength", "0.99", "--out", cue["raw"])
    _xcrl("pairs", "--params", str(params), "--raw", cue["raw"], "--out", str(tmp_path / "pairs"), "--metrics",
          str(tmp_path / "pairs.json"))
    _xcrl("tokenise", "--params", str(params), "--raw", cue["raw"], "--pairs", str(tmp_path / "pairs"), "--out",
          cue["tokens"])
    folders = ["--raw", str(sweep / "raw"), "--tokens", str(sweep / "tokens")]
    _xcrl("train", "--params", str(params), "--per-cue", *folders, "--out", str(sweep / "models"), "--live",
          str(sweep / "live"), "--checkpoints", str(sweep / "ckpt"))
    _xcrl("evaluate", "--params", str(params), "--per-cue", "--variant", "proposed", *folders, "--models",
          str(sweep / "models"), "--out", str(sweep / "eval"))
    steps, predicted = {}, {}
    for strength in ("0.0", "0.99"):
        summary = json.loads((sweep / "models" / f"cue{strength}" / RUN / "summary.json").read_text())
        steps[strength] = summary[0]["steps"]
        test_ids = [r["id"] for r in read_jsonl(sweep / "raw" / f"cue{strength}" / TASK / "test.jsonl")]
        predicted[strength] = [r["id"] for r in read_jsonl(sweep / "eval" / f"cue{strength}" / "proposed" /
                                                           "predictions.jsonl")]
        assert predicted[strength] == test_ids
    assert steps == {"0.0": 4, "0.99": 2}
    assert len(predicted["0.99"]) == len(predicted["0.0"]) * 2 // 3


@pytest.mark.reliability
def test_a_non_finite_loss_stops_the_run_naming_step_terms_and_batch_and_keeps_the_checkpoint(task_dir, tmp_path):
    params = _params(tmp_path, task_dir / "encoder", lr=1e30, checkpoint_every=1)
    done = run_cmd([sys.executable, "-m", "xcrl_cli", *_train_args(task_dir, params, tmp_path / "run")], tmp_path,
                   ok=False)
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    assert "train sentiment/proposed/seed0 step" in message and "non-finite loss, terms [" in message
    assert "batch ids: sentiment-train-" in message and str(tmp_path / "run" / "ckpt" / RUN / "seed0") in message
    state = torch.load(tmp_path / "run" / "ckpt" / RUN / "seed0" / "train_state.pt", weights_only=False)
    assert f"step {state['step']} " in message  # the checkpoint holds the last step that finished
    assert not (tmp_path / "run" / "model" / RUN).exists()


@pytest.mark.reliability
def test_a_killed_run_resumes_from_its_checkpoint_to_the_same_weights(task_dir, tmp_path):
    """SIGKILL after the first checkpoint, start again: the weights, the selected step and the logged losses equal
    those of a run never stopped (dropout on: the RNG states come back from the checkpoint too)."""
    params = _params(tmp_path, task_dir / "encoder", {"dropout": 0.3}, epochs=12, checkpoint_every=3)
    xcrl = [sys.executable, "-m", "xcrl_cli"]
    run_cmd(xcrl + _train_args(task_dir, params, tmp_path / "whole"), tmp_path)

    killed = tmp_path / "killed"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(xcrl + _train_args(task_dir, params, killed), cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = killed / "ckpt" / RUN / "seed0" / "fingerprint"
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(killed / "ckpt" / RUN / "seed0" / "train_state.pt", weights_only=False)
    assert 0 < state["step"] < 48, "the kill must land mid-run"
    print(f"\nkilled after checkpoint step {state['step']} of 48")
    assert not (killed / "model" / RUN).exists()  # nothing half-written where DVC looks

    done = run_cmd(xcrl + _train_args(task_dir, params, killed), tmp_path)
    assert "step" in done.stdout
    whole, resumed = _weights(tmp_path / "whole"), _weights(killed)
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    print(f"resumed: {len(whole)} tensors, {sum(v.numel() for v in whole.values()):,} weights, all equal")
    summary = [json.loads((run / "model" / RUN / "summary.json").read_text()) for run in (tmp_path / "whole", killed)]
    assert summary[0] == summary[1]
    assert _losses(tmp_path / "whole" / "live" / RUN / "seed0") == _losses(killed / "live" / RUN / "seed0")
    assert not (killed / "ckpt").exists()


def test_embeddings_encoder_and_heads_each_move_at_their_own_scaled_learning_rate(task_dir, params):
    """AdamW's first step moves every coordinate by about its group's lr, so after one step the word embeddings'
    largest change is `lr × encoder_lr_scale × embedding_lr_scale`, the rest of the encoder's `lr × encoder_lr_scale`
    and the heads' `lr`."""
    from dataclasses import replace

    from xcrl_cli.model.model import build_model
    from xcrl_cli.training.train import parameter_groups

    tcfg = replace(params.train, lr=0.01, encoder_lr_scale=0.25, embedding_lr_scale=0.5, weight_decay=0.0)
    torch.manual_seed(0)
    model = build_model(params.model, params.variant("proposed"), 3, 7, encoder_path=str(task_dir / "encoder"))
    groups = parameter_groups(model, tcfg)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(groups, lr=tcfg.lr, weight_decay=0.0)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    moved = {name: (p.detach() - before[name]).abs().max().item() for name, p in model.named_parameters()}
    embeddings = moved.pop("encoder.embeddings.word_embeddings.weight")
    encoder = max(v for k, v in moved.items() if k.startswith("encoder."))
    heads = max(v for k, v in moved.items() if not k.startswith("encoder."))
    assert embeddings == pytest.approx(0.00125, rel=1e-3)
    assert encoder == pytest.approx(0.0025, rel=1e-3) and heads == pytest.approx(0.01, rel=1e-3)
def test_logging_every_few_steps_logs_fewer_points_and_changes_no_weight(task_dir, tmp_path):
    runs = {}
    for log_every in (1, 3):
        params = _params(tmp_path, task_dir / "encoder", log_every=log_every, eval_every=4, checkpoint_every=0,
                         epochs=1)
        _xcrl(*_train_args(task_dir, params, tmp_path / f"log{log_every}"))
        runs[log_every] = (_weights(tmp_path / f"log{log_every}"), _losses(tmp_path / f"log{log_every}" / "live" /
                                                                             RUN / "seed0"))
    (every, every_loss), (few, few_loss) = runs[1], runs[3]
    assert every.keys() == few.keys() and all(torch.equal(every[k], few[k]) for k in every)
    assert len(few_loss) < len(every_loss) and set(few_loss) <= set(every_loss)


def test_the_oracle_weights_file_is_written_only_when_it_chose_another_step(tmp_path):
    from xcrl_cli.training.selection import selected_weights, weights_files
    from xcrl_cli.training.train import save_run

    w = {"a": torch.ones(2)}
    for oracle_step, files in ((5, ["model.safetensors"]), (7, ["model.safetensors", "model_target_dev.safetensors"])):
        best = {"source_dev": {"step": 5, "weights": w}, "target_dev": {"step": oracle_step, "weights": {
            "a": torch.zeros(2)}}}
        run = tmp_path / f"run{oracle_step}"
        summary = {"selection": {c: {"step": b["step"]} for c, b in best.items()}}
        save_run(run, weights_files(best), {}, summary)
        assert sorted(p.name for p in run.glob("*.safetensors")) == files
        assert selected_weights(run, "target_dev").name == files[-1]
        assert torch.equal(load_weights(selected_weights(run, "target_dev"))["a"], best[
            "target_dev" if oracle_step == 7 else "source_dev"]["weights"]["a"])


def _evaluate(task_dir: Path, params: Path, out: Path) -> Path:
    _xcrl("evaluate", "--params", str(params), "--variant", "proposed", "--models", str(out / "model"),
          "--raw", str(task_dir / "raw"), "--tokens", str(task_dir / "tokens"), "--out", str(out / "eval"))
    return out / "eval" / "proposed"


def test_weights_saved_in_bf16_are_the_fp32_ones_rounded_and_load_into_fp32_parameters(tmp_path):
    from safetensors import safe_open

    from xcrl_cli.training.train import SAVE_DTYPES, save_run

    model = torch.nn.Linear(4, 3)
    model.register_buffer("ids", torch.arange(3))  # integer tensors keep their dtype
    fp32 = {k: v.clone() for k, v in model.state_dict().items()}
    save_run(tmp_path / "run", {"model.safetensors": fp32}, {}, {}, SAVE_DTYPES["bf16"])
    with safe_open(str(tmp_path / "run" / "model.safetensors"), "pt") as f:
        assert {k: f.get_slice(k).get_dtype() for k in f.keys()} == {"weight": "BF16", "bias": "BF16", "ids": "I64"}
    model.load_state_dict(load_weights(tmp_path / "run" / "model.safetensors"))
    assert model.weight.dtype == torch.float32
    for k, v in model.state_dict().items():
        assert torch.equal(v, fp32[k].to(torch.bfloat16).to(v.dtype))
    assert not torch.equal(model.weight, fp32["weight"])  # rounded: a value of 4·3 random weights needs > 8 bits


def test_a_bf16_run_without_oracle_weights_evaluates_and_its_selection_table_says_not_stored(task_dir, tmp_path):
    from xcrl_cli.config import SignificanceParams
    from xcrl_cli.evaluation.chance import GoldLabels
    from xcrl_cli.report.cells import ReportConfig
    from xcrl_cli.report.evidence import EvidenceInputs, selection

    params = _params(tmp_path, task_dir / "encoder", epochs=1, checkpoint_every=0, oracle_weights=False,
                     save_precision="bf16")
    _xcrl(*_train_args(task_dir, params, tmp_path))
    run = tmp_path / "model" / RUN / "seed0"
    assert sorted(p.name for p in run.glob("*.safetensors")) == ["model.safetensors"]
    assert {v.dtype for v in _weights(tmp_path).values()} == {torch.bfloat16}
    oracle = json.loads((run / "summary.json").read_text())["selection"]["target_dev"]
    assert oracle["stored"] is False and oracle["step"] > 0
    eval_dir = _evaluate(task_dir, params, tmp_path)
    assert (eval_dir / "scores_target_dev.csv").read_text().splitlines() == ["variant,task,seed,lang,metric,value"]
    assert (eval_dir / "oracle_not_stored.csv").read_text().splitlines() == ["variant,task,seed", f"proposed,{TASK},0"]
    out = tmp_path / "report"
    out.mkdir()
    for name in ("scores.csv", "scores_target_dev.csv"):
        shutil.copy(eval_dir / name, out / name)
    cfg = ReportConfig(source_lang="en", targets=["de", "fr"], low_resource=[], task_metric={TASK: "accuracy"},
                       tables={"table2": ["proposed"]}, figure3=[], paper_rows={}, encoder_label="tiny",
                       variant_labels={}, table4_space=[])
    inputs = EvidenceInputs(eval_dir=tmp_path / "eval", sweep={}, sweep_tasks=[], sweep_variants=[],
                            n_labels={TASK: 3}, significance=SignificanceParams(), labels=GoldLabels({}, {TASK: 3}))
    text, gains = selection(inputs, cfg, out)
    row = next(line for line in text.splitlines() if line.startswith("| proposed"))
    assert row.count("/ not stored") == 2 and "not run" not in row  # the task and the average
    assert "the runs kept only their source-dev weights" in text and gains == {}


def test_without_keeping_finished_checkpoints_a_runs_checkpoint_goes_once_its_weights_are_written(task_dir, tmp_path,
                                                                                                     monkeypatch):
    import xcrl_cli.training.train as train

    seen = {}

    def spy(params, spec, accelerator, log=None):
        seen[spec.seed] = sorted(p.name for p in spec.checkpoint_dir.parent.glob("seed*"))
        return real(params, spec, accelerator, log)

    real = train.train_run
    monkeypatch.setattr(train, "train_run", spy)
    params = _params(tmp_path, task_dir / "encoder", epochs=1, checkpoint_every=2, workers=1,
                     keep_finished_checkpoints=False)
    _xcrl(*_train_args(task_dir, params, tmp_path), "--seed", "0", "--seed", "1")
    assert seen == {0: [], 1: []}  # kept, seed 0's would still be there when seed 1 starts
    assert not (tmp_path / "ckpt").exists()


def test_save_precision_is_one_of_fp32_and_bf16():
    from xcrl_cli.config import ConfigError, parse_params

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train"]["save_precision"] = "fp16"
    with pytest.raises(ConfigError, match=r"train.save_precision.*'fp16'.*bf16"):
        parse_params(raw)
