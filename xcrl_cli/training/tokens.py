"""Tokenised datasets: each task's texts tokenised once per dataset and tokenizer, stored by `datasets`.

`tokenise_task` reads what a task trains and is tested on — its pairs file (source example, pair, pair's source
side, counterfactual), its dev sets, its test set and test counterfactuals — tokenises it with
`datasets.Dataset.map` and saves one `DatasetDict` with `save_to_disk`. `train` (every variant, every seed) and
`evaluate` memory-map these Arrow files instead of tokenising again. Each split's fingerprint is derived from the
tokenizer's files, `max_length` and the split's rows, so the saved folder is byte-identical when its inputs are.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..data.corpora.hub import encoder_config
from ..data.raw import read_meta, task_dir, task_meta
from ..io import DataError, atomic_dir, iter_jsonl
from ..progress import progress_disabled
from .batches import Encoded, TrainSet, check_not_empty, tokenise

# A training row's sequences, by column prefix, and where each lies in a pairs-file row.
TRAIN_SEGMENTS = {"src": lambda r: r, "pair": lambda r: r["pair"], "cf": lambda r: r["counterfactual"],
                  "anchor": lambda r: r["pair"]["anchor"]}


EVAL_EXTRA_COLUMNS = ("kind", "chrf")


def _flat_train_rows(rows: list[dict], path: Path) -> list[dict]:
    """One flat record per example: id, label and, per segment, its text, text pair and language."""
    anchored = sum("anchor" in r["pair"] for r in rows)
    if anchored not in (0, len(rows)):
        raise DataError(f"{path}: {anchored} of {len(rows)} pairs have an `anchor`; a task's pairs come "
                        "either all from translations (no anchor) or all from a parallel corpus (an anchor each)")
    names = [n for n in TRAIN_SEGMENTS if n != "anchor" or anchored]
    flat = []
    for r in rows:
        rec = {"id": r["id"], "label": r["label"]}
        for name in names:
            seg = TRAIN_SEGMENTS[name](r)
            rec |= {f"{name}_text": seg["text"], f"{name}_text_pair": seg.get("text_pair"), f"{name}_lang": seg["lang"]}
        flat.append(rec)
    return flat


def _flat_eval_rows(rows: list[dict]) -> list[dict]:
    """Eval rows in one schema; a counterfactual keeps its kind and chrF against x, for the per-kind breakdown."""
    extra = [k for k in EVAL_EXTRA_COLUMNS if k in rows[0]]
    return [{"id": r["id"], "label": r.get("label", -1), "text": r["text"], "text_pair": r.get("text_pair"),
             "lang": r["lang"], **{k: r[k] for k in extra}} for r in rows]


def _tokenise_columns(batch: dict, tokenizer, max_length: int, prefixes: list[str], source: str) -> dict:
    """Token ids per prefix, and whether `max_length` cut the sequence: tokenised with one token of room first, so a
    sequence that fills it is known to be truncated, then cut again at `max_length`."""
    out = {}
    for p in prefixes:
        texts, pairs = batch[f"{p}text"], batch[f"{p}text_pair"]
        ids, types = tokenise(tokenizer, texts, pairs, max_length + 1)
        cut = [i for i, seq in enumerate(ids) if len(seq) > max_length]
        if cut:
            recut, recut_types = tokenise(tokenizer, [texts[i] for i in cut], [pairs[i] for i in cut], max_length)
            for j, i in enumerate(cut):
                ids[i] = recut[j]
                if types is not None:
                    types[i] = recut_types[j]
        check_not_empty(ids, batch["id"], texts, source)
        out[f"{p}input_ids"] = ids
        if types is not None:  # only for encoders that read segment ids (mBERT), so XLM-R's folders are unchanged
            out[f"{p}token_type_ids"] = types
        cut_set = set(cut)
        out[f"{p}truncated"] = [i in cut_set for i in range(len(ids))]
    return out


EVAL_KEYS = ("id", "lang", "text")  # what a dev, test or counterfactual row needs; a labelled one its label too
LABELLED_KEYS = (*EVAL_KEYS, "label")
TRAIN_KEYS = ("id", "label", "lang", "text", "pair.lang", "pair.text", "counterfactual.lang", "counterfactual.text")


def _checked_rows(path: Path, labels: list[str], keys: tuple[str, ...], stage: str) -> list[dict]:
    """The rows of a JSON-lines split that `xcrl <stage>` writes, each holding `keys`, refusing an empty split and a
    label outside the task's label set."""
    rows = []
    for lineno, row in iter_jsonl(path, keys, stage):
        if "label" in keys and row["label"] not in range(len(labels)):
            raise DataError(f"{path}:{lineno}: label {row['label']!r} is not one of the task's labels "
                            f"0..{len(labels) - 1} ({', '.join(labels)})")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: empty split; `download` and `pairs` write at least one example per split")
    return rows


def _fingerprint(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
    return h.hexdigest()[:32]


def tokenizer_signature(tokenizer_dir: str) -> str:
    """The bytes that decide tokenisation: the tokenizer's files when it is a local folder, else its hub id."""
    folder = Path(tokenizer_dir)
    if not folder.is_dir():
        return tokenizer_dir
    files = sorted(p for p in folder.iterdir() if p.name.startswith(("tokenizer", "special_tokens", "sentencepiece")))
    return _fingerprint(*(p.name.encode() + p.read_bytes() for p in files))


def _tokenised(rows: list[dict], prefixes: list[str], tokenizer, max_length: int, signature: str, source: Path):
    import datasets

    if progress_disabled():  # datasets draws its own tqdm bars, which XCRL_NO_PROGRESS silences too
        datasets.disable_progress_bars()
    ds = datasets.Dataset.from_list(rows)
    text_columns = [c for c in ds.column_names if c.endswith(("text", "text_pair"))]
    fingerprint = _fingerprint(signature, str(max_length), json.dumps(rows, sort_keys=True, ensure_ascii=False))
    return ds.map(_tokenise_columns, batched=True, batch_size=1000, remove_columns=text_columns,
                  fn_kwargs={"tokenizer": tokenizer, "max_length": max_length, "prefixes": prefixes,
                             "source": str(source)},
                  new_fingerprint=fingerprint, desc="tokenising")


def tokenise_task(tokenizer_dir: str, raw_dir: Path, pairs_dir: Path, task: str, source_lang: str,
                  max_length: int, out_dir: Path, draw: int | None = None) -> dict[str, int]:
    """Tokenise one task's train pairs, source dev, target dev (for oracle selection), test, test counterfactuals
    and, on the embedded benchmark, the cue-free test of every language (`test_nocue`) into `out_dir` (atomically); with a
    `draw`, that draw's files of the raw and pairs folders.

    Returns, per split, its number of rows and how many sequences `max_length` cut, per language.
    """
    from datasets import DatasetDict
    from transformers import AutoTokenizer

    labels = task_meta(read_meta(raw_dir), task, raw_dir)["labels"]
    raw_task, pairs_task = task_dir(raw_dir, task, draw), task_dir(pairs_dir, task, draw)
    train_path = pairs_task / "train.jsonl"
    train_rows = _flat_train_rows(_checked_rows(train_path, labels, TRAIN_KEYS, "pairs"), train_path)
    prefixes = [c[: -len("text")] for c in train_rows[0] if c.endswith("_text")]
    dev_path = raw_task / "dev.jsonl"
    dev_rows = _checked_rows(dev_path, labels, LABELLED_KEYS, "download")
    dev = [r for r in dev_rows if r["lang"] == source_lang]
    if not dev:
        raise DataError(f"{dev_path}: no {source_lang!r} rows; the source-language dev set selects the checkpoint")
    test_path, cf_path = raw_task / "test.jsonl", pairs_task / "test_cf.jsonl"
    evals = {"dev": (dev, dev_path),
             "dev_targets": ([r for r in dev_rows if r["lang"] != source_lang], dev_path),
             "test": (_checked_rows(test_path, labels, LABELLED_KEYS, "download"), test_path),
             "test_cf": (_checked_rows(cf_path, labels, EVAL_KEYS, "pairs"), cf_path)}
    nocue_path = raw_task / "test_nocue.jsonl"
    if nocue_path.exists():
        evals["test_nocue"] = (_checked_rows(nocue_path, labels, LABELLED_KEYS, "download"), nocue_path)
    encoder_config(tokenizer_dir, "model.encoder")  # the inputs first: a malformed one fails at once
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    signature = tokenizer_signature(tokenizer_dir)
    splits = {"train": _tokenised(train_rows, prefixes, tokenizer, max_length, signature, train_path)}
    for name, (rows, path) in evals.items():
        if rows:  # only a dataset without target-language dev sets has an empty dev_targets: no oracle selection
            splits[name] = _tokenised(_flat_eval_rows(rows), [""], tokenizer, max_length, signature, path)
    with atomic_dir(out_dir) as tmp:
        DatasetDict(splits).save_to_disk(str(tmp))
    return {name: {"rows": len(ds), "truncated": truncated_per_language(ds)} for name, ds in splits.items()}


def truncated_per_language(ds) -> dict[str, int]:
    """How many sequences of a tokenised split `max_length` cut, per language (languages with none left out)."""
    counts: dict[str, int] = {}
    for name in (c for c in ds.column_names if c.endswith("truncated")):
        langs = ds[name.removesuffix("truncated") + "lang"]
        for lang, cut in zip(langs, ds[name]):
            counts[lang] = counts.get(lang, 0) + int(cut)
    return {lang: n for lang, n in sorted(counts.items()) if n}


def load_tokens(tokens_dir: Path, split: str):
    """One split of a task's tokenised dataset (memory-mapped); a missing folder names the stage that writes it."""
    from datasets import load_from_disk

    path = Path(tokens_dir) / split
    if not (path / "state.json").exists():
        raise FileNotFoundError(f"{path}: no tokenised split here; run `xcrl tokenise` (or `dvc repro tokenise`)")
    return load_from_disk(str(path))


def values(ds, name: str) -> list:
    """One column of a tokenised split as a list, read from its Arrow column at once (iterating `ds[name]` would
    format one row at a time: 0.2 s of a 1.8 s evaluated run)."""
    return ds.data.column(name).to_pylist()


def column(ds, name: str, lang_index: dict[str, int], lang_column: str) -> Encoded:
    """A token-id column as `Encoded` (with its segment-id column where the split has one), read from the Arrow
    buffers without copying."""
    arr = ds.data.column(name).combine_chunks()
    types_name = name.replace("input_ids", "token_type_ids")
    types = ds.data.column(types_name).combine_chunks().values.to_numpy() if types_name in ds.column_names else None
    langs = values(ds, lang_column)
    unknown = sorted(set(langs) - set(lang_index))
    if unknown:
        raise DataError(f"{ds.cache_files[0]['filename'] if ds.cache_files else name}: languages {unknown} are not "
                        f"in data/raw/meta.json's languages {sorted(lang_index)}")
    return Encoded(flat=arr.values.to_numpy(), offsets=arr.offsets.to_numpy().astype(np.int64),
                   langs=np.array([lang_index[x] for x in langs], dtype=np.int64), types=types)


def load_train_set(tokens_dir: Path, lang_index: dict[str, int]) -> TrainSet:
    ds = load_tokens(tokens_dir, "train")
    names = [c[: -len("_input_ids")] for c in ds.column_names if c.endswith("_input_ids")]
    enc = {n: column(ds, f"{n}_input_ids", lang_index, f"{n}_lang") for n in names}
    return TrainSet(src=enc["src"], pair=enc["pair"], cf=enc["cf"], anchor=enc.get("anchor"),
                    labels=torch.tensor(values(ds, "label"), dtype=torch.long), ids=values(ds, "id"))


def has_split(tokens_dir: Path, split: str) -> bool:
    return (Path(tokens_dir) / split / "state.json").exists()


def load_eval_set(tokens_dir: Path, split: str, lang_index: dict[str, int]) -> tuple[Encoded, list[str], list[int]]:
    """A dev or test split: its encodings, example ids and labels (−1 where the split has none)."""
    ds = load_tokens(tokens_dir, split)
    return column(ds, "input_ids", lang_index, "lang"), values(ds, "id"), values(ds, "label")
