"""health.json on hand-made evaluation folders: chance, ERM's cue-free English and target scores (and its targets
with the cue), its cue-flip rate,
the three checks against their formulas, every run of main and sweep counted, retrieval read when present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xcrl_cli.evaluation.chance import GoldLabels
from xcrl_cli.io import dumps_csv
from xcrl_cli.report.cells import ReportConfig
from xcrl_cli.report.health import health, render_health, healthy_tasks

SCORE_HEADER = ["variant", "task", "seed", "lang", "metric", "value"]
REPR_HEADER = ["variant", "task", "seed", "space", "metric", "value"]
RUN_HEADER = ["variant", "task", "seed", "source_dev_accuracy", "flags"]

CFG = ReportConfig(source_lang="en", targets=["de", "sw"], low_resource=["sw"],
                   task_metric={"mldoc": "macro_f1", "pawsx": "f1", "xnli": "accuracy"}, tables={}, figure3=[],
                   paper_rows={}, encoder_label="tiny", variant_labels={}, table4_space=["h"])
# mldoc: 4 balanced classes (chance macro-F1 0.1); pawsx: balanced (chance F1 2/3); xnli not run.
LABELS = GoldLabels({"mldoc": {lang: np.arange(8) % 4 for lang in ("en", "de", "sw")},
                     "pawsx": {lang: np.arange(6) % 2 for lang in ("en", "de", "sw")}},
                    {"mldoc": 4, "pawsx": 2, "xnli": 3})


def _write(path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_csv(header, rows), encoding="utf-8")


def _erm(folder, nocue: bool = True) -> None:
    """ERM: mldoc learnt (0.9 / 0.95 English without the cue), transferring (cue-free targets 0.8-0.9; 0.6-0.8 with
    their random particle) and using the cue; pawsx learnt in English (0.9) but at chance on the targets, with few
    flips."""
    erm = folder / "erm"
    _write(erm / "scores.csv", SCORE_HEADER, [
        ["erm", "mldoc", 0, "de", "macro_f1", 0.6], ["erm", "mldoc", 0, "sw", "macro_f1", 0.8],
        ["erm", "mldoc", 1, "de", "macro_f1", 0.7], ["erm", "mldoc", 1, "sw", "macro_f1", 0.7],
        *[["erm", "pawsx", s, lang, "f1", 0.667] for s in (0, 1) for lang in ("de", "sw")],
        *[["erm", "pawsx", s, "en", "f1", 0.2] for s in (0, 1)],  # the English test with the cue: not used
    ])
    if nocue:
        _write(erm / "scores_nocue.csv", SCORE_HEADER, [
            ["erm", "mldoc", 0, "en", "macro_f1", 0.9], ["erm", "mldoc", 1, "en", "macro_f1", 0.95],
            ["erm", "mldoc", 0, "de", "macro_f1", 0.8], ["erm", "mldoc", 0, "sw", "macro_f1", 0.9],
            ["erm", "mldoc", 1, "de", "macro_f1", 0.8], ["erm", "mldoc", 1, "sw", "macro_f1", 0.8],
            ["erm", "pawsx", 0, "en", "f1", 0.9], ["erm", "pawsx", 1, "en", "f1", 0.9],
            *[["erm", "pawsx", s, lang, "f1", 0.667] for s in (0, 1) for lang in ("de", "sw")]])
    _write(erm / "representations.csv", REPR_HEADER, [
        *[["erm", task, seed, "prediction", "cue_flip_rate", flips]
          for task, seed, flips in (("mldoc", 0, 0.5), ("mldoc", 1, 0.3), ("pawsx", 0, 0.1), ("pawsx", 1, 0.1))],
        ["erm", "mldoc", 0, "h", "cue_flip_rate", 0.99],  # another space: not the prediction's flip rate
        ["erm", "mldoc", 0, "h", "heldout_retrieval", 0.5], ["erm", "mldoc", 1, "h", "heldout_retrieval", 0.7],
    ])
    _write(erm / "runs.csv", RUN_HEADER, [["erm", t, s, 0.9, ""] for t in ("mldoc", "pawsx") for s in (0, 1)])


@pytest.fixture
def folders(tmp_path):
    main, sweep = tmp_path / "eval", [tmp_path / "sweep" / "cue0.0", tmp_path / "sweep" / "cue0.5"]
    _erm(main)
    _write(main / "proposed" / "runs.csv", RUN_HEADER, [
        ["proposed", "mldoc", 0, 0.9, ""], ["proposed", "mldoc", 1, 0.3, "collapsed: source-dev accuracy ..."],
        ["proposed", "pawsx", 0, 0.9, ""], ["proposed", "pawsx", 1, 0.9, ""]])
    for i, folder in enumerate(sweep):
        _write(folder / "erm" / "runs.csv", RUN_HEADER, [["erm", "mldoc", s, 0.9, ""] for s in (0, 1)])
        diverged = "discriminator diverged: ..." if i else ""
        _write(folder / "proposed" / "runs.csv", RUN_HEADER, [
            ["proposed", "mldoc", 0, 0.9, diverged], ["proposed", "mldoc", 1, 0.9, ""]])
    return main, sweep, tmp_path


def test_health_figures_and_checks_by_hand(folders):
    main, sweep, tmp_path = folders
    metrics = tmp_path / "pretrain.json"
    metrics.write_text(json.dumps({"steps": 10, "retrieval": {"fr": 0.9, "de": 0.95}, "retrieval_size": {"de": 50}}))

    h = health(main, sweep, LABELS, CFG, metrics)

    assert set(h["tasks"]) == {"mldoc", "pawsx"}  # xnli has no test labels: not run
    mldoc, pawsx = h["tasks"]["mldoc"], h["tasks"]["pawsx"]
    assert mldoc["chance"] == pytest.approx(0.1)  # 2 · 0.25 / 1.25 / 4
    assert mldoc["erm_source_nocue"] == pytest.approx(0.925)
    assert mldoc["erm_target"] == pytest.approx(0.7)  # seeds (0.6 + 0.8) / 2, (0.7 + 0.7) / 2
    assert mldoc["erm_target_nocue"] == pytest.approx(0.825)  # seeds (0.8 + 0.9) / 2, (0.8 + 0.8) / 2
    assert mldoc["erm_cue_flip"] == pytest.approx(0.4)
    assert mldoc["erm_retrieval"] == pytest.approx(0.6) and pawsx["erm_retrieval"] is None  # pawsx: not measured
    # (a) 0.825 ≥ 0.5 · 0.9; (b) 0.725 ≥ 0.5 · 0.825; (c) 0.4 ≥ 0.2
    assert (mldoc["learnable"], mldoc["transfers"], mldoc["uses_cue"]) == (True, True, True)
    assert pawsx["chance"] == pytest.approx(2 / 3, abs=1e-6)
    # (a) 0.9 − 2/3 = 0.233 ≥ 0.5 · 1/3 = 0.167; (b) 0.667 − 0.6667 ≈ 0 < 0.5 · 0.233; (c) 0.1 < 0.2
    assert (pawsx["learnable"], pawsx["transfers"], pawsx["uses_cue"]) == (True, False, False)
    assert h["runs"] == 8 + 8  # main: erm and proposed, 2 tasks × 2 seeds each; sweep: 2 cues × 2 variants × 2 seeds
    assert h["collapsed_runs"] == 2  # one collapsed in main, one diverged in the sweep
    assert h["replicates"] == 2
    assert h["pretrain_retrieval"] == {"de": 0.95, "fr": 0.9}


def test_each_replicate_has_its_own_figures_and_checks(folders):
    main, sweep, _ = folders

    h = health(main, sweep, LABELS, CFG, None)

    mldoc = h["tasks"]["mldoc"]["replicates"]
    assert set(mldoc) == {"0", "1"}
    # replicate 0: English 0.9, targets 0.85 without the cue (0.7 with it), flips 0.5; replicate 1: 0.95, 0.8, 0.3
    assert (mldoc["0"]["erm_source_nocue"], mldoc["0"]["erm_target_nocue"], mldoc["0"]["erm_target"],
            mldoc["0"]["erm_cue_flip"]) == pytest.approx((0.9, 0.85, 0.7, 0.5))
    assert (mldoc["1"]["erm_source_nocue"], mldoc["1"]["erm_cue_flip"]) == pytest.approx((0.95, 0.3))
    assert all(mldoc[s][k] is True for s in "01" for k in ("learnable", "transfers", "uses_cue"))
    assert h["tasks"]["mldoc"]["passing_replicates"] == {"learnable": 2, "transfers": 2, "uses_cue": 2}
    assert h["tasks"]["pawsx"]["healthy_replicates"] == 0
    assert h["healthy_tasks_per_replicate"] == {"0": ["mldoc"], "1": ["mldoc"]}
    assert h["fewest_healthy_tasks_in_a_replicate"] == 1


def test_a_replicate_below_a_threshold_fails_there_while_the_mean_passes(folders):
    main, sweep, _ = folders
    rows = (main / "erm" / "representations.csv").read_text().replace("mldoc,1,prediction,cue_flip_rate,0.3",
                                                                      "mldoc,1,prediction,cue_flip_rate,0.1")
    (main / "erm" / "representations.csv").write_text(rows)

    h = health(main, sweep, LABELS, CFG, None)

    mldoc = h["tasks"]["mldoc"]
    assert mldoc["erm_cue_flip"] == pytest.approx(0.3) and mldoc["uses_cue"] is True  # (0.5 + 0.1) / 2 ≥ 0.2
    assert mldoc["replicates"]["1"]["uses_cue"] is False and mldoc["replicates"]["0"]["uses_cue"] is True
    assert mldoc["passing_replicates"]["uses_cue"] == 1 and mldoc["healthy_replicates"] == 1
    assert h["healthy_tasks_per_replicate"] == {"0": ["mldoc"], "1": []}


def test_transfer_is_judged_on_the_cue_free_targets_not_on_the_cued_ones(folders):
    """(b) compares content with content: a replicate whose cue-free targets fall to 0.3 fails it, though its
    targets with their random particle (0.7) would pass against its cue-free English."""
    main, sweep, _ = folders
    path = main / "erm" / "scores_nocue.csv"
    path.write_text(path.read_text().replace("mldoc,1,de,macro_f1,0.8", "mldoc,1,de,macro_f1,0.3")
                    .replace("mldoc,1,sw,macro_f1,0.8", "mldoc,1,sw,macro_f1,0.3"))

    h = health(main, sweep, LABELS, CFG, None)

    replicate = h["tasks"]["mldoc"]["replicates"]["1"]
    # 0.3 − 0.1 = 0.2 < 0.5 · (0.95 − 0.1) = 0.425, while 0.7 − 0.1 = 0.6 would pass
    assert replicate["erm_target_nocue"] == pytest.approx(0.3) and replicate["erm_target"] == pytest.approx(0.7)
    assert replicate["transfers"] is False and h["tasks"]["mldoc"]["replicates"]["0"]["transfers"] is True
    assert h["healthy_tasks_per_replicate"] == {"0": ["mldoc"], "1": []}


def test_missing_inputs_are_null_not_guessed(folders):
    main, sweep, tmp_path = folders
    (main / "erm" / "scores_nocue.csv").unlink()  # real datasets have no cue-free test

    h = health(main, sweep, LABELS, CFG, tmp_path / "absent.json")

    mldoc = h["tasks"]["mldoc"]
    assert mldoc["erm_source_nocue"] is None and mldoc["learnable"] is None and mldoc["transfers"] is None
    assert mldoc["erm_target_nocue"] is None
    assert healthy_tasks(h) == []  # a check the run cannot make is not passed
    assert mldoc["uses_cue"] is True and mldoc["erm_target"] == pytest.approx(0.7)
    assert h["pretrain_retrieval"] is None


def test_health_json_and_section(folders):
    main, sweep, tmp_path = folders
    section, healthy = render_health(main, sweep, LABELS, CFG, None, tmp_path)

    written = json.loads((tmp_path / "health.json").read_text())
    assert written == health(main, sweep, LABELS, CFG, None)
    assert all(0 <= v <= 1 for t in written["tasks"].values() for k, v in t.items() if isinstance(v, float))
    replicate_row = next(line for line in section.splitlines() if line.startswith("| mldoc | yes"))
    assert replicate_row == "| mldoc | yes / yes / yes (0.500) | yes / yes / yes (0.300) |"
    assert section.startswith("## Health of this run")
    row = next(line for line in section.splitlines() if line.startswith("| pawsx"))
    assert row == "| pawsx | 0.667 | 0.900 | 0.667 | 0.667 | 0.100 | n/a | yes | **no** | **no** |"
    assert "flagged collapsed or diverged: 2" in section and "retrieval of the pretrained encoder" in section
    assert healthy == ["mldoc"]  # pawsx fails (b) and (c)
