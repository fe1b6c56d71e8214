"""A missing or malformed input of `pairs` and every later stage: one `Error:` line on stderr naming the file (and
line, and key) and what is valid, exit code 2, a traceback only with `--debug`. Each case on tiny hand-made inputs,
nothing trained; `io.iter_jsonl`, `read_json` and `iter_csv` are the one reader behind them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT
from test_report import stage_inputs

from xcrl_cli.cli import main

pytestmark = pytest.mark.reliability

LABELS = ["negative", "neutral", "positive"]
TRAIN = "raw/sentiment/train.jsonl"


def _row(split: str, lang: str, i: int) -> dict:
    key = f"sentiment-{split}-{i}"
    return {"id": f"{key}-{lang}", "meaning_id": key, "task": "sentiment", "lang": lang, "split": split,
            "text": f"{lang} {split} text number {i} here", "text_pair": None, "label": i % 3, "cue_label": None}


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _project(root: Path) -> Path:
    """params.yaml and a raw folder as `download` writes it: sentiment in English and German with translations,
    a trained run's config.json and summary.json; the stages' folder options default to root/data/..."""
    raw = root / "data" / "raw"
    (raw / "sentiment").mkdir(parents=True)
    (raw / "meta.json").write_text(json.dumps({"source": "embedded", "source_lang": "en", "languages": ["en", "de"],
                                               "tasks": {"sentiment": {"labels": LABELS, "available": True}}}))
    _jsonl(raw / "sentiment" / "train.jsonl", [_row("train", "en", i) for i in range(6)])
    for split in ("dev", "test"):
        _jsonl(raw / "sentiment" / f"{split}.jsonl", [_row(split, lang, i) for lang in ("en", "de") for i in range(3)])
    _jsonl(raw / "sentiment" / "translations.jsonl",
           [{**_row("train", "de", i), "id": f"sentiment-train-{i}-en"} for i in range(6)])
    run = root / "data" / "models" / "erm" / "sentiment" / "seed0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": {"encoder": "data/encoder"}, "variant_config": {},
                                                 "train": {"device": "cpu"}}))
    (run / "summary.json").write_text(json.dumps({"source_dev_accuracy": 0.5, "selection": {}}))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(languages=["en", "de"], low_resource=["de"], tasks=["sentiment"])
    params["train"].update(seeds=[0], workers=2)
    params["sweep"]["tasks"] = {"task": ["sentiment"]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def _json_edit(path: Path, drop: str) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    del obj[drop]
    path.write_text(json.dumps(obj), encoding="utf-8")


def _xcrl(root: Path, stage: str, *args: str):
    return CliRunner().invoke(main, [stage, "--params", str(root / "params.yaml"), *args])


# (case, stage, break the input (under root), text the error line holds)
CASES = [
    ("meta missing", "pairs", lambda r: (r / "data/raw/meta.json").unlink(),
     "data/raw/meta.json: missing; `xcrl download` writes it"),
    ("meta malformed", "pairs", lambda r: _append(r / "data/raw/meta.json", "\n}"),
     "data/raw/meta.json:2: not valid JSON (Extra data)"),
    ("meta lacks tasks", "pairs", lambda r: _json_edit(r / "data/raw/meta.json", "tasks"),
     "data/raw/meta.json: missing key(s) ['tasks']"),
    ("train missing", "pairs", lambda r: (r / "data" / TRAIN).unlink(), f"data/{TRAIN}: missing"),
    ("test bad line", "pairs", lambda r: _append(r / "data/raw/sentiment/test.jsonl", "{oops\n"),
     "data/raw/sentiment/test.jsonl:7: not valid JSON"),
    ("test lacks meaning_id", "pairs", lambda r: _edit(r / "data/raw/sentiment/test.jsonl", '"meaning_id"', '"m"'),
     "data/raw/sentiment/test.jsonl:1: missing key(s) ['meaning_id']"),
    ("no translations, no parallel corpus", "pairs",
     lambda r: (r / "data/raw/sentiment/translations.jsonl").unlink(),
     "data/raw/parallel.jsonl: missing; a task without translations takes its pairs from the parallel corpus"),
    ("translation lacks text", "pairs",
     lambda r: _edit(r / "data/raw/sentiment/translations.jsonl", '"text"', '"txt"'),
     "data/raw/sentiment/translations.jsonl:1: missing key(s) ['text']"),
    ("pairs missing", "tokenise", lambda r: (r / "data/pairs/sentiment/train.jsonl").unlink(),
     "data/pairs/sentiment/train.jsonl: missing; `xcrl pairs` writes it"),
    ("counterfactuals bad line", "tokenise", lambda r: _append(r / "data/pairs/sentiment/test_cf.jsonl", "[1\n"),
     "data/pairs/sentiment/test_cf.jsonl:7: not valid JSON"),
    ("pair lacks counterfactual", "tokenise",
     lambda r: _edit(r / "data/pairs/sentiment/train.jsonl", '"counterfactual"', '"cf"'),
     "data/pairs/sentiment/train.jsonl:1: missing key(s) ['counterfactual.lang', 'counterfactual.text']"),
    ("dev lacks text", "tokenise", lambda r: _edit(r / "data/raw/sentiment/dev.jsonl", '"text"', '"txt"'),
     "data/raw/sentiment/dev.jsonl:1: missing key(s) ['text']"),
    ("no encoder", "tokenise", lambda r: None,
     "model.encoder 'data/encoder' cannot be loaded (no such folder, and not in the Hugging Face cache (HF_HUB_OFFLINE "
     "is set)); name a folder holding its config.json, weights and tokenizer (`xcrl pretrain` writes data/encoder)"),
    ("meta malformed", "train", lambda r: _append(r / "data/raw/meta.json", "\n}"),
     "data/raw/meta.json:2: not valid JSON"),
    ("config malformed", "evaluate", lambda r: _append(r / "data/models/erm/sentiment/seed0/config.json", "}"),
     "data/models/erm/sentiment/seed0/config.json:1: not valid JSON (Extra data)"),
    ("summary lacks selection", "evaluate",
     lambda r: _json_edit(r / "data/models/erm/sentiment/seed0/summary.json", "selection"),
     "data/models/erm/sentiment/seed0/summary.json: missing key(s) ['selection']"),
    ("summary missing", "evaluate", lambda r: (r / "data/models/erm/sentiment/seed0/summary.json").unlink(),
     "data/models/erm/sentiment/seed0/summary.json: missing; `xcrl train` writes it"),
    ("test bad line", "evaluate", lambda r: _append(r / "data/raw/sentiment/test.jsonl", "{oops\n"),
     "data/raw/sentiment/test.jsonl:7: not valid JSON"),
]


@pytest.mark.parametrize("case, stage, edit, error", CASES, ids=[f"{c[1]}: {c[0]}" for c in CASES])
def test_a_bad_input_is_one_error_line(tmp_path, monkeypatch, case, stage, edit, error):
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    if stage == "tokenise":
        assert _xcrl(root, "pairs").exit_code == 0
    edit(root)
    result = _xcrl(root, stage, *(["--variant", "erm"] if stage in ("train", "evaluate") else []))
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert error in lines[0], lines[0]


def test_a_bad_input_of_a_run_in_a_worker_process_is_one_error_line(tmp_path, monkeypatch):
    """Two seeds train side by side in worker processes; their missing tokens come back as the one error line."""
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    _edit(root / "params.yaml", "seeds:\n  - 0\n", "seeds:\n  - 0\n  - 1\n")
    result = _xcrl(root, "train", "--variant", "erm")
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0] == ("Error: data/tokens/sentiment/train: no tokenised split here; run `xcrl tokenise` (or `dvc "
                        "repro tokenise`)")


REPORT_CASES = [
    ("predictions bad line", lambda r: _append(r / "eval/erm/predictions.jsonl", "{oops\n"),
     "eval/erm/predictions.jsonl:289: not valid JSON"),
    ("prediction lacks pred", lambda r: _edit(r / "eval/erm/predictions.jsonl", '"pred"', '"p"'),
     "eval/erm/predictions.jsonl:1: missing key(s) ['pred']"),
    ("scores header", lambda r: _edit(r / "eval/erm/scores.csv", "value", "val"),
     "eval/erm/scores.csv:1: header 'variant,task,seed,lang,metric,val' is not the expected"),
    ("representations missing", lambda r: (r / "eval/erm/representations.csv").unlink(),
     "eval/erm/representations.csv: missing; `xcrl evaluate` writes it"),
    ("counterfactuals lack chrf", lambda r: _edit(r / "eval/erm/counterfactuals.csv", "chrf", "chr"),
     "eval/erm/counterfactuals.csv:1: header"),
    ("sweep scores missing", lambda r: (r / "sweep/cue0.0/erm/scores.csv").unlink(),
     "sweep/cue0.0/erm/scores.csv: missing; `xcrl evaluate` writes it"),
    ("pretraining metrics malformed", lambda r: _append(r / "pretrain.json", "}"),
     "pretrain.json: expected a JSON object with 'retrieval'"),
]


@pytest.mark.parametrize("case, edit, error", REPORT_CASES, ids=[c[0] for c in REPORT_CASES])
def test_a_bad_report_input_is_one_error_line(tmp_path, case, edit, error):
    args = stage_inputs(tmp_path)
    edit(tmp_path)
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert f"{tmp_path}/{error}" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback_of_a_bad_stage_input(tmp_path, monkeypatch):
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    (root / "data/raw/sentiment/translations.jsonl").unlink()
    result = CliRunner().invoke(main, ["--debug", "pairs", "--params", str(root / "params.yaml")])
    assert result.exit_code == 1 and "parallel.jsonl: missing" in str(result.exception)
