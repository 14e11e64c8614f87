#!/usr/bin/env bash
# Set up everything and run the whole test suite (this is what CI runs).
#
# With no arguments, in order, stopping at the first failure:
#   1. lint and format check (ruff), 2. types (mypy),
#   3. the fast tier: `pytest -m "not slow"` (synthetic data only, under 2 minutes),
#   4. the slow tier: real MediaPipe on the shared clips, llama.cpp, Dask, JupyterLab in Chromium.
# With arguments, they go to one pytest run instead (e.g. `bash scripts/test.sh tests/test_moments.py -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the JupyterLab browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ "$#" -gt 0 ]; then
  echo "==> running pytest $*"
  exec .venv/bin/python -m pytest "$@"
fi
echo "==> lint: ruff check, ruff format --check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> types: mypy formcheck_core formcheck_rules"
.venv/bin/mypy
echo "==> fast tier: pytest -m 'not slow'"
.venv/bin/python -m pytest -m "not slow" -q
echo "==> slow tier: real clips, models, Dask and the browser"
exec .venv/bin/python -m pytest -m slow
