"""The whole pipeline on the real dataset samples (read in place from ../shared/data/real), with the tiny encoder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from conftest import REAL, ROOT, dvc_project, hub_like_encoder, real_dir, run_cmd, write_reviews

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
    params["data"].update(source="real", languages=LANGUAGES,
                          tasks=["xnli", "pawsx", "mldoc", "sentiment", "reviews"])
    params["tasks"]["reviews"] = write_reviews(root / "reviews", copies=4)  # a task params.yaml alone defines
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


def test_a_task_defined_in_params_alone_is_trained_evaluated_and_gets_its_column_without_a_paper_value(project):
    """`reviews` (csv files with their own column names, two labels): ERM and Proposed trained on it, its column in
    Table 2 with measured cells and no paper value."""
    root, _ = project
    meta = json.loads((root / "data/raw/meta.json").read_text())["tasks"]["reviews"]
    assert meta["labels"] == ["bad", "good"] and meta["translations"] == 16
    for variant in ("erm", "proposed"):
        summary = json.loads((root / "data/models" / variant / "reviews" / "summary.json").read_text())
        assert summary[0]["task"] == "reviews" and summary[0]["steps"] > 0
    lines = (root / "data/report/table2.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| Paper row")).split("|")
    column = header.index(" reviews macro_f1 ")
    cells = {line.split("|")[1].strip(): line.split("|")[column].strip() for line in lines if line.startswith("| ")}
    print(f"\n{header[column].strip()}: {cells}")
    for row in ("XLM-R", "Proposed Model"):  # measured, and no paper value to set it against
        assert cells[row][:1].isdigit() and "paper" not in cells[row], cells[row]
    assert "paper" in next(line for line in lines if line.startswith("| Proposed Model"))  # the paper's columns


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


# The paper preset's first stage: `pretrain.init` names a hub encoder, which `pretrain` snapshots into data/encoder.
# Tiny stand-ins for the Hub's XLM-R and mBERT (conftest.hub_like_encoder) play the hub ids, so the same loading,
# tokenising, training and evaluating code runs as for the real ones, offline. XNLI, whose sentence pairs BERT reads
# with segment ids, in en and de (its sample holds 4 training pairs: one step), one variant, one seed.


def _snapshot_params(root: Path, init: Path) -> dict:
    """The paper preset over the real-sample params, shrunk to XNLI in en and de, one variant and one step."""
    from xcrl_cli.config import presets

    params = presets.apply(_real_params(root), "paper")
    params["data"].update(languages=["en", "de"], low_resource=["de"], tasks=["xnli"])
    params["pretrain"]["init"] = str(init)
    params["model"].update(inv_dim=16, spe_dim=16, task_dim=16, head_hidden=32)
    # lr: a tiny encoder's rate, at which one step moves every weight with a gradient well past bf16's rounding
    params["train"].update(seeds=[0], epochs=1, batch_size=16, lr=0.01, device="cpu", precision="fp32")
    params["variants"] = {"proposed": params["variants"]["proposed"]}
    params["sweep"].update(tasks={"task": ["xnli"]}, variants={"variant": ["proposed"]})
    params["report"].update(tables={"table2": ["proposed"], "table3": ["proposed"], "table4": ["proposed"]},
                            figure3=["proposed"], figure3_languages=["de"],
                            paper_rows={"proposed": params["report"]["paper_rows"]["proposed"]})
    return params


@pytest.fixture(scope="module", params=["xlmr", "bert"])
def snapshot_project(request, tmp_path_factory) -> tuple[str, Path, Path]:
    """(kind, the tiny encoder's folder, the project) after `dvc repro evaluate` with that folder as pretrain.init."""
    kind = request.param
    root = tmp_path_factory.mktemp(f"snapshot-{kind}")
    texts = [real_dir("sentiment") / "umsab" / lang / "train_text.txt" for lang in ("english", "german")]
    lines = [line for f in texts for line in f.read_text(encoding="utf-8").splitlines()[:100]]
    init = hub_like_encoder(kind, root / f"tiny-{kind}", lines)
    dvc_project(root / "project", _snapshot_params(root, init))
    start = time.perf_counter()
    run_cmd(["dvc", "repro", "evaluate"], root / "project")
    print(f"dvc repro evaluate with pretrain.init = tiny {kind}: {time.perf_counter() - start:.1f} s")
    return kind, init, root / "project"


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_a_local_hub_encoder_as_pretrain_init_is_snapshotted_then_trained_and_evaluated(snapshot_project):
    from transformers import AutoConfig, AutoTokenizer

    kind, init, root = snapshot_project
    summary = json.loads((root / "data/metrics/pretrain.json").read_text())
    assert summary["init"] == str(init) and summary["retrieval"] == {}  # the real samples hold no held-out pairs
    encoder = root / "data/encoder"
    assert AutoConfig.from_pretrained(encoder).model_type == {"xlmr": "xlm-roberta", "bert": "bert"}[kind]
    assert type(AutoTokenizer.from_pretrained(encoder)) is type(AutoTokenizer.from_pretrained(init))
    prefix = {"xlmr": "roberta.", "bert": "bert."}[kind]  # the masked-LM checkpoint's base model, head left behind
    saved, given = _tensors(encoder / "model.safetensors"), _tensors(init / "model.safetensors")
    assert saved.keys() == {k.removeprefix(prefix) for k in given if k.startswith(prefix)}
    assert all(saved[k].equal(given[prefix + k]) for k in saved)
    run = json.loads((root / "data/models/proposed/xnli/seed0/summary.json").read_text())
    assert run["steps"] >= 1 and run["segments"] == ["cf", "pair"]
    scores = (root / "data/eval/proposed/scores.csv").read_text()
    assert "proposed,xnli,0,de,accuracy," in scores and "proposed,xnli,0,en,accuracy," in scores


@pytest.mark.parametrize("snapshot_project", ["xlmr", "bert"], indirect=True)
def test_segment_ids_reach_bert_in_tokenise_and_train_and_xlmr_gets_none(snapshot_project):
    """BERT reads which tokens are the first sentence and which the second (XNLI's premise and hypothesis): every
    tokenised sequence of a pair carries 0s then 1s, and training moved segment 1's embedding, which only an input
    with segment ids reaching the encoder can do (without them row 1 gets no gradient and only weight decay's
    shrink, a factor 1 - lr·wd per step, while Adam moves an element with a gradient by about lr per step).
    XLM-R has one segment embedding: its tokenised data must carry none (an id 1 would index past it)."""
    from datasets import load_from_disk

    kind, init, root = snapshot_project
    tokens = root / "data/tokens/xnli"
    train, test = load_from_disk(str(tokens / "train")), load_from_disk(str(tokens / "test"))
    if kind == "xlmr":
        assert not [c for c in train.column_names + test.column_names if "token_type_ids" in c]
        return
    columns = {"src_token_type_ids", "pair_token_type_ids", "cf_token_type_ids"}
    assert columns <= set(train.column_names) and "token_type_ids" in test.column_names
    for types in [t for c in sorted(columns) for t in train[c]] + list(test["token_type_ids"]):
        first = types.index(1)
        assert set(types[:first]) == {0} and set(types[first:]) == {1}, types
    name = "embeddings.token_type_embeddings.weight"
    trained = _tensors(root / "data/models/proposed/xnli/seed0/model.safetensors")[f"encoder.{name}"].float()
    given = _tensors(init / "model.safetensors")[f"bert.{name}"]
    lr = yaml.safe_load((root / "params.yaml").read_text())["train"]["lr"]
    assert (trained[1] - given[1]).abs().max() > lr / 2
