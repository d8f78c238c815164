"""Run dbt in-process against the configured warehouse.

In-process on purpose: in embedded mode the chDB engine belongs to this process, and the serving
process runs scheduled refreshes through this same function. dbt's target and logs go to the
state dir so a checkout stays clean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ecomlytics.settings import state_dir
from ecomlytics.warehouse import config

PROJECT_DIR = Path(__file__).resolve().parents[1]


def project_dir() -> Path:
    """The dbt project: $ECOMLYTICS_PROJECT_DIR or the repository this package runs from."""
    path = Path(os.environ.get("ECOMLYTICS_PROJECT_DIR", PROJECT_DIR))
    if not (path / "dbt_project.yml").exists():
        raise FileNotFoundError(f"no dbt_project.yml in {path} (set ECOMLYTICS_PROJECT_DIR)")
    return path


def dbt_environment(dsn: str | None = None) -> dict[str, str]:
    """Environment for profiles.yml: the target and its connection, from the warehouse DSN."""
    cfg = config(dsn)
    env = {
        "DBT_TARGET_PATH": str(state_dir() / "dbt" / "target"),
        "DBT_LOG_PATH": str(state_dir() / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if cfg.embedded:
        env |= {"ECOMLYTICS_DBT_TARGET": "embedded", "ECOMLYTICS_CHDB_PATH": str(cfg.path)}
    else:
        env |= {
            "ECOMLYTICS_DBT_TARGET": "server",
            "ECOMLYTICS_CH_HOST": cfg.host,
            "ECOMLYTICS_CH_PORT": str(cfg.port),
            "ECOMLYTICS_CH_USER": cfg.username,
            "ECOMLYTICS_CH_PASSWORD": cfg.password,
            "ECOMLYTICS_CH_SECURE": "true" if cfg.interface == "https" else "false",
        }
    return env


def run_dbt(
    command: str = "build",
    *,
    full_refresh: bool = False,
    select: str | None = None,
    vars: dict | None = None,
    extra_args: list[str] | None = None,
) -> bool:
    """Run a dbt command (build, run, test, seed, docs generate ...); True when it succeeded."""
    from dbt.cli.main import dbtRunner

    from ecomlytics.dbt_chdb import install_import_hook

    install_import_hook()
    os.environ.update(dbt_environment())
    project = str(project_dir())
    args = [*command.split(), "--project-dir", project, "--profiles-dir", project]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    if vars:
        args += ["--vars", json.dumps(vars)]
    args += extra_args or []
    result = dbtRunner().invoke(args)
    return bool(result.success)
