#!/usr/bin/env bash
# `make wheelhouse`: every wheel an install of this project needs, for machines with no network (compute nodes, the
# GPU check): `make install-offline` installs from it, `scripts/gpu_check.sh` too. The versions are those installed
# in .venv (`make install`), so the offline install is the one the tests passed on. Settings (environment):
#   WHEELHOUSE       the folder (default wheelhouse)
#   WHEEL_PYTHON     another machine's Python, e.g. 3.12 (default: this .venv's; binary wheels only then)
#   WHEEL_PLATFORMS  that machine's platform tags (default with WHEEL_PYTHON: the manylinux x86-64 tags)
#   WHEEL_TORCH      the torch requirement to add, e.g. torch==2.13.0; empty: none, for a machine with its own
#                    CUDA build of torch (its other requirements are in the wheelhouse either way)
set -euo pipefail
cd "$(dirname "$0")/.."
house=${WHEELHOUSE:-wheelhouse}
pip=(.venv/bin/python -m pip)
[ -x .venv/bin/python ] || { echo "wheelhouse: no .venv here; run 'make install' first (it pins the versions)" >&2; exit 2; }
mkdir -p "$house"
# torch is chosen by WHEEL_TORCH; a source install of a package (none today) would need a compiler offline.
"${pip[@]}" freeze --exclude-editable | grep -v -E '^torch==' > "$house/requirements.txt"
# What `pip install -e .` builds the project with, and what builds a source-only package.
echo "setuptools>=68" >> "$house/requirements.txt"
target=()
if [ -n "${WHEEL_PYTHON:-}" ]; then
  target=(--only-binary=:all: --implementation cp --python-version "$WHEEL_PYTHON")
  for tag in ${WHEEL_PLATFORMS:-manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
                                 manylinux2014_x86_64 manylinux1_x86_64}; do
    target+=(--platform "$tag")
  done
fi
"${pip[@]}" download -q --no-deps "${target[@]}" -d "$house" -r "$house/requirements.txt"
[ -z "${WHEEL_TORCH:-}" ] || "${pip[@]}" download -q --no-deps "${target[@]}" -d "$house" "$WHEEL_TORCH"
# A package published as source only is built into a wheel here (pure Python ones then serve any machine).
for sdist in "$house"/*.tar.gz; do
  [ -e "$sdist" ] || continue
  "${pip[@]}" wheel -q --no-deps -w "$house" "$sdist" && rm "$sdist"
done
echo "wheelhouse: $(ls "$house"/*.whl | wc -l) wheels, $(du -sh "$house" | cut -f1) in $house/ (requirements.txt lists them)"
