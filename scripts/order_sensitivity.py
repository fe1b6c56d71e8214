"""How far swapping who does what to whom moves an encoder's pooled pair, against replacing the sentence outright.

PAWS-X tells its labels apart only by the roles of two people (docs/benchmark.md). An encoder whose mean-pooled
pair barely moves when the two people of the second sentence trade places gives a head almost nothing to read. For
each English PAWS-X pair (A, B) of a draw this encodes (A, B), (A, B with its two people swapped) and (A, another
pair's B), mean-pools each as `model.pooling: mean` does, and prints the median of

    ||pool(A, B) - pool(A, B_swapped)|| / ||pool(A, B) - pool(A, B_other)||

and the median relative move of the last states of the tokens that did not change. It reads no label.

    python scripts/order_sensitivity.py data/encoder data/raw/pawsx/draw0/dev.jsonl
"""
import json
import sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging

from xcrl_cli.data.lexicon import AGENTS
from xcrl_cli.model.model import pool


def swapped(sentence: str) -> str | None:
    """The sentence with its two people traded, or None unless it names exactly two."""
    words = sentence.split()
    people = [i for i, w in enumerate(words) if w in AGENTS]
    if len(people) != 2:
        return None
    i, j = people
    words[i], words[j] = words[j], words[i]
    return " ".join(words)


def main(encoder_dir: str, rows_path: str) -> None:
    logging.set_verbosity_error()  # the encoder's unused LM head is expected, not news
    logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    encoder = AutoModel.from_pretrained(encoder_dir).eval()
    rows = [json.loads(line) for line in open(rows_path, encoding="utf-8")]
    rows = [r for r in rows if r["lang"] == "en" and swapped(r["text_pair"])]
    others = [rows[(i + 1) % len(rows)]["text_pair"] for i in range(len(rows))]
    firsts = [r["text"] for r in rows]

    def encode(seconds: list[str]):
        batch = tokenizer(firsts, seconds, padding=True, return_tensors="pt")
        with torch.no_grad():
            states = encoder(**batch).last_hidden_state
        return batch, states, pool(states, batch["attention_mask"], "mean")

    batch, states, base = encode([r["text_pair"] for r in rows])
    swap_batch, swap_states, swap = encode([swapped(r["text_pair"]) for r in rows])
    _, _, other = encode(others)
    ratio = ((base - swap).norm(dim=1) / (base - other).norm(dim=1)).numpy()
    # Tokens are compared in place only where the swap kept the pair's length (two people of as many pieces).
    aligned = (batch["attention_mask"].sum(1) == swap_batch["attention_mask"].sum(1)).unsqueeze(1)
    same = (batch["input_ids"] == swap_batch["input_ids"]) & batch["attention_mask"].bool() & aligned
    moved = ((states - swap_states).norm(dim=-1) / states.norm(dim=-1))[same].numpy()
    print(f"{encoder_dir}: {len(rows)} pairs; role swap / sentence replaced, pooled pair: median "
          f"{np.median(ratio):.3f} (quartiles {np.quantile(ratio, 0.25):.3f}-{np.quantile(ratio, 0.75):.3f}); "
          f"unchanged tokens' last states move by a median {np.median(moved):.3f} of their norm")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} ENCODER_DIR PAWSX_ROWS_JSONL")
    main(*sys.argv[1:])
