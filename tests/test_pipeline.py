"""End to end: a real `dvc repro` of dvc.yaml on tiny params, then the properties a DVC user relies on."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from browser import displayed
from conftest import ROOT, commit, dvc_project, run_cmd

pytestmark = pytest.mark.slow

TINY = {
    "data": {"tasks": ["mldoc", "sentiment"]},
    "benchmark": {"train_size": 64, "dev_size": 16, "test_size": 24, "corpus_size": 150, "parallel_size": 400,
                  "retrieval_size": 50},
    "pretrain": {"vocab_size": 300, "hidden_size": 32, "intermediate_size": 64, "steps": 20, "batch_size": 32},
    "model": {"inv_dim": 16, "spe_dim": 16, "task_dim": 16, "head_hidden": 32},
    "train": {"seeds": [0, 1], "epochs": 1, "batch_size": 16, "eval_every": 2},
    "evaluate": {"cluster_meanings": 8},
    "sweep": {"cue_strengths": [0.0], "variants": {"variant": ["erm", "proposed"]}},
    "report": {"significance": {"reference": "proposed", "n_boot": 200, "level": 0.95, "seed": 0}},
}
VARIANTS = ["erm", "proposed", "wo_alignment"]


def _tiny_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    params["variants"] = {k: params["variants"][k] for k in VARIANTS}
    params["report"]["tables"] = {"table2": ["erm", "proposed"], "table3": ["proposed", "wo_alignment"],
                                  "table4": ["erm", "proposed"]}
    params["report"]["figure3"] = ["erm", "proposed"]
    params["report"]["paper_rows"] = {k: params["report"]["paper_rows"][k] for k in VARIANTS}
    return params


def _run(cmd: list[str], cwd: Path) -> str:
    done = run_cmd(cmd, cwd)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = dvc_project(tmp_path_factory.mktemp("project"), _tiny_params())
    _run(["dvc", "repro"], root)
    commit(root, "tiny run")  # the baseline `dvc params diff` compares against
    return root


def test_repro_writes_every_table_and_the_figure(project):
    report = project / "data" / "report"
    for name in ("table2.md", "table3.md", "table4.md", "figure3.png", "report.md", "summary.json"):
        assert (report / name).stat().st_size > 0, name
    table2 = (report / "table2.md").read_text()
    assert "mBERT" in table2 and "XLM-R" in table2 and "Proposed Model" in table2
    assert "not run" in table2  # xnli and pawsx are not in the tiny task list
    metrics = _run(["dvc", "metrics", "show"], project)
    assert "proposed.target_avg.mean" in metrics


BEYOND = ("Which of the paper's claims hold here", "Significance of the differences", "Model selection",
          "Subspace probes", "Counterfactual consistency per kind", "The spurious-cue sweep", "Published anchors")


def _csv(path: Path) -> list[dict]:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_repro_writes_the_evidence_beyond_the_paper(project):
    report = project / "data" / "report"
    text = (report / "report.md").read_text()
    for title in BEYOND:
        assert f"### {title}" in text, title
    # Table 2's non-reference row carries a significance mark or not, and the legend says what the mark means.
    assert "paired t-interval over 2 replicates: draws, seeds and test examples" in (report / "table2.md").read_text()
    sig = _csv(report / "significance.csv")
    assert {(r["table"], r["b"]) for r in sig} == {("table2", "erm"), ("table3", "wo_alignment"), ("table4", "erm"),
                                                   ("sweep", "erm")}
    assert all(float(r["low"]) <= float(r["diff"]) <= float(r["high"]) for r in sig)
    assert {r["resampled"] for r in sig} == {"draws"} and {r["n_replicates"] for r in sig} == {"2"}
    # Each replicate trained and was tested on its own draw of the task data; the encoder is one for all.
    meta = json.loads((project / "data" / "raw" / "meta.json").read_text())
    assert meta["tasks"]["mldoc"]["draws"] == [0, 1]
    tests = [(project / "data" / "raw" / "mldoc" / f"draw{d}" / "test.jsonl").read_text() for d in (0, 1)]
    assert tests[0] != tests[1] and '"id": "mldoc-d1-test-00000-en"' in tests[1]
    selection = _csv(report / "selection.csv")
    assert {r["selection"] for r in selection} == {"source_dev", "target_dev"}
    assert all(r["mean"] for r in selection if r["column"] in ("mldoc", "sentiment", "average"))
    probes = {(r["variant"], r["space"], r["metric"]) for r in _csv(report / "probes.csv")}
    assert {("proposed", sp, m) for sp in ("h", "z_inv", "z_spe", "z_task", "r")
            for m in ("lang_id_acc", "task_probe_acc")} <= probes
    assert ("erm", "z_inv", "lang_id_acc") not in probes  # ERM has no disentangled spaces
    kinds = {r["kind"] for r in _csv(report / "cf_breakdown.csv")}
    assert kinds and kinds <= {"translation_swap", "code_switch", "word_order", "style"}
    sweep = {(r["variant"], float(r["cue_strength"]), r["measure"]) for r in _csv(report / "sweep.csv")}
    main = _tiny_params()["benchmark"]["cue_strength"]["mldoc"]  # the main runs are the sweep's point there
    assert {(v, cue, "cue_flip_rate") for v in ("erm", "proposed") for cue in (0.0, main)} <= sweep
    anchors = _csv(report / "anchors.csv")
    assert ("mBERT", "xnli", "65.4") in {(r["model"], r["task"], r["published"]) for r in anchors}
    health = json.loads((report / "health.json").read_text())
    assert 0.0 <= health["tasks"]["mldoc"]["erm_retrieval"] <= 1.0  # the fine-tuned encoder on held-out pairs
    assert set(health["tasks"]["mldoc"]["replicates"]) == {"0", "1"} and health["replicates"] == 2
    for run in (project / "data" / "models" / "proposed" / "mldoc").glob("seed*"):
        assert (run / "model.safetensors").exists()


@pytest.mark.browser
def test_report_html_shows_every_figure_in_a_browser(project, tmp_path):
    """The pipeline's own report.html, opened in headless Chromium: every figure report.md links is displayed, at
    the pixel size of its PNG, from the one file alone (copied away from the figures it was built from)."""
    import struct

    report = project / "data" / "report"
    page = tmp_path / "report.html"
    page.write_bytes((report / "report.html").read_bytes())
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (report / "report.md").read_text())
    assert sorted(linked) == ["cf_chrf.png", "claims.png", "figure3.png", "probes.png", "sweep.png"]
    sizes, table_rows = displayed(page, tmp_path)
    expected = [struct.unpack(">II", (report / name).read_bytes()[16:24]) for name in linked]
    assert sizes == expected and all(w > 0 and h > 0 for w, h in sizes)
    assert table_rows > 20


def test_second_repro_runs_no_stage(project):
    out = _run(["dvc", "repro"], project)
    assert "Running stage" not in out


def test_changing_one_weight_of_one_variant_touches_only_its_stages(project):
    """The train stage (one pool for every variant), the evaluate stage (every variant's, which reads `variants` for
    the variants it evaluates) and, since DVC cannot declare the params of only the variants that sweep.variants
    names, the sweep's train stage, whose models come out the same (so nothing after it reruns)."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["variants"]["wo_alignment"]["weights"]["cf"] = 0.5
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = _run(["dvc", "status"], project)
    changed = sorted(line.rstrip(":") for line in status.splitlines() if line and not line.startswith(("\t", " ")))
    assert changed == ["evaluate", "sweep_train", "train"]
    assert "variants.wo_alignment.weights.cf" in _run(["dvc", "params", "diff"], project)


def _stage_running(proc: subprocess.Popen) -> bool:
    """Whether one of our stage commands (`xcrl ...`) is running under `dvc repro`."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if any(Path(arg).name == "xcrl" for arg in child.cmdline()[:2]):
                return True
        except psutil.Error:
            continue
    return False


def _repro_killed_in(root: Path, stage: str, delay: float) -> str:
    """Start `dvc repro`, SIGKILL it and its stage `delay` seconds after `stage` starts; the stage line seen. The kill
    lands while a stage command runs (this one or, if it finished within `delay`, the next): a kill while DVC itself
    rewrites dvc.lock between stages tests DVC's file writing, not the stages' atomic outputs."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(["dvc", "repro"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    line = ""
    for line in proc.stdout:
        if line.startswith(f"Running stage '{stage}"):
            break
    time.sleep(delay)
    while proc.poll() is None and not _stage_running(proc):
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return line.strip()


KEPT_UPSTREAM = ("data/raw", "data/encoder", "data/metrics/download.json", "data/metrics/pretrain.json")


def _copy_from_pairs_on(project: Path, root: Path) -> Path:
    """A copy of the reproduced project at its committed params with every output from `pairs` on deleted, and
    DVC's cache with them (so `dvc repro` runs those stages rather than restoring them): `download` and `pretrain`
    are not run twice here, since test_benchmark and test_pretrain show each writes the same bytes twice."""
    shutil.copytree(project, root, symlinks=True)
    run_cmd(["git", "checkout", "-q", "--", "params.yaml"], root)  # an earlier test edits the project's params
    shutil.rmtree(root / ".dvc" / "cache")
    kept = {root / k for k in KEPT_UPSTREAM}
    for path in sorted((root / "data").rglob("*"), reverse=True):  # children before their folders
        if path in kept or any(k in path.parents for k in kept) or path.name == "README.md":
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink()
    assert not (root / "data" / "pairs").exists() and (root / "data" / "encoder").is_dir()
    return root


@pytest.mark.reliability
def test_sigkill_in_pairs_then_in_train_then_repro_gives_byte_identical_metrics(project, tmp_path):
    """A copy of the project from `pairs` on, killed at a random point of `pairs` and again of the `train` stage,
    then finished by `dvc repro`: every metrics, evaluation and report file equals the uninterrupted run's — which
    also shows that two runs of those stages with the same seed give byte-identical metrics."""
    root = _copy_from_pairs_on(project, tmp_path / "killed")
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    seen = [_repro_killed_in(root, stage, rng.uniform(0.0, 1.5)) for stage in ("pairs", "train'")]
    print(f"kill seed {seed}: killed after {seen}")
    _run(["dvc", "repro"], root)
    compared = 0
    for sub in ("data/metrics", "data/eval", "data/report"):
        for path in sorted(p for p in (project / sub).rglob("*") if p.is_file()):
            twin = root / sub / path.relative_to(project / sub)
            assert path.read_bytes() == twin.read_bytes(), f"{twin} differs after the kills ({seen}, seed {seed})"
            compared += 1
    assert compared >= 20
    assert not list((root / "data").rglob(".*.tmp*")), "a killed stage's temporaries were left behind"
    assert not (root / "data" / "checkpoints").exists() or not any((root / "data" / "checkpoints").rglob("*.pt"))
