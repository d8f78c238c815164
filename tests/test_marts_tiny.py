"""A hand-made tiny dataset whose expected figures are worked out by hand below."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecomlytics import settings
from ecomlytics.cli import app
from ecomlytics.dbt.publish import shadow_of
from ecomlytics.dbt.runner import PROJECT_DIR, PROJECT_SOURCES, run_dbt
from loaders.ingest import load_files
from tests.dbt_runs import failed_tests, nodes_run

VISITS = """Uid,Device,Start Ts,End Ts,Source Id
1,desktop,2018-01-01 10:00:00,2018-01-01 10:01:00,1
1,desktop,2018-01-02 10:00:00,2018-01-02 10:02:00,2
2,touch,2018-01-01 12:00:00,2018-01-01 12:01:00,2
2,touch,2018-02-05 09:00:00,2018-02-05 09:00:00,2
3,desktop,2018-02-10 08:00:00,2018-02-10 08:05:00,1
"""
ORDERS = """Uid,Buy Ts,Revenue
1,2018-01-01 10:01:00,10.00
1,2018-02-03 11:00:00,5.00
2,2018-02-05 09:00:00,20.50
4,2018-01-15 00:00:00,4.50
"""
COSTS = """source_id,dt,costs
1,2018-01-01,30.00
2,2018-01-01,12.00
2,2018-02-01,8.00
"""


@pytest.fixture
def tiny(client, tmp_path: Path):
    for name, text in (("visits_log.csv", VISITS), ("orders_log.csv", ORDERS), ("costs.csv", COSTS)):
        (tmp_path / name).write_text(text)
    assert all(r.status == "loaded" for r in load_files(client, [], directory=tmp_path, quiet=True))
    before = dict(os.environ)
    assert run_dbt("build")
    assert dict(os.environ) == before  # dbt's profile settings were scoped to the invocation
    return client


def append_visit(client, tmp_path: Path, line: str) -> None:
    """Load one more visit (a CSV line in VISITS' format) as a load of its own."""
    day = tmp_path / f"load_{len(list(tmp_path.glob('load_*')))}"
    day.mkdir()
    (day / "visits_log.csv").write_text(f"{VISITS.splitlines()[0]}\n{line}\n")
    assert all(r.status == "loaded" for r in load_files(client, [], directory=day, quiet=True))


def one(client, sql: str) -> dict:
    result = client.query(sql)
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


def test_tiny_dataset_by_hand(tiny) -> None:
    h = one(tiny, "SELECT * FROM marts.kpi_headline")
    # Days with sessions: Jan 1 {1, 2}, Jan 2 {1}, Feb 5 {2}, Feb 10 {3} -> DAU = 5 / 4.
    assert h["dau"] == pytest.approx(1.25)
    # Weeks from Monday: Jan 1-7 {1, 2}, Feb 5-11 {2, 3} -> WAU = 2; months Jan {1, 2}, Feb {2, 3} -> MAU = 2.
    assert h["wau"] == pytest.approx(2.0)
    assert h["mau"] == pytest.approx(2.0)
    assert h["sticky_wau"] == pytest.approx(0.625)
    assert h["sticky_mau"] == pytest.approx(0.625)
    assert h["sessions_per_user_day"] == pytest.approx(1.0)
    # Session lengths 60, 120, 60, 0, 300 s: mean 108, median 60, mode 60.
    assert (h["asl_mean_s"], h["asl_median_s"], h["asl_mode_s"]) == pytest.approx((108, 60, 60))
    # TTF: user 1 60 s; user 2 from Jan 1 12:00 to Feb 5 09:00 = 34 d 21 h = 3,013,200 s; median of the two.
    assert h["ttf_median_s"] == pytest.approx((60 + 3_013_200) / 2)
    # AOV = 40.00 / 4 orders; CAC = 50.00 costs / 3 buyers (user 4 never visited but is a buyer).
    assert h["aov"] == pytest.approx(10.0)
    assert h["cac"] == pytest.approx(50 / 3)
    # No buyer cohort has 6 age months yet.
    assert h["ltv_6m"] is None or h["ltv_6m"] != h["ltv_6m"]


def test_tiny_cohorts_marketing_flow(tiny) -> None:
    retention = dict(((str(c), age), r) for c, age, r in tiny.query(
        "SELECT cohort_month, lifetime_month, sum(active_users) / sum(cohort_users) FROM marts.retention_monthly "
        "GROUP BY 1, 2").result_rows)
    # January cohort {1, 2}: both active in January, only user 2 in February. February cohort {3}.
    assert retention == {("2018-01-01", 0): 1.0, ("2018-01-01", 1): 0.5, ("2018-02-01", 0): 1.0}
    cac = {(str(m), s): c for m, s, c in tiny.query(
        "SELECT month, source_id, cac FROM marts.marketing_monthly").result_rows}
    # Jan source 1: 30.00 / user 1; Jan source 2: 12.00 but no new buyer; Feb source 2: 8.00 / user 2.
    assert cac[("2018-01-01", 1)] == pytest.approx(30.0)
    assert cac[("2018-01-01", 2)] is None
    assert cac[("2018-02-01", 2)] == pytest.approx(8.0)
    first = one(tiny, "SELECT first_source_id, channel FROM marts.fct_orders WHERE uid = 4")
    assert first == {"first_source_id": 0, "channel": "unknown"}
    flow = {str(r[0]): r[1:] for r in tiny.query(
        "SELECT month, new_buyers, returning_buyers, reactivated_buyers, churned_buyers "
        "FROM marts.customer_flow_monthly").result_rows}
    # Jan: users 1 and 4 are new. Feb: user 2 new, user 1 returning, user 4 churned.
    assert flow == {"2018-01-01": (2, 0, 0, 0), "2018-02-01": (1, 1, 0, 1)}


def test_tiny_rfm_by_hand(tiny) -> None:
    rows = {r[0]: r[1:] for r in tiny.query(
        "SELECT uid, recency_days, frequency, toFloat64(monetary), rfm_code, segment, macro_segment "
        "FROM marts.rfm_customers").result_rows}
    # As of Feb 6: R = 3 / 1 / 22 days, F = 2 / 1 / 1, M = 15.00 / 20.50 / 4.50.
    # quantileExact picks the sorted element at floor(q * 3): R thresholds 1, 3, 3, 22;
    # F thresholds 1, 1, 1, 2; M thresholds 4.5, 15, 15, 20.5.
    assert rows == {
        1: (3, 2, 15.0, "442", "Good thrifty", "Active"),
        2: (1, 1, 20.5, "514", "Newcomers", "New"),
        4: (22, 1, 4.5, "211", "Occasional", "Churn"),
    }


def test_tiny_refresh_with_an_even_number_of_sessions(tiny, tmp_path: Path) -> None:
    # A day later user 3 comes back for 3 minutes: lengths 0, 60, 60, 120, 180, 300 s, so the median
    # lies between two different middle values: (60 + 120) / 2 = 90; mean 720 / 6 = 120; mode 60.
    append_visit(tiny, tmp_path, "3,desktop,2018-02-11 08:00:00,2018-02-11 08:03:00,1")
    assert run_dbt("build")
    h = one(tiny, "SELECT * FROM marts.kpi_headline")
    assert (h["asl_mean_s"], h["asl_median_s"], h["asl_mode_s"]) == pytest.approx((120, 90, 60))
    # Days with sessions now also Feb 11 {3}: DAU = 6 / 5.
    assert h["dau"] == pytest.approx(1.2)


def test_refresh_key_tests_check_new_rows_against_all(tiny, tmp_path: Path) -> None:
    """A refresh's key tests check the rows written since the last pass against the whole table;
    a failed check keeps its rows in scope; a full refresh or verify_all checks every row."""
    key_test = "primary_key_dim_customers_refreshed_in__uid"
    state = "intermediate.dbt_verified_checks"
    uuid_of = "(SELECT uuid FROM system.tables WHERE database = 'marts' AND name = 'dim_customers')"
    recorded = f"SELECT max(watermark) FROM {state} WHERE check_key = 'primary_key:marts.dim_customers.uid' " \
               f"AND table_uuid = {uuid_of}"
    stamps = "SELECT max(refreshed_in) FROM marts.dim_customers"
    # The passing build recorded what it checked: up to the table's newest stamp, for this very table.
    assert tiny.query(recorded).result_rows[0][0] == tiny.query(stamps).result_rows[0][0] > 0

    append_visit(tiny, tmp_path, "5,touch,2018-02-11 08:00:00,2018-02-11 08:03:00,2")
    assert run_dbt("build")
    compiled = next((settings.state_dir() / "dbt" / "target" / "run").rglob(f"{key_test}.sql")).read_text()
    before = tiny.query(recorded).result_rows[0][0]
    assert "ifNull(refreshed_in >" in compiled  # the refresh checked a slice ...
    assert before == tiny.query(stamps).result_rows[0][0]  # ... and moved the watermark to the new rows

    # A refresh that forgot its delete: a new load, and a row of an old key written again with the
    # load's stamp. It collides with the old row; the check fails and keeps failing until repaired.
    # A refresh writes the shadow generation (ecomlytics/dbt/publish.py), so that is where it lands; the
    # check on the published table (`test`) and the refresh's own check (`build`) both fail.
    append_visit(tiny, tmp_path, "6,touch,2018-02-12 08:00:00,2018-02-12 08:01:00,2")
    for schema in ("marts", shadow_of("marts")):
        tiny.command(f"INSERT INTO {schema}.dim_customers SELECT * REPLACE ((SELECT max(load_id) FROM raw.load_log) "
                     f"AS refreshed_in) FROM {schema}.dim_customers WHERE uid = 1")
    assert not run_dbt("test", select=key_test)
    assert key_test in failed_tests()
    assert tiny.query(recorded).result_rows[0][0] == before  # a failed check records nothing
    append_visit(tiny, tmp_path, "7,touch,2018-02-13 08:00:00,2018-02-13 08:01:00,2")
    assert not run_dbt("build")  # newer rows do not push the duplicate out of scope
    assert key_test in failed_tests()
    assert tiny.query(recorded).result_rows[0][0] == before  # ... and the failed build published nothing

    # A full refresh rebuilds the table (a new uuid: no watermark applies) and checks every row.
    assert run_dbt("build", full_refresh=True)
    assert tiny.query("SELECT count() FROM marts.dim_customers WHERE uid = 1").result_rows[0][0] == 1
    assert tiny.query(recorded).result_rows[0][0] == tiny.query(stamps).result_rows[0][0]

    # Rows older than the watermark were checked when written; only verify_all re-checks them.
    for schema in ("marts", shadow_of("marts")):
        tiny.command(f"INSERT INTO {schema}.dim_customers SELECT * REPLACE (toUInt64(0) AS refreshed_in) "
                     f"FROM {schema}.dim_customers WHERE uid = 2")
    assert run_dbt("test", select=key_test)
    assert CliRunner().invoke(app, ["build", "--verify-all", "--select", key_test]).exit_code == 1
    assert key_test in failed_tests()


def test_a_selection_builds_in_place_and_its_full_refresh_drops_the_old_generation(tiny, tmp_path: Path) -> None:
    """`build --select` builds the published marts in place: in the shadow, its models would read
    unselected parents of the previous generation. A full refresh of a selection drops the shadow's
    copies of what it rebuilt, so the next refresh rebuilds them whole instead of catching up rows
    computed by older model code."""
    shadow = shadow_of("marts")
    sessions = "SELECT sum(sessions) FROM {}.kpi_daily"
    tables = "SELECT name FROM system.tables WHERE database = '{}'"
    append_visit(tiny, tmp_path, "5,touch,2018-02-11 08:00:00,2018-02-11 08:03:00,2")
    assert run_dbt("build")
    published, previous = (tiny.query(sessions.format(s)).result_rows[0][0] for s in ("marts", shadow))
    assert published == previous + 1  # the shadow holds the generation before the new visit
    assert run_dbt("run", select="kpi_daily", full_refresh=True)
    assert tiny.query(sessions.format("marts")).result_rows[0][0] == published  # from the published parents
    assert "kpi_daily" not in {name for (name,) in tiny.query(tables.format(shadow)).result_rows}
    assert run_dbt("build")  # kpi_daily rebuilt whole in the shadow, then published
    assert tiny.query(sessions.format("marts")).result_rows[0][0] == published
    assert "kpi_daily" in {name for (name,) in tiny.query(tables.format(shadow)).result_rows}


def test_a_refresh_of_an_unchanged_project_keeps_its_views_and_seeds(tiny, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh changes data, not code: with the project the last complete build had, the views and
    seeds stay as that build made them (their nodes do not run; the tests on the views do, on the new
    data). A changed seed, a changed view or a missing one, and the build makes them again
    (ecomlytics/dbt/project_state.py)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_SOURCES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        elif source.exists():
            shutil.copy2(source, project / name)
    monkeypatch.setenv("ECOMLYTICS_PROJECT_DIR", str(project))
    assert run_dbt("build")  # another project than the fixture's build: everything is built
    assert {"seed.ecomlytics.channels", "model.ecomlytics.stg_visits"} <= nodes_run()

    append_visit(tiny, tmp_path, "5,touch,2018-02-11 08:00:00,2018-02-11 08:03:00,2")
    assert run_dbt("build")
    ran = nodes_run()
    assert not {node for node in ran if node.startswith("seed.") or node.startswith("exposure.")}
    assert "model.ecomlytics.stg_visits" not in ran and "model.ecomlytics.fct_sessions" in ran
    assert any(node.startswith("test.ecomlytics.not_empty_stg_visits_device") for node in ran)
    assert tiny.query("SELECT sum(sessions) FROM marts.kpi_daily").result_rows[0][0] == 6

    statuses = project / "seeds" / "activity_statuses.csv"
    statuses.write_text(statuses.read_text().replace("\ndormant,", "\ndormant,Asleep ("))
    assert run_dbt("build")
    assert "seed.ecomlytics.activity_statuses" in nodes_run()
    labels = "SELECT activity_label FROM {} WHERE activity_status = 'dormant'"
    assert tiny.query(labels.format("staging.activity_statuses")).result_rows[0][0].startswith("Asleep (")

    tiny.command("DROP VIEW staging.stg_costs")
    assert run_dbt("build")
    assert "model.ecomlytics.stg_costs" in nodes_run()
    assert tiny.query("SELECT count() FROM staging.stg_costs").result_rows[0][0] == 3
