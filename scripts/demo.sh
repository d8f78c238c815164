#!/usr/bin/env bash
# The main job on the embedded default, from a fresh clone:
#   sets up .venv, installs ecomlytics, then generates sample data, loads it into embedded
#   ClickHouse (chDB), builds the dbt marts, prints the headline KPIs and serves the Superset
#   dashboards on http://127.0.0.1:8088 (Ctrl-C stops).
# Extra arguments go to `ecomlytics run` (e.g. --users 200000 --port 8089 --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec "$VENV/bin/ecomlytics" run "$@"
