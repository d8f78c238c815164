"""Warehouse DSN handling and the embedded connection (real chDB)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ecomlytics.warehouse.client import close_all, connect, parse_dsn

REPO = Path(__file__).resolve().parents[1]


def test_chdb_dsn_gives_embedded_client_kwargs_and_superset_uri(tmp_path: Path) -> None:
    cfg = parse_dsn(f"chdb://{tmp_path}/wh")
    assert cfg.embedded
    assert cfg.client_kwargs() == {"interface": "chdb", "path": str(tmp_path / "wh")}
    assert cfg.sqlalchemy_uri() == f"clickhousedb://localhost/marts?interface=chdb&path={tmp_path}/wh"


def test_http_dsn_keeps_credentials_out_of_the_redacted_form() -> None:
    cfg = parse_dsn("https://analyst:s%40cret@ch.example.org:9443")
    assert (cfg.interface, cfg.host, cfg.port, cfg.username, cfg.password) == (
        "https",
        "ch.example.org",
        9443,
        "analyst",
        "s@cret",
    )
    assert "s@cret" not in cfg.redacted()
    assert cfg.sqlalchemy_uri("marts") == "clickhousedb://analyst:s@cret@ch.example.org:9443/marts?protocol=https"
    assert parse_dsn("http://ch:8123").port == 8123


@pytest.mark.parametrize("bad", ["postgres://x", "chdb://", "/just/a/path"])
def test_unsupported_dsn_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="DSN"):
        parse_dsn(bad)


def test_embedded_engine_switches_directories_after_close_all(tmp_path: Path) -> None:
    close_all()
    first = connect(f"chdb://{tmp_path}/a")
    first.command("CREATE TABLE default.marker (x UInt64) ENGINE = MergeTree ORDER BY x")
    first.insert("default.marker", [[18446744073709551615]], column_names=["x"])
    close_all()
    second = connect(f"chdb://{tmp_path}/b")
    assert second.query("EXISTS TABLE default.marker").result_rows == [(0,)]
    close_all()
    again = connect(f"chdb://{tmp_path}/a")
    assert again.query("SELECT x FROM default.marker").result_rows == [(18446744073709551615,)]
    close_all()


def test_docker_compose_points_the_app_at_the_clickhouse_server() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"clickhouse", "app"} <= set(services)
    dsn = services["app"]["environment"]["ECOMLYTICS_WAREHOUSE"]
    cfg = parse_dsn(dsn.replace("${ECOMLYTICS_CH_PASSWORD}", "pw"))
    assert (cfg.interface, cfg.host, cfg.port) == ("http", "clickhouse", 8123)
    assert services["clickhouse"]["environment"]["CLICKHOUSE_USER"] == cfg.username
    # No secret is written into the compose file itself.
    assert "${ECOMLYTICS_CH_PASSWORD" in services["clickhouse"]["environment"]["CLICKHOUSE_PASSWORD"]


def test_a_warehouse_held_by_another_process_is_one_clear_line(tmp_path: Path) -> None:
    """chDB lets one process open a directory; the CLI names the holder and what to do, no traceback."""
    import os
    import subprocess
    import sys
    import time

    dsn = f"chdb://{tmp_path / 'wh'}"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from ecomlytics.warehouse.client import connect; "
        f"client = connect({dsn!r}); client.query('SELECT 1'); print('open', flush=True); time.sleep(120)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        env = {**os.environ, "ECOMLYTICS_WAREHOUSE": dsn, "ECOMLYTICS_HOME": str(tmp_path / "home"),
               "COLUMNS": "400"}
        for command in (["kpi"], ["build"]):
            started = time.time()
            result = subprocess.run([sys.executable, "-m", "ecomlytics.cli", *command], env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 1, result.stderr[-2000:]
            assert f"is in use by process {holder.pid}" in result.stderr, result.stderr[-2000:]
            assert "Traceback" not in result.stderr and "ecomlytics serve" in result.stderr
            assert time.time() - started < 60, command
    finally:
        holder.kill()
        holder.wait()
