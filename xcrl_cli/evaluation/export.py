"""`xcrl export`: a finished run as a self-contained folder in Hugging Face's layout, for someone who has
`transformers` and not xcrl, and for `xcrl predict --model`.

    config.json, model.safetensors   the fine-tuned encoder E: `AutoModel.from_pretrained(folder)` loads it
    tokenizer.json, tokenizer_config.json, ...   its tokenizer: `AutoTokenizer.from_pretrained(folder)`
    heads.safetensors                every other weight: disentangler D, causal gate C, task head f, discriminator
    xcrl.json                        what the model is: task, variant, seed, labels, pairs or single texts,
                                     languages, `train.max_length`, the model and variant config it is rebuilt from
    README.md                        the model card, from the run's params, its summary and, where `evaluate` has
                                     scored it, the per-language test scores with their spread over seeds

The encoder lies at the top level rather than in a subfolder: it is the part `transformers` knows, so the folder,
or a hub repository uploaded from it, loads with the one call everyone uses (no `subfolder=`) and the hub shows
it as the encoder it is. config.json is therefore the encoder's, and xcrl's own config is xcrl.json.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import yaml

from ..io import atomic_dir
from .predict import EXPORT_CONFIG, HEADS, check_run, load_model, run_card

FORMAT = 1  # xcrl.json's layout version


def seed_scores(eval_dir: Path, variant: str, task: str) -> dict[tuple[str, str], dict[int, float]]:
    """(language, metric) -> seed -> test score of the variant's runs on `task`, from evaluate's scores.csv; {} when
    there is none."""
    path = Path(eval_dir) / variant / "scores.csv"
    if not path.exists():
        return {}
    out: dict[tuple[str, str], dict[int, float]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["task"] == task:
                out.setdefault((row["lang"], row["metric"]), {})[int(row["seed"])] = float(row["value"])
    return out


def _spread(per_seed: dict[int, float]) -> str:
    """Mean ± sample std (ddof=1, as the report's cells) in percent; `n/a` for the std of one seed."""
    values = 100.0 * np.array(list(per_seed.values()))
    std = f"{np.std(values, ddof=1):.2f}" if len(values) > 1 else "n/a"
    return f"{np.mean(values):.2f} ± {std}"


def scores_table(scores: dict[tuple[str, str], dict[int, float]], seed: int, langs: list[str]) -> list[str]:
    """Markdown rows: per language and metric, this run's seed's test score, then mean ± std over the seeds
    evaluated."""
    metrics = sorted({metric for _, metric in scores})
    lines = ["| language | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for lang in (lang for lang in langs if any((lang, m) in scores for m in metrics)):
        cells = [f"{100 * s[seed]:.2f} / {_spread(s)}" if seed in (s := scores.get((lang, m), {}))
                 else (_spread(s) if s else "–") for m in metrics]
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    return lines


def _front_matter(card: dict) -> str:
    meta = {"library_name": "transformers", "pipeline_tag": "feature-extraction",
            "tags": ["xcrl", "cross-lingual", "zero-shot-transfer", card["task"], card["variant"]]}
    if card["data_source"] != "embedded":  # the embedded benchmark's other languages are synthetic
        meta["language"] = card["languages"]
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _use(card: dict) -> list[str]:
    """The card's "Use" section: the pooled vector with `transformers` alone, and `xcrl predict`."""
    pooled = "h = last[:, 0]" if card["model"]["pooling"] == "cls" else \
        "mask = batch['attention_mask'].unsqueeze(-1).float()\nh = (last * mask).sum(1) / mask.sum(1)"
    texts = "['…'], ['…']" if card["pair"] else "['…']"
    return [
        "## Use", "",
        "With `transformers` alone: the fine-tuned encoder and the pooled vector `h` the heads read "
        f"(`{card['model']['pooling']}` pooling).", "",
        "```python", "from transformers import AutoModel, AutoTokenizer", "",
        'folder = "."  # this folder, or its hub id',
        "tokenizer = AutoTokenizer.from_pretrained(folder)",
        "encoder = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()  # xcrl never used the pooler",
        f"batch = tokenizer({texts}, return_tensors='pt', padding=True, truncation=True, "
        f"max_length={card['max_length']})",
        "last = encoder(**batch).last_hidden_state", pooled, "```", "",
        "With xcrl: the label, its probabilities and how open the causal gate is, for each text of a csv, tsv or "
        "JSON-lines file (`xcrl predict --help`):", "",
        "```bash", "xcrl predict --model . texts.csv --out predictions.csv", "```", ""]


def _training(card: dict, summary: dict) -> list[str]:
    """The card's "Training" section: the variant's modules and loss weights, the encoder, the selected step."""
    model, variant = card["model"], card["variant_config"]
    weights = ", ".join(f"{term} {w:g}" for term, w in variant["weights"].items() if w)
    return [
        "## Training", "", "| | |", "|---|---|",
        f"| variant | `{card['variant']}`: disentangler D {'yes' if variant['disentangle'] else 'no'}, causal gate C "
        f"{'yes' if variant['gate'] else 'no'} |",
        f"| loss weights | {weights} |",
        f"| encoder | `{card['encoder_trained_from']}` ({model['encoder_label']}), `{model['pooling']}` pooling |",
        f"| z_inv / z_spe / z_task | {model['inv_dim']} / {model['spe_dim']} / {model['task_dim']} |",
        f"| selected | step {summary['selected_step']} of {summary['steps']}, on source-language dev accuracy "
        f"{summary['source_dev_accuracy']:.4f} |",
        f"| flags | {'; '.join(summary.get('flags', [])) or 'none'} |", ""]


def readme(card: dict, summary: dict, scores: dict, eval_dir: Path) -> str:
    """The model card: what the model is, how to use it with and without xcrl, how it was trained and scored."""
    targets = [lang for lang in card["languages"] if lang != card["source_lang"]]
    data = (f"the embedded benchmark (generated data; its languages other than `{card['source_lang']}` are "
            "synthetic ones named after real ones, so this is no model of them)"
            if card["data_source"] == "embedded" else "the paper's dataset")
    lines = [
        _front_matter(card),
        f"# xcrl {card['variant']} on {card['task']} (seed {card['seed']})", "",
        f"The variant `{card['variant']}` of the xcrl reproduction of *Cross-lingual Causal Representation Learning "
        f"Based on Multi-dimensional Semantic Disentanglement*, fine-tuned on `{card['task']}` in "
        f"`{card['source_lang']}` only, on {data}, and tested zero-shot on {', '.join(targets)}.", "",
        f"Labels: {', '.join(f'{i} = {label}' for i, label in enumerate(card['labels']))}; the model reads "
        + ("sentence pairs (`text`, `text_pair`)." if card["pair"] else "single texts (`text`)."), "",
        *_use(card), *_training(card, summary), "## Test scores", ""]
    if scores:
        seeds = sorted({s for per_seed in scores.values() for s in per_seed})
        lines += [f"In percent, per test language: seed {card['seed']} (this model) / the mean ± sample standard "
                  f"deviation over the {len(seeds)} seed(s) `evaluate` scored ({', '.join(map(str, seeds))}).", "",
                  *scores_table(scores, card["seed"], card["languages"])]
    else:
        lines.append(f"No `evaluate` output for this run in `{eval_dir}`: run `xcrl evaluate`, then export again.")
    lines += ["", "## Files", "",
              "`config.json`, `model.safetensors`: the encoder; the tokenizer's files; `heads.safetensors`: D, C, "
              "the task head (and the language discriminator); `xcrl.json`: what `xcrl predict` rebuilds the model "
              "from.", "",
              "Upload with `huggingface_hub.upload_folder(repo_id=..., folder_path=...)` (docs/use.md)."]
    return "\n".join(lines) + "\n"


def export_run(run_dir: Path, raw_dir: Path, eval_dir: Path, out_dir: Path) -> dict:
    """Write the export of a finished run to `out_dir` (atomically, replacing it whole); returns its xcrl.json."""
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    check_run(run_dir)
    card = run_card(run_dir, raw_dir)
    model = load_model(run_dir, card)
    tokenizer = AutoTokenizer.from_pretrained(card["model"]["encoder"])
    summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    exported = {"format": FORMAT, **card, "encoder_trained_from": card["model"]["encoder"],
                "model": {**card["model"], "encoder": "."}}  # the encoder is this folder's
    heads = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    scores = seed_scores(eval_dir, card["variant"], card["task"])
    with atomic_dir(out_dir) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_file(heads, str(tmp / HEADS))
        (tmp / EXPORT_CONFIG).write_text(json.dumps(exported, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(readme(exported, summary, scores, eval_dir), encoding="utf-8")
    return exported
