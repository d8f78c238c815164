"""Static checks of the committed dashboards bundle (superset_assets/), no server needed.

They guard what the browser test (tests/test_dashboard_filters.py) finds slowly: every chart with a
time column carries the TEMPORAL_RANGE ad-hoc filter the Period filter needs, grained x axes are
labelled unlike their column, filter scopes leave out charts a filter cannot apply to, and money
carries the configured currency.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from ecomlytics import settings
from ecomlytics.bi.setup import ASSETS_DIR, CURRENCY_PLACEHOLDER, CURRENCY_SIGN_PLACEHOLDER, bundle_zip


def _load(sub: str) -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in sorted((ASSETS_DIR / sub).rglob("*.yaml"))]


DATASETS = {d["uuid"]: d for d in _load("datasets")}
CHARTS = {c["uuid"]: c for c in _load("charts")}
DASHBOARDS = _load("dashboards")


def _columns(chart: dict) -> set[str]:
    return {c["column_name"] for c in DATASETS[chart["dataset_uuid"]]["columns"]}


def test_every_chart_with_a_time_column_filters_by_the_period_in_params_and_saved_query() -> None:
    missing = []
    for chart in CHARTS.values():
        column = DATASETS[chart["dataset_uuid"]]["main_dttm_col"]
        if column is None:
            continue
        in_params = any(f.get("operator") == "TEMPORAL_RANGE" and f.get("subject") == column
                        for f in chart["params"].get("adhoc_filters", []))
        query = json.loads(chart["query_context"])["queries"][0]
        in_query = any(f["op"] == "TEMPORAL_RANGE" and f["col"] == column for f in query["filters"])
        if not (in_params and in_query):
            missing.append(chart["slice_name"])
    assert missing == []


def test_grained_x_axes_are_labelled_unlike_their_column() -> None:
    """ClickHouse reads `WHERE day >= ...` as the SELECT alias `toMonday(day) AS day`."""
    for chart in CHARTS.values():
        for column in json.loads(chart["query_context"])["queries"][0]["columns"]:
            if isinstance(column, dict) and column.get("timeGrain"):
                assert column["label"] != column["sqlExpression"], chart["slice_name"]
        x_axis = chart["params"].get("x_axis")
        if chart["params"].get("time_grain_sqla") and x_axis is not None:
            assert isinstance(x_axis, dict) and x_axis["label"] != x_axis["sqlExpression"], chart["slice_name"]


def test_filter_scopes_leave_out_the_charts_a_filter_cannot_apply_to() -> None:
    for board in DASHBOARDS:
        on_board = {item["meta"]["uuid"]: item["meta"]["chartId"] for item in board["position"].values()
                    if isinstance(item, dict) and item.get("type") == "CHART"}
        by_id = {chart_id: CHARTS[uuid] for uuid, chart_id in on_board.items()}
        for native_filter in board["metadata"]["native_filter_configuration"]:
            excluded = set(native_filter["scope"]["excluded"])
            assert set(native_filter["chartsInScope"]) == set(by_id) - excluded, board["slug"]
            assert set(native_filter["chartsInScope"]), (board["slug"], native_filter["name"])
            for chart_id, chart in by_id.items():
                if native_filter["filterType"] == "filter_time":
                    applies = DATASETS[chart["dataset_uuid"]]["main_dttm_col"] is not None
                else:
                    applies = native_filter["targets"][0]["column"]["name"] in _columns(chart)
                assert applies == (chart_id not in excluded), (board["slug"], native_filter["name"],
                                                                chart["slice_name"])


def test_money_metrics_carry_the_configured_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    money = {(d["table_name"], m["metric_name"]) for d in DATASETS.values() for m in d["metrics"]
             if (m.get("currency") or {}).get("symbol") == CURRENCY_PLACEHOLDER}
    assert {("kpi_weekly", "gmv"), ("sales_daily", "gmv"), ("marketing_monthly", "cac"),
            ("ltv_monthly", "ltv"), ("kpi_headline", "cac")} <= money
    assert ("kpi_weekly", "users") not in money
    monkeypatch.delenv(settings.CURRENCY_ENV, raising=False)
    assert settings.currency() == "USD"  # the contract's base currency
    monkeypatch.setenv(settings.CURRENCY_ENV, "eur")
    with zipfile.ZipFile(io.BytesIO(bundle_zip("clickhousedb://example"))) as archive:
        texts = [archive.read(name).decode() for name in archive.namelist()]
    assert not any(CURRENCY_PLACEHOLDER in text for text in texts)
    gmv = next(m for text in texts if "table_name: kpi_weekly" in text
               for m in yaml.safe_load(text)["metrics"] if m["metric_name"] == "gmv")
    assert gmv["currency"] == {"symbol": "EUR", "symbolPosition": "suffix"}
    # the Overview comparison table prints money as text, with the sign the charts show for the currency
    compare = next(yaml.safe_load(text)["sql"] for text in texts if "table_name: kpi_compare" in text)
    assert "' €'" in compare and "' EUR'" not in compare
    assert not any(CURRENCY_SIGN_PLACEHOLDER in text for text in texts)


def test_durations_use_the_duration_format() -> None:
    for chart in CHARTS.values():
        if chart["slice_name"].startswith(("Session length", "Time to first order", "Mean session length",
                                           "Median time to first order")):
            assert chart["params"].get("y_axis_format") == "DURATION", chart["slice_name"]
            assert "(s)" not in chart["slice_name"]


def test_dashboard_texts_link_no_dashboard() -> None:
    """A markdown link is shown to every role, and not every role may open every dashboard (they find
    theirs in the Dashboards menu): no dashboard's text links another one."""
    for path in sorted((ASSETS_DIR / "dashboards").glob("*.yaml")):
        assert "/superset/dashboard/" not in path.read_text(), path.name


def test_every_dataset_column_has_a_readable_name() -> None:
    """Table headers, legends and filter labels show a column's verbose name, the raw name without one
    (the contacts table showed `email_consent`, `recency_days`): every column has one, unlike its name."""
    missing = [(d["table_name"], c["column_name"]) for d in DATASETS.values() for c in d["columns"]
               if not c.get("verbose_name") or c["verbose_name"] == c["column_name"]]
    assert missing == []


ECHARTS_XY = ("echarts_timeseries_bar", "echarts_timeseries_line")


def test_value_axes_are_titled_with_their_unit() -> None:
    """Every bar / line chart titles its value axis; a money axis names the configured currency."""
    for chart in CHARTS.values():
        if chart["viz_type"] not in ECHARTS_XY:
            continue
        title = chart["params"].get("y_axis_title")
        assert title, chart["slice_name"]
        money = any((m.get("currency") or {}).get("symbol") == CURRENCY_PLACEHOLDER
                    for m in DATASETS[chart["dataset_uuid"]]["metrics"]
                    if m["metric_name"] in chart["params"]["metrics"])
        share = chart["params"].get("contributionMode") is not None  # shares of the total: percentages
        assert (CURRENCY_PLACEHOLDER in title) == (money and not share), (chart["slice_name"], title)
        if chart["params"]["y_axis_format"].endswith("%"):
            assert title.endswith("%"), (chart["slice_name"], title)


def test_raw_tables_show_money_columns_in_the_configured_currency() -> None:
    """A raw table (rows, no metrics) shows a column that the datasets sum as money with the configured
    currency, as the charts do (the contacts' Monetary): the dataset's money metrics do not reach it."""
    summed = {m["expression"].removeprefix("sum(").removesuffix(")") for d in DATASETS.values() for m in d["metrics"]
              if (m.get("currency") or {}).get("symbol") == CURRENCY_PLACEHOLDER and m["expression"].startswith("sum(")}
    money_columns = {column for column in summed if column.isidentifier()}  # a column, not an expression
    raw = [chart for chart in CHARTS.values() if chart["params"].get("query_mode") == "raw"]
    shown = [(chart, column) for chart in raw for column in chart["params"]["all_columns"] if column in money_columns]
    assert any(column == "monetary" for _, column in shown)
    for chart, column in shown:
        config = chart["params"].get("column_config", {}).get(column, {})
        assert (config.get("currencyFormat") or {}).get("symbol") == CURRENCY_PLACEHOLDER, (chart["slice_name"], column)


def test_kpi_tiles_show_no_change_against_the_previous_point() -> None:
    """Superset's compare lag compares a tile's last point with the one before it, whatever lies between
    (an empty week skipped, a week with little data): periods are compared in the Overview's table."""
    tiles = [c for c in CHARTS.values() if c["viz_type"] == "big_number"]
    assert len(tiles) >= 6
    for tile in tiles:
        assert not tile["params"].get("compare_lag"), tile["slice_name"]
        assert tile["params"].get("subtitle") == "last complete week", tile["slice_name"]


def test_top_and_bottom_tables_stay_under_their_row_limit() -> None:
    """A table whose rows reach its row limit shows Superset's "row limit reached" warning: the top / bottom
    SKU tables pick their 10 SKUs with a series limit under a larger row limit, and show product names."""
    for name in ("Top 10 SKUs by GMV", "Bottom 10 SKUs by GMV"):
        chart = next(c for c in CHARTS.values() if c["slice_name"] == name)
        params, query = chart["params"], json.loads(chart["query_context"])["queries"][0]
        assert params["series_limit"] == query["series_limit"] == 10, name
        assert params["series_columns"] == query["series_columns"] == ["sku"], name
        assert params["row_limit"] > 10 and query["row_limit"] > 10, name
        assert "product_name" in params["groupby"], name


def test_an_edited_export_is_listed_setting_by_setting_against_the_bundle(tmp_path: Path) -> None:
    """superset-export's comparison: an unedited copy equals the bundle (database ids and list order do
    not count); an edited chart, a renamed dashboard and a removed chart are each listed."""
    from ecomlytics.bi.bundle_diff import compare
    from ecomlytics.bi.setup import ASSETS_DIR

    exported = tmp_path / "export"
    shutil.copytree(ASSETS_DIR, exported)
    assert compare(ASSETS_DIR, exported) == []
    charts = sorted((exported / "charts").rglob("*.yaml"))
    edited, removed = yaml.safe_load(charts[0].read_text()), yaml.safe_load(charts[1].read_text())
    params = edited["params"] if isinstance(edited["params"], dict) else json.loads(edited["params"])
    params["y_axis_title"] = "edited in the UI"
    edited["params"] = json.dumps(params)  # as Superset exports it: JSON text
    charts[0].write_text(yaml.safe_dump(edited))
    charts[1].unlink()
    dashboard_file = sorted((exported / "dashboards").rglob("*.yaml"))[0]
    dashboard = yaml.safe_load(dashboard_file.read_text())
    dashboard["dashboard_title"] = "Renamed"
    position = dashboard["position"] if isinstance(dashboard["position"], dict) else json.loads(dashboard["position"])
    dashboard["position"] = json.dumps(dict(reversed(position.items())))  # the order of keys only
    dashboard_file.write_text(yaml.safe_dump(dashboard))
    lines = {change.line() for change in compare(ASSETS_DIR, exported)}
    assert lines == {f"changed  chart     {edited['slice_name']}: params.y_axis_title",
                     f"removed  chart     {removed['slice_name']}",
                     "changed  dashboard Renamed: dashboard_title"}


def test_superset_export_never_writes_over_the_bundle() -> None:
    from typer.testing import CliRunner

    from ecomlytics.bi.setup import ASSETS_DIR
    from ecomlytics.cli import app

    result = CliRunner().invoke(app, ["superset-export", "--out", str(ASSETS_DIR)])
    assert result.exit_code == 2 and "rendered from ecomlytics/bi/bundle_builder.py" in result.output


# ---- The description (superset_assets/description/*.yml) the bundle is rendered from ----


def _committed_columns() -> dict[str, list[tuple[str, str]]]:
    """Each dataset's marts columns and types as committed (computed columns left out): what the renderer
    reads from a built warehouse, here without one."""
    return {d["table_name"]: [(c["column_name"], c["type"]) for c in d["columns"] if c["expression"] is None]
            for d in DATASETS.values()}


def _rendered(out: Path, described=None) -> dict[Path, str]:  # noqa: ANN001 - a Description or the committed one
    from ecomlytics.bi.bundle_builder import write_bundle

    write_bundle(_committed_columns(), out, described)
    return {path.relative_to(out): path.read_text() for path in out.rglob("*.yaml")}


def _committed(bundle: Path = ASSETS_DIR) -> dict[Path, str]:
    """The bundle's files (the description left out) by their path in it."""
    return {path.relative_to(bundle): path.read_text() for path in bundle.rglob("*.yaml")
            if "description" not in path.relative_to(bundle).parts}


def test_rendering_the_description_gives_the_committed_bundle_without_a_warehouse(tmp_path: Path) -> None:
    """The fast twin of tests/test_marts.py's byte-for-byte test: column types from the committed datasets,
    everything else from the description."""
    rendered, committed = _rendered(tmp_path), _committed()
    assert sorted(rendered) == sorted(committed)
    assert [name for name in rendered if rendered[name] != committed[name]] == []


def test_the_description_is_not_part_of_the_imported_bundle() -> None:
    from ecomlytics.bi.bundle_description import DESCRIPTION_DIR

    assert sorted(DESCRIPTION_DIR.rglob("*.yml")) and not sorted(DESCRIPTION_DIR.rglob("*.yaml"))
    with zipfile.ZipFile(io.BytesIO(bundle_zip("clickhousedb://example"))) as archive:
        names = archive.namelist()
    assert not any(DESCRIPTION_DIR.name in Path(name).parts for name in names)
    assert len(names) == len(_committed())


def _description_copy(tmp_path: Path) -> Path:
    from ecomlytics.bi.bundle_description import DESCRIPTION_DIR

    folder = tmp_path / "description"
    shutil.copytree(DESCRIPTION_DIR, folder)
    return folder


def _first_chart(folder: Path, wanted) -> tuple[Path, dict, dict]:  # noqa: ANN001 - a predicate on a chart
    """The first chart written in a dashboard file (not a block) that ``wanted`` accepts: its file, the
    file's data and the chart (edit it, then write the data back)."""
    for path in sorted((folder / "dashboards").glob("*.yml")):
        board = yaml.safe_load(path.read_text())
        for row in board["rows"]:
            for chart in row if isinstance(row, list) else []:
                if wanted(chart):
                    return path, board, chart
    raise AssertionError("no such chart in the description")


@pytest.mark.parametrize(("key", "broken", "complaint"), [
    ("metrics", ["no_such_metric"], "unknown metric 'no_such_metric'"),
    ("dataset", "no_such_dataset", "unknown dataset 'no_such_dataset'"),
    ("chart", "no_such_kind", "unknown chart kind 'no_such_kind'"),
    ("no_such_option", True, "no_such_option"),
])
def test_a_broken_description_is_refused_naming_the_file_and_the_chart(
        tmp_path: Path, key: str, broken: object, complaint: str) -> None:
    from ecomlytics.bi.bundle_builder import read_description
    from ecomlytics.bi.bundle_description import DescriptionError

    folder = _description_copy(tmp_path)
    path, board, chart = _first_chart(folder, lambda chart: "metrics" in chart)
    chart[key] = broken
    path.write_text(yaml.safe_dump(board, sort_keys=False, allow_unicode=True))
    with pytest.raises(DescriptionError) as refused:
        read_description(folder)
    message = str(refused.value)
    assert f"dashboards/{path.name}" in message and repr(chart["title"]) in message and complaint in message


def test_a_change_in_the_description_changes_the_rendering_of_that_chart_only(tmp_path: Path) -> None:
    from ecomlytics.bi.bundle_builder import read_description

    folder = _description_copy(tmp_path)
    path, board, chart = _first_chart(folder, lambda chart: chart["chart"] == "timeseries")
    chart["y_title"] = "Edited in the description"
    path.write_text(yaml.safe_dump(board, sort_keys=False, allow_unicode=True))
    rendered, committed = _rendered(tmp_path / "bundle", read_description(folder)), _committed()
    changed = [name for name in committed if rendered[name] != committed[name]]
    assert len(changed) == 1 and changed[0].parts[0] == "charts"
    edited = yaml.safe_load(rendered[changed[0]])
    assert edited["slice_name"] == chart["title"] and edited["params"]["y_axis_title"] == chart["y_title"]


def test_the_export_comparison_names_the_description_file_of_a_changed_asset(tmp_path: Path) -> None:
    from ecomlytics.bi.bundle_builder import description_files
    from ecomlytics.bi.bundle_description import DESCRIPTION_DIR
    from ecomlytics.bi.bundle_diff import compare

    exported = tmp_path / "export"
    shutil.copytree(ASSETS_DIR, exported, ignore=shutil.ignore_patterns(DESCRIPTION_DIR.name))
    for kind in ("charts", "dashboards"):
        path = sorted((exported / kind).glob("*.yaml"))[-1]
        asset = yaml.safe_load(path.read_text())
        asset["description"] = "edited in the UI"
        path.write_text(yaml.safe_dump(asset))
    changes = compare(ASSETS_DIR, exported, description_files())
    assert {change.kind for change in changes} == {"charts", "dashboards"}
    for change in changes:
        described = (DESCRIPTION_DIR / change.described_in).read_text()
        assert change.name in described and change.line().endswith(f"[{change.described_in}]")


def test_a_column_its_dataset_lacks_is_refused_before_the_bundle_is_touched(tmp_path: Path) -> None:
    from ecomlytics.bi.bundle_builder import read_description
    from ecomlytics.bi.bundle_description import DescriptionError

    folder = _description_copy(tmp_path)
    path, board, chart = _first_chart(folder, lambda chart: chart["chart"] == "timeseries")
    chart["groupby"] = ["no_such_column"]
    path.write_text(yaml.safe_dump(board, sort_keys=False, allow_unicode=True))
    out = tmp_path / "bundle"
    shutil.copytree(ASSETS_DIR, out)
    with pytest.raises(DescriptionError) as refused:
        _rendered(out, read_description(folder))
    message = str(refused.value)
    assert f"dashboards/{path.name}" in message and repr(chart["title"]) in message and "no_such_column" in message
    assert _committed(out) == _committed()
