#!/usr/bin/env bash
# Sets up everything the tests need and runs them: .venv with ecomlytics[test], Debian's
# chromium for the browser tests (installed when missing and we may use apt-get), ruff, pytest.
# Extra arguments go to pytest (e.g. -k loaders -x).
set -euo pipefail
cd "$(dirname "$0")/.."
ECOMLYTICS_EXTRAS=test
source scripts/_venv.sh
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian chromium + chromium-driver for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium not found: install Debian's chromium (apt-get install chromium) for the browser tests" >&2
  fi
fi
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"
