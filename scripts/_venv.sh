# Sourced by scripts/demo and scripts/test: one virtual environment for the checkout, refreshed when
# pyproject.toml changes, so both commands work on a fresh machine with only python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LTCGW_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
stamp="$VENV/.ltcgw-installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    log="$VENV/pip-install.log"
    # pip's build warnings are noise on a terminal; keep them in a log and show it only when pip fails.
    if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
           "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${EXTRAS:+[$EXTRAS]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "scripts: installing the project into $VENV failed (log: $log)" >&2
        exit 1
    fi
    touch "$stamp"
fi
