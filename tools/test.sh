#!/usr/bin/env bash
# Run every check of slr_nb, as CI does:   bash tools/test.sh
#   1. a cached virtual environment outside the clone, ${SLR_NB_CACHE:-~/.cache/slr_nb}/venv-<key>
#      (key: python version + pyproject dependencies + the install function below)
#   2. editable install of this checkout + a `python3` jupyter kernel in that venv
#   3. notebooks clean (nbdev-clean) and exported (nbdev-export): fails if either changed a file
#   4. nbdev-test (cells carrying a tst_flags flag of pyproject.toml skipped)   5. pytest tests/
#   6. python tools/check_docs.py (docs build without Quarto, see there), the pages kept in _browser/pages with a local
#      copy of the Jupyter widget manager (npm, cached in the cache folder)
#   7. python tools/browser_check.py: the pages, and the webcam widget in JupyterLab and Notebook 7, in headless Chromium (Debian's package,
#      installed with apt-get when absent); screenshots in _browser/
# Steps 3-6 all run even if one fails; the script exits non-zero if any failed.
# Env: SLR_NB_CACHE (venv cache folder), SLR_NB_TORCH_INDEX (pip index for torch/torchvision only,
#      e.g. https://download.pytorch.org/whl/cpu in CI), PYTHON (interpreter for the venv, default python3),
#      SLR_NB_TEST_FLAGS (nbdev-test --flags; default "data", which runs the cells that need the real datasets,
#      or nothing when SLR_NB_ALLOW_NO_DATA=1 as on GitHub where the data is absent),
#      SLR_NB_WORKERS (parallel notebooks, default 2).
# Note: step 3 runs nbdev-clean/nbdev-export in place, like nbdev's own CI: it rewrites unclean notebooks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export MPLBACKEND=Agg
export PIP_FIND_LINKS=              # never the local torch wheel: torch and torchvision must come from one index
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
PY=${PYTHON:-python3}
CACHE=${SLR_NB_CACHE:-$HOME/.cache/slr_nb}
N_WORKERS=${SLR_NB_WORKERS:-2}

# ---------------------------------------------------------------- reporting
T_START=$EPOCHREALTIME
STEP= ; STEP_T0= ; SUMMARY=() ; FAILED=()
now() { echo "$EPOCHREALTIME"; }
dur() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1fs", b-a}'; }
step_begin() { STEP=$1; STEP_T0=$(now); printf '\n==> %s\n' "$STEP"; }
step_end() {   # $1 = exit status of the step
  local d; d=$(dur "$STEP_T0" "$(now)")
  if [[ $1 == 0 ]]; then printf -- '--- %s: ok (%s)\n' "$STEP" "$d"; SUMMARY+=("$STEP $d")
  else printf -- '--- %s: FAILED, exit %s (%s)\n' "$STEP" "$1" "$d"; SUMMARY+=("$STEP FAILED $d"); FAILED+=("$STEP"); fi
  STEP=
}
on_exit() {
  local rc=$?
  [[ -n ${TMP_VENV:-} && -d $TMP_VENV ]] && rm -rf "$TMP_VENV"
  [[ -n $STEP ]] && step_end "$rc"     # died inside a step (set -e)
  local total; total=$(dur "$T_START" "$(now)")
  local steps; steps=$(printf '%s | ' "${SUMMARY[@]}"); steps=${steps% | }
  if [[ $rc == 0 && ${#FAILED[@]} == 0 ]]; then echo; echo "test.sh: PASSED in $total  [$steps]"
  else
    local what; what=$(printf '%s, ' "${FAILED[@]}"); what=${what%, }
    echo; echo "test.sh: FAILED (${what:-exit $rc}) after $total  [$steps]"; [[ $rc == 0 ]] && rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "interrupted"; exit 130' INT
trap 'echo "terminated"; exit 143' TERM

# run a check in a subshell with `set -e` active; record failure and go on
check() { local name=$1; shift; step_begin "$name"; set +e; ( set -e; "$@" ); local rc=$?; set -e; step_end "$rc"; }

pipq() {  # pip, quiet, without the harmless "Location ... is ignored" lines of the local file:// indexes
  "$@" 2>&1 | { grep -v -e "^WARNING: Location '.*' is ignored" -e '^\s*$' || true; }
}

# ---------------------------------------------------------------- 1. venv
deps() {  # the dependency strings of pyproject.toml: project + the dev extra (its pins come last and win)
  "$PY" - <<'EOF'
import sys
try: import tomllib
except ImportError: import tomli as tomllib
p = tomllib.load(open('pyproject.toml', 'rb'))['project']
for d in p.get('dependencies', []) + p.get('optional-dependencies', {}).get('dev', []): print(d)
EOF
}

install_deps() {  # $1 = venv folder; the rest = requirement strings
  local py=$1/bin/python; shift
  local torch=() torch_idx=() re='^torch([^a-zA-Z0-9_.-]|$)'
  for r in "$@"; do if [[ $r =~ $re ]]; then torch+=("$r"); fi; done
  [[ ${#torch[@]} == 0 ]] && torch=(torch)
  [[ -n ${SLR_NB_TORCH_INDEX:-} ]] && torch_idx=(--index-url "$SLR_NB_TORCH_INDEX")
  pipq "$py" -m pip install -q -U pip setuptools wheel
  echo "    torch + torchvision ${torch_idx[*]:+(${torch_idx[*]})}"
  pipq "$py" -m pip install -q "${torch_idx[@]}" "${torch[@]}" torchvision
  echo "    project + dev dependencies"
  pipq "$py" -m pip install -q "$@"
}

step_begin "venv"
DEPS_TXT=$(deps)
mapfile -t DEPS <<<"$DEPS_TXT"
[[ ${#DEPS[@]} -gt 0 && -n ${DEPS[0]} ]] || { echo "no dependencies read from pyproject.toml"; exit 1; }
KEY=$( { "$PY" -c 'import os, sys; print(sys.version, os.path.realpath(sys.executable))'; printf '%s\n' "${DEPS[@]}"; \
         echo "${SLR_NB_TORCH_INDEX:-}"; declare -f install_deps pipq; } | sha256sum | cut -c1-16 )
VENV=$CACHE/venv-$KEY
if [[ -x $VENV/bin/python && -f $VENV/.slr_nb-complete ]]; then
  echo "    cached: $VENV"
else
  echo "    building $VENV (a few minutes)"
  mkdir -p "$CACHE"
  rm -rf "$VENV"                                    # a half venv from an older script version
  TMP_VENV=$(mktemp -d "$CACHE/.tmp-venv-$KEY.XXXXXX"); chmod 755 "$TMP_VENV"
  "$PY" -m venv "$TMP_VENV"
  install_deps "$TMP_VENV" "${DEPS[@]}"
  # venvs are not relocatable: point the scripts' shebangs (and activate) at the final path
  grep -rlI --null -F "$TMP_VENV" "$TMP_VENV/bin" | xargs -0 -r sed -i "s|$TMP_VENV|$VENV|g"
  touch "$TMP_VENV/.slr_nb-complete"
  if mv -T "$TMP_VENV" "$VENV" 2>/dev/null; then TMP_VENV=
  else echo "    (another run installed it meanwhile)"; rm -rf "$TMP_VENV"; TMP_VENV=; fi
  # free the disk taken by venvs of other keys and by interrupted installs older than a day
  for d in "$CACHE"/venv-*; do
    if [[ $d != "$VENV" && -d $d ]]; then echo "    removing old $d"; rm -rf "$d"; fi
  done
  find "$CACHE" -maxdepth 1 -name '.tmp-venv-*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
fi
step_end 0

# ---------------------------------------------------------------- 2. this checkout into the venv
step_begin "install"
export PATH=$VENV/bin:$PATH VIRTUAL_ENV=$VENV
# (its build backend chatter, e.g. "Editable installation" banners, is shown only if it fails)
if ! out=$(python -m pip install -q --no-deps --no-build-isolation -e . 2>&1); then echo "$out"; exit 1; fi
if [[ ! -f $VENV/share/jupyter/kernels/python3/kernel.json ]]; then
  python -m ipykernel install --sys-prefix --name python3 >/dev/null
  echo "    registered jupyter kernel python3"
fi
python -c 'import sys, slr_nb; print(f"    python {sys.version.split()[0]}, slr_nb {slr_nb.__version__} from {slr_nb.__file__}")'
step_end 0

# `tools/test.sh --run CMD ARGS...` (what tools/run.sh does): the environment only, then CMD in it
if [[ ${1:-} == --run ]]; then shift; trap - EXIT; echo; exec "$@"; fi

# ---------------------------------------------------------------- 3-6. checks
snapshot() {  # names + sha256 of every file under nbs/ and slr_nb/
  find nbs slr_nb -type f -not -path '*/__pycache__/*' -not -path '*/.ipynb_checkpoints/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 -r sha256sum
}
clean_export() {
  local before after
  before=$(snapshot)
  nbdev-clean
  nbdev-export
  after=$(snapshot)
  if [[ $before != "$after" ]]; then
    echo "changed by nbdev-clean/nbdev-export:"
    diff <(echo "$before") <(echo "$after") | awk '/^[<>]/{print $3}' | sort -u | sed 's/^/    /'
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git --no-pager diff --stat -- nbs slr_nb || true; fi
    echo "notebooks are not clean/exported: run nbdev-clean && nbdev-export and commit"
    return 1
  fi
  echo "    notebooks clean, library in sync with them"
}
run_pytest() {
  if [[ ! -d tests ]]; then echo "no tests/ folder"; return 1; fi
  local rc=0
  python -m pytest -q -x --durations=10 tests || rc=$?
  if [[ $rc == 5 ]]; then echo "pytest collected no tests in tests/ (exit 5): that counts as a failure"; fi
  return "$rc"
}

check "clean+export" clean_export
if [[ ${SLR_NB_ALLOW_NO_DATA:-} == 1 ]]; then : "${SLR_NB_TEST_FLAGS=}"; else : "${SLR_NB_TEST_FLAGS=data}"; fi
check "nbdev-test" nbdev-test --n-workers "$N_WORKERS" --timing ${SLR_NB_TEST_FLAGS:+--flags "$SLR_NB_TEST_FLAGS"}
check "pytest" run_pytest
widget_js() {  # requirejs + the Jupyter widget manager, for pages that draw saved widget state offline
  local d=$CACHE/npm-widgets
  WIDGET_JS=$d/node_modules
  [[ -f $WIDGET_JS/@jupyter-widgets/html-manager/dist/embed-amd.js && -f $WIDGET_JS/requirejs/require.js ]] && return 0
  command -v npm >/dev/null || { echo "    npm not found: the pages keep the widget manager of the CDN"; WIDGET_JS=; return 0; }
  echo "    npm install @jupyter-widgets/html-manager requirejs (once, into $d)"
  npm install --prefix "$d" --silent --no-audit --no-fund @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.7
}
docs_check() {
  widget_js
  rm -rf _browser/pages
  python tools/check_docs.py --workers "$N_WORKERS" --html-dir _browser/pages ${WIDGET_JS:+--widget-js "$WIDGET_JS"}
}
chromium_ok() { "${SLR_NB_CHROMIUM:-/usr/bin/chromium}" --version >/dev/null 2>&1; }
browser_check() {
  if ! chromium_ok && command -v apt-get >/dev/null; then
    echo "    installing Debian's chromium (apt-get)"
    local sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null || true
  fi
  if ! chromium_ok; then
    if [[ ${SLR_NB_ALLOW_NO_DATA:-} == 1 ]]; then echo "    no Chromium here: browser check skipped"; return 0; fi
    echo "no Chromium at ${SLR_NB_CHROMIUM:-/usr/bin/chromium} and apt-get could not install it"; return 1
  fi
  local args=(--html-dir _browser/pages --out _browser)
  if ! python -c 'from slr_nb.core import real_data_dir; real_data_dir()' 2>/dev/null; then
    [[ ${SLR_NB_ALLOW_NO_DATA:-} == 1 ]] || { echo "the real data is missing (../shared/data or SLR_NB_DATA)"; return 1; }
    args+=(--no-webcam); echo "    no real data: the webcam check is skipped"
  fi
  python tools/browser_check.py "${args[@]}"
}
check "docs" docs_check
check "browser" browser_check
