"""How often does the alignment term (γ) align a target language alone, pool it with the other small ones, or leave
it out? Replays the training batches of a variant's runs (the same batch plan `train` draws for each seed and epoch)
over a finished `tokenise` output and counts, per task, the target languages in each case per batch.

    python scripts/align_groups.py [--params params.yaml] [--variant proposed] [--raw data/raw] [--tokens data/tokens]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


from xcrl_cli.config.loading import load_params
from xcrl_cli.data.raw import draw_of, read_meta, task_dir
from xcrl_cli.model.losses import align_groups, needed_segments
from xcrl_cli.training.batches import train_batch
from xcrl_cli.training.tokens import load_train_set
from xcrl_cli.training.train import epoch_steps


def count(params_path: str, variant_name: str, raw: Path, tokens: Path) -> dict[str, Counter]:
    """Per task: batches, target languages aligned alone, pooled with the other small ones, and left out."""
    params = load_params(params_path)
    variant, tcfg, min_rows = params.variant(variant_name), params.train, params.model.align_min_per_lang
    meta = read_meta(raw)
    lang_index = {lang: i for i, lang in enumerate(meta["languages"])}
    src = lang_index[params.data.source_lang]
    segments = needed_segments(variant)
    counts: dict[str, Counter] = {}
    for task in params.data.tasks:
        c = counts.setdefault(task, Counter())
        for seed in tcfg.seeds:
            data = load_train_set(task_dir(tokens, task, draw_of(meta, task, seed, raw)), lang_index)
            for epoch in range(tcfg.epochs):
                for step in epoch_steps(data.lengths(segments), tcfg, seed, epoch, 1):
                    for index in step:
                        seg = train_batch(data, index, segments, pad_id=0).segments
                        langs = seg.lang_ids[seg.lang_rows]
                        present = {int(lang) for lang in langs.unique()} - {src}
                        groups = align_groups(langs, src, min_rows) if (langs == src).sum() >= min_rows else []
                        alone = sum(len(g) == 1 and int((langs == g[0]).sum()) >= min_rows for g in groups)
                        pooled = sum(len(g) for g in groups) - alone
                        c.update({"batches": 1, "languages": len(present), "alone": alone, "pooled": pooled,
                                  "left_out": len(present) - alone - pooled, "batches_with_one_alone": int(alone > 0)})
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--variant", default="proposed")
    ap.add_argument("--raw", type=Path, default=Path("data/raw"))
    ap.add_argument("--tokens", type=Path, default=Path("data/tokens"))
    args = ap.parse_args()
    counts = count(args.params, args.variant, args.raw, args.tokens)
    print("task        batches  target languages per batch: alone / pooled / left out   batches with one alone")
    for task, c in counts.items():
        per = {k: c[k] / c["batches"] for k in ("alone", "pooled", "left_out")}
        print(f"{task:<11} {c['batches']:>7}  {per['alone']:.2f} / {per['pooled']:.2f} / {per['left_out']:.2f}"
              f"{'':>27}{c['batches_with_one_alone'] / c['batches']:.1%}")
    total = sum(counts.values(), Counter())
    print(f"all         {total['batches']:>7}  languages per batch {total['languages'] / total['batches']:.2f}, "
          f"alone {total['alone'] / total['languages']:.1%}, pooled {total['pooled'] / total['languages']:.1%}, "
          f"left out {total['left_out'] / total['languages']:.1%} of them")


if __name__ == "__main__":
    main()
