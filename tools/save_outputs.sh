#!/usr/bin/env bash
# Run notebooks in place on the real data and keep their outputs and widget state, which the docs site shows
# (nbdev-test checks them but saves nothing). Then clean them as CI expects:
#   bash tools/save_outputs.sh nbs/index.ipynb nbs/tutorials/*.ipynb
# The kernel gets matplotlib's inline backend (tools/test.sh sets Agg, under which a figure is not shown).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -gt 0 ]] || { echo "usage: bash tools/save_outputs.sh NOTEBOOK..."; exit 2; }
for nb in "$@"; do
  echo "==> $nb"
  bash tools/run.sh env -u MPLBACKEND jupyter nbconvert --to notebook --execute --inplace \
    --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$nb" 2>&1 | grep -v -e '^\[IPKernelApp\] WARNING' -e '^\s*$' || true
done
bash tools/run.sh nbdev-clean >/dev/null
