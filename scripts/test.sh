#!/usr/bin/env bash
# The whole test suite: setup, lint (ruff), types (mypy), layer contracts (import-linter), pytest.
# Tests start their own services (podman service, dockerd, containerd) on private sockets.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env=CI "$0" "$@"; fi
"$ROOT/scripts/setup.sh"
cd "$ROOT"
V="$ROOT/.venv/bin"
echo "== ruff"; "$V/ruff" check src tests bench
echo "== mypy"; "$V/mypy" src
echo "== import-linter"; "$V/lint-imports"
echo "== pytest"; exec "$V/pytest" "$@"
