"""`xcrl predict` and `xcrl export` on a finished tiny run: evaluate's predictions on the run's own test split, the
exported encoder's pooled vectors through plain `transformers`, and bad inputs refused in one line."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.cli import main
from xcrl_cli.evaluation.evaluate import load_run
from xcrl_cli.io import dumps_csv, read_jsonl
from xcrl_cli.model.model import pool
from xcrl_cli.training.inference import infer
from xcrl_cli.training.tokens import load_eval_set

TASK = "xnli"  # a sentence-pair task: text and text_pair both reach the model
TINY = {
    "data": {"tasks": [TASK]},
    "benchmark": {"train_size": 64, "dev_size": 16, "test_size": 24, "corpus_size": 150, "draw_per_seed": False},
    "model": {"inv_dim": 16, "spe_dim": 16, "task_dim": 16, "head_hidden": 32},
    "train": {"seeds": [0], "epochs": 3, "batch_size": 16, "eval_every": 2, "checkpoint_every": 0, "max_length": 32},
    "evaluate": {"retrieval_pairs": 0},
    "sweep": {"tasks": {"task": [TASK]}},
}


def _xcrl(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def _ok(*args: str, input: str | None = None) -> str:
    result = _xcrl(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_encoder) -> Path:
    """One finished, evaluated Proposed run on the tiny embedded XNLI; its folder's parent holds raw/ and eval/."""
    root = tmp_path_factory.mktemp("predict")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    params["model"]["encoder"] = str(tiny_encoder)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    p, raw, tokens = str(root / "params.yaml"), str(root / "raw"), str(root / "tokens")
    _ok("download", "--params", p, "--out", raw)
    _ok("pairs", "--params", p, "--raw", raw, "--out", str(root / "pairs"))
    _ok("tokenise", "--params", p, "--raw", raw, "--pairs", str(root / "pairs"), "--out", tokens)
    _ok("train", "--params", p, "--variant", "proposed", "--raw", raw, "--tokens", tokens, "--out",
        str(root / "models"), "--live", str(root / "live"), "--checkpoints", str(root / "ckpt"))
    _ok("evaluate", "--params", p, "--variant", "proposed", "--models", str(root / "models"), "--raw", raw,
        "--tokens", tokens, "--out", str(root / "eval"))
    return root / "models" / "proposed" / TASK / "seed0"


def _root(run: Path) -> Path:
    return run.parents[3]


def _test_split_as_csv(run: Path, path: Path) -> Path:
    """The run's test split written out as a file, under the other common column names (text_a, text_b)."""
    rows = read_jsonl(_root(run) / "raw" / TASK / "test.jsonl")
    path.write_text(dumps_csv(["id", "lang", "text_a", "text_b"],
                              ([r["id"], r["lang"], r["text"], r["text_pair"]] for r in rows)), encoding="utf-8")
    return path


def _predict(model: Path, run: Path, inputs: Path, out: Path) -> list[dict]:
    _ok("predict", "--model", str(model), "--raw", str(_root(run) / "raw"), str(inputs), "--out", str(out))
    with out.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _as_evaluate_runs_it(run: Path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits and spaces of the run on its tokenised test split, loaded and run as `evaluate` does."""
    meta = json.loads((_root(run) / "raw" / "meta.json").read_text())
    lang_index = {lang: i for i, lang in enumerate(meta["languages"])}
    model = load_run(run, json.loads((run / "config.json").read_text()), len(meta["tasks"][TASK]["labels"]),
                     len(lang_index))
    enc, _, _ = load_eval_set(_root(run) / "tokens" / TASK, "test", lang_index)
    return infer(model, enc, 128, model.encoder.config.pad_token_id)


def test_predict_on_the_run_s_test_split_gives_evaluate_s_predictions(run, tmp_path):
    predicted = _predict(run, run, _test_split_as_csv(run, tmp_path / "test.csv"), tmp_path / "pred.csv")
    evaluated = {r["id"]: r["pred"] for r in read_jsonl(_root(run) / "eval" / "proposed" / "predictions.jsonl")}
    assert [r["id"] for r in predicted] == list(evaluated)
    same = sum(int(r["pred"]) == evaluated[r["id"]] for r in predicted)
    print(f"\n{same} of {len(evaluated)} predictions identical to evaluate's ({len(set(evaluated.values()))} labels)")
    assert same == len(evaluated) and len(set(evaluated.values())) > 1  # not a constant predictor

    labels = json.loads((_root(run) / "raw" / "meta.json").read_text())["tasks"][TASK]["labels"]
    probs = torch.tensor([[float(r[f"prob_{label}"]) for label in labels] for r in predicted])
    assert [r["pred_label"] for r in predicted] == [labels[int(r["pred"])] for r in predicted]
    logits, _ = _as_evaluate_runs_it(run)
    print(f"max |probability - evaluate path's|: {(probs - logits.softmax(-1)).abs().max():.2e}")
    assert torch.allclose(probs, logits.softmax(-1), atol=1e-6)
    for space in ("z_inv", "z_task"):
        gate = [float(r[f"gate_{space}"]) for r in predicted]
        assert all(0 < g < 1 for g in gate)


def test_predict_reads_json_lines_from_standard_input(run):
    rows = read_jsonl(_root(run) / "raw" / TASK / "test.jsonl")[:3]
    lines = "".join(json.dumps({"text": r["text"], "text_pair": r["text_pair"]}) + "\n" for r in rows)
    out = [json.loads(line) for line in _ok("predict", "--model", str(run), "--raw", str(_root(run) / "raw"),
                                             input=lines).splitlines()]
    assert len(out) == 3 and {"pred", "pred_label", "gate_z_inv", "gate_z_task"} <= set(out[0])
    assert "id" not in out[0]  # passed through only where the input has one


def test_export_loads_with_automodel_to_the_run_s_pooled_vectors_and_predicts_as_the_run(run, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    eval_dir = tmp_path / "eval"  # the run's scores and a second seed's, for the card's spread
    shutil.copytree(_root(run) / "eval", eval_dir)
    scores = (eval_dir / "proposed" / "scores.csv").read_text().splitlines()
    seed1 = [line.replace(f"{TASK},0,", f"{TASK},1,").rsplit(",", 1)[0] + ",0.500000" for line in scores[1:]]
    (eval_dir / "proposed" / "scores.csv").write_text("\n".join(scores + seed1) + "\n")
    export = tmp_path / "export"
    _ok("export", str(run), str(export), "--raw", str(_root(run) / "raw"), "--eval", str(eval_dir))
    assert {"config.json", "model.safetensors", "heads.safetensors", "xcrl.json", "README.md"} <= {
        p.name for p in export.iterdir()}

    rows = read_jsonl(_root(run) / "raw" / TASK / "test.jsonl")
    tokenizer, encoder = AutoTokenizer.from_pretrained(export), AutoModel.from_pretrained(export).eval()
    batch = tokenizer([r["text"] for r in rows], [r["text_pair"] for r in rows], truncation=True, max_length=32,
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        h = pool(encoder(**batch).last_hidden_state, batch["attention_mask"], "mean")
    _, spaces = _as_evaluate_runs_it(run)
    print(f"\nmax |pooled vector - run's h|: {(h - spaces['h']).abs().max():.2e} over {tuple(h.shape)}")
    assert torch.allclose(h, spaces["h"], atol=1e-5)

    inputs = _test_split_as_csv(run, tmp_path / "test.csv")
    from_run = _predict(run, run, inputs, tmp_path / "run.csv")
    from_export = _predict(export, run, inputs, tmp_path / "export.csv")
    assert [r["pred"] for r in from_export] == [r["pred"] for r in from_run]
    assert from_export == from_run  # probabilities and gate openness too: the same weights, the same code

    card = (export / "README.md").read_text()
    for text in ("library_name: transformers", "`proposed`", "align 0.01", "| en |", "| sw |", "± ",
                 "over the 2 seed(s)", "upload_folder", "add_pooling_layer=False"):
        assert text in card, text


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert all(n in lines[0] for n in needles), lines[0]


@pytest.mark.parametrize("case", ["missing text column", "missing pair column", "empty file", "header only",
                                  "blank text"])
def test_a_bad_input_file_is_one_line_exit_2(case, run, tmp_path):
    content, needle = {
        "missing text column": ("id,sentence\n1,a b\n", "no text column 'text' or 'text_a'"),
        "missing pair column": ("text\nthe market runs\n", "no text-pair column"),
        "empty file": ("", "no rows"),
        "header only": ("text,text_pair\n", "no rows"),
        "blank text": ("text,text_pair\nthe bank,runs\nthe bank, \n", "in.csv:3: 'text_pair' is \" \", not a text"),
    }[case]
    path = tmp_path / "in.csv"
    path.write_text(content)
    _one_line_error(_xcrl("predict", "--model", str(run), "--raw", str(_root(run) / "raw"), str(path)), str(path),
                    needle)


@pytest.mark.parametrize("folder", ["variant/task", "empty", "missing"])
def test_a_folder_that_is_not_a_finished_run_is_one_line_exit_2(folder, run, tmp_path):
    path = {"variant/task": run.parent, "empty": tmp_path, "missing": tmp_path / "nothing"}[folder]
    inputs = _test_split_as_csv(run, tmp_path / "test.csv")
    for command in (["predict", "--model", str(path), str(inputs)], ["export", str(path), str(tmp_path / "out")]):
        _one_line_error(_xcrl(*command), f"{path}: not a finished run")
    assert not (tmp_path / "out").exists()
    result = _xcrl("--debug", "predict", "--model", str(path), str(inputs))
    assert result.exit_code == 1 and "not a finished run" in str(result.exception)
