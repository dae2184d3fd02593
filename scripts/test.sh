#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: venv + test extras, headless Chromium for the UI tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_EXTRAS=test source scripts/venv.sh
if [ ! -x /usr/bin/chromium ]; then
    # Debian's Chromium for the browser tests (no browser download at test time).
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }; then
        echo "error: could not install Debian's chromium, which the browser tests need" >&2
        exit 1
    fi
fi
exec python -m pytest -q -p no:cacheprovider "$@"
