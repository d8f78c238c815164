"""Each layer of the BI connection's SQL defence on its own, on the real engine (docs/security.md).

- the session settings alone (a read-only chDB session, no statement check);
- the engine-side statement check alone (ClickHouse's parser, on a writable session);
- Superset's side alone (Superset's parser, no engine);
- both engine layers together, through SQLAlchemy as Superset connects.
Every attempt of tests/security_catalogue.py must be refused by each layer that claims it, and what
the dashboards need (reading the marts, the dialect's reflection) must keep working.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest
import sqlalchemy as sa

from ecomlytics.bi.setup import bi_connection
from ecomlytics.bi.sql_guard import BI_SESSION_SETTINGS, RefusedStatement, StatementChecker, install_sqlalchemy_guard
from ecomlytics.warehouse.client import parse_dsn
from tests.security_catalogue import Target, attempts

REPO = Path(__file__).resolve().parents[1]

# What a read-only session refuses on its own: table functions (not merge(), which it allows) and
# SETTINGS. Scalar functions (file(), getSetting(), version(), ...), merge() and system tables run in a
# read-only session: the statement check stops them.
READONLY_REFUSES = ("table file()", "filesystem()", "url()", "executable()",
                    "remote() over a PII table", "SETTINGS override")


@pytest.fixture
def target(tmp_path: Path, client) -> Target:  # noqa: ANN001 - clickhouse-connect client fixture
    canary_dir = tmp_path / "secrets"
    canary_dir.mkdir()
    canary = canary_dir / "canary.txt"
    canary.write_text(f"CANARY-{secrets.token_hex(8)}")
    client.command("CREATE DATABASE IF NOT EXISTS marts")
    client.command("CREATE TABLE marts.rfm_customers (customer_id String, email String) "
                   "ENGINE = MergeTree ORDER BY customer_id")
    client.command("INSERT INTO marts.rfm_customers VALUES ('1', 'ann@example.org')")
    client.command("CREATE TABLE marts.kpi_daily (day Date, revenue Decimal(18, 2)) ENGINE = MergeTree ORDER BY day")
    client.command("INSERT INTO marts.kpi_daily VALUES ('2018-01-01', 10.5), ('2018-01-02', 4.5)")
    return Target(canary=str(canary), url="http://127.0.0.1:9/canary")


@pytest.fixture
def session(warehouse: str) -> Iterator:
    """A chDB session with the BI connection's settings only (no statement check)."""
    session = clickhouse_connect.get_client(interface="chdb", path=str(parse_dsn(warehouse).path),
                                            chdb_options=dict(BI_SESSION_SETTINGS))
    yield session
    session.close()


def test_a_read_only_session_refuses_table_functions_and_settings(session, target: Target, client) -> None:  # noqa: ANN001
    canary = Path(target.canary).read_text()
    for attempt in attempts(target):
        if attempt.name not in READONLY_REFUSES:
            continue
        with pytest.raises(Exception, match="readonly|READONLY") as refused:
            session.query(attempt.statement)
            pytest.fail(f"{attempt.name} ran")
        assert canary not in str(refused.value), attempt.name
    assert session.query("SELECT toFloat64(sum(revenue)) FROM marts.kpi_daily").result_rows == [(15.0,)]
    with pytest.raises(Exception, match="readonly|READONLY"):
        session.command("INSERT INTO marts.kpi_daily VALUES ('2018-01-03', 1)")
    assert client.query("SELECT count() FROM marts.kpi_daily").result_rows == [(2,)]  # the loaders still write
    client.command("INSERT INTO marts.kpi_daily VALUES ('2018-01-03', 1)")


def test_the_engine_side_statement_check_refuses_every_attempt(target: Target, client) -> None:  # noqa: ANN001
    checker = StatementChecker()  # on the writable session: the check alone, no read-only help
    for attempt in attempts(target):
        with pytest.raises(RefusedStatement):
            checker.check(client, attempt.statement)
        if attempt.expression:
            with pytest.raises(RefusedStatement):
                checker.check(client, f"SELECT {attempt.expression} AS x FROM marts.kpi_daily")
    for allowed in ("SELECT day, sum(revenue) AS gmv FROM marts.kpi_daily GROUP BY day ORDER BY day",
                    "SELECT toStartOfMonth(day) AS month, count() FROM kpi_daily WHERE day >= '2018-01-01' "
                    "GROUP BY month",
                    "SELECT k.day FROM marts.kpi_daily AS k "
                    "JOIN (SELECT day FROM marts.kpi_daily) AS d ON k.day = d.day",
                    "SELECT quantileExactInclusive(0.9)(revenue) AS p90 FROM marts.kpi_daily"):
        checker.check(client, allowed)


def test_superset_side_refuses_every_attempt_with_supersets_parser(target: Target) -> None:
    from ecomlytics.bi.security import sql_refusal

    for attempt in attempts(target):
        assert sql_refusal(attempt.statement, "clickhousedb"), attempt.name
        if attempt.expression:
            assert sql_refusal(f"SELECT {attempt.expression} AS x FROM marts.kpi_daily", "clickhousedb"), attempt.name
    assert sql_refusal("SELECT toStartOfWeek(day) AS week_start, sum(revenue) AS gmv FROM marts.kpi_daily "
                       "WHERE day >= toDate('2018-01-01') GROUP BY week_start ORDER BY gmv DESC LIMIT 100",
                       "clickhousedb") is None
    # ClickHouse syntax Superset's parser cannot read (parametric aggregates) is left to the engine side
    p90 = "SELECT quantileExactInclusive(0.9)(revenue) AS p90 FROM marts.kpi_daily"
    assert sql_refusal(p90, "clickhousedb") is None


def test_superset_connection_runs_marts_queries_and_reflection_and_nothing_else(warehouse: str, target: Target) -> None:
    uri, engine_params = bi_connection(parse_dsn(warehouse), None)
    install_sqlalchemy_guard()
    engine = sa.create_engine(uri, **engine_params)
    canary = Path(target.canary).read_text()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT toFloat64(sum(revenue)) FROM kpi_daily")).fetchall() == [(15.0,)]
        inspector = sa.inspect(connection)
        assert set(inspector.get_table_names(schema="marts")) == {"kpi_daily", "rfm_customers"}
        assert [c["name"] for c in inspector.get_columns("kpi_daily", schema="marts")] == ["day", "revenue"]
        for attempt in attempts(target):
            with pytest.raises(Exception) as refused:  # noqa: PT011 - either layer's error is a refusal
                connection.execute(sa.text(attempt.statement)).fetchall()
            assert canary not in str(refused.value) and "@example.org" not in str(refused.value), attempt.name
    engine.dispose()


def test_server_mode_needs_a_separate_read_only_user() -> None:
    from ecomlytics.bi.setup import BIConnectionError

    loaders = parse_dsn("http://ecomlytics:pw@clickhouse:8123")
    with pytest.raises(BIConnectionError, match="ECOMLYTICS_BI_WAREHOUSE"):
        bi_connection(loaders, None)
    with pytest.raises(BIConnectionError, match="not the loaders' user"):
        bi_connection(loaders, "http://ecomlytics:pw@clickhouse:8123")
    uri, params = bi_connection(loaders, "http://ecomlytics_bi:s3cret@clickhouse:8123")
    assert uri == "clickhousedb://ecomlytics_bi:s3cret@clickhouse:8123/marts" and params == {}


def test_server_settings_are_rendered_from_the_bi_rules_and_mounted() -> None:
    """deploy/clickhouse/ equals its rendering; the BI user is read-only with SELECT on the marts only,
    and docker-compose mounts it and hands the app that user, not the loaders' one."""
    import xml.etree.ElementTree as ET

    import yaml

    from ecomlytics.bi.server_config import BI_USER, rendered_files

    deploy = REPO / "deploy" / "clickhouse"
    for relative, text in rendered_files().items():
        assert (deploy / relative).read_text() == text, f"run `ecomlytics clickhouse-config` ({relative})"
    users = ET.fromstring(rendered_files()["users.d/ecomlytics-bi.xml"])
    profile = users.find(f"profiles/{BI_USER}")
    assert {child.tag: child.text for child in profile} == BI_SESSION_SETTINGS
    assert profile.findtext("readonly") == "1"
    user = users.find(f"users/{BI_USER}")
    assert [q.text for q in user.findall("grants/query")] == ["GRANT SELECT ON marts.*"]
    assert user.find("password").attrib == {"from_env": "ECOMLYTICS_BI_PASSWORD"}  # no secret in the repo
    server = ET.fromstring(rendered_files()["config.d/ecomlytics-security.xml"])
    assert server.findtext("access_control_improvements/select_from_system_db_requires_grant") == "true"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    mounts = " ".join(compose["clickhouse"]["volumes"])
    assert all(f"./deploy/clickhouse/{relative}" in mounts for relative in rendered_files())
    bi = parse_dsn(compose["app"]["environment"]["ECOMLYTICS_BI_WAREHOUSE"].replace("${ECOMLYTICS_BI_PASSWORD}", "x"))
    assert bi.username == BI_USER
    loaders = parse_dsn(compose["app"]["environment"]["ECOMLYTICS_WAREHOUSE"].replace("${ECOMLYTICS_CH_PASSWORD}", "x"))
    assert bi_connection(loaders, f"http://{BI_USER}:x@clickhouse:8123")[0].startswith(f"clickhousedb://{BI_USER}:")
