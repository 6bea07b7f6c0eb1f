#!/usr/bin/env bash
# The main job: install what is needed, build the record image for the default phrase,
# run it in the sandbox and print its metrics. Extra arguments go to `imagegolf demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
"$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/imagegolf" demo "$@"
