"""`xcrl bench --encoder-config`: a random encoder from a config alone (no download), and the device script's
CPU path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
