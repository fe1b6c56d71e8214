"""Tokenisation never cuts a sequence silently: what `train.max_length` truncates is counted per split and language."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.cli import main
from xcrl_cli.io import read_jsonl

TASK = "mldoc"


def _xcrl(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_truncated_sequences_are_counted_per_split_and_language_and_cut_as_the_tokenizer_cuts(tiny_encoder, tmp_path):
    from transformers import AutoTokenizer

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["tasks"] = [TASK]
    params["benchmark"].update(train_size=24, dev_size=8, test_size=8, corpus_size=20, draw_per_seed=False)
    params["model"]["encoder"] = str(tiny_encoder)
    params["train"]["max_length"] = 24
    params["sweep"]["tasks"] = {"task": [TASK]}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    raw, pairs, tokens, metrics = (tmp_path / n for n in ("raw", "pairs", "tokens", "tokens.json"))
    _xcrl("download", "--params", str(path), "--out", str(raw))
    _xcrl("pairs", "--params", str(path), "--raw", str(raw), "--out", str(pairs), "--metrics", str(pairs) + ".json")
    done = _xcrl("tokenise", "--params", str(path), "--raw", str(raw), "--pairs", str(pairs), "--out", str(tokens),
                 "--metrics", str(metrics))

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    test_rows = read_jsonl(raw / TASK / "test.jsonl")
    whole = tok([r["text"] for r in test_rows])["input_ids"]
    expected: dict[str, int] = {}
    for row, ids in zip(test_rows, whole):
        if len(ids) > 24:
            expected[row["lang"]] = expected.get(row["lang"], 0) + 1
    counts = json.loads(metrics.read_text())[TASK]
    assert expected and counts["test"] == {"rows": len(test_rows), "truncated": dict(sorted(expected.items()))}
    assert "warning: mldoc/test: train.max_length 24 cut" in done.output

    from datasets import load_from_disk

    stored = load_from_disk(str(Path(tokens) / TASK / "test"))["input_ids"]
    assert stored == tok([r["text"] for r in test_rows], truncation=True, max_length=24)["input_ids"]


def test_a_train_max_length_beyond_the_pretrained_positions_is_refused_naming_both_keys():
    import pytest

    from xcrl_cli.config import ConfigError, load_yaml, parse_params

    raw = load_yaml((ROOT / "params.yaml").read_text())
    raw["train"]["max_length"] = raw["pretrain"]["max_length"] + 1
    with pytest.raises(ConfigError, match=r"train.max_length: .* exceeds pretrain.max_length"):
        parse_params(raw)
