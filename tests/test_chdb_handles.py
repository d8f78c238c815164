"""Pooled chDB handles (the serving process): reused after close, released by close_idle()."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import clickhouse_connect
    from ecomlytics.warehouse import chdb_handles

    first, second = sys.argv[1], sys.argv[2]
    assert chdb_handles.install()
    a = clickhouse_connect.get_client(interface="chdb", path=first)
    a.command("CREATE TABLE IF NOT EXISTS default.t (x UInt8) ENGINE = MergeTree ORDER BY x")
    a.command("INSERT INTO default.t VALUES (7)")
    handle = a._backend._handle
    a.close()
    b = clickhouse_connect.get_client(interface="chdb", path=first)
    assert b._backend._handle is handle, "a closed handle is reused"
    assert b.query("SELECT sum(x) FROM default.t").result_rows == [(7,)]
    c = clickhouse_connect.get_client(interface="chdb", path=first)  # b still holds its handle
    assert c._backend._handle is not handle
    assert c.query("SELECT 1").result_rows == [(1,)]
    b.close()
    c.close()
    chdb_handles.close_idle()
    assert handle.conn is None, "close_idle closes pooled handles"
    # With every handle closed the process may open another warehouse directory.
    d = clickhouse_connect.get_client(interface="chdb", path=second)
    assert d.query("SELECT 2").result_rows == [(2,)]
    print("ok")
""")


def test_closed_handles_are_reused_and_released(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "a"), str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_patches_refuse_versions_they_were_not_written_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomlytics import compat

    installed = {"clickhouse-connect": "1.13.0", "dbt-clickhouse": "1.10.3"}
    monkeypatch.setattr(compat, "version", installed.__getitem__)
    with pytest.raises(compat.UnsupportedVersion, match=r"clickhouse-connect 1\.13\.0 .*chdb_handles\.py.*<1\.13"):
        compat.check("clickhouse-connect")
    compat.check("dbt-clickhouse")  # in range: nothing to say
    # the ranges checked are the ones pyproject.toml installs
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    for entry in compat.PATCHED.values():
        assert f'"{entry.package}{entry.supported}"' in pyproject, entry.package
