# Sourced by the other scripts: creates .venv (Python 3.11) once and installs the project into it.
# With the pip that Python ships, not an upgraded one: the tests see the install a user gets.
PY=$(command -v python3.11 || command -v python3)
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${VENV_EXTRAS:+-$VENV_EXTRAS}
if [ ! -f "$stamp" ]; then
    python -m pip install -q -e ".${VENV_EXTRAS:+[$VENV_EXTRAS]}"
    touch "$stamp"
fi
