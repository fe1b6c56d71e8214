"""`xcrl preset NAME --plan`: runs, sequence passes, disk and GPU-hours, checked against a hand computation."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.cli import main
from xcrl_cli.config import ConfigError, load_yaml, parse_params, presets
from xcrl_cli.training.plan import make_plan, read_throughput


def _tiny_params(**train):
    raw = load_yaml((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["data"] |= {"source": "real", "tasks": ["xnli", "sentiment"]}
    raw["benchmark"]["train_size"] = 10
    raw["pretrain"] |= {"init": "scratch", "vocab_size": 100, "hidden_size": 8, "num_layers": 1, "num_heads": 2,
                        "intermediate_size": 16, "max_length": 30}
    raw["train"] |= {"seeds": [0, 1], "epochs": 2, "task_epochs": {}, "max_length": 30, **train}
    raw["variants"] = {k: raw["variants"][k] for k in ("erm", "contrastive")}
    raw["sweep"] |= {"cue_strengths": [0.9], "tasks": {"task": ["sentiment"]}, "variants": {"variant": ["contrastive"]}}
    raw["report"]["tables"] = {"table2": ["erm", "contrastive"], "table3": ["contrastive"], "table4": ["erm"]}
    raw["report"]["figure3"] = ["erm"]
    raw["report"]["significance"]["reference"] = "contrastive"
    return parse_params(raw, "tiny")


def test_the_plan_matches_a_hand_computation():
    plan = make_plan(_tiny_params(), "1000")
    # encoder: embeddings 100·8 + 32·8 (positions: max_length + 2) + 1·8 + LayerNorm 2·8 = 1080; one layer:
    # Q, K, V, O 4·(8·8 + 8) + LayerNorm 16 + FFN (8·16 + 16) + (16·8 + 8) + LayerNorm 16 = 600
    encoder = 1080 + 600
    real, embedded = encoder + 8 * 3 + 3, encoder + 8 * 2 + 2  # the classifier on h: 3 labels; 2 in the embedded
    # benchmark's sentiment
    # per example: x; contrastive adds the pair, and sentiment (no translations) its corpus source side; the sweep's
    # embedded benchmark translates every task
    passes = (2 * 392_702 * 2 * 1 + 2 * 1_839 * 2 * 1 + 2 * 392_702 * 2 * 2 + 2 * 1_839 * 2 * 3 + 2 * 10 * 2 * 2)
    assert plan.runs == 2 * 2 * 2 + 1 * 1 * 2
    assert plan.sequence_passes == passes == 4_741_928
    assert plan.weights_bytes == (8 * real + 2 * embedded) * 4 * 2
    # the train stage's 8 runs (one stage for every variant), + the next checkpoint written beside one, 5 fp32
    # copies each
    assert plan.checkpoint_bytes == (8 + 1) * real * 4 * 5
    assert plan.encoder_bytes == encoder * 4
    assert plan.total_bytes == 136_416 + 307_260 + 6_720
    assert plan.gpu_hours == pytest.approx(passes / 1000 / 3600)


def test_a_task_s_own_epochs_scale_only_that_task_s_passes():
    xnli = 2 * 392_702 * 2 * 1 + 2 * 392_702 * 2 * 2  # the hand computation's XNLI terms at 2 epochs: ERM, contrastive
    plain = make_plan(_tiny_params(), "1000").sequence_passes
    assert make_plan(_tiny_params(task_epochs={"xnli": 4}), "1000").sequence_passes == plain + xnli


@pytest.mark.parametrize(("train", "weights", "checkpoints"), [
    # bf16 files: 2 bytes a parameter, 2 files a run
    ({"save_precision": "bf16"}, (8 * 1707 + 2 * 1698) * 2 * 2, (8 + 1) * 1707 * 4 * 5),
    # no oracle: 1 file a run, and a checkpoint holds 4 fp32 copies (model, 2 moments, one selection's weights)
    ({"oracle_weights": False}, (8 * 1707 + 2 * 1698) * 4, (8 + 1) * 1707 * 4 * 4),
    # finished runs' checkpoints removed: the running run's and the next one written beside it
    ({"keep_finished_checkpoints": False}, (8 * 1707 + 2 * 1698) * 4 * 2, 2 * 1707 * 4 * 5),
    ({"checkpoint_every": 0}, (8 * 1707 + 2 * 1698) * 4 * 2, 0),
    ({"save_precision": "bf16", "oracle_weights": False, "keep_finished_checkpoints": False},
     (8 * 1707 + 2 * 1698) * 2, 2 * 1707 * 4 * 4),
])
def test_the_planned_disk_follows_the_saving_params(train, weights, checkpoints):
    plan = make_plan(_tiny_params(**train), "1000")  # 1707 parameters a real run, 1698 an embedded one (above)
    assert (plan.weights_bytes, plan.checkpoint_bytes, plan.encoder_bytes) == (weights, checkpoints, 1680 * 4)


def test_the_plan_says_which_params_set_each_disk_line():
    out = CliRunner().invoke(main, ["preset", "paper", "--plan", "--params", str(ROOT / "params.yaml")],
                             terminal_width=200).output
    lines = out[out.index("disk: "):].splitlines()
    assert lines[1].startswith("  run weights ") and "bf16 safetensors, 1 file per run" in lines[1]
    assert lines[2].strip() == "set by train.save_precision: bf16, train.oracle_weights: false"
    assert lines[4].strip() == ("set by train.keep_finished_checkpoints: false, train.oracle_weights: false, "
                                "train.checkpoint_every: 2000")
    assert float(lines[0].split()[1]) < 100  # GB: the paper preset fits


def test_the_plan_command_reads_the_throughput_bench_writes(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"device": "NVIDIA H200", "train_sequences_per_s": 2000.0}))
    result = CliRunner().invoke(main, ["preset", "paper", "--plan", "--params", str(ROOT / "params.yaml"),
                                       "--throughput", str(bench)], terminal_width=200)
    assert result.exit_code == 0, result.output
    passes = int(result.output.split("sequence passes: ")[1].split(" ")[0].replace(",", ""))
    assert f"GPU-hours: {passes / 2000 / 3600:,.1f} at 2,000 sequences/s measured by `xcrl bench` on NVIDIA H200" \
        in " ".join(result.output.split())
    assert "runs: 138" in result.output  # the paper preset: 10 variants × 4 tasks × 3 seeds + the sweep: 2 × 3 × 3


def test_without_a_measured_throughput_the_plan_states_its_assumption(tmp_path):
    assert read_throughput(None)[1].startswith("assumed 1,500 sequences/s (not measured")
    assert read_throughput("250")[0] == 250.0
    with pytest.raises(ConfigError, match="neither a number nor a JSON"):
        read_throughput(str(tmp_path / "none.json"))


def test_the_wall_time_follows_the_pool_s_schedule_by_hand():
    """The tiny plan's runs (sequence passes each): train 2 × 1,570,808 (contrastive xnli), 2 × 785,404 (erm xnli),
    2 × 11,034 (contrastive sentiment), 2 × 3,678 (erm sentiment); then the sweep's stage, 2 × 40. Longest first,
    each to the worker free first, the stages one after another, at 1,000 sequences/s."""
    plan = make_plan(_tiny_params(), "1000")
    # 2 GPUs: 1,570,808 + 785,404 + 11,034 + 3,678 on each worker; then 40 on each
    assert plan.wall_hours(2, 1) * 3600 * 1000 == pytest.approx(1_570_808 + 785_404 + 11_034 + 3_678 + 40)
    # 4 GPUs: a contrastive xnli run alone on each of two workers outlasts everything the other two take
    assert plan.wall_hours(4, 1) * 3600 * 1000 == pytest.approx(1_570_808 + 40)
    assert plan.wall_hours(1, 1) == pytest.approx(plan.gpu_hours)
    # two runs sharing one GPU each at half its throughput: no faster than one after another (no gain is counted)
    assert plan.wall_hours(1, 2) == pytest.approx(plan.gpu_hours)
    out = CliRunner().invoke(main, ["preset", "paper", "--plan", "--params", str(ROOT / "params.yaml"), "--gpus", "1",
                                    "--gpus", "8"], terminal_width=200).output
    line = " ".join(out[out.index("wall time"):].split())
    hours = make_plan(presets.load(ROOT / "params.yaml", "paper"))
    assert line == (f"wall time, train stages (the run pool's schedule, 1 run(s) per GPU, train.runs_per_gpu): "
                    f"1 GPU {hours.wall_hours(1, 1):,.1f} h; 8 GPUs {hours.wall_hours(8, 1):,.1f} h")
    assert hours.wall_hours(8, 1) < hours.wall_hours(1, 1) / 6  # the paper's matrix spreads over 8 GPUs
