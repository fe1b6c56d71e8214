"""Reliability: a bad params file or bad data is refused before any work with a message naming the key or the file
and line; training guards stop or flag a run that went wrong. (`pytest -m reliability` also collects the loaders'
bad-file tests, the atomicity and resume tests, and the SIGKILL and determinism test of the pipeline.)"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcrl_cli.cli import main
from xcrl_cli.config import RANGES, ConfigError, load_yaml, parse_params
from xcrl_cli.training.guards import collapse_flags

pytestmark = pytest.mark.reliability

BASE = load_yaml((ROOT / "params.yaml").read_text())
# String keys that take one of a fixed set of values (free text such as model.encoder has no wrong value).
CHOICE_KEYS = {"data.source", "data.source_lang", "model.pooling", "model.orth_mode", "model.align_mode",
               "model.grl_schedule", "model.gate_init", "model.distance", "train.device", "train.precision",
               "train.launcher", "train.slurm.cluster"}
NAME_LISTS = {"data.tasks", "data.languages", "data.low_resource", "datasets.optional"}


def _leaves(node, key=""):
    """(dotted key, value) of every scalar and list-of-names in the params mapping."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{key}.{k}" if key else k)
    else:
        yield key, node


LEAVES = [(k, v) for k, v in _leaves(BASE) if not k.startswith("report.")]
NUMERIC = [k for k, v in LEAVES if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _set(raw: dict, key: str, value) -> dict:
    out = copy.deepcopy(raw)
    node = out
    *path, last = key.split(".")
    for part in path:
        node = node[part]
    node[last] = value
    return out


def _below_range(key: str) -> float | None:
    """A value just outside the lower bound RANGES allows for `key`, or None when it has none."""
    from xcrl_cli.config.validation import _range_key

    pattern = _range_key(key)
    if pattern is None:
        return None
    lo = float(RANGES[pattern][1:-1].split(",")[0])
    return None if math.isinf(lo) else lo - 1


@st.composite
def invalid_mutation(draw):
    """(params mapping, the key a refusal must name): one invalid change to the real params.yaml."""
    kind = draw(st.sampled_from(["not_a_number", "non_finite", "out_of_range", "unknown_choice", "unknown_name",
                                 "unknown_key", "unequal_dims", "mix_sum", "undefined_variant"]))
    if kind in ("not_a_number", "non_finite", "out_of_range"):
        key = draw(st.sampled_from(NUMERIC))
        if kind == "out_of_range":
            value = _below_range(key)
            if value is None:
                kind, value = "not_a_number", "fast"
        else:
            value = "fast" if kind == "not_a_number" else draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return _set(BASE, key, value), key
    if kind == "unknown_choice":
        key = draw(st.sampled_from(sorted(CHOICE_KEYS)))
        return _set(BASE, key, draw(st.sampled_from(["nonsense", "MEAN", ""]))), key
    if kind == "unknown_name":
        key = draw(st.sampled_from(sorted(NAME_LISTS)))
        value = dict(LEAVES)[key]
        return _set(BASE, key, [*value, draw(st.sampled_from(["xx", "squad", "Klingon"]))]), key
    if kind == "unknown_key":
        section = draw(st.sampled_from(["data", "model", "train", "pairs", "pretrain", "evaluate", "benchmark"]))
        return _set(BASE, f"{section}.{draw(st.sampled_from(['lr_max', 'seedz', 'dropout_rate']))}", 1), section
    if kind == "unequal_dims":
        key = draw(st.sampled_from(["model.inv_dim", "model.spe_dim", "model.task_dim"]))
        return _set(BASE, key, 17), "model.orth_mode"
    if kind == "mix_sum":
        return _set(BASE, "pairs.counterfactual_mix.style", 0.5), "pairs.counterfactual_mix"
    table = draw(st.sampled_from(["table2", "table3", "table4"]))
    return _set(BASE, f"report.tables.{table}", [*BASE["report"]["tables"][table], "no_such_variant"]), \
        f"report.tables.{table}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(invalid_mutation())
def test_every_invalid_params_mutation_is_refused_before_training_naming_the_key(tmp_path, mutation):
    raw, key = mutation
    with pytest.raises(ConfigError) as err:
        parse_params(raw)
    assert key in str(err.value)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = CliRunner().invoke(main, ["train", "--params", str(path), "--task", "xnli", "--raw",
                                       str(tmp_path / "no-raw")])
    assert result.exit_code == 2 and key in result.output, result.output


def test_the_unmutated_params_are_accepted_and_every_numeric_key_has_a_range():
    from xcrl_cli.config.validation import _range_key

    parse_params(copy.deepcopy(BASE))
    assert [k for k in NUMERIC if _range_key(k) is None] == []


def _tokenise(tmp_path: Path, raw: Path, pairs: Path, encoder: Path):
    params = tmp_path / "params.yaml"
    config = copy.deepcopy(BASE)
    config["model"]["encoder"] = str(encoder)
    config["train"]["max_length"] = 32
    params.write_text(yaml.safe_dump(config))
    return CliRunner().invoke(main, ["tokenise", "--params", str(params), "--raw", str(raw), "--pairs", str(pairs),
                                     "--out", str(tmp_path / "tokens")])


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """raw + pairs of the embedded benchmark at a tiny size, written by the real stages."""
    root = tmp_path_factory.mktemp("data")
    config = copy.deepcopy(BASE)
    # One draw: the files these tests break lie at <task>/<split>.jsonl, as a paper dataset's do.
    config["benchmark"].update(train_size=40, dev_size=10, test_size=12, corpus_size=100, draw_per_seed=False)
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(config))
    for args in (["download", "--out", str(root / "raw")],
                 ["pairs", "--raw", str(root / "raw"), "--out", str(root / "pairs"), "--metrics", str(root / "m.json")]):
        result = CliRunner().invoke(main, [args[0], "--params", str(params), *args[1:]])
        assert result.exit_code == 0, result.output
    return root


def _error_line(result) -> str:
    """The one line a refused input prints on stderr; the stage exits 2 with no traceback (`--debug` shows it)."""
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    return lines[0]


def _copy(small_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(small_data / "raw", tmp_path / "raw")
    shutil.copytree(small_data / "pairs", tmp_path / "pairs")
    return tmp_path / "raw", tmp_path / "pairs"


def _rewrite(path: Path, change) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in change(rows)))


@pytest.mark.parametrize("split", ["raw/xnli/test.jsonl", "pairs/xnli/train.jsonl", "raw/xnli/dev.jsonl"])
def test_a_label_outside_the_label_set_is_refused_naming_file_and_line(small_data, tmp_path, tiny_encoder, split):
    raw, pairs = _copy(small_data, tmp_path)
    _rewrite(tmp_path / split, lambda rows: [rows[0], {**rows[1], "label": 7}, *rows[2:]])
    result = _tokenise(tmp_path, raw, pairs, tiny_encoder)
    assert _error_line(result).startswith(f"Error: {tmp_path / split}:2: label 7 is not one of the task's labels 0..2")
    assert not (tmp_path / "tokens").exists()


def test_an_empty_split_is_refused_naming_the_file(small_data, tmp_path, tiny_encoder):
    raw, pairs = _copy(small_data, tmp_path)
    (raw / "pawsx" / "test.jsonl").write_text("")
    result = _tokenise(tmp_path, raw, pairs, tiny_encoder)
    assert _error_line(result).startswith(f"Error: {raw / 'pawsx' / 'test.jsonl'}: empty split")


def test_a_text_that_tokenises_to_nothing_is_refused_naming_file_and_example(small_data, tmp_path, tiny_encoder):
    raw, pairs = _copy(small_data, tmp_path)
    _rewrite(raw / "sentiment" / "test.jsonl", lambda rows: [{**rows[0], "text": ""}, *rows[1:]])
    result = _tokenise(tmp_path, raw, pairs, tiny_encoder)
    first = json.loads((raw / "sentiment" / "test.jsonl").read_text().splitlines()[0])["id"]
    assert f"{raw / 'sentiment' / 'test.jsonl'}: example {first!r} tokenises to nothing" in str(result.exception)


def test_a_language_without_pairs_is_a_reported_skip(small_data, tmp_path):
    raw, _ = _copy(small_data, tmp_path)
    _rewrite(raw / "xnli" / "translations.jsonl", lambda rows: [r for r in rows if r["lang"] != "sw"])
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(BASE))
    result = CliRunner().invoke(main, ["pairs", "--params", str(params), "--raw", str(raw), "--out",
                                       str(tmp_path / "out"), "--metrics", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "WARNING no pairs for sw" in result.output
    stats = json.loads((tmp_path / "m.json").read_text())["xnli"]["pairs"]
    assert stats["no_pairs"] == ["sw"] and "sw" not in stats["kept"]


def test_collapse_and_a_diverging_discriminator_are_flagged():
    history = [(s, {"train/adv": 1.0, **({"dev/source_accuracy": 0.34} if s % 5 == 0 else {})})
               for s in range(1, 51)]
    flags = collapse_flags(history, dev_labels=[0, 1, 2] * 3 + [0], n_languages=6, warmup_steps=5)
    assert len(flags) == 1 and flags[0].startswith("collapsed: source-dev accuracy after warm-up peaked at 0.340")
    healthy = [(s, {**m, "dev/source_accuracy": 0.9} if "dev/source_accuracy" in m else m) for s, m in history]
    assert collapse_flags(healthy, [0, 1, 2] * 3 + [0], 6, 5) == []
    diverged = [(s, {**m, "train/adv": 5.0 if s > 45 else 1.0}) for s, m in healthy]
    (flag,) = collapse_flags(diverged, [0, 1, 2] * 3 + [0], 6, 5)
    assert flag.startswith("discriminator diverged: language-adversarial loss 5.000 over the last 5 steps > 2.0 ln 6")


def test_the_tokenizer_trains_to_the_same_vocabulary_in_two_processes(small_data):
    """Hash-map order differs between processes, so determinism is checked across two of them."""
    script = ("import hashlib, sys; from pathlib import Path; from xcrl_cli.model.pretrain import read_corpus, "
              "train_tokenizer; tok = train_tokenizer(read_corpus(Path(sys.argv[1])), 300, 32); "
              "print(hashlib.sha256(tok.backend_tokenizer.to_str().encode()).hexdigest())")
    runs = [subprocess.run([sys.executable, "-c", script, str(small_data / "raw" / "corpus")], capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0].strip()) == 64
