#!/usr/bin/env bash
# Device checks on one machine with CUDA and no network (about 5 minutes on one GPU); one summary line per check.
# Without a CUDA device every check is skipped with a message and the script exits 0.
# Without xcrl on the PATH it first installs this checkout and what it needs from a wheelhouse (WHEELHOUSE, default
# wheelhouse/), into a temporary folder and with no network: on a machine with network, `make wheelhouse
# WHEEL_PYTHON=3.12 WHEEL_TORCH=` for a Python 3.12 machine that has its own CUDA torch, then copy the folder over.
set -uo pipefail
cd "$(dirname "$0")/.."
XCRL=${XCRL:-xcrl}
PY=${PYTHON:-python}
if ! command -v "$XCRL" >/dev/null; then
  house=${WHEELHOUSE:-wheelhouse}
  if [ ! -f "$house/requirements.txt" ]; then
    echo "gpu_check: no $XCRL on the PATH and no wheelhouse at $house/ (run make wheelhouse where there is network, then copy it over)"
    exit 2
  fi
  site=$(mktemp -d)
  "$PY" -m pip install -q --no-index --find-links "$house" --no-deps --no-compile --root-user-action=ignore \
    --target "$site" "$house"/*.whl . || exit 2
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$site/bin:$PATH" HF_HUB_OFFLINE=1
  echo "gpu_check: installed from $house/ into $site ($(ls "$house"/*.whl | wc -l) wheels and this checkout)"
fi
gpus=$("$PY" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
if [ "$gpus" = "0" ]; then
  echo "gpu_check: no CUDA device visible; skipped: bench bf16, bench bf16 + compile, runs sharing one GPU, 2-process NCCL train, tiny dvc repro on cuda"
  exit 0
fi
status=0
summary() { echo "SUMMARY $1: $2"; }
bench() {  # $1 = label, then extra params
  local label=$1; shift
  if out=$("$XCRL" bench --encoder-config xlm-roberta-base --precision bf16 --seq-len 128 --batch-size 32 --rounds 2 "$@" 2>&1); then
    summary "$label" "$(echo "$out" | grep -E 'device:|ms/step|MFU' | tr -s ' ' | paste -sd ';')"
  else
    summary "$label" "FAILED: $(echo "$out" | tail -1)"; status=1
  fi
}
bench "bench xlm-roberta-base bf16"
tmp=$(mktemp -d)
sed 's/^  compile: false/  compile: true/' params.yaml > "$tmp/compile.yaml"
bench "bench xlm-roberta-base bf16 + compile" --params "$tmp/compile.yaml"
# 1, 2 and 4 runs at once on GPU 0, as train.runs_per_gpu puts them (without compile: each process would compile)
if out=$("$XCRL" bench --encoder-config xlm-roberta-base --precision bf16 --seq-len 128 --batch-size 32 --steps 10 \
      --share 1 --share 2 --share 4 --json "$tmp/share.json" 2>&1); then
  summary "runs sharing one GPU (runs compile sequences/s gain MFU peak-memory)" \
    "$(echo "$out" | grep -E '^ +[0-9]' | tr -s ' ' | paste -sd ';')"
else
  summary "runs sharing one GPU" "FAILED: $(echo "$out" | tail -1)"; status=1
fi
if [ "$gpus" -ge 2 ]; then
  if out=$(accelerate launch --multi_gpu --num_processes 2 -m xcrl_cli train --task xnli --variant proposed --seed 0 \
        --out "$tmp/models" --live "$tmp/live" --checkpoints "$tmp/ckpt" 2>&1); then
    summary "2-process NCCL train" "ok ($(echo "$out" | tail -1))"
  else
    summary "2-process NCCL train" "FAILED: $(echo "$out" | tail -1)"; status=1
  fi
else
  summary "2-process NCCL train" "skipped: $gpus GPU visible, 2 needed"
fi
start=$(date +%s)
if out=$(dvc exp run --temp -S train.device=cuda -S train.seeds=[0] -S train.epochs=1 -S 'data.tasks=[xnli]' \
      -S 'sweep.tasks.task=[xnli]' 2>&1); then
  summary "tiny dvc repro on cuda" "ok in $(( $(date +%s) - start )) s"
else
  summary "tiny dvc repro on cuda" "FAILED: $(echo "$out" | tail -1)"; status=1
fi
rm -rf "$tmp"
exit $status
