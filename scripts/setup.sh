#!/usr/bin/env bash
# Set up a fresh checkout: a virtual environment in .venv with the harness
# (editable), its dependencies and its dev tools. Safe to run again; a second
# run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# llama-cpp-python compiles llama.cpp from source (about 4-6 minutes on 2 cores;
# pip caches the built wheel). A CPU-native build (-DGGML_NATIVE=ON, the default)
# crashed in batched prompt decoding on AVX-512/AMX machines, so build for a
# portable x86-64 target with AVX2, and skip the C++ tools we do not use.
CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
CMAKE_ARGS="$CMAKE_ARGS -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF"
if [ "$(uname -m)" = "x86_64" ]; then
    CMAKE_ARGS="$CMAKE_ARGS -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
fi
export CMAKE_ARGS

.venv/bin/python -m pip install --quiet --upgrade pip
# requirements.lock pins every dependency to the versions tested here.
.venv/bin/python -m pip install --quiet -c requirements.lock -e ".[dev]"
echo "setup: ready (.venv/bin/pytest evals/ runs the hypotheses on the embedded model)"
