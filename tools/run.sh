#!/usr/bin/env bash
# Run a command inside the project's cached environment, building it first on a fresh machine:
#   bash tools/run.sh slr-train --demo
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/test.sh" --run "$@"
