#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: venv + test extras, the local model (the default answerer:
# a cached llama-cpp-python build and the assembled GGUF), headless Chromium for the UI tests, ruff, pytest.
# NEWSDESK_TEST_LOCAL_MODEL=0 skips setting up the local model (its tests then skip, or fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_EXTRAS=test source scripts/venv.sh
if [ "${NEWSDESK_TEST_LOCAL_MODEL:-1}" != 0 ] && ! scripts/local_model.sh; then
    echo "error: could not set up the local model, whose tests CI runs (NEWSDESK_TEST_LOCAL_MODEL=0 skips them)" >&2
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    # Debian's Chromium for the browser tests (no browser download at test time).
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }; then
        echo "error: could not install Debian's chromium, which the browser tests need" >&2
        exit 1
    fi
fi
ruff check .
exec python -m pytest -q -p no:cacheprovider "$@"
