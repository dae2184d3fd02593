#!/usr/bin/env bash
# Set up a fresh machine and run newsdesk on its embedded defaults (no network, no API key):
#   scripts/quickstart.sh                 ingest seeds/ and answer a sample question
#   scripts/quickstart.sh "your question" ingest seeds/ and answer it
#   scripts/quickstart.sh serve           ingest seeds/ and start the web page on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
rag ingest seeds/
if [ "${1:-}" = "serve" ]; then
    exec rag serve
fi
rag ask "${1:-How much did Meta reportedly pay for its stake in Scale AI?}"
