"""Evaluating trained runs: per-language test predictions and scores, and the representation metrics of Table 4.

Outputs are long-format rows (`variant, task, seed, lang, metric, value` and
`variant, task, seed, space, metric, value`), the input of the report. Beyond the paper: the same test scores of
the weights selected on the target dev sets (an oracle, `scores_target_dev.csv`), a task probe beside the
language probe on every space, one row per test counterfactual (its kind, chrF against x, and whether the
prediction held), and on the embedded benchmark the share of source test predictions that flip when only the
planted cue is removed, and the scores on the cue-free test of every language (`scores_nocue.csv`). Where the raw folder
holds held-out parallel pairs, the fine-tuned encoder's English→target retrieval on them (`heldout_retrieval`, the
mean over target languages): how much of pretraining's alignment fine-tuning on the source kept, with no task label.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import EvaluateConfig, ModelConfig, Params, Variant
from ..data.raw import draw_of, is_not_run, read_meta, task_dir, task_meta
from ..io import atomic_dir, dumps_csv, dumps_jsonl, read_json, read_jsonl
from ..model.model import XcrlModel, load_encoder
from ..model.pretrain import heldout_retrieval, read_parallel
from ..progress import progress_bar
from ..training.inference import infer, resolve_device
from ..training.selection import CRITERIA, HONEST, load_weights, selected_weights, unstored
from ..training.tokens import has_split, load_eval_set, load_tokens, values
from ..training.launcher import launch
from ..training.workers import plan_pool
from .columns import CF_COLUMNS, ORACLE_COLUMNS, ORACLE_NOT_STORED, REPR_COLUMNS, RUN_COLUMNS, SCORE_COLUMNS
from .metrics import (
    clustering_purity,
    counterfactual_consistency,
    language_id_accuracy,
    task_probe_accuracy,
    task_scores,
)


@dataclass
class RunResult:
    scores: list[dict] = field(default_factory=list)
    oracle_scores: list[dict] = field(default_factory=list)  # weights selected on target dev sets; none if no such set
    nocue_scores: list[dict] = field(default_factory=list)  # the cue-free test, every language; embedded benchmark only
    counterfactuals: list[dict] = field(default_factory=list)
    representations: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    run: dict = field(default_factory=dict)  # training's summary: source-dev accuracy and flags
    oracle_stored: bool = True  # False: the run selected oracle weights but did not store them


# What evaluation reads of a trained run's files (`xcrl train` writes them) and of a test set (`xcrl download`).
RUN_CONFIG_KEYS = ("model.encoder", "variant_config", "train.device")
SUMMARY_KEYS = ("source_dev_accuracy", "selection")
TEST_KEYS = ("id", "lang", "label", "meaning_id")


def load_run(run_dir: Path, config: dict, n_labels: int, n_languages: int) -> XcrlModel:
    """Rebuild a trained model from its resolved config (config.json) and load its source-dev-selected weights."""
    model_cfg = ModelConfig(**config["model"])
    variant = Variant(**config["variant_config"])
    model = XcrlModel(load_encoder(model_cfg.encoder), model_cfg, variant, n_labels, n_languages)
    model.load_state_dict(load_weights(run_dir / CRITERIA[HONEST][1]))
    return model.eval()


def _score_rows(key: dict, rows: list[dict], pred: np.ndarray, n_labels: int) -> list[dict]:
    langs = np.array([r["lang"] for r in rows])
    gold = np.array([r["label"] for r in rows])
    out = []
    for lang in sorted(set(langs)):
        m = langs == lang
        scores = task_scores(gold[m], pred[m], n_labels)
        out += [{**key, "lang": lang, "metric": k, "value": v} for k, v in scores.items()]
    return out


def _representation_rows(key: dict, rows: list[dict], spaces: dict[str, torch.Tensor],
                         cfg: EvaluateConfig) -> list[dict]:
    """Language-ID, task probe and purity per space; a metric the test set cannot support (see metrics.py) is left
    out."""
    langs = np.array([r["lang"] for r in rows])
    labels = np.array([r["label"] for r in rows])
    meanings = [r["meaning_id"] for r in rows]
    out = []
    for space, x in spaces.items():
        x = x.numpy()
        values = {"lang_id_acc": language_id_accuracy(x, langs, meanings, cfg.seed, cfg.probe_max_iter),
                  "task_probe_acc": task_probe_accuracy(x, labels, meanings, cfg.seed, cfg.probe_max_iter),
                  "cluster_purity": clustering_purity(x, meanings, langs, cfg.cluster_meanings, cfg.seed)}
        out += [{**key, "space": space, "metric": m, "value": v} for m, v in values.items() if v is not None]
    return out


def _predict(model, tokens_dir: Path, split: str, lang_index: dict[str, int], batch_size: int, pad_id: int):
    """Predicted labels, example ids and representation spaces of one tokenised split."""
    enc, ids, _ = load_eval_set(tokens_dir, split, lang_index)
    logits, spaces = infer(model, enc, batch_size, pad_id)
    return logits.argmax(-1).numpy(), ids, spaces


def _matched(pred: np.ndarray, ids: list[str], other_ids: list[str]) -> np.ndarray:
    """`pred` reordered to follow `other_ids` (a split derived from the test set, one row per test example)."""
    position = {rid: i for i, rid in enumerate(ids)}
    return pred[[position[rid] for rid in other_ids]]


def _counterfactual_rows(key: dict, tokens_dir: Path, pred_x: np.ndarray, pred_cf: np.ndarray) -> list[dict]:
    cf = load_tokens(tokens_dir, "test_cf")
    columns = (values(cf, c) for c in ("id", "lang", "kind", "chrf"))
    return [{**key, "id": rid, "lang": lang, "kind": kind, "chrf": chrf, "consistent": int(a == b)}
            for rid, lang, kind, chrf, a, b in zip(*columns, pred_x, pred_cf)]


def _retrieval_rows(key: dict, model: XcrlModel, encoder_path: str, raw_dir: Path, cfg: EvaluateConfig) -> list[dict]:
    """`heldout_retrieval` of the fine-tuned encoder on the first `cfg.retrieval_pairs` held-out pairs of each target
    language (mean over languages); none when the raw folder has no held-out pairs or the figure is off."""
    from transformers import AutoTokenizer

    per_lang: dict[str, list[dict]] = {}
    for row in read_parallel(raw_dir / "corpus", "heldout"):
        per_lang.setdefault(row["lang"], []).append(row)
    pairs = [row for rows in per_lang.values() for row in rows[: cfg.retrieval_pairs]]
    if not pairs:
        return []
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    accuracy = heldout_retrieval(model.encoder, tokenizer, pairs, model.encoder.config.max_position_embeddings - 2)
    return [{**key, "space": "h", "metric": "heldout_retrieval",
             "value": float(np.mean(list(accuracy["retrieval"].values())))}]


def evaluate_run(
    run_dir: Path, raw_dir: Path, tokens_dir: Path, key: dict, cfg: EvaluateConfig, batch_size: int = 128
) -> RunResult:
    """Scores of one trained run on its task's test set (every language), its test counterfactuals and, where the
    benchmark has one, the cue-free source test; the oracle-selected weights are scored on the test set too."""
    task = key["task"]
    meta = read_meta(raw_dir)
    lang_index = {lang: i for i, lang in enumerate(meta["languages"])}
    n_labels = len(task_meta(meta, task, raw_dir)["labels"])
    draw = draw_of(meta, task, key["seed"], raw_dir)  # the replicate's own draw of the task data, if it has one
    tokens_dir, raw_task = task_dir(tokens_dir, task, draw), task_dir(raw_dir, task, draw)
    config = read_json(run_dir / "config.json", RUN_CONFIG_KEYS, "train")  # every input read before the model
    summary = read_json(run_dir / "summary.json", SUMMARY_KEYS, "train")
    test_rows = read_jsonl(raw_task / "test.jsonl", TEST_KEYS, "download")
    device = resolve_device(config["train"]["device"])
    model = load_run(run_dir, config, n_labels, len(lang_index)).to(device)
    pad_id = model.encoder.config.pad_token_id
    pred, test_ids, spaces = _predict(model, tokens_dir, "test", lang_index, batch_size, pad_id)
    if test_ids != [r["id"] for r in test_rows]:
        raise ValueError(f"{tokens_dir / 'test'}: its ids differ from {raw_task / 'test.jsonl'}'s; "
                         "the tokenised data is stale, run `xcrl tokenise`")
    pred_cf, cf_ids, _ = _predict(model, tokens_dir, "test_cf", lang_index, batch_size, pad_id)
    pred_of_x = _matched(pred, test_ids, cf_ids)

    result = RunResult(run={**key, "source_dev_accuracy": summary["source_dev_accuracy"],
                            "flags": "; ".join(summary.get("flags", []))})
    result.scores = _score_rows(key, test_rows, pred, n_labels)
    result.representations = _representation_rows(key, test_rows, spaces, cfg)
    result.representations.append(
        {**key, "space": "prediction", "metric": "cf_consistency",
         "value": counterfactual_consistency(pred_of_x, pred_cf)}
    )
    result.counterfactuals = _counterfactual_rows(key, tokens_dir, pred_of_x, pred_cf)
    result.representations += _retrieval_rows(key, model, config["model"]["encoder"], raw_dir, cfg)
    if has_split(tokens_dir, "test_nocue"):
        pred_nocue, nocue_ids, _ = _predict(model, tokens_dir, "test_nocue", lang_index, batch_size, pad_id)
        nocue_rows = read_jsonl(raw_task / "test_nocue.jsonl", TEST_KEYS, "download")
        if nocue_ids != [r["id"] for r in nocue_rows]:
            raise ValueError(f"{tokens_dir / 'test_nocue'}: its ids differ from "
                             f"{raw_task / 'test_nocue.jsonl'}'s; the tokenised data is stale, run `xcrl tokenise`")
        # The cue is planted in the source language only: the flip rate is the share of its predictions it decides.
        source = np.array([r["lang"] == meta["source_lang"] for r in nocue_rows])
        flips = 1.0 - counterfactual_consistency(_matched(pred, test_ids, list(np.array(nocue_ids)[source])),
                                                 pred_nocue[source])
        result.nocue_scores = _score_rows(key, nocue_rows, pred_nocue, n_labels)
        result.representations.append({**key, "space": "prediction", "metric": "cue_flip_rate", "value": flips})
    oracle = selected_weights(run_dir, "target_dev")
    if oracle is not None:
        pred_oracle = pred  # both criteria chose the same step
        if oracle.name != CRITERIA[HONEST][1]:
            # Same architecture, other weights: swap them in rather than rebuild the model and reload the encoder.
            model.load_state_dict(load_weights(oracle, device))
            pred_oracle, _, _ = _predict(model, tokens_dir, "test", lang_index, batch_size, pad_id)
        result.oracle_scores = _score_rows(key, test_rows, pred_oracle, n_labels)
    result.oracle_stored = "target_dev" not in unstored(summary["selection"])
    result.predictions = [
        {**key, "id": r["id"], "lang": r["lang"], "label": r["label"], "pred": int(p)} for r, p in zip(test_rows, pred)
    ]
    return result


def _long_csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    return dumps_csv(columns, ([f"{r[c]:.6f}" if c == "value" else r[c] for c in columns] for r in rows))


def write_results(results: list[RunResult], out_dir: Path) -> None:
    """scores.csv, scores_target_dev.csv, scores_nocue.csv, representations.csv, runs.csv, counterfactuals.csv and predictions.jsonl
    of every run (and oracle_not_stored.csv when some run did not store its oracle), written atomically as one
    folder."""
    def rows(name: str) -> list[dict]:
        return [row for r in results for row in getattr(r, name)]

    with atomic_dir(out_dir) as tmp:
        (tmp / "scores.csv").write_text(_long_csv(SCORE_COLUMNS, rows("scores")))
        (tmp / "scores_target_dev.csv").write_text(_long_csv(SCORE_COLUMNS, rows("oracle_scores")))
        (tmp / "scores_nocue.csv").write_text(_long_csv(SCORE_COLUMNS, rows("nocue_scores")))
        (tmp / "representations.csv").write_text(_long_csv(REPR_COLUMNS, rows("representations")))
        (tmp / "runs.csv").write_text(dumps_csv(RUN_COLUMNS, ([r.run[c] for c in RUN_COLUMNS] for r in results)))
        (tmp / "counterfactuals.csv").write_text(dumps_csv(CF_COLUMNS, ([r[c] for c in CF_COLUMNS]
                                                                         for r in rows("counterfactuals"))))
        (tmp / "predictions.jsonl").write_text(dumps_jsonl(rows("predictions")), encoding="utf-8")
        not_stored = [[r.run[c] for c in ORACLE_COLUMNS] for r in results if not r.oracle_stored]
        if not_stored:
            (tmp / ORACLE_NOT_STORED).write_text(dumps_csv(ORACLE_COLUMNS, not_stored))


@dataclass(frozen=True)
class EvalFolders:
    """One benchmark's trained runs (`models`: <variant>/<task>/seed<N>/), the data they were trained on (`raw`, and
    `tokens`: one tokenised dataset per task) and the parent their evaluations are written under (`out`: one
    <variant>/ per variant)."""

    models: Path
    raw: Path
    tokens: Path
    out: Path


def evaluate_runs(params: Params, benchmarks: Sequence[EvalFolders], variants: Sequence[str],
                  tasks: Sequence[str]) -> list[tuple[Path, int]]:
    """Every run of each benchmark's variants × tasks × train.seeds (a task whose model folder is a "not run"
    marker has none) evaluated, and each benchmark's out/<variant>/ replaced whole; returns the folders written with
    their number of runs. The runs of every benchmark and variant go into one run pool, as they are trained
    (`training/workers.py`: `train.workers` side by side on CPU, `train.runs_per_gpu` per GPU): a worker pays for
    importing torch and the encoder's code once, and the pool's idle tail comes once, not once per variant."""
    keys = [(b, {"variant": v, "task": t, "seed": seed}) for b in benchmarks for v in variants for t in tasks
            if not is_not_run(b.models / v / t) for seed in params.train.seeds]
    run_dirs = [b.models / k["variant"] / k["task"] / f"seed{k['seed']}" for b, k in keys]
    untrained = [str(d) for d in run_dirs if not (d / "config.json").exists()]
    if untrained:
        raise FileNotFoundError(f"no trained run in {', '.join(untrained)}; run `xcrl train` first")
    jobs = [functools.partial(evaluate_run, d, b.raw, b.tokens, k, params.evaluate)
            for d, (b, k) in zip(run_dirs, keys)]
    workers = plan_pool(params.train.workers, params.train.runs_per_gpu, resolve_device(params.train.device), 1,
                        len(jobs))
    if len(workers) > 1 or params.train.launcher == "slurm":
        names = [f"evaluate {k['variant']}/{k['task']}/seed{k['seed']}" for _, k in keys]
        results = launch(jobs, names, params.train, workers, "evaluate")
    else:
        results = []
        with progress_bar() as bar:
            job = bar.add_task(f"evaluate {', '.join(variants)}", total=len(jobs))
            for run in jobs:
                results.append(run())
                bar.update(job, advance=1)
    written = []
    for b in benchmarks:
        for v in variants:
            mine = [r for (folders, k), r in zip(keys, results) if folders == b and k["variant"] == v]
            write_results(mine, b.out / v)
            written.append((b.out / v, len(mine)))
    return written
