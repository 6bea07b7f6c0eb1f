#!/usr/bin/env bash
# The main job: install what is needed, then the whole contest on this machine: a registry on
# 127.0.0.1, the ladder's images pushed by entrants and judged live, the leaderboard and record
# timeline, and the web page on http://127.0.0.1:8000 until Ctrl-C (--no-serve to exit after the
# board). Extra arguments go to `imagegolf demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
"$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/imagegolf" demo "$@"
