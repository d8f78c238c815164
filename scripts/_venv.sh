# Sourced by scripts/*.sh: create .venv with Python 3.11 and install ecomlytics into it (idempotent).
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "ecomlytics needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
VENV="${ECOMLYTICS_VENV:-.venv}"
EXTRAS="${ECOMLYTICS_EXTRAS:-}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ]; then
  echo "installing ecomlytics${EXTRAS:+[$EXTRAS]} into $VENV (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --progress-bar off -e ".${EXTRAS:+[$EXTRAS]}"
  "$VENV/bin/python" -c "from ecomlytics.dbt.chdb_bridge import install_pth; install_pth()"  # plain `dbt` understands driver: chdb
  touch "$stamp"
fi
