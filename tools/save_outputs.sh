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
# Views of widgets whose front end is an ES module shipped by the kernel (anywidget: the webcam) cannot be drawn on a
# static page, where the widget manager shows an error box instead: keep their text form only.
bash tools/run.sh python - "$@" <<'PY' | grep -v -e '^==>' -e '^---' -e '^\s*$' -e '^    ' || true
import json, sys
for path in sys.argv[1:]:
    nb = json.load(open(path))
    state = nb.get('metadata', {}).get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {}).get('state', {})
    live = {k for k, m in state.items() if m.get('model_module') == 'anywidget'}
    for cell in nb['cells']:
        for o in cell.get('outputs', []):
            view = o.get('data', {}).get('application/vnd.jupyter.widget-view+json')
            if view and view.get('model_id') in live: del o['data']['application/vnd.jupyter.widget-view+json']
    for k in live: del state[k]
    if live:
        print(f'{path}: {len(live)} live-only widget view(s) kept as text')
        json.dump(nb, open(path, 'w'), indent=1, ensure_ascii=False); open(path, 'a').write('\n')
PY
bash tools/run.sh nbdev-clean >/dev/null
