#!/usr/bin/env bash
# Set up (if needed) and analyse one clip: bash scripts/analyze.sh VIDEO [formcheck analyze options]
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: bash scripts/analyze.sh VIDEO [options]" >&2; exit 2; fi
case "$1" in
  -*) ;;  # an option (--help): formcheck answers it
  *) if [ ! -f "$1" ]; then  # a typo fails now, not after minutes of set-up
       echo "formcheck: error: No such file: $1. Check the path and try again." >&2; exit 2
     fi ;;
esac
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/formcheck" analyze "$@"
