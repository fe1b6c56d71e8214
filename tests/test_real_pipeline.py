"""The whole pipeline on the real dataset samples (read in place from ../shared/data/real), with the tiny encoder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from conftest import REAL, ROOT, dvc_project, real_dir, run_cmd

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

LANGUAGES = ["en", "de", "fr", "es", "ar", "hi", "sw", "zh"]


def _xnli_folder(root: Path) -> Path:
    """XNLI's two distribution folders side by side, as symlinks to the samples (never copies)."""
    folder = root / "xnli"
    folder.mkdir()
    for name in ("XNLI-1.0", "XNLI-MT-1.0"):
        (folder / name).symlink_to(real_dir("xnli") / name)
    return folder


def _real_params(root: Path) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(source="real", languages=LANGUAGES, tasks=["xnli", "pawsx", "mldoc", "sentiment"])
    params["datasets"] = {
        "xnli": {"hub": None, "local": str(_xnli_folder(root))},
        "pawsx": {"hub": None, "local": str(real_dir("pawsx"))},
        "mldoc": {"local": str(root / "no-mldoc-here"), "train_size": 1000},
        "sentiment": {"hub": None, "local": str(real_dir("sentiment") / "umsab")},
        "parallel": {"hub": None, "local": str(real_dir("parallel") / "tatoeba_laser_v1"), "max_pairs": 200},
        "dictionaries": {"url": None, "local": str(real_dir("muse"))},
        "optional": ["mldoc"],
    }
    params["pretrain"].update(vocab_size=1500, hidden_size=32, intermediate_size=64, steps=20, batch_size=32)
    params["model"].update(inv_dim=16, spe_dim=16, task_dim=16, head_hidden=32)
    params["train"].update(seeds=[0], epochs=1, batch_size=16, eval_every=4)
    params["evaluate"]["cluster_meanings"] = 8
    params["variants"] = {k: params["variants"][k] for k in ("erm", "proposed")}
    # The cue sweep rebuilds the embedded benchmark (in the languages it can render) beside the real data.
    params["benchmark"].update(train_size=64, dev_size=16, test_size=24, corpus_size=150)
    params["sweep"] = {"cue_strengths": [0.0], "tasks": {"task": ["sentiment"]}, "variants": {"variant": ["erm"]}}
    params["report"]["tables"] = {"table2": ["erm", "proposed"], "table3": ["proposed"], "table4": ["erm", "proposed"]}
    params["report"]["figure3"] = ["erm", "proposed"]
    params["report"]["paper_rows"] = {k: params["report"]["paper_rows"][k] for k in ("erm", "proposed")}
    return params


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, float]:
    if not REAL.exists():
        pytest.skip(f"real data samples not found at {REAL}")
    root = tmp_path_factory.mktemp("real")
    dvc_project(root / "project", _real_params(root))
    start = time.perf_counter()
    run_cmd(["dvc", "repro"], root / "project")
    return root / "project", time.perf_counter() - start


def test_repro_on_the_real_samples_writes_the_tables_and_marks_mldoc_not_run(project):
    root, seconds = project
    print(f"dvc repro on the real samples: {seconds:.1f} s")
    meta = json.loads((root / "data/raw/meta.json").read_text())
    assert meta["source"] == "real" and meta["tasks"]["mldoc"]["available"] is False
    assert "MLDoc" in meta["tasks"]["mldoc"]["reason"]
    assert meta["tasks"]["xnli"]["translations"] > 0 and meta["tasks"]["sentiment"]["translations"] == 0
    table2 = (root / "data/report/table2.md").read_text()
    lines = table2.splitlines()
    mldoc_col = next(line for line in lines if line.startswith("| Paper row")).split("|").index(" mldoc macro_f1 ")
    proposed = next(line for line in lines if line.startswith("| Proposed Model"))
    assert proposed.split("|")[mldoc_col].strip().startswith("not run")
    scores = (root / "data/report/scores.csv").read_text()
    assert ",sentiment," in scores and ",xnli," in scores and ",pawsx," in scores


def test_pairs_on_real_text_report_filters_per_language_and_chrf_per_kind(project):
    root, _ = project
    stats = json.loads((root / "data/metrics/pairs.json").read_text())
    assert stats["mldoc"] == {"not_run": stats["mldoc"]["not_run"]}
    sentiment = stats["sentiment"]
    assert sentiment["pairs"]["source"] == "parallel corpus"
    assert set(sentiment["pairs"]["kept"]) == {"ar", "de", "es", "fr", "hi", "sw", "zh"}
    assert stats["xnli"]["pairs"]["source"] == "translations"
    kinds = sentiment["counterfactuals"]["train"]
    assert kinds["translation_swap"]["n"] == 0  # no translation of a tweet exists, so that kind never applies
    assert all(kinds[k]["n"] > 0 and 0 < kinds[k]["chrf"] < 100 for k in ("code_switch", "word_order", "style"))
    rows = [json.loads(line) for line in (root / "data/pairs/sentiment/train.jsonl").open()]
    assert all(r["pair"]["anchor"]["lang"] == "en" and r["pair"]["lang"] != "en" for r in rows)


@pytest.mark.reliability
def test_an_unreachable_hub_fails_fast_naming_the_dataset_and_leaves_data_untouched(project, tmp_path):
    root, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["datasets"]["xnli"] = {"hub": "facebook/xnli", "local": None}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    before = {p: p.stat().st_mtime_ns for p in (root / "data/raw").rglob("*")}
    start = time.perf_counter()
    # A closed local port stands in for the cut network, so the test never reaches the internet either way.
    done = run_cmd(["xcrl", "download", "--params", str(tmp_path / "params.yaml"), "--task", "xnli",
                    "--out", str(root / "data/raw")], root, ok=False, HF_HUB_OFFLINE="0",
                   HF_ENDPOINT="http://127.0.0.1:9")
    assert done.returncode == 2 and time.perf_counter() - start < 30
    assert "XNLI" in done.stderr and "facebook/xnli" in done.stderr and "datasets.xnli.local" in done.stderr
    assert {p: p.stat().st_mtime_ns for p in (root / "data/raw").rglob("*")} == before
    assert not [p for p in (root / "data").iterdir() if p.name.startswith(".raw")]
