#!/usr/bin/env bash
# One column of the cue-rate grid (docs/benchmark.md, "The rule"): ERM on TASK at each RATE, every draw of
# train.seeds on its own draw, with the pretrained encoder of this checkout (data/encoder: `dvc repro pretrain`
# first). Prints, per rate, the share of ERM's English test predictions that flip when only the particle is removed,
# per draw, with the lowest and the mean (the figure needs no label; the rule takes the lowest rate whose lowest
# draw reaches 0.3), and ERM's English dev accuracy per draw.
#
#     scripts/cue_rate_grid.sh xnli 0.3 0.35 0.4
#
# Each rate runs download, pairs, tokenise, train and evaluate for TASK and ERM alone in GRID_DIR/TASK-RATE
# (default /tmp/xcrl-grid) from a copy of params.yaml with benchmark.cue_rate.TASK changed, and any further
# `dotted.key=yaml-value` settings of GRID_SET; PAWS-X without its cue at 10 epochs, as in docs/benchmark.md:
#
#     GRID_SET="benchmark.cue_strength.pawsx=0 sweep.cue_strengths=[0.5] train.task_epochs.pawsx=10" \
#         scripts/cue_rate_grid.sh pawsx 0.35
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TASK RATE [RATE ...]" >&2; exit 2; }
task=$1; shift
root=$(pwd)
grid=${GRID_DIR:-/tmp/xcrl-grid}
[ -f "$root/data/encoder/config.json" ] || {
  echo "$root/data/encoder holds no encoder: run dvc repro pretrain" >&2; exit 2; }
for rate in "$@"; do
  work="$grid/$task-$rate"
  rm -rf "$work" && mkdir -p "$work/data" && cd "$work"
  python - "$root/params.yaml" "$task" "$rate" ${GRID_SET:-} <<'PY'
import sys
import yaml
source, task, rate, *settings = sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:]
params = yaml.safe_load(open(source, encoding="utf-8"))
params["benchmark"]["cue_rate"][task] = rate
params["data"]["tasks"] = [task]
params["sweep"]["tasks"] = {"task": [task]}
for setting in settings:
    key, value = setting.split("=", 1)
    *parents, leaf = key.split(".")
    node = params
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = yaml.safe_load(value)
yaml.safe_dump(params, open("params.yaml", "w", encoding="utf-8"), sort_keys=False)
PY
  ln -s "$root/data/encoder" data/encoder
  { xcrl download --task "$task" --out data/raw --metrics data/download.json
    xcrl pairs --task "$task" --raw data/raw --out data/pairs --metrics data/pairs.json
    xcrl tokenise --task "$task" --raw data/raw --pairs data/pairs --out data/tokens --metrics data/tokens.json
    xcrl train --task "$task" --variant erm --out data/models --live data/live --checkpoints data/checkpoints
    xcrl evaluate --task "$task" --variant erm --out data/eval; } > log.txt 2>&1 \
    || { echo "$task at $rate failed: see $work/log.txt" >&2; exit 1; }
  python - "$task" "$rate" <<'PY'
import csv
import json
import sys
from pathlib import Path
task = sys.argv[1]
with open("data/eval/erm/representations.csv", newline="", encoding="utf-8") as f:
    flips = {int(r["seed"]): float(r["value"]) for r in csv.DictReader(f) if r["metric"] == "cue_flip_rate"}
dev = {s: json.loads(Path(f"data/models/erm/{task}/seed{s}/summary.json").read_text())["source_dev_accuracy"]
       for s in flips}
per_draw = ", ".join(f"{flips[s]:.3f}" for s in sorted(flips))
dev_per_draw = ", ".join(f"{dev[s]:.3f}" for s in sorted(dev))
print(f"{task} rate {sys.argv[2]}: flips {per_draw}; lowest {min(flips.values()):.3f}, "
      f"mean {sum(flips.values()) / len(flips):.3f}; English dev accuracy {dev_per_draw}")
PY
  cd "$root"
done
