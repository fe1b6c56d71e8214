"""The report's numbers against hand-computed means, stds and differences on tiny CSVs (2 seeds, 2 variants,
2 of the 4 tasks, 3 languages), plus the paper values, the figure and byte-for-byte determinism."""

from __future__ import annotations

import csv
import json
import math

import pytest

from xcrl_cli.report import ReportConfig, ReportError, load_paper_values, render_report

SQRT2 = math.sqrt(2.0)

# (variant, task, metric) -> seed -> (en, de, sw); pawsx accuracy is a decoy: the Table 2 column for PAWS-X is F1.
SCORES = {
    ("erm", "xnli", "accuracy"): {0: (0.9, 0.6, 0.4), 1: (0.9, 0.7, 0.5)},
    ("erm", "pawsx", "f1"): {0: (0.9, 0.8, 0.6), 1: (0.9, 0.8, 0.8)},
    ("erm", "pawsx", "accuracy"): {0: (0.1, 0.1, 0.1), 1: (0.1, 0.1, 0.1)},
    ("proposed", "xnli", "accuracy"): {0: (0.9, 0.7, 0.6), 1: (0.9, 0.8, 0.7)},
    ("proposed", "pawsx", "f1"): {0: (0.9, 0.9, 0.7), 1: (0.9, 0.9, 0.9)},
}
# (variant, space, metric) -> seed -> value, measured on xnli only.
REPRS = {
    ("erm", "h", "lang_id_acc"): {0: 0.9, 1: 0.8},
    ("erm", "h", "cluster_purity"): {0: 0.5, 1: 0.6},
    ("erm", "prediction", "cf_consistency"): {0: 0.7, 1: 0.7},
    ("proposed", "h", "lang_id_acc"): {0: 0.99, 1: 0.99},
    ("proposed", "z_inv", "lang_id_acc"): {0: 0.4, 1: 0.5},
    ("proposed", "z_inv", "cluster_purity"): {0: 0.8, 1: 0.9},
    ("proposed", "prediction", "cf_consistency"): {0: 0.9, 1: 0.8},
}


def make_cfg(**overrides) -> ReportConfig:
    fields = dict(
        source_lang="en", targets=["de", "sw"], low_resource=["sw"],
        task_metric={"xnli": "accuracy", "pawsx": "f1", "mldoc": "macro_f1", "sentiment": "macro_f1"},
        tables={"table2": ["erm", "proposed"], "table3": ["proposed"], "table4": ["erm", "proposed"]},
        figure3=["erm", "proposed"],
        paper_rows={"erm": ["mBERT", "XLM-R"], "proposed": ["Proposed Model"]},
        encoder_label="tiny-xlmr (embedded)", variant_labels={"erm": "ERM", "proposed": "Proposed"},
        table4_space=["z_inv", "h"],
    )
    return ReportConfig(**{**fields, **overrides})


def write_inputs(tmp_path, seeds=(0, 1)):
    scores, reps = tmp_path / "scores.csv", tmp_path / "representations.csv"
    with open(scores, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "task", "seed", "lang", "metric", "value"])
        for (variant, task, metric), by_seed in SCORES.items():
            for seed in seeds:
                for lang, value in zip(("en", "de", "sw"), by_seed[seed]):
                    w.writerow([variant, task, seed, lang, metric, value])
    with open(reps, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "task", "seed", "space", "metric", "value"])
        for (variant, space, metric), by_seed in REPRS.items():
            for seed in seeds:
                w.writerow([variant, "xnli", seed, space, metric, by_seed[seed]])
    return scores, reps


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cell(rows, paper_row, column) -> dict:
    (found,) = [r for r in rows if r["paper_row"] == paper_row and r["column"] == column]
    return found


@pytest.fixture
def out(tmp_path):
    scores, reps = write_inputs(tmp_path)
    summary = render_report(scores, reps, make_cfg(), tmp_path / "out")
    return tmp_path / "out", summary


def test_table2_means_stds_and_differences(out):
    rows = read_csv(out[0] / "table2.csv")
    xnli = cell(rows, "mBERT", "xnli")  # targets de, sw: seed 0 -> .50, seed 1 -> .60
    assert (xnli["variant"], xnli["n_seeds"]) == ("erm", "2")
    assert float(xnli["mean"]) == pytest.approx(55.0)
    assert float(xnli["std"]) == pytest.approx(10 / SQRT2, abs=1e-5)
    assert float(xnli["paper"]) == 71.84
    assert float(xnli["diff"]) == pytest.approx(55.0 - 71.84)
    pawsx = cell(rows, "mBERT", "pawsx")  # F1, not the decoy accuracy: .70, .80
    assert float(pawsx["mean"]) == pytest.approx(75.0)
    average = cell(rows, "XLM-R", "average")  # per seed (.5 + .7) / 2, (.6 + .8) / 2
    assert float(average["mean"]) == pytest.approx(65.0)
    assert float(average["std"]) == pytest.approx(10 / SQRT2, abs=1e-5)
    assert float(average["diff"]) == pytest.approx(65.0 - 81.31)
    proposed = cell(rows, "Proposed Model", "average")  # (.65 + .8) / 2, (.75 + .9) / 2
    assert float(proposed["mean"]) == pytest.approx(77.5)
    assert float(proposed["diff"]) == pytest.approx(77.5 - 85.86)


def test_one_variant_mapped_to_two_paper_rows_prints_both(out):
    lines = (out[0] / "table2.md").read_text().splitlines()
    for paper_row, ref in [("mBERT", "71.84"), ("XLM-R", "75.62")]:
        (line,) = [x for x in lines if x.startswith(f"| {paper_row} |")]
        assert "ERM · tiny-xlmr (embedded)" in line
        assert f"55.00 ± 7.07 (paper {ref}, Δ " in line
    assert "over 2 seeds" in (out[0] / "table2.md").read_text()


def test_missing_task_is_not_run(out):
    rows = read_csv(out[0] / "table2.csv")
    mldoc = cell(rows, "mBERT", "mldoc")
    assert (mldoc["status"], mldoc["mean"], mldoc["diff"], mldoc["paper"]) == ("not run", "", "", "82.15")
    assert "not run (paper 82.15)" in (out[0] / "table2.md").read_text()
    assert "not run (paper 89.36)" in (out[0] / "table3.md").read_text()


def test_table4_space_choice_and_low_resource(out):
    rows = read_csv(out[0] / "table4.csv")
    lang_id = cell(rows, "Proposed Model", "lang_id_acc")
    assert lang_id["space"] == "z_inv" and float(lang_id["mean"]) == pytest.approx(45.0)
    assert float(lang_id["diff"]) == pytest.approx(45.0 - 54.31)
    erm = cell(rows, "mBERT", "lang_id_acc")
    assert erm["space"] == "h" and float(erm["mean"]) == pytest.approx(85.0)
    assert float(cell(rows, "XLM-R", "cluster_purity")["mean"]) == pytest.approx(55.0)
    cf = cell(rows, "Proposed Model", "cf_consistency")
    assert float(cf["mean"]) == pytest.approx(85.0) and float(cf["paper"]) == 89.74
    low = cell(rows, "mBERT", "low_resource_avg")  # sw only: (.4 + .6) / 2, (.5 + .8) / 2
    assert float(low["mean"]) == pytest.approx(57.5)
    assert float(low["std"]) == pytest.approx(15 / SQRT2, abs=1e-5)
    assert "chance = 33.33%" in (out[0] / "table4.md").read_text()


def test_figure3_png_and_csv(out):
    png = (out[0] / "figure3.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    rows = read_csv(out[0] / "figure3.csv")
    assert [(r["variant"], r["lang"]) for r in rows] == [("erm", "de"), ("erm", "sw"),
                                                        ("proposed", "de"), ("proposed", "sw")]
    assert float(rows[1]["mean"]) == pytest.approx(57.5)  # erm sw: (.4 + .6) / 2, (.5 + .8) / 2
    assert "![Figure 3](figure3.png)" in (out[0] / "report.md").read_text()


def test_summary_is_flat_and_matches_file(out):
    out_dir, summary = out
    assert json.loads((out_dir / "summary.json").read_text()) == summary
    assert summary["erm.target_avg.mean"] == pytest.approx(65.0)
    assert summary["proposed.lang_id_acc.mean"] == pytest.approx(45.0)
    assert summary["erm.low_resource_avg.n_seeds"] == 2
    assert all(not isinstance(v, dict) for v in summary.values())


def test_render_is_deterministic(tmp_path):
    scores, reps = write_inputs(tmp_path)
    render_report(scores, reps, make_cfg(), tmp_path / "a")
    render_report(scores, reps, make_cfg(), tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert {"table2.md", "table3.csv", "table4.md", "figure3.png", "report.md", "summary.json"} <= set(names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_single_seed_has_no_std(tmp_path):
    scores, reps = write_inputs(tmp_path, seeds=(0,))
    render_report(scores, reps, make_cfg(), tmp_path / "out")
    assert "50.00 ± n/a" in (tmp_path / "out" / "table2.md").read_text()
    assert cell(read_csv(tmp_path / "out" / "table2.csv"), "mBERT", "xnli")["std"] == ""


def test_unknown_variant_names_file_and_valid_choices(tmp_path):
    scores, reps = write_inputs(tmp_path)
    cfg = make_cfg(tables={"table2": ["erm", "contrastive"], "table3": [], "table4": []})
    with pytest.raises(ReportError, match=r"scores\.csv: variant 'contrastive' .*present: \['erm', 'proposed'\]"):
        render_report(scores, reps, cfg, tmp_path / "out")


def test_unknown_paper_row_is_rejected(tmp_path):
    scores, reps = write_inputs(tmp_path)
    with pytest.raises(ReportError, match="'mBERT-large' is not a row"):
        render_report(scores, reps, make_cfg(paper_rows={"erm": ["mBERT-large"]}), tmp_path / "out")


def test_paper_values_match_the_paper():
    paper = load_paper_values()
    assert paper["table2"]["Proposed Model"]["xnli"] == 80.41
    assert paper["table2"]["XLM-R"]["average"] == 81.31
    assert paper["table3"]["w/o Orthogonal Constraint"]["average"] == 83.90
    assert paper["table4"]["mBERT"]["lang_id_acc"] == 84.37
    assert paper["table4"]["Proposed Model"]["low_resource_avg"] == 77.72
    assert len(paper["table2"]) == 6 and len(paper["table3"]) == 6 and len(paper["table4"]) == 5
    for row in paper["table2"].values():  # the paper's Average column is the mean of its four task columns
        assert row["average"] == pytest.approx(sum(row[t] for t in ("xnli", "pawsx", "mldoc", "sentiment")) / 4,
                                               abs=0.01)


@pytest.mark.reliability
def test_flagged_runs_are_marked_in_their_cells_and_listed_not_averaged_in_silently(tmp_path):
    scores, reps = write_inputs(tmp_path)
    runs = tmp_path / "runs.csv"
    runs.write_text("variant,task,seed,source_dev_accuracy,flags\n"
                    "proposed,xnli,1,0.34,collapsed: source-dev accuracy after warm-up peaked at 0.340\n"
                    "proposed,pawsx,1,0.9,\n")
    summary = render_report(scores, reps, make_cfg(), tmp_path / "out", runs_csv=runs)
    table2 = (tmp_path / "out" / "table2.md").read_text()
    proposed = next(line for line in table2.splitlines() if line.startswith("| Proposed Model"))
    assert proposed.count("†1") == 2  # the xnli cell and the average over tasks; pawsx is clean
    erm = next(line for line in table2.splitlines() if line.startswith("| mBERT"))
    assert "†" not in erm
    report = (tmp_path / "out" / "report.md").read_text()
    assert "- proposed/xnli/seed1: collapsed: source-dev accuracy after warm-up peaked at 0.340" in report
    assert summary["flagged_runs"] == 1
