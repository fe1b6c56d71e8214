"""The `xcrl` command line: help everywhere, and bad options refused before any work with a message naming them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.cli import main

COMMANDS = ["download", "pairs", "pretrain", "tokenise", "train", "evaluate", "report"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--params" in result.output


@pytest.mark.reliability
def test_unknown_task_is_refused_naming_the_allowed_ones():
    result = CliRunner().invoke(main, ["train", "--params", str(ROOT / "params.yaml"), "--task", "squad"])
    assert result.exit_code == 2
    assert "'squad' is not one of" in result.output and "mldoc" in result.output


@pytest.mark.reliability
def test_unknown_variant_is_refused():
    result = CliRunner().invoke(
        main, ["train", "--params", str(ROOT / "params.yaml"), "--task", "mldoc", "--variant", "nope"]
    )
    assert result.exit_code == 2 and "'nope' is not one of" in result.output


@pytest.mark.reliability
def test_bad_params_file_is_a_usage_error_naming_the_key(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("lr: 0.004 ", "lr: fast ")
    bad = tmp_path / "params.yaml"
    bad.write_text(text)
    result = CliRunner().invoke(main, ["train", "--params", str(bad), "--task", "mldoc"])
    assert result.exit_code == 2
    assert "train.lr: expected a number, got 'fast'" in result.output


def test_bench_times_every_kind_and_prints_the_ratios(tiny_encoder):
    """Structure only: `xcrl bench` is a benchmark, its numbers are not asserted."""
    result = CliRunner().invoke(main, ["bench", "--params", str(ROOT / "params.yaml"), "--encoder", str(tiny_encoder),
                                       "--seq-len", "16", "--batch-size", "4", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    for line in ("full", "encoder", "erm", "hf", "eval", "ratio full / encoder passes:", "ratio erm / hf fine-tuning:",
                 "examples/s", "MFU proposed: n/a"):
        assert line in result.output


@pytest.mark.reliability
@pytest.mark.parametrize("old, new, message", [
    ("  task_epochs: {xnli: 4}", "  task_epochs: {xnil: 4}", "train.task_epochs: 'xnil' is not one of"),
    ("  task_epochs: {xnli: 4}", "  task_epochs: {xnli: 0}", "train.task_epochs.xnli"),
    ("  cue_rate:", "  cue_rate:\n    tickets: 0.5", "benchmark.cue_rate: 'tickets' is not one of"),
])
def test_a_per_task_budget_or_cue_rate_names_a_task_of_the_registry_and_a_valid_value(tmp_path, old, new, message):
    text = (ROOT / "params.yaml").read_text()
    assert old in text
    bad = tmp_path / "params.yaml"
    bad.write_text(text.replace(old, new, 1))
    result = CliRunner().invoke(main, ["train", "--params", str(bad), "--task", "mldoc"])
    assert result.exit_code == 2 and message in result.output, result.output
