#!/usr/bin/env bash
# Set up (if needed) and analyse one clip: bash scripts/analyze.sh VIDEO [formcheck analyze options]
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: bash scripts/analyze.sh VIDEO [options]" >&2; exit 2; fi
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/formcheck" analyze "$@"
