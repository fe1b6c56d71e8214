"""Pieces of the evidence beyond the paper: the sweep's params, model selection's bookkeeping, the claim verdicts."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
import yaml
from conftest import ROOT

from xcrl_cli.config import ConfigError, SignificanceParams, parse_params
from xcrl_cli.evaluation.chance import GoldLabels
from xcrl_cli.evaluation.significance import Comparison
from xcrl_cli.report.cells import ReportConfig, Stat
from xcrl_cli.report.evidence import HEALTHY_AVERAGE, EvidenceInputs, claims, resampled
from xcrl_cli.training.selection import improved, record, stored_criteria

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())
LABELS = GoldLabels({}, {"xnli": 3})  # the claims read no test labels


@pytest.mark.parametrize(("change", "message"), [
    ({"tasks": {"tasks": ["mldoc"]}}, "one-key map"),
    ({"variants": {"variant": ["nope"]}}, "'nope' is not one of"),
    ({"tasks": {"task": ["ner"]}}, "'ner' is not one of"),
    ({"cue_strengths": [0.0, RAW["benchmark"]["cue_strength"]["mldoc"]]}, "benchmark.cue_strength"),
    ({"tasks": {"task": ["mldoc", "xnli"]}}, "need one benchmark.cue_strength"),
    ({"cue_strengths": [1.5]}, "outside the allowed range"),
])
def test_sweep_params_are_checked_naming_the_key(change, message):
    raw = copy.deepcopy(RAW)
    raw["sweep"].update(change)
    with pytest.raises(ConfigError, match=message):
        parse_params(raw)


def test_a_task_without_a_cue_strength_is_refused_naming_the_key():
    raw = copy.deepcopy(RAW)
    del raw["benchmark"]["cue_strength"]["pawsx"]
    with pytest.raises(ConfigError, match=r"benchmark.cue_strength: no strength for \['pawsx'\]"):
        parse_params(raw)


def test_significance_reference_must_be_a_variant():
    raw = copy.deepcopy(RAW)
    raw["report"]["significance"]["reference"] = "nope"
    with pytest.raises(ConfigError, match="report.significance.reference"):
        parse_params(raw)


def test_selection_keeps_the_best_weights_per_criterion_and_ties_keep_the_earlier():
    best: dict = {}
    weights = {"w": torch.ones(2)}
    record(best, improved(best, {"source_dev": 0.5, "target_dev": 0.4}), {"source_dev": 0.5, "target_dev": 0.4}, 10,
           weights, stored_criteria(True))
    weights["w"] += 1  # a copy was kept, not a reference to the live parameters
    scores = {"source_dev": 0.5, "target_dev": 0.6}
    assert improved(best, scores) == ["target_dev"]
    record(best, improved(best, scores), scores, 20, {"w": torch.full((2,), 7.0)}, stored_criteria(True))
    assert (best["source_dev"]["step"], best["target_dev"]["step"]) == (10, 20)
    assert best["source_dev"]["weights"]["w"].tolist() == [1.0, 1.0]
    assert best["target_dev"]["weights"]["w"].tolist() == [7.0, 7.0]


def test_without_oracle_weights_the_oracle_keeps_its_step_and_score_but_no_weights():
    best: dict = {}
    scores = {"source_dev": 0.5, "target_dev": 0.4}
    record(best, improved(best, scores), scores, 10, {"w": torch.ones(2)}, stored_criteria(False))
    scores = {"source_dev": 0.5, "target_dev": 0.6}
    record(best, improved(best, scores), scores, 20, {"w": torch.zeros(2)}, stored_criteria(False))
    assert (best["target_dev"]["step"], best["target_dev"]["score"], best["target_dev"]["weights"]) == (20, 0.6, None)
    assert best["source_dev"]["weights"]["w"].tolist() == [1.0, 1.0]


def _cfg() -> ReportConfig:
    return ReportConfig(source_lang="en", targets=["de"], low_resource=["de"], task_metric={"xnli": "accuracy"},
                        tables={"table2": ["erm", "proposed"], "table3": ["proposed", "wo_x"],
                                "table4": ["erm", "proposed"]},
                        figure3=["erm", "proposed"], paper_rows={}, encoder_label="tiny", variant_labels={},
                        table4_space=["z_inv", "h"])


def _comparison(b: str, observed: float, low: float, high: float, n_seeds: int = 3) -> Comparison:
    return Comparison(a="proposed", b=b, column="average", observed=observed, low=low, high=high, p_value=0.5,
                      n_boot=100, level=0.95, n_seeds=n_seeds)


def test_claim_verdicts_follow_the_sign_and_the_interval():
    inputs = EvidenceInputs(eval_dir=ROOT, sweep={0.0: ROOT, 0.9: ROOT}, sweep_tasks=["xnli"],
                            sweep_variants=["erm", "proposed"], n_labels={"xnli": 3},
                            significance=SignificanceParams(), labels=LABELS)
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, 0.5, 3.5),
                   ("table3", "wo_x", "average"): _comparison("wo_x", -3.0, -5.0, -1.0)}
    t4 = {"proposed": ({"lang_id_acc": Stat(30.0, 1.0, 2), "cluster_purity": Stat(50.0, 1.0, 2),
                        "cf_consistency": None, "low_resource_avg": Stat(40.0, 1.0, 2)}, "z_inv"),
          "erm": ({"lang_id_acc": Stat(90.0, 1.0, 2), "cluster_purity": Stat(60.0, 1.0, 2),
                   "cf_consistency": Stat(70.0, 1.0, 2), "low_resource_avg": Stat(40.0, 1.0, 2)}, "h")}
    sweep = {"proposed.xnli.cue0.9.cue_flip_rate": 10.0, "erm.xnli.cue0.9.cue_flip_rate": 30.0,
             "proposed.xnli.cue0.9.source": 60.0, "erm.xnli.cue0.9.source": 55.0}
    text, counts = claims(comparisons, t4, sweep, inputs, _cfg())
    verdicts = _verdicts(text)
    assert verdicts["proposed beats erm (Average)"] == "holds (significant over seeds and examples)"
    assert verdicts["removing a component lowers the Average: proposed beats wo_x"] == \
        "does not hold: reversed, significant over seeds and examples"
    assert "resampled the 3 seeds and the test examples within each language" in text
    assert verdicts["proposed has lower lang_id_acc than erm"].startswith("holds")
    assert verdicts["proposed has higher cluster_purity than erm"].startswith("does not hold")
    assert verdicts["proposed has higher cf_consistency than erm"] == "not run"
    assert verdicts["proposed has higher low_resource_avg than erm"].startswith("within the seed spread")  # a tie
    assert any(k.startswith("proposed relies less on the cue") and v.startswith("holds") for k, v in verdicts.items())
    assert counts == {"claims.does_not_hold": 2, "claims.holds": 3, "claims.not_run": 1, "claims.undecided": 1}
    # Fewer flips from a model that learnt less (a collapsed one predicts one class: nothing flips) is no evidence.
    collapsed = {**sweep, "proposed.xnli.cue0.9.cue_flip_rate": 0.0, "proposed.xnli.cue0.9.source": 20.0}
    cue = next(v for k, v in _verdicts(claims(comparisons, t4, collapsed, inputs, _cfg())[0]).items()
               if k.startswith("proposed relies less on the cue"))
    assert cue.startswith("does not hold: fewer flips but a lower source-test score")


def test_claims_are_also_tested_on_the_healthy_tasks_alone_when_some_tasks_are_not():
    cfg = replace(_cfg(), task_metric={"xnli": "accuracy", "pawsx": "f1"})
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, -0.5, 3.5),
                   ("table2", "erm", HEALTHY_AVERAGE): _comparison("erm", 4.0, 1.0, 7.0),
                   ("table3", "wo_x", "average"): _comparison("wo_x", 1.0, -1.0, 3.0)}

    def claim_rows(healthy: list[str]) -> dict[str, str]:
        inputs = EvidenceInputs(eval_dir=ROOT, sweep={}, sweep_tasks=[], sweep_variants=[],
                                n_labels={"xnli": 3, "pawsx": 2}, significance=SignificanceParams(), labels=LABELS,
                                healthy_tasks=healthy)
        return _verdicts(claims(comparisons, {}, {}, inputs, cfg)[0])

    verdicts = claim_rows(["xnli"])
    assert verdicts["proposed beats erm (Average)"] == "same direction, not significant over seeds and examples"
    assert verdicts["proposed beats erm (average of the healthy tasks (xnli))"] == \
        "holds (significant over seeds and examples)"
    assert not any("healthy tasks" in k for k in verdicts if "wo_x" in k)  # no such comparison: no row
    for healthy in ([], ["xnli", "pawsx"]):  # none healthy, or the Average is already theirs
        assert not any("healthy tasks" in k for k in claim_rows(healthy))


def test_claims_say_when_only_example_noise_was_tested():
    inputs = EvidenceInputs(eval_dir=ROOT, sweep={}, sweep_tasks=[], sweep_variants=[], n_labels={"xnli": 3},
                            significance=SignificanceParams(), labels=LABELS)
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, 0.5, 3.5, n_seeds=1),
                   ("table3", "wo_x", "average"): _comparison("wo_x", 1.0, -1.0, 3.0, n_seeds=1)}
    text, _ = claims(comparisons, {}, {}, inputs, _cfg())
    verdicts = _verdicts(text)
    assert verdicts["proposed beats erm (Average)"] == "holds (significant over examples only, one seed)"
    assert verdicts["removing a component lowers the Average: proposed beats wo_x"] == \
        "same direction, not significant over examples only, one seed"
    assert "seed-to-seed noise, the larger source at this scale, was not tested" in text
    assert resampled([_comparison("erm", 1.0, 0.0, 2.0, n_seeds=3), _comparison("erm", 1.0, 0.0, 2.0, 1)]) == \
        resampled([_comparison("erm", 1.0, 0.0, 2.0, n_seeds=1)])  # the weakest comparison decides the wording


def _verdicts(text: str) -> dict[str, str]:
    return {line.split(" | ")[1]: line.split(" | ")[3].rstrip(" |") for line in text.splitlines()
            if line.startswith(("| table", "| sweep"))}
