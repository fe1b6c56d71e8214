"""Pieces of the evidence beyond the paper: the sweep's params, model selection's bookkeeping, the claim verdicts."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest
import torch
import yaml
from conftest import ROOT

from xcrl_cli.config import ConfigError, SignificanceParams, parse_params
from xcrl_cli.evaluation.chance import GoldLabels
from xcrl_cli.evaluation.significance import OWN_DRAWS, SHARED_TEST, Comparison
from xcrl_cli.report.cells import ReportConfig
from xcrl_cli.report.claims import Claim, claim_verdict, cue_claims, table4_claims
from xcrl_cli.report.evidence import HEALTHY_AVERAGE, SIGNIFICANCE_COLUMNS, EvidenceInputs, claims, resampled
from xcrl_cli.training.selection import improved, record, stored_criteria

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())
LABELS = GoldLabels({}, {"xnli": 3})  # the claims read no test labels


@pytest.mark.parametrize(("change", "message"), [
    ({"tasks": {"tasks": ["mldoc"]}}, "one-key map"),
    ({"variants": {"variant": ["nope"]}}, "'nope' is not one of"),
    ({"tasks": {"task": ["ner"]}}, "'ner' is not one of"),
    ({"cue_strengths": [0.0, RAW["benchmark"]["cue_strength"]["mldoc"]]}, "benchmark.cue_strength"),
    ({"cue_strengths": [1.5]}, "outside the allowed range"),
])
def test_sweep_params_are_checked_naming_the_key(change, message):
    raw = copy.deepcopy(RAW)
    raw["sweep"].update(change)
    with pytest.raises(ConfigError, match=message):
        parse_params(raw)


def test_swept_tasks_must_share_their_main_cue_strength():
    raw = copy.deepcopy(RAW)
    raw["sweep"]["tasks"] = {"task": ["mldoc", "sentiment"]}
    raw["benchmark"]["cue_strength"]["sentiment"] = 0.9
    with pytest.raises(ConfigError, match="need one benchmark.cue_strength"):
        parse_params(raw)
    raw["benchmark"]["cue_strength"]["sentiment"] = raw["benchmark"]["cue_strength"]["mldoc"]
    assert parse_params(raw).sweep.tasks == {"task": ["mldoc", "sentiment"]}


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


def _comparison(b: str, observed: float, low: float, high: float, n: int = 5, resampled: str = OWN_DRAWS,
                column: str = "average", p: float = 0.5) -> Comparison:
    return Comparison(a="proposed", b=b, column=column, observed=observed, low=low, high=high, p_value=p, level=0.95,
                      n_replicates=n, df=n - 1, resampled=resampled)


def _inputs(**changes) -> EvidenceInputs:
    base = dict(eval_dir=ROOT, sweep={}, sweep_tasks=[], sweep_variants=[], n_labels={"xnli": 3},
                significance=SignificanceParams(), labels=LABELS)
    return EvidenceInputs(**{**base, **changes})


def test_claim_verdicts_follow_the_sign_the_interval_and_say_what_was_resampled(tmp_path):
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, 0.5, 3.5, p=0.01),
                   ("table3", "wo_x", "average"): _comparison("wo_x", -3.0, -5.0, -1.0, p=0.02)}
    text, counts = claims(comparisons, {}, {}, _inputs(), _cfg(), tmp_path)
    verdicts = _verdicts(text)
    assert verdicts["proposed beats erm (Average)"] == \
        "holds (significant over 5 replicates: draws, seeds and test examples)"
    assert verdicts["removing a component lowers the Average: proposed beats wo_x"] == \
        "does not hold: reversed, significant over 5 replicates: draws, seeds and test examples"
    assert counts == {"claims.does_not_hold": 1, "claims.holds": 1, "claims.family": 2, "claims.survive_holm": 2}
    # Holm: 0.01 × 2 = 0.02, then max(0.02, 0.02 × 1); both survive a family-wise 5 %.
    assert "| 0.02 | holds" in text and "family of 2 tests" in text and "2 of the 2 survive a family-wise" in text
    alone = {k: v for k, v in comparisons.items() if k[0] == "table2"}
    (tmp_path / "alone").mkdir()
    assert "1 of the 1 survives a family-wise" in claims(alone, {}, {}, _inputs(), _cfg(), tmp_path / "alone")[0]
    assert (tmp_path / "claims.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (tmp_path / "significance.csv").read_text().splitlines()
    assert rows[0] == ",".join(SIGNIFICANCE_COLUMNS) and len(rows) == 3
    assert rows[1].endswith(",5,4,draws")


def test_table4_and_sweep_verdicts_are_tested_over_replicates():
    lower = Claim("table4", "lower lang_id", _comparison("erm", -10.0, -14.0, -6.0), lower_is_better=True)
    higher = Claim("table4", "higher purity", _comparison("erm", -10.0, -14.0, -6.0))
    undecided = Claim("table4", "higher cf", _comparison("erm", 1.0, -2.0, 4.0))
    assert claim_verdict(lower).startswith("holds (significant over 5 replicates")
    assert claim_verdict(higher).startswith("does not hold: reversed, significant")
    assert claim_verdict(undecided).startswith("same direction, not significant")
    seeds = range(5)
    points = {"proposed": {"cue_flip_rate": {s: 0.10 + 0.01 * s for s in seeds},
                           "source": {s: 0.60 for s in seeds}},
              "erm": {"cue_flip_rate": {s: 0.30 + 0.02 * s for s in seeds}, "source": {s: 0.55 for s in seeds}}}
    (cue,) = cue_claims(points, "proposed", ["erm"], "xnli", 0.9, _cfg(), 0.95, OWN_DRAWS)
    assert cue.comparison.observed == pytest.approx(-22.0)  # −20 − s points, s = 0..4 and cue.comparison.significant
    assert claim_verdict(cue).startswith("holds (significant over 5 replicates")
    # Fewer flips from a model that learnt less (a collapsed one predicts one class: nothing flips) is no evidence.
    collapsed = {**points, "proposed": {"cue_flip_rate": {s: 0.0 for s in seeds},
                                        "source": {s: 0.20 + 0.01 * s for s in seeds}}}
    (cue,) = cue_claims(collapsed, "proposed", ["erm"], "xnli", 0.9, _cfg(), 0.95, OWN_DRAWS)
    assert claim_verdict(cue).startswith("does not hold: fewer flips but a significantly lower source-test score")
    (missing,) = cue_claims({"proposed": points["proposed"]}, "proposed", ["erm"], "xnli", 0.9, _cfg(), 0.95,
                            OWN_DRAWS)
    assert claim_verdict(missing) == "not run"


def test_claims_are_also_tested_on_the_healthy_tasks_alone_when_some_tasks_are_not(tmp_path):
    cfg = replace(_cfg(), task_metric={"xnli": "accuracy", "pawsx": "f1"})
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, -0.5, 3.5),
                   ("table2", "erm", HEALTHY_AVERAGE): _comparison("erm", 4.0, 1.0, 7.0, column=HEALTHY_AVERAGE),
                   ("table3", "wo_x", "average"): _comparison("wo_x", 1.0, -1.0, 3.0)}

    def claim_rows(healthy: list[str]) -> dict[str, str]:
        inputs = _inputs(n_labels={"xnli": 3, "pawsx": 2}, healthy_tasks=healthy)
        return _verdicts(claims(comparisons, {}, {}, inputs, cfg, tmp_path)[0])

    verdicts = claim_rows(["xnli"])
    assert verdicts["proposed beats erm (Average)"].startswith("same direction, not significant over 5 replicates")
    assert verdicts["proposed beats erm (average of the healthy tasks (xnli))"].startswith("holds (significant")
    assert not any("healthy tasks" in k for k in verdicts if "wo_x" in k)  # no such comparison: no row
    for healthy in ([], ["xnli", "pawsx"]):  # none healthy, or the Average is already theirs
        assert not any("healthy tasks" in k for k in claim_rows(healthy))


def test_claims_say_when_only_example_noise_or_no_noise_was_tested(tmp_path):
    comparisons = {("table2", "erm", "average"): _comparison("erm", 2.0, 0.5, 3.5, n=1, resampled=SHARED_TEST),
                   ("table3", "wo_x", "average"): _comparison("wo_x", 1.0, math.nan, math.nan, n=1, p=math.nan)}
    text, counts = claims(comparisons, {}, {}, _inputs(), _cfg(), tmp_path)
    verdicts = _verdicts(text)
    assert verdicts["proposed beats erm (Average)"] == "holds (significant over the test examples only, one seed)"
    assert verdicts["removing a component lowers the Average: proposed beats wo_x"].startswith("not tested")
    assert counts["claims.family"] == 1  # an untested claim is not in Holm's family
    assert resampled([_comparison("erm", 1.0, 0.0, 2.0), _comparison("erm", 1.0, 0.0, 2.0, 3, SHARED_TEST)]) == \
        "over 3 seeds and the test examples"  # the weakest comparison decides the wording


def _verdicts(text: str) -> dict[str, str]:
    return {line.split(" | ")[1]: line.split(" | ")[-1].rstrip(" |") for line in text.splitlines()
            if line.startswith(("| table", "| sweep"))}


def test_table4_claims_compare_each_measure_on_the_tables_space_in_the_claimed_direction():
    # representations.csv rows as read_long keys them: (variant, task, seed, space, metric) -> value
    reps = {}
    for seed in range(3):
        for task in ("xnli", "mldoc"):  # each measure is the mean over tasks, replicate by replicate
            reps |= {("proposed", task, seed, "z_inv", "lang_id_acc"): 0.50 + 0.01 * seed,
                     ("proposed", task, seed, "h", "lang_id_acc"): 0.99,  # not Table 4's space for Proposed
                     ("proposed", task, seed, "z_inv", "cluster_purity"): 0.40,
                     ("proposed", task, seed, "prediction", "cf_consistency"): 0.80 + (0.02 if task == "xnli" else 0),
                     ("erm", task, seed, "h", "lang_id_acc"): 0.90 + 0.02 * seed,
                     ("erm", task, seed, "h", "cluster_purity"): 0.45,
                     ("erm", task, seed, "prediction", "cf_consistency"): 0.70}
    cfg = replace(_cfg(), low_resource=[])

    found = {c.text: c for c in table4_claims(reps, [], "proposed", ["erm"], {"xnli": "accuracy"}, {"xnli": 3}, [],
                                              cfg, SignificanceParams(), OWN_DRAWS)}

    lang_id = found["proposed has lower lang_id_acc than erm"]
    assert lang_id.lower_is_better and lang_id.comparison.observed == pytest.approx(-41.0)  # z_inv vs h: −40 − s
    assert claim_verdict(lang_id).startswith("holds (significant")
    purity = found["proposed has higher cluster_purity than erm"]
    assert not purity.lower_is_better and purity.comparison.observed == pytest.approx(-5.0)
    assert found["proposed has higher cf_consistency than erm"].comparison.observed == pytest.approx(11.0)
    assert found["proposed has higher low_resource_avg than erm"].comparison is None  # no low-resource language
