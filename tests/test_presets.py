"""The presets: valid params, `dvc exp run -S` arguments that round-trip, and what each changes."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.cli import main
from xcrl_cli.config import ConfigError, load_yaml, parse_params, presets
from xcrl_cli.data.corpora import pawsx, sentiment, xnli


def _default() -> dict:
    return load_yaml((ROOT / "params.yaml").read_text())


def test_the_paper_preset_is_valid_params_with_the_real_datasets_and_a_hub_encoder():
    p = parse_params(presets.apply(_default(), "paper"))
    assert p.data.source == "real" and {"ar", "hi", "sw", "de", "fr"} <= set(p.data.languages)
    assert p.pretrain.init == "xlm-roberta-base" and p.train.precision == "bf16" and p.train.lr == pytest.approx(2e-5)


def test_the_paper_preset_lists_every_language_of_each_hub_dataset_and_figure3_keeps_the_papers():
    p = parse_params(presets.apply(_default(), "paper"))
    for languages in (xnli.LANGUAGES, pawsx.LANGUAGES, sentiment.HUB_LANGUAGES):
        assert set(languages) <= set(p.data.languages)
    assert p.report.figure3_languages == ["de", "fr", "es", "zh", "ar", "hi", "sw", "ja", "ko"]


def test_set_param_arguments_carry_every_override_and_parse_back():
    args = shlex.split(presets.set_param_args("paper"))
    assert args[::2] == ["-S"] * len(presets.overrides("paper"))
    parsed = dict(a.split("=", 1) for a in args[1::2])
    assert parsed["train.lr"] == "0.00002"  # never 2e-05: some YAML 1.1 readers take that for a string
    assert parsed["data.languages"] == "[en,ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh,ja,ko,it,pt]"
    assert parsed["model.encoder_label"] == "XLM-R base"


def test_preset_command_prints_the_arguments_and_refuses_unknown_names():
    ok = CliRunner().invoke(main, ["preset", "paper", "--params", str(ROOT / "params.yaml")])
    assert ok.exit_code == 0 and "-S data.source=real" in ok.output
    bad = CliRunner().invoke(main, ["preset", "nope", "--params", str(ROOT / "params.yaml")])
    assert bad.exit_code == 2 and "unknown preset 'nope'; available: ['paper', 'paper_literal']" in bad.output


def test_the_literal_preset_reads_formulas_2_to_4_literally_and_changes_nothing_else():
    default = parse_params(_default())
    p = parse_params(presets.apply(_default(), "paper_literal"))
    def reading(m):
        return m.gate_init, m.distance, m.align_mode

    assert reading(default.model) == ("open", "normalized", "coral")
    assert reading(p.model) == ("default", "squared", "coral_literal")
    assert p.variants == default.variants and p.train == default.train and p.data == default.data
    ok = CliRunner().invoke(main, ["preset", "paper_literal", "--params", str(ROOT / "params.yaml")])
    assert ok.exit_code == 0
    assert shlex.split(ok.output) == ["-S", "model.gate_init=default", "-S", "model.distance=squared",
                                      "-S", "model.align_mode=coral_literal"]


def test_a_preset_key_missing_from_params_is_named():
    raw = _default()
    del raw["train"]["precision"]
    with pytest.raises(ConfigError, match="train.precision is not a key of params.yaml"):
        presets.validate(raw, "paper")


def test_yaml_floats_in_exponent_form_are_numbers():
    assert load_yaml("lr: 2e-05\nn: 3\nx: 1.5e3") == {"lr": 2e-05, "n": 3, "x": 1500.0}
