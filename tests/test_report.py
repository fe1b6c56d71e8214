"""The report's numbers against hand-computed means, stds and differences on tiny CSVs (2 seeds, 2 variants,
2 of the 4 tasks, 3 languages), the constant-predictor rows against hand-computed chance, plus the paper values,
the figure and byte-for-byte determinism."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from xcrl_cli.evaluation.chance import GoldLabels, gold_labels
from xcrl_cli.report.cells import ReportConfig
from xcrl_cli.report.inputs import ReportError, load_paper_values
from xcrl_cli.report.tables import render_report

SQRT2 = math.sqrt(2.0)

# (variant, task, metric) -> seed -> (en, de, sw); pawsx accuracy is a decoy for the Average, which uses F1: it
# has a column of its own beside F1.
SCORES = {
    ("erm", "xnli", "accuracy"): {0: (0.9, 0.6, 0.4), 1: (0.9, 0.7, 0.5)},
    ("erm", "pawsx", "f1"): {0: (0.9, 0.8, 0.6), 1: (0.9, 0.8, 0.8)},
    ("erm", "pawsx", "accuracy"): {0: (0.1, 0.1, 0.1), 1: (0.1, 0.1, 0.1)},
    ("proposed", "xnli", "accuracy"): {0: (0.9, 0.7, 0.6), 1: (0.9, 0.8, 0.7)},
    ("proposed", "pawsx", "f1"): {0: (0.9, 0.9, 0.7), 1: (0.9, 0.9, 0.9)},
    ("proposed", "pawsx", "accuracy"): {0: (0.2, 0.2, 0.2), 1: (0.2, 0.2, 0.4)},
}
# task -> lang -> gold labels of the test set, for the constant-predictor rows (computed by hand in the tests).
GOLD = {
    "xnli": {"en": [0, 1, 2, 0], "de": [0, 0, 0, 1, 2], "sw": [0, 1, 1, 1, 2, 2]},
    "pawsx": {"en": [0, 1], "de": [1, 1, 1, 0], "sw": [0, 1]},
}
LABELS = GoldLabels({t: {lang: np.array(g) for lang, g in by_lang.items()} for t, by_lang in GOLD.items()},
                    {"xnli": 3, "pawsx": 2, "mldoc": 4, "sentiment": 2})
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
    summary = render_report(scores, reps, make_cfg(), tmp_path / "out", LABELS)
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
    assert "over 2 replicates" in (out[0] / "table2.md").read_text()


def test_missing_task_is_not_run(out):
    rows = read_csv(out[0] / "table2.csv")
    mldoc = cell(rows, "mBERT", "mldoc")
    assert (mldoc["status"], mldoc["mean"], mldoc["diff"], mldoc["paper"]) == ("not run", "", "", "82.15")
    assert "not run (paper 82.15)" in (out[0] / "table2.md").read_text()
    assert "not run (paper 89.36)" in (out[0] / "table3.md").read_text()


def test_averages_over_other_tasks_than_the_paper_s_say_so_in_every_caption(out, tmp_path):
    note = "averages cover the tasks run (xnli, pawsx), the paper's Average xnli, pawsx, mldoc, sentiment"
    for table in ("table2", "table3", "table4"):
        assert note in (out[0] / f"{table}.md").read_text(), table
    # A task of the user's own in the registry and the paper's four run: still not the paper's Average.
    scores, reps = write_inputs(tmp_path)
    with open(scores, "a", newline="") as f:
        csv.writer(f).writerows([[v, task, s, lang, "macro_f1", 0.5] for v in ("erm", "proposed")
                                 for task in ("mldoc", "sentiment", "reviews") for s in (0, 1)
                                 for lang in ("en", "de", "sw")])
    cfg = make_cfg(task_metric={**make_cfg().task_metric, "reviews": "macro_f1"})
    render_report(scores, reps, cfg, tmp_path / "own", LABELS)
    caption = (tmp_path / "own" / "table2.md").read_text()
    assert ("averages cover the tasks run (xnli, pawsx, mldoc, sentiment, reviews), the paper's Average xnli, pawsx, "
            "mldoc, sentiment") in caption
    cfg = make_cfg()  # the paper's four exactly: no note
    render_report(scores, reps, cfg, tmp_path / "four", LABELS)
    assert "averages cover" not in (tmp_path / "four" / "table2.md").read_text()


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


def test_pawsx_accuracy_is_printed_beside_its_f1_and_left_out_of_the_average(out):
    rows = read_csv(out[0] / "table2.csv")
    assert float(cell(rows, "mBERT", "pawsx_accuracy")["mean"]) == pytest.approx(10.0)
    assert float(cell(rows, "Proposed Model", "pawsx_accuracy")["mean"]) == pytest.approx(25.0)  # .2, .3
    assert float(cell(rows, "mBERT", "average")["mean"]) == pytest.approx(65.0)  # F1 as before
    header = next(line for line in (out[0] / "table2.md").read_text().splitlines() if line.startswith("| Paper"))
    assert "| pawsx f1 | pawsx accuracy | mldoc macro_f1 |" in header


# The best constant prediction by hand, targets de and sw (GOLD). xnli accuracy: class 0 scores 3/5 on de and 1/6
# on sw, class 1 1/5 and 3/6, class 2 1/5 and 2/6: class 0, (0.6 + 1/6) / 2. pawsx F1 of "always 1" = 2p / (1 + p):
# p = 3/4 on de, 1/2 on sw. pawsx accuracy: always 1, (3/4 + 1/2) / 2.
XNLI_CHANCE = 100 * (0.6 + 1 / 6) / 2
PAWSX_CHANCE = 100 * (2 * 0.75 / 1.75 + 2 * 0.5 / 1.5) / 2


def test_every_table_ends_with_the_constant_predictor(out):
    for table in ("table2", "table3"):
        rows = [r for r in read_csv(out[0] / f"{table}.csv") if r["variant"] == "constant"]
        got = {r["column"]: (r["mean"], r["status"]) for r in rows}
        assert float(got["xnli"][0]) == pytest.approx(XNLI_CHANCE, abs=1e-5)
        assert float(got["pawsx"][0]) == pytest.approx(PAWSX_CHANCE, abs=1e-5)
        assert float(got["pawsx_accuracy"][0]) == pytest.approx(62.5)
        assert float(got["average"][0]) == pytest.approx((XNLI_CHANCE + PAWSX_CHANCE) / 2, abs=1e-5)
        assert got["mldoc"] == ("", "not defined")  # no test labels: the task was not run
        last = (out[0] / f"{table}.md").read_text().strip().splitlines()[-1]
        assert last.startswith(f"| Constant predictor | no model, from the test labels | {XNLI_CHANCE:.2f} |")
    assert "best constant prediction" in (out[0] / "table2.md").read_text()


def test_table4_reference_is_chance_where_defined_and_blank_elsewhere(out):
    rows = {r["column"]: r for r in read_csv(out[0] / "table4.csv") if r["variant"] == "constant"}
    # Majority-language share per task over every language: xnli 6 of 15 (sw), pawsx 4 of 8 (de); mean over tasks.
    assert float(rows["lang_id_acc"]["mean"]) == pytest.approx(100 * (6 / 15 + 4 / 8) / 2)
    # Low-resource = sw only: xnli's best class there is 1 (3/6), pawsx always 1: 2 · 0.5 / 1.5.
    assert float(rows["low_resource_avg"]["mean"]) == pytest.approx(100 * (0.5 + 2 / 3) / 2, abs=1e-5)
    assert (rows["cluster_purity"]["mean"], rows["cluster_purity"]["status"]) == ("", "not defined")
    assert rows["cf_consistency"]["status"] == "not defined"
    text = (out[0] / "table4.md").read_text()
    last = text.strip().splitlines()[-1]
    assert last == "| Constant predictor | no model, from the test labels |  | 45.00 | — | — | 58.33 |"
    assert "majority language" in text and "100% consistent by construction" in text


@pytest.mark.parametrize(("gold", "n_labels", "metric", "expected"), [
    ([0, 1] * 50, 2, "f1", 2 / 3),  # PAWS-X balanced: "always paraphrase"
    ([1, 1, 1, 0], 2, "f1", 2 * 0.75 / 1.75),
    ([0, 0, 0, 1], 2, "f1", 2 * 0.25 / 1.25),  # always 1 still wins: always 0 scores 0
    ([0, 1, 2, 3] * 25, 4, "macro_f1", 0.1),  # MLDoc balanced: 2p / (1 + p) / K = 0.4 / 4
    ([0, 0, 1, 2], 4, "macro_f1", (2 * 0.5 / 1.5) / 4),  # class 3 never gold still counts in K
    ([0, 0, 1, 2], 3, "accuracy", 0.5),
])
def test_constant_predictor_matches_its_closed_form(gold, n_labels, metric, expected):
    labels = GoldLabels({"t": {"de": np.array(gold)}}, {"t": n_labels})
    assert labels.constant("t", metric, ["de"]) == pytest.approx(expected)
    assert labels.constant("t", metric, ["fr"]) is None


def test_gold_labels_count_each_test_example_once():
    rows = [{"variant": v, "task": "t", "seed": s, "lang": "de", "id": f"t-{i}", "label": i % 2, "pred": 0}
            for v in ("a", "b") for s in (0, 1) for i in range(3)]
    labels = gold_labels(rows + [{**rows[0], "task": "other"}], {"t": 2})
    assert list(labels.gold) == ["t"]
    assert labels.gold["t"]["de"].tolist() == [0, 1, 0]


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
    render_report(scores, reps, make_cfg(), tmp_path / "a", LABELS)
    render_report(scores, reps, make_cfg(), tmp_path / "b", LABELS)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert {"table2.md", "table3.csv", "table4.md", "figure3.png", "report.md", "summary.json"} <= set(names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_single_seed_has_no_std(tmp_path):
    scores, reps = write_inputs(tmp_path, seeds=(0,))
    render_report(scores, reps, make_cfg(), tmp_path / "out", LABELS)
    assert "50.00 ± n/a" in (tmp_path / "out" / "table2.md").read_text()
    assert cell(read_csv(tmp_path / "out" / "table2.csv"), "mBERT", "xnli")["std"] == ""


def test_unknown_variant_names_file_and_valid_choices(tmp_path):
    scores, reps = write_inputs(tmp_path)
    cfg = make_cfg(tables={"table2": ["erm", "contrastive"], "table3": [], "table4": []})
    with pytest.raises(ReportError, match=r"scores\.csv: variant 'contrastive' .*present: \['erm', 'proposed'\]"):
        render_report(scores, reps, cfg, tmp_path / "out", LABELS)


def test_unknown_paper_row_is_rejected(tmp_path):
    scores, reps = write_inputs(tmp_path)
    with pytest.raises(ReportError, match="'mBERT-large' is not a row"):
        render_report(scores, reps, make_cfg(paper_rows={"erm": ["mBERT-large"]}), tmp_path / "out", LABELS)


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
    summary = render_report(scores, reps, make_cfg(), tmp_path / "out", LABELS, runs_csv=runs)
    table2 = (tmp_path / "out" / "table2.md").read_text()
    proposed = next(line for line in table2.splitlines() if line.startswith("| Proposed Model"))
    assert proposed.count("†1") == 2  # the xnli cell and the average over tasks; pawsx is clean
    erm = next(line for line in table2.splitlines() if line.startswith("| mBERT"))
    assert "†" not in erm
    report = (tmp_path / "out" / "report.md").read_text()
    assert "- proposed/xnli/seed1: collapsed: source-dev accuracy after warm-up peaked at 0.340" in report
    assert summary["flagged_runs"] == 1


# --- the `report` stage on hand-made evaluations --------------------------------------------------------------------
STAGE_LANGS, STAGE_TASKS, STAGE_SEEDS = ("en", "de", "sw"), {"mldoc": 4, "pawsx": 2}, (0, 1)


def _evaluation(variants, tasks, skill: dict[str, float], folder, rng) -> None:
    """Evaluation folders as `evaluate` writes them (its own writer), from random predictions of a given skill."""
    from xcrl_cli.evaluation.evaluate import RunResult, write_results
    from xcrl_cli.evaluation.metrics import task_scores

    for v in variants:
        results = []
        for task in tasks:
            k = STAGE_TASKS[task]
            for seed in STAGE_SEEDS:
                key = {"variant": v, "task": task, "seed": seed}
                r = RunResult(run={**key, "source_dev_accuracy": 0.9, "flags": ""})
                for lang in STAGE_LANGS:
                    gold = np.arange(24) % k
                    pred = np.where(rng.random(24) < skill[v], gold, rng.integers(0, k, 24))
                    r.scores += [{**key, "lang": lang, "metric": m, "value": x}
                                 for m, x in task_scores(gold, pred, k).items()]
                    r.predictions += [{**key, "id": f"{task}-{lang}-{i}", "lang": lang, "label": int(g),
                                       "pred": int(p)} for i, (g, p) in enumerate(zip(gold, pred))]
                    r.counterfactuals.append({**key, "id": f"{task}-{lang}-0", "lang": lang, "kind": "code_switch",
                                              "chrf": 50.0, "consistent": 1})
                r.oracle_scores = r.scores
                r.nocue_scores = [{**s, "value": min(1.0, s["value"] + 0.1)} for s in r.scores]
                r.representations = [{**key, "space": "h", "metric": m, "value": 0.5}
                                     for m in ("lang_id_acc", "task_probe_acc", "cluster_purity")]
                r.representations += [{**key, "space": "prediction", "metric": m, "value": x}
                                      for m, x in (("cf_consistency", 0.8), ("cue_flip_rate", 0.3))]
                results.append(r)
        write_results(results, folder / v)


def stage_inputs(root: Path) -> list[str]:
    """Everything the `report` stage reads, hand-made under `root` (evaluations, sweep, meta.json, params,
    pretraining metrics); returns the stage's arguments but --out."""
    import yaml
    from conftest import ROOT

    rng = np.random.default_rng(0)
    skill = {"erm": 0.4, "proposed": 0.8}
    _evaluation(skill, STAGE_TASKS, skill, root / "eval", rng)
    _evaluation(skill, ["mldoc"], skill, root / "sweep" / "cue0.0", rng)
    (root / "raw").mkdir()
    (root / "raw" / "meta.json").write_text(json.dumps(
        {"source_lang": "en", "languages": list(STAGE_LANGS),
         "tasks": {t: {"labels": list(range(k))} for t, k in STAGE_TASKS.items()}}))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(languages=list(STAGE_LANGS), low_resource=["sw"], tasks=list(STAGE_TASKS))
    params["train"]["seeds"] = list(STAGE_SEEDS)
    params["sweep"].update(cue_strengths=[0.0], tasks={"task": ["mldoc"]}, variants={"variant": ["erm", "proposed"]})
    params["variants"] = {v: params["variants"][v] for v in skill}
    params["report"]["significance"]["n_boot"] = 100
    params["report"].update(tables={"table2": ["erm", "proposed"], "table3": ["proposed"],
                                    "table4": ["erm", "proposed"]}, figure3=["erm", "proposed"],
                            paper_rows={v: params["report"]["paper_rows"][v] for v in skill})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "pretrain.json").write_text(json.dumps({"retrieval": {"de": 0.9, "sw": 0.6}}))
    return ["report", "--params", str(root / "params.yaml"), "--eval-dir", str(root / "eval"), "--sweep-dir",
            str(root / "sweep"), "--raw", str(root / "raw"), "--pretrain-metrics", str(root / "pretrain.json")]


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory):
    from click.testing import CliRunner

    from xcrl_cli.cli import main

    root = tmp_path_factory.mktemp("stage")
    args = stage_inputs(root)
    for out, extra in (("out", []), ("no_pretrain", ["--pretrain-metrics", str(root / "absent.json")])):
        result = CliRunner().invoke(main, [*args, *extra, "--out", str(root / out)])
        assert result.exit_code == 0, result.output
    return root


def test_report_stage_puts_health_first_and_a_constant_row_in_every_table(stage_run):
    out = stage_run / "out"
    text = (out / "report.md").read_text()
    assert text.index("## Health of this run") < text.index("### Table 2")
    for table in ("table2", "table3", "table4"):
        assert (out / f"{table}.md").read_text().strip().splitlines()[-1].startswith("| Constant predictor |")
    # Table 2's reference: mldoc balanced over 4 classes (macro-F1 0.1), pawsx balanced (F1 2/3, accuracy 1/2).
    constant = {r["column"]: r["mean"] for r in read_csv(out / "table2.csv")
                if r["variant"] == "constant" and r["mean"]}  # xnli and sentiment were not run: no reference
    assert {c: round(float(v), 2) for c, v in constant.items()} == {
        "mldoc": 10.0, "pawsx": 66.67, "pawsx_accuracy": 50.0, "average": 38.33}
    selection = text[text.index("### Model selection"):text.index("### Subspace probes")]
    assert "| Constant predictor | — | 66.67 | 10.00 | — | 38.33 |" in selection
    assert "#### Language-ID probe accuracy (chance 33.3%)" in text  # 3 languages of 24 examples each
    assert "#### Task probe accuracy (chance 37.5%)" in text  # majority class: mldoc 1/4, pawsx 1/2
    assert "| mldoc | Constant predictor | target | 10.00 | 10.00 |" in text  # sweep: s = 0 and the main s = 0.9
    assert "t-interval of that mean, over 2 seeds and the test examples" in text  # one test set for both seeds


def test_report_stage_writes_health_json(stage_run):
    health = json.loads((stage_run / "out" / "health.json").read_text())
    assert (health["runs"], health["collapsed_runs"], health["replicates"]) == (8 + 4, 0, 2)
    assert health["pretrain_retrieval"] == {"de": 0.9, "sw": 0.6}
    assert health["tasks"]["mldoc"]["chance"] == pytest.approx(0.1)
    assert health["tasks"]["mldoc"]["erm_cue_flip"] == pytest.approx(0.3)
    assert set(health["tasks"]["pawsx"]) == {"chance", "erm_source_nocue", "erm_target_nocue", "erm_target",
                                             "erm_cue_flip",
                                             "erm_retrieval", "learnable", "transfers", "uses_cue",
                                             "passing_replicates", "healthy_replicates", "replicates"}
    assert json.loads((stage_run / "no_pretrain" / "health.json").read_text())["pretrain_retrieval"] is None


def test_a_language_left_out_of_an_optional_dataset_reads_not_run_in_the_captions(tmp_path):
    scores, reps = write_inputs(tmp_path)
    lines = scores.read_text().splitlines(keepends=True)
    scores.write_text("".join(line for line in lines if not (",pawsx," in line and ",sw," in line)))
    cfg = make_cfg(languages_not_run={"pawsx": {"sw": "x-final/sw/test_2k.tsv empty"}})
    render_report(scores, reps, cfg, tmp_path / "out", LABELS)
    caption = (tmp_path / "out" / "table2.md").read_text()
    assert "its test set has (pawsx: de; sw not run)" in caption
    render_report(scores, reps, make_cfg(), tmp_path / "plain", LABELS)
    assert "its test set has (pawsx: de)" in (tmp_path / "plain" / "table2.md").read_text()
def test_each_task_is_averaged_over_its_own_languages_and_figure3_keeps_its_own(tmp_path):
    """The paper preset's shape: XNLI tested in 15 languages, sentiment in 8, one list of targets covering both."""
    from xcrl_cli.data.corpora import sentiment, xnli

    langs = {"xnli": xnli.LANGUAGES, "sentiment": sentiment.HUB_LANGUAGES}
    targets = sorted((set(xnli.LANGUAGES) | set(sentiment.HUB_LANGUAGES)) - {"en"})
    scores = tmp_path / "scores.csv"
    with open(scores, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "task", "seed", "lang", "metric", "value"])
        for task, metric in (("xnli", "accuracy"), ("sentiment", "macro_f1")):
            for lang in langs[task]:  # 0.5 in the source language, 0.1 per index of the target in its task
                value = 0.5 if lang == "en" else 0.1 * (1 + [t for t in langs[task] if t != "en"].index(lang)) / 2
                w.writerow(["erm", task, 0, lang, metric, value])
    reps = tmp_path / "representations.csv"
    reps.write_text("variant,task,seed,space,metric,value\nerm,xnli,0,h,lang_id_acc,0.5\n")
    gold = GoldLabels({t: {lang: np.array([0, 1]) for lang in ls} for t, ls in langs.items()},
                      {"xnli": 3, "sentiment": 3})
    cfg = make_cfg(targets=targets, low_resource=["sw"], task_metric={"xnli": "accuracy", "sentiment": "macro_f1"},
                   tables={"table2": ["erm"], "table4": ["erm"]}, figure3=["erm"], paper_rows={"erm": ["XLM-R"]},
                   figure3_targets=["de", "ar", "it"])
    render_report(scores, reps, cfg, tmp_path / "out", gold, runs_csv=None)
    rows = read_csv(tmp_path / "out" / "table2.csv")
    assert float(cell(rows, "XLM-R", "xnli")["mean"]) == pytest.approx(100 * 0.05 * 7.5)  # mean of 1..14 / 20
    assert float(cell(rows, "XLM-R", "sentiment")["mean"]) == pytest.approx(100 * 0.05 * 4)  # mean of 1..7 / 20
    header = (tmp_path / "out" / "table2.md").read_text().splitlines()[2]
    assert "xnli: " + ", ".join(t for t in targets if t in xnli.LANGUAGES) in header
    assert [r["lang"] for r in read_csv(tmp_path / "out" / "figure3.csv")] == ["ar", "de", "it"]
