"""`xcrl predict`: a finished run, or a model `xcrl export` wrote, over new text. Per input: the predicted label, the
class probabilities and, for a model with the causal gate, how open the gate is over each space it reads.

The texts are tokenised as `tokenise` tokenised the run's data (`training.batches.encode` with the run's tokenizer
and `train.max_length`) and run through the model as `evaluate` runs it (`training.inference.infer` on the weights
selected on the source dev set), so on the run's own test split the predictions are evaluate's.

A run folder (`data/models/<variant>/<task>/seed<N>/`) names its encoder and tokenizer by the path it was trained
from and its labels only through the raw folder's meta.json; an export carries all of it (`export.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import ModelConfig, Variant
from ..data.raw import read_meta, task_meta
from ..io import DataError, dumps_csv, dumps_jsonl, read_json
from ..model.model import XcrlModel, load_encoder
from ..training.batches import encode
from ..training.inference import infer, resolve_device
from ..training.selection import CRITERIA, HONEST, load_weights
from .evaluate import RUN_CONFIG_KEYS, load_run
from .texts import PASSED_THROUGH

RUN_FILES = ("config.json", "summary.json", CRITERIA[HONEST][1])  # what `train` writes into every finished run
EXPORT_CONFIG = "xcrl.json"  # an export's own config: what the model is, beside the encoder's config.json
HEADS = "heads.safetensors"  # an export's weights other than the encoder's
OUTPUT_FORMATS = ("jsonl", "csv")
# What a run card takes of a run's config.json beyond what evaluate reads to rebuild the model.
CARD_KEYS = ("task", "variant", "seed", "data.source_lang", "data.source", "train.max_length")


def check_run(path: Path) -> None:
    """Refuse a folder that is not a finished run (nor an export), saying what it is instead."""
    path = Path(path)
    if (path / EXPORT_CONFIG).exists() or all((path / name).exists() for name in RUN_FILES):
        return
    seeds = sorted(p.name for p in path.glob("seed*") if (p / RUN_FILES[0]).exists()) if path.is_dir() else []
    if not path.is_dir():
        why = "no such folder"
    elif seeds:
        why = f"it holds the runs {', '.join(seeds)}: name one, e.g. {path / seeds[0]}"
    elif (path / "not_run.json").exists():
        why = "its task was not run (not_run.json)"
    else:
        missing = [name for name in RUN_FILES if not (path / name).exists()]
        why = f"no {', '.join(missing)}"
    raise DataError(f"{path}: not a finished run ({why}); a run is data/models/<variant>/<task>/seed<N>/ after "
                    f"`xcrl train`, or a folder `xcrl export` wrote")


def run_card(run_dir: Path, raw_dir: Path) -> dict:
    """What a finished run is, as an export's xcrl.json states it: its task, variant and seed, the task's labels and
    whether it reads sentence pairs (from the raw folder's meta.json), the languages, `train.max_length` and the
    config its model is rebuilt from."""
    config = read_json(Path(run_dir) / "config.json", RUN_CONFIG_KEYS + CARD_KEYS, "train")
    meta = read_meta(raw_dir)
    task = task_meta(meta, config["task"], raw_dir)
    return {"task": config["task"], "variant": config["variant"], "seed": config["seed"],
            "labels": list(task["labels"]), "pair": bool(task.get("pair", False)),
            "languages": list(meta["languages"]), "source_lang": config["data"]["source_lang"],
            "data_source": config["data"]["source"], "max_length": config["train"]["max_length"],
            "model": config["model"], "variant_config": config["variant_config"]}


def model_card(path: Path, raw_dir: Path) -> dict:
    """The xcrl.json of an export, or `run_card` of a finished run; anything else is refused (`check_run`)."""
    check_run(path)
    if (Path(path) / EXPORT_CONFIG).exists():
        return json.loads((Path(path) / EXPORT_CONFIG).read_text(encoding="utf-8"))
    return run_card(path, raw_dir)


def load_model(path: Path, card: dict) -> XcrlModel:
    """The model of a finished run (its source-dev-selected weights) or of an export (the encoder of its folder and
    the heads of heads.safetensors), in eval mode on the CPU."""
    path = Path(path)
    n_labels, n_languages = len(card["labels"]), len(card["languages"])
    if not (path / EXPORT_CONFIG).exists():
        return load_run(path, card, n_labels, n_languages)
    model = XcrlModel(load_encoder(str(path)), ModelConfig(**card["model"]), Variant(**card["variant_config"]),
                      n_labels, n_languages)
    missing, unexpected = model.load_state_dict(load_weights(path / HEADS), strict=False)
    missing = [k for k in missing if not k.startswith("encoder.")]
    if missing or unexpected:
        raise DataError(f"{path / HEADS}: does not fit the model xcrl.json describes (missing {missing}, "
                        f"unexpected {unexpected})")
    return model.eval()


@dataclass
class Predictor:
    """A trained model ready for new text: the model, its tokenizer and its card (labels, pair or not, lengths)."""

    model: XcrlModel
    tokenizer: object
    card: dict

    @classmethod
    def load(cls, path: Path, card: dict, device: str = "auto") -> Predictor:
        from transformers import AutoTokenizer

        exported = (Path(path) / EXPORT_CONFIG).exists()
        tokenizer = AutoTokenizer.from_pretrained(str(path) if exported else card["model"]["encoder"])
        return cls(load_model(path, card).to(resolve_device(device)), tokenizer, card)

    def predict(self, rows: list[dict], batch_size: int = 128,
                done: Callable[[int], None] | None = None) -> list[dict]:
        """One prediction per row of `texts.read_texts`, in order: its `id` and `lang` when it has them, `pred` (the
        label's index, as evaluate's predictions.jsonl), `pred_label`, `prob_<label>` per label and, with the gate,
        `gate_<space>`: the gate's mean openness over that space (z_inv and z_task; h for a gate without D)."""
        try:  # a text of nothing but spaces is named by its file and line, not by an id it may lack
            enc = encode(self.tokenizer, [{**r, "id": r["where"]} for r in rows], None, self.card["max_length"])
        except ValueError as err:
            raise DataError(str(err)) from None
        logits, spaces = infer(self.model, enc, batch_size, self.model.encoder.config.pad_token_id, done)
        device = next(self.model.parameters()).device
        gate = self.model.gate_openness({k: v.to(device) for k, v in spaces.items()})
        gate = {k: v.cpu().tolist() for k, v in gate.items()}
        probs, preds = logits.softmax(-1).tolist(), logits.argmax(-1).tolist()  # argmax of logits, as evaluate's
        labels = self.card["labels"]
        return [{**{k: row[k] for k in PASSED_THROUGH if k in row}, "pred": pred, "pred_label": labels[pred],
                 **{f"prob_{label}": p for label, p in zip(labels, prob)},
                 **{f"gate_{space}": values[i] for space, values in gate.items()}}
                for i, (row, pred, prob) in enumerate(zip(rows, preds, probs))]


def output_format(out: Path | None, given: str | None) -> str:
    """The format asked for, else the output file's suffix, else JSON lines."""
    if given:
        return given
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    return {"csv": "csv", "json": "jsonl", "jsonl": "jsonl"}.get(suffix, "jsonl")


def dumps_predictions(rows: list[dict], fmt: str) -> str:
    """Predictions as JSON lines or as a CSV with one column per key (in the order of `Predictor.predict`)."""
    if fmt == "jsonl":
        return dumps_jsonl(rows)
    header = list(dict.fromkeys(k for row in rows for k in row))
    return dumps_csv(header, ([row.get(k) for k in header] for row in rows))
