#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: venv + test extras, headless Chromium for the UI tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_EXTRAS=test source scripts/venv.sh
if [ ! -x /usr/bin/chromium ]; then
    # Debian's Chromium for the browser tests (no browser download at test time).
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null \
        || echo "WARNING: could not install chromium; browser tests will be skipped" >&2
fi
exec python -m pytest -q -p no:cacheprovider "$@"
