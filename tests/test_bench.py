"""`xcrl bench --encoder-config`: a random encoder from a config alone (no download), and the device script's
CPU path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.training.bench import encoder_config
from xcrl_cli.cli import main


def test_a_named_config_is_the_published_xlm_roberta_base_shape():
    config = encoder_config("xlm-roberta-base")
    assert (config.model_type, config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size, config.vocab_size, config.max_position_embeddings,
            config.type_vocab_size) == ("xlm-roberta", 768, 12, 12, 3072, 250002, 514, 1)


def test_bench_builds_a_random_encoder_from_a_config_json_and_prints_mfu_as_na_on_cpu(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "vocab_size": 100, "max_position_embeddings": 64}))
    result = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--encoder-config",
                                       str(tmp_path), "--steps", "1", "--batch-size", "2",
                                       "--seq-len", "8"])
    assert result.exit_code == 0, result.output
    assert f"encoder random {tmp_path} (4,912 parameters)" in result.output
    assert "median of 1 steps each" in result.output  # nothing interleaved, so one round whatever --rounds says
    assert "MFU proposed: n/a" in result.output and "MFU erm: n/a" in result.output
    # only what MFU needs, one model at a time: a 278M-parameter encoder is not built four times over
    lines = result.output.splitlines()
    assert [line.split(" in ")[0] for line in lines if line.startswith(("building", "measured"))] == [
        "building full", "measured full", "building erm", "measured erm"]
    assert not any(line.split()[:1] in (["encoder"], ["hf"]) for line in lines) and "ratio" not in result.output
    bad = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--encoder-config", "nope"])
    assert bad.exit_code == 2 and "neither a known config" in bad.output


def test_gpu_check_skips_every_check_without_cuda():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": "",
                               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0 and "no CUDA device visible; skipped" in done.stdout


def test_bench_on_a_fresh_clone_times_a_random_encoder_of_the_pretrain_shape_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/encoder here, as before `dvc repro pretrain`
    result = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--steps", "1", "--rounds", "1",
                                       "--batch-size", "2", "--seq-len", "8"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "randomly initialised" in line]
    assert notes == ["data/encoder is absent (`dvc repro pretrain` writes it): timing a randomly initialised encoder "
                     "built from the pretrain: params (scratch, 2 layers, hidden 64)"]
    assert "encoder random pretrain: params (" in result.output and "ratio erm / hf fine-tuning" in result.output


def test_a_named_encoder_that_cannot_be_loaded_is_one_line_naming_it_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--encoder", "nosuch/model"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output == ("Error: encoder 'nosuch/model' cannot be loaded (no such folder, and not in the Hugging "
                             "Face cache (HF_HUB_OFFLINE is set)); name a folder holding its config.json, weights and "
                             "tokenizer (`xcrl pretrain` writes data/encoder) or a Hub model, downloaded once with "
                             "network (`hf download nosuch/model`)\n")


def test_an_encoder_the_hub_does_not_serve_fails_on_the_probe_not_after_retries(monkeypatch):
    """Online, the Hub is asked once with a short timeout before transformers would retry it."""
    from huggingface_hub import HfApi

    from xcrl_cli.config import ConfigError
    from xcrl_cli.data.corpora.hub import encoder_config

    asked = []

    def not_served(self, repo_id, timeout=None):
        asked.append((repo_id, timeout))
        raise ConnectionError("unreachable")

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(HfApi, "model_info", not_served)
    with pytest.raises(ConfigError, match=r"the Hub does not serve it: ConnectionError\); name a folder"):
        encoder_config("nosuch/model")
    assert asked == [("nosuch/model", 10.0)]


def test_runs_sharing_the_device_are_timed_by_the_slowest_and_their_mfu_is_6_p_tokens_over_peak():
    from xcrl_cli.training.sharing import RunTiming, summarise

    # two runs of 96 sequences × 128 tokens a step, 5 steps in 2.0 s and 2.5 s, a 100-parameter encoder, peak 1e6
    timings = [RunTiming(96, 128, 2.0, 3_000_000_000, 100, 1e6), RunTiming(96, 128, 2.5, 4_000_000_000, 100, 1e6)]
    r = summarise(timings, compiled=True, steps=5)
    assert r.sequences_per_s == pytest.approx(2 * 96 * 5 / 2.5)  # 384: the slowest run's time counts
    assert r.mfu == pytest.approx(6 * 100 * 384 * 128 / 1e6)  # 29.49
    assert (r.runs, r.compiled, r.peak_memory_gb, r.seconds_per_step) == (2, True, 4.0, 0.5)
    assert summarise(timings[:1], compiled=False, steps=5).mfu == pytest.approx(6 * 100 * 240 * 128 / 1e6)
    assert summarise([RunTiming(96, 128, 2.0, 1, 100, None)], False, 5).mfu is None  # CPU: no known peak


def test_bench_share_runs_n_processes_at_once_and_writes_what_the_plan_reads(tmp_path):
    """1 and 2 processes each training the full model (Proposed: x, its pair and its counterfactual, 3 × 2
    sequences a step) on a random 1-layer encoder; the plan reads the best row's throughput."""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "vocab_size": 100, "max_position_embeddings": 64}))
    out = tmp_path / "share.json"
    result = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--encoder-config",
                                       str(tmp_path), "--steps", "2", "--batch-size", "2", "--seq-len", "8",
                                       "--share", "1", "--share", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["sharing"]
    assert [(r["runs"], r["compiled"], r["mfu"]) for r in rows] == [(1, False, None), (2, False, None)]
    for r in rows:  # every run steps 6 sequences; together runs × 6 per (slowest) step time
        assert r["sequences_per_s"] * r["seconds_per_step"] == pytest.approx(r["runs"] * 6)
        assert r["peak_memory_gb"] > 0
    lines = [line.split() for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert [line[:2] for line in lines] == [["1", "off"], ["2", "off"]] and lines[1][3].endswith("x")
    best = max(r["sequences_per_s"] for r in rows)
    plan = CliRunner().invoke(main, ["preset", "paper", "--plan", "--params", str(ROOT / "params.yaml"),
                                     "--throughput", str(out)], terminal_width=200)
    passes = int(plan.output.split("sequence passes: ")[1].split(" ")[0].replace(",", ""))
    assert f"GPU-hours: {passes / best / 3600:,.1f} at " in plan.output
    assert "sequences/s measured by `xcrl bench` on cpu" in " ".join(plan.output.split())
