"""Renders the dashboards' description into the Superset bundle (superset_assets/): its one writer.

The description is data in superset_assets/description/*.yml (datasets and metrics, readable names,
filters, one file per dashboard; read and checked by bundle_description.py). This module renders
it: each described chart through its chart kind (bundle_charts.py: big_number, timeseries, bars, pie,
table, raw_table, heatmap), with the Period filter of its dataset and a stable UUID; datasets with
their metrics and columns; dashboards with their layout, native filters and scopes. It also holds the
SQL of the virtual datasets (VIRTUAL_SQL). The committed YAML
in superset_assets/ is what `ecomlytics serve` imports; a test keeps it equal to this rendering.
After editing dashboards in the UI, `ecomlytics superset-export` writes Superset's export elsewhere
and lists what differs, setting by setting (bundle_diff.py): carry that into the description.

    python -m ecomlytics.bi.bundle_builder [--warehouse chdb:///path/to/built/warehouse]

Column types are read from a built warehouse (the marts must exist; default: the configured one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecomlytics import settings
from ecomlytics.bi.bundle_charts import CHART_KINDS, Chart
from ecomlytics.bi.bundle_description import (
    DESCRIPTION_DIR,
    PERIOD,
    ChartSpec,
    DashboardSpec,
    Description,
    DescriptionError,
    check_columns,
    dashboard_file,
    load_description,
)
from ecomlytics.bi.setup import (
    ASSETS_DIR,
    CURRENCY_PLACEHOLDER,
    CURRENCY_SIGN_PLACEHOLDER,
    URI_PLACEHOLDER,
    marts_named,
)

NAMESPACE = uuid.UUID("5f3c1a52-7d0e-4c1e-9a53-0d2f6f1b9e11")
DATABASE_UUID = str(uuid.uuid5(NAMESPACE, "database:ecomlytics"))


# dataset -> the names of its columns (the marts' and the computed ones): what a filter can apply to
ColumnNames = dict[str, set[str]]


def uid(kind: str, name: str) -> str:
    """Stable UUIDs, so a rebuilt bundle overwrites the same objects on import."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


# Superset virtual datasets: Jinja SQL run in place of the table (ENABLE_TEMPLATE_PROCESSING).
# kpi_weekly: with at most one channel and one OS selected, the week's finalized row of
# marts.kpi_weekly answers exactly (one row per week, milliseconds). Several channels or OSes are
# not additive (a user may visit through two of them): then the week is merged exactly from
# kpi_daily's uniqExact states (slower, about a scan of the week's visits). remove_filter=True: the
# filter is applied here, not again on the outer query. Channel / OS filters are read as IN lists.
# (d.channel: in ClickHouse an unqualified name in WHERE would be the SELECT alias.)
KPI_WEEKLY_SQL = """\
{%- set channels = filter_values('channel', remove_filter=True) -%}
{%- set oses = filter_values('os', remove_filter=True) -%}
{%- if channels | length <= 1 and oses | length <= 1 -%}
SELECT week, channel, os, last_day, sessions, session_seconds, users, orders, buyers, new_buyers, revenue, units
FROM marts.kpi_weekly
WHERE channel IN {{ (channels or ['(all)']) | where_in }} AND os IN {{ (oses or ['(all)']) | where_in }}
{%- else -%}
SELECT toMonday(day) AS week, '(selection)' AS channel, '(selection)' AS os, max(day) AS last_day,
    toUInt64(sum(sessions)) AS sessions, toUInt64(sum(session_seconds)) AS session_seconds,
    toUInt64(uniqExactMerge(users_state)) AS users, toUInt64(sum(orders)) AS orders,
    toUInt64(uniqExactMerge(buyers_state)) AS buyers, toUInt64(uniqExactMerge(new_buyers_state)) AS new_buyers,
    sum(revenue) AS revenue, toUInt64(sum(units)) AS units
FROM marts.kpi_daily AS d
WHERE 1 = 1
{%- if channels %} AND d.channel IN {{ channels | where_in }}{% endif %}
{%- if oses %} AND d.os IN {{ oses | where_in }}{% endif %}
GROUP BY week
{%- endif %}
"""


def _kpi_compare_sql() -> str:
    """KPIs of the dashboard's period against the previous period of the same length and the same
    period a year earlier: sums from kpi_daily; distinct users / buyers exact for any span from the
    roaring bitmaps of kpi_users_monthly (the whole calendar months inside a period) and
    kpi_users_daily (its other days), each row merged into the periods it lies in: a year reads 12
    bitmaps per cell, not 365 uniqExact states (about a scan of the visits).
    The period is clipped to the data; without a Period (no time filter at all) it is the last complete
    calendar month of the data, as the tiles show the last complete week: a comparison that means
    something from the first view. A comparison period that does not lie wholly inside the data (empty
    or partly covered) reads "n/a", never a percentage. Values are text: one table column
    holds money, counts and ratios."""
    sums = {"revenue": "toFloat64(sumIf(revenue, {cond}))", "orders": "toFloat64(sumIf(orders, {cond}))",
            "sessions": "toFloat64(sumIf(sessions, {cond}))", "units": "toFloat64(sumIf(units, {cond}))"}
    distinct = {"users": "toFloat64(groupBitmapMergeIf(b.users_bitmap, {cond}))",
                "buyers": "toFloat64(groupBitmapMergeIf(b.buyers_bitmap, {cond}))"}
    periods = {"c": ("cur_from", "cur_to"), "p": ("prev_from", "cur_from"), "l": ("ly_from", "ly_to")}

    def in_days(key: str, start: str, end: str) -> str:  # a kpi_daily row in the period
        return f"d.day >= {start} AND d.day < {end}"

    def whole_month(month: str, start: str, end: str) -> str:
        return f"{month} >= {start} AND addMonths({month}, 1) <= {end}"

    def in_bitmaps(key: str, start: str, end: str) -> str:  # a bitmap row in the period: set below
        return f"b.in_{key}"

    def measures(templates: dict[str, str], cond) -> str:
        return ",\n        ".join(template.format(cond=cond(key, start, end)) + f" AS {name}_{key}"
                                   for name, template in templates.items() for key, (start, end) in periods.items())

    kpis = [  # label, format, value from the measures of one period ({p}: c, p or l)
        ("GMV", "money", "revenue_{p}"), ("Orders", "count", "orders_{p}"),
        ("AOV (average order value)", "money", "revenue_{p} / nullIf(orders_{p}, 0)"),
        ("Users", "count", "users_{p}"), ("Buyers", "count", "buyers_{p}"),
        ("Conversion (orders / users)", "pct", "orders_{p} / nullIf(users_{p}, 0)"),
        ("Revenue per session", "money", "revenue_{p} / nullIf(sessions_{p}, 0)"), ("Units sold", "count", "units_{p}")]

    def grouped(digits: str) -> str:  # "33128" -> "33,128", as the charts' ',' formats show numbers
        return f"reverse(trim(TRAILING ',' FROM replaceRegexpAll(reverse({digits}), '(\\\\d{{3}})', '\\\\1,')))"

    def fixed(value: str, decimals: int) -> str:  # "1,995.70" (toString drops a Decimal's trailing zeros)
        scale = 10 ** decimals
        scaled = f"toInt64(round(abs({value}) * {scale}))"
        return (f"concat(if({value} < 0, '-', ''), {grouped(f'toString(intDiv({scaled}, {scale}))')}, '.', "
                f"leftPad(toString({scaled} % {scale}), {decimals}, '0'))")

    def shown(value: str, ok: str) -> str:  # k.3: the row's format
        text = (f"multiIf(k.3 = 'money', concat({fixed(value, 2)}, ' {CURRENCY_SIGN_PLACEHOLDER}'), "
                f"k.3 = 'count', {grouped(f'toString(toUInt64(round({value})))')}, "
                f"concat({fixed(f'100 * {value}', 2)}, '%'))")
        return f"if({ok} AND {value} IS NOT NULL, {text}, 'n/a')"

    def change(now: str, before: str, ok: str) -> str:
        ratio = f"({now}) / ({before}) - 1"
        return (f"if({ok} AND ifNull({before}, 0) > 0 AND {now} IS NOT NULL, "
                f"concat(if({ratio} >= 0, '+', ''), {fixed(f'100 * ({ratio})', 1)}, '%'), 'n/a')")

    # one row per KPI with its three values, formatted once below (k.4 this period, k.5 previous, k.6 last year):
    # a text expression per KPI and column made the statement's analysis cost more than its reading
    rows = ",\n        ".join(
        f"tuple({i}, '{label}', '{fmt}', {value.format(p='c')}, {value.format(p='p')}, {value.format(p='l')})"
        for i, (label, fmt, value) in enumerate(kpis, start=1))
    columns = (f"{shown('k.4', '1')} AS this_period, {shown('k.5', 'prev_ok')} AS previous_period,\n    "
               f"{change('k.4', 'k.5', 'prev_ok')} AS change_vs_previous,\n    "
               f"{shown('k.6', 'ly_ok')} AS same_period_last_year, "
               f"{change('k.4', 'k.6', 'ly_ok')} AS change_vs_last_year")

    def filters(alias: str) -> str:
        return (f"{{%- if channels %}} AND {alias}.channel IN {{{{ channels | where_in }}}}{{% endif %}}"
                f"{{%- if oses %}} AND {alias}.os IN {{{{ oses | where_in }}}}{{% endif %}}")

    # which periods a bitmap row lies in, by its day / month alone (the engine reads those first, PREWHERE,
    # then the bitmaps of just those rows: granules of 64 rows, about a day): a month wholly inside the
    # period, or a day inside it whose month is not
    months_in = ", ".join(f"{whole_month('m.month', start, end)} AS in_{key}" for key, (start, end) in periods.items())
    days_in = ", ".join(f"u.day >= {start} AND u.day < {end} AND "
                        f"NOT ({whole_month('toStartOfMonth(u.day)', start, end)}) AS in_{key}"
                        for key, (start, end) in periods.items())
    # either bound alone: open on the other side; neither: the last complete calendar month of the data
    start = ("{% if period.from_expr %}toDate('{{ period.from_expr }}'){% elif period.to_expr %}data_from"
             "{% else %}addMonths(toStartOfMonth(data_to), -1){% endif %}")
    end = ("{% if period.to_expr %}toDate('{{ period.to_expr }}'){% elif period.from_expr %}data_to"
           "{% else %}toStartOfMonth(data_to){% endif %}")
    return f"""\
{{%- set period = get_time_filter('day', remove_filter=True, strftime='%Y-%m-%d') -%}}
{{%- set channels = filter_values('channel', remove_filter=True) -%}}
{{%- set oses = filter_values('os', remove_filter=True) -%}}
WITH
    (SELECT min(day) FROM marts.kpi_daily) AS data_from,
    (SELECT max(day) FROM marts.kpi_daily) + 1 AS data_to,
    greatest({start}, data_from) AS cur_from,
    least({end}, data_to) AS cur_to,
    cur_from - (cur_to - cur_from) AS prev_from,
    addYears(cur_from, -1) AS ly_from,
    addYears(cur_to, -1) AS ly_to,
    prev_from >= data_from AS prev_ok,
    ly_from >= data_from AS ly_ok
SELECT cur_from AS day, '' AS channel, '' AS os, k.1 AS position, k.2 AS kpi,
    {columns}
FROM (
    SELECT
        {measures(sums, in_days)}
    FROM marts.kpi_daily AS d
    WHERE d.day >= least(prev_from, ly_from) AND d.day < cur_to{filters("d")}
) AS s
CROSS JOIN (
    SELECT
        {measures(distinct, in_bitmaps)}
    FROM (
        SELECT m.users_bitmap AS users_bitmap, m.buyers_bitmap AS buyers_bitmap, {months_in}
        FROM marts.kpi_users_monthly AS m
        WHERE (in_c OR in_p OR in_l){filters("m")}
        UNION ALL
        SELECT u.users_bitmap, u.buyers_bitmap, {days_in}
        FROM marts.kpi_users_daily AS u
        WHERE (in_c OR in_p OR in_l){filters("u")}
    ) AS b
) AS n
ARRAY JOIN [
        {rows}
    ] AS k
ORDER BY position
"""


KPI_COMPARE_SQL = _kpi_compare_sql()

# "Which channel do I cut or boost?": one row per channel over the buyer cohorts of the dashboard's
# Period (cohort month in the period; the whole data without a period), per the contract:
# - costs, new_buyers, CAC: marketing_monthly over the months of the period (CAC = costs / new buyers
#   whose first source is the channel);
# - LTV / ROMI at 6 months: only the period's cohorts that have reached age 5 (age 0-5 = 6 months),
#   pooled: cumulative gross profit at age 5 of those cohorts / their buyers, resp. / their cohort
#   month's costs - 1;
# - payback month: the first age k at which the pooled cumulative gross profit of the period's cohorts
#   that reached age k covers those cohorts' costs (ROMI >= 0); NULL ("never") if no age within the data.
# The Period is read here (remove_filter=True: not applied again outside); the channel filter applies
# to the rows outside. cohort_month is the period's first month: Superset's TEMPORAL_RANGE needs it.
# (r.channel, m.month ...: in ClickHouse an unqualified name in WHERE would be a SELECT alias.)
CHANNEL_SCORECARD_SQL = """\
{%- set period = get_time_filter('cohort_month', remove_filter=True, strftime='%Y-%m-%d') -%}
{%- set start = "toDate('" ~ period.from_expr ~ "')" if period.from_expr else "toDate('1970-01-01')" -%}
{%- set end = "toDate('" ~ period.to_expr ~ "')" if period.to_expr else "toDate('2149-06-06')" -%}
WITH spend AS (
    SELECT m.channel AS channel, toFloat64(sum(m.costs)) AS costs, toUInt64(sum(m.new_buyers)) AS new_buyers
    FROM marts.marketing_monthly AS m
    WHERE m.month >= {{ start }} AND m.month < {{ end }}
    GROUP BY m.channel
),
pooled AS (
    SELECT r.channel AS channel, r.age_month AS age_month, toUInt64(sum(r.cohort_buyers)) AS buyers,
        sum(r.cum_gross_profit) AS gross_profit, sum(r.costs) AS cohort_costs
    FROM marts.romi_cohorts AS r
    WHERE r.cohort_month >= {{ start }} AND r.cohort_month < {{ end }}
    GROUP BY r.channel, r.age_month
),
scored AS (
    SELECT p.channel AS channel,
        toUInt64(sumIf(p.buyers, p.age_month = 5)) AS buyers_6m,
        sumIf(p.gross_profit, p.age_month = 5) AS gross_profit_6m,
        sumIf(p.cohort_costs, p.age_month = 5) AS costs_6m,
        if(countIf(p.cohort_costs > 0 AND p.gross_profit >= p.cohort_costs) > 0,
           minIf(p.age_month, p.cohort_costs > 0 AND p.gross_profit >= p.cohort_costs), NULL) AS payback_month
    FROM pooled AS p
    GROUP BY p.channel
)
SELECT greatest({{ start }}, (SELECT min(month) FROM marts.marketing_monthly)) AS cohort_month,
    toString(s.channel) AS channel, s.costs AS spend, s.new_buyers AS acquired,
    ifNull(c.buyers_6m, 0) AS buyers_6m, ifNull(c.gross_profit_6m, 0) AS gross_profit_6m,
    ifNull(c.costs_6m, 0) AS costs_6m, c.payback_month AS payback_age
FROM spend AS s
LEFT JOIN scored AS c ON c.channel = s.channel
"""

VIRTUAL_SQL = {"kpi_weekly": KPI_WEEKLY_SQL, "kpi_compare": KPI_COMPARE_SQL, "channel_scorecard": CHANNEL_SCORECARD_SQL}
# Virtual datasets over no table of their own: their columns (the builder cannot DESCRIBE them).
VIRTUAL_COLUMNS = {"kpi_compare": [
    ("day", "Date"), ("channel", "String"), ("os", "String"), ("position", "UInt8"), ("kpi", "String"),
    ("this_period", "String"), ("previous_period", "String"), ("change_vs_previous", "String"),
    ("same_period_last_year", "String"), ("change_vs_last_year", "String")],
    "channel_scorecard": [
        ("cohort_month", "Date"), ("channel", "String"), ("spend", "Float64"), ("acquired", "UInt64"),
        ("buyers_6m", "UInt64"), ("gross_profit_6m", "Float64"), ("costs_6m", "Float64"),
        ("payback_age", "Nullable(UInt32)")]}


def chart_uuid(dataset: str, title: str, described: Description) -> str:
    """Charts renamed or moved to another dataset since first published keep their UUIDs (an import
    updates them in place instead of leaving the old chart behind): chart_history.yml."""
    key = f"{dataset}:{described.renamed.get(title, title)}"
    return uid("chart", described.moved.get(key, key))


def read_description(folder: Path = DESCRIPTION_DIR) -> Description:
    """The dashboards' description, checked against this renderer's chart kinds."""
    return load_description(CHART_KINDS, folder)


def build_chart(spec: ChartSpec, described: Description) -> Chart:
    """A described chart rendered by its kind, with its card's description and its stable UUID."""
    try:
        chart = CHART_KINDS[spec.kind](described, **spec.options)
    except (ValueError, KeyError, TypeError) as error:  # an option's value the kind cannot use
        raise DescriptionError(f"{spec.source} ({spec.kind}): {error}") from error
    return dataclasses.replace(chart, description=spec.description,
                               uuid=chart_uuid(chart.dataset, chart.title, described))


@dataclass
class Dashboard:
    slug: str
    title: str
    about: str  # markdown: how to read it (signals and actions)
    rows: list[list[Chart]]
    filters: tuple[str, ...]
    label_colors: dict[str, str]


def build_dashboard(spec: DashboardSpec, described: Description) -> Dashboard:
    rows = [[build_chart(chart, described) for chart in row] for row in spec.rows]
    return Dashboard(spec.slug, spec.title, spec.about, rows, spec.filters, dict(spec.label_colors))


def dashboards(described: Description) -> list[Dashboard]:
    return [build_dashboard(spec, described) for spec in described.dashboards]


def description_files(described: Description | None = None) -> dict[str, str]:
    """Asset UUID -> the description file an edit of it belongs in (relative to the description's folder),
    for superset-export's list of what the UI changed."""
    described = described or read_description()
    files = {uid("dataset", name): "datasets.yml, names.yml" for name in described.datasets}
    for board in described.dashboards:
        files[uid("dashboard", board.slug)] = dashboard_file(board.slug)
        for chart in (c for row in board.rows for c in row):
            files.setdefault(chart_uuid(chart.options["dataset"], chart.options["title"], described), chart.file)
    return files


def query_context(chart: Chart) -> str:
    query = {"filters": [], "extras": {"having": "", "where": ""}, "applied_time_extras": {},
             "columns": [], "metrics": [], "orderby": [], "annotation_layers": [], "row_limit": 10000,
             "series_limit": 0, "order_desc": True, "url_params": {}, "custom_params": {},
             "custom_form_data": {}, "time_range": "No filter"}
    query |= chart.query
    form_data = {"viz_type": chart.viz_type, "datasource": "0__table", **chart.params}
    return json.dumps({"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [query],
                       "form_data": form_data, "result_format": "json", "result_type": "full"})


def with_period(chart: Chart, described: Description) -> Chart:
    """The chart with a TEMPORAL_RANGE ad-hoc filter on its dataset's time column, in the params
    (what the browser sends) and in the saved query. Without it Superset ignores a dashboard's time
    range and still shows the "filter applied" badge."""
    column = described.datasets[chart.dataset].time_column
    if column is None:
        return chart
    params = {**chart.params, "time_range": "No filter", "adhoc_filters": [
        *chart.params.get("adhoc_filters", []), {"expressionType": "SIMPLE", "subject": column,
                                                  "operator": "TEMPORAL_RANGE", "comparator": "No filter",
                                                  "clause": "WHERE", "isExtra": False}]}
    query = {**chart.query, "filters": [*chart.query.get("filters", []),
                                        {"col": column, "op": "TEMPORAL_RANGE", "val": "No filter"}]}
    return dataclasses.replace(chart, params=params, query=query)


def applies(filter_name: str, chart: Chart, described: Description, columns_named: ColumnNames) -> bool:
    """Whether a dashboard filter can apply to a chart: else the chart is out of its scope."""
    if filter_name == PERIOD:
        return described.datasets[chart.dataset].time_column is not None
    return described.filters[filter_name].column in columns_named[chart.dataset]


def currency_of(money: bool) -> dict | None:
    """Money is shown with the configured currency (settings.currency(), written over the placeholder
    when the bundle is imported)."""
    return {"symbol": CURRENCY_PLACEHOLDER, "symbolPosition": "suffix"} if money else None


def dataset_yaml(table: str, columns: list[tuple[str, str]], described: Description) -> dict:
    dataset = described.datasets[table]
    computed = dataset.computed_columns
    return {
        "table_name": table, "main_dttm_col": dataset.time_column, "description": None, "default_endpoint": None,
        "offset": 0, "cache_timeout": None, "schema": "marts", "catalog": None, "sql": VIRTUAL_SQL.get(table),
        "params": None, "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False, "always_filter_main_dttm": False, "uuid": uid("dataset", table),
        "metrics": [{"metric_name": name, "verbose_name": described.verbose(name), "metric_type": None,
                     "expression": metric.sql, "description": None, "d3format": metric.format,
                     "currency": currency_of(metric.money), "extra": {}, "warning_text": None}
                    for name, metric in dataset.metrics.items()],
        "columns": [{"column_name": name, "verbose_name": described.verbose(name),
                     "is_dttm": ch_type.startswith(("Date", "Nullable(Date")), "is_active": True,
                     "type": ch_type, "advanced_data_type": None,
                     "groupby": not ch_type.startswith("AggregateFunction"),
                     "filterable": not ch_type.startswith("AggregateFunction"),
                     "expression": computed[name].sql if name in computed else None,
                     "description": None, "python_date_format": None, "extra": {}}
                    for name, ch_type in [*columns, *((n, c.type) for n, c in computed.items())]],
        "version": "1.0.0", "database_uuid": DATABASE_UUID,
    }


def about_height(about: str) -> int:
    """Grid rows of a dashboard's text card: three lines of text (about 180 characters each at 1600 px) and the
    navigation line fit the 16 rows every card had; each further line takes 3 rows more (the card clips)."""
    lines = math.ceil(len(" ".join(about.split())) / 180)
    return 16 + 3 * max(0, lines - 3)


def layout(board: Dashboard, chart_ids: dict[str, int], described: Description) -> dict:
    """The dashboard's position JSON: its text card on top, then its rows of charts."""
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": board.title}},
    }
    rows: list[list[tuple[str, dict]]] = [[("MARKDOWN-about", {"type": "MARKDOWN", "meta": {
        "width": 12, "height": about_height(board.about), "code": f"{board.about}\n\n{described.navigation}"}})]]
    for row in board.rows:
        rows.append([(f"CHART-{chart.uuid[:8]}", {"type": "CHART", "meta": {
            "width": chart.width, "height": chart.height, "chartId": chart_ids[chart.uuid], "uuid": chart.uuid,
            "sliceName": chart.title}}) for chart in row])
    for index, row in enumerate(rows):
        row_id = f"ROW-{board.slug}-{index}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [item_id for item_id, _ in row],
                            "parents": ["ROOT_ID", "GRID_ID"], "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for item_id, item in row:
            position[item_id] = {**item, "id": item_id, "children": [], "parents": ["ROOT_ID", "GRID_ID", row_id]}
    return position


def native_filters(board: Dashboard, chart_ids: dict[str, int], described: Description,
                   columns_named: ColumnNames) -> list[dict]:
    """The dashboard's filters, each scoped to the charts it can apply to (the others excluded)."""
    charts = [c for row in board.rows for c in row]
    filters = []
    for name in board.filters:
        in_scope = [chart_ids[c.uuid] for c in charts if applies(name, c, described, columns_named)]
        excluded = [chart_ids[c.uuid] for c in charts if chart_ids[c.uuid] not in in_scope]
        if name == PERIOD:
            target, label, filter_type, controls = {}, "Period", "filter_time", {}
        else:
            described_filter = described.filters[name]
            label = described_filter.label
            target = {"datasetUuid": uid("dataset", described_filter.dataset),
                      "column": {"name": described_filter.column}}
            filter_type = "filter_select"
            controls = {"enableEmptyFilter": False, "defaultToFirstItem": False, "multiSelect": True,
                        "searchAllOptions": False, "inverseSelection": False}
        filters.append({
            "id": f"NATIVE_FILTER-{board.slug}-{name}", "name": label, "filterType": filter_type,
            "targets": [target], "controlValues": controls, "defaultDataMask": {
                "extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [], "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
            "type": "NATIVE_FILTER", "description": "", "chartsInScope": in_scope, "tabsInScope": []})
    return filters


def dashboard_yaml(board: Dashboard, chart_ids: dict[str, int], described: Description,
                   columns_named: ColumnNames) -> dict:
    return {
        "dashboard_title": board.title, "description": None, "css": "", "slug": board.slug,
        "certified_by": None, "certification_details": None, "published": True, "uuid": uid("dashboard", board.slug),
        "position": layout(board, chart_ids, described),
        "metadata": {"native_filter_configuration": native_filters(board, chart_ids, described, columns_named),
                     "color_scheme": "supersetColors",
                     "refresh_frequency": 0, "expanded_slices": {}, "label_colors": board.label_colors,
                     "timed_refresh_immune_slices": [], "cross_filters_enabled": True,
                     "shared_label_colors": [], "color_scheme_domain": []},
        "version": "1.0.0",
    }


def chart_yaml(chart: Chart) -> dict:
    return {"slice_name": chart.title, "description": chart.description, "certified_by": None,
            "certification_details": None,
            "viz_type": chart.viz_type, "params": {"viz_type": chart.viz_type, **chart.params},
            "query_context": query_context(chart), "cache_timeout": None, "uuid": chart.uuid, "version": "1.0.0",
            "dataset_uuid": uid("dataset", chart.dataset)}


def database_yaml() -> dict:
    return {"database_name": "ecomlytics", "sqlalchemy_uri": URI_PLACEHOLDER, "cache_timeout": None,
            "expose_in_sqllab": True, "allow_run_async": False, "allow_ctas": False, "allow_cvas": False,
            "allow_dml": False, "allow_file_upload": False, "allow_csv_upload": False,
            "extra": {"allows_virtual_table_explore": True, "disable_data_preview": False,
                      "metadata_params": {}, "engine_params": {}, "schemas_allowed_for_file_upload": []},
            "uuid": DATABASE_UUID, "version": "1.0.0"}


def write_bundle(columns_of: dict[str, list[tuple[str, str]]], out: Path = ASSETS_DIR,
                 described: Description | None = None) -> None:
    """Write every YAML file of the bundle into ``out`` (replacing what was there), rendered from the
    description (default: superset_assets/description/)."""
    described = described or read_description()
    columns_named = {table: {name for name, _ in columns} | set(described.datasets[table].computed_columns)
                     for table, columns in columns_of.items()}
    # checked before anything is removed: a description that fails leaves ``out`` alone
    check_columns(described, columns_named)
    boards = dashboards(described)
    for sub in ("databases", "datasets", "charts", "dashboards"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)

    def dump(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))

    dump(out / "metadata.yaml", {"version": "1.0.0", "type": "assets", "timestamp": "2026-11-23T00:00:00+00:00"})
    dump(out / "databases" / "ecomlytics.yaml", database_yaml())
    for table in described.datasets:
        dump(out / "datasets" / "ecomlytics" / f"{table}.yaml", dataset_yaml(table, columns_of[table], described))
    chart_ids: dict[str, int] = {}
    for board in boards:
        for chart in (c for row in board.rows for c in row):
            chart_ids.setdefault(chart.uuid, len(chart_ids) + 1)
            name = f"{board.slug}__{chart.title}".replace("/", "-").replace(" ", "_")[:90]
            dump(out / "charts" / f"{name}_{chart.uuid[:8]}.yaml", chart_yaml(with_period(chart, described)))
        dump(out / "dashboards" / f"{board.slug}.yaml", dashboard_yaml(board, chart_ids, described, columns_named))


def marts_read(dataset: str) -> list[str]:
    """The marts a dataset reads: its table, or the marts a virtual dataset's SQL names."""
    return marts_named(VIRTUAL_SQL[dataset]) if dataset in VIRTUAL_SQL else [dataset]


def exposures_yaml(described: Description | None = None) -> dict:
    """dbt exposures, one per dashboard: lineage from marts to the dashboards that read them."""
    described = described or read_description()

    def plain(markdown: str) -> str:  # one line, no markdown emphasis
        return re.sub(r"\*+", "", " ".join(markdown.split()))

    return {"version": 2, "exposures": [{
        "name": board.slug.replace("-", "_"), "label": board.title, "type": "dashboard", "maturity": "high",
        "url": f"http://127.0.0.1:8088/superset/dashboard/{board.slug}/", "description": plain(board.about),
        "depends_on": [f"ref('{name}')" for name in sorted({name for row in board.rows for c in row
                                                            for name in marts_read(c.dataset)})],
        "owner": {"name": "ecomlytics", "email": "analytics@ecomlytics.local"}} for board in dashboards(described)]}


def write_exposures(path: Path = ASSETS_DIR.parent / "models" / "exposures.yml") -> None:
    path.write_text(yaml.safe_dump(exposures_yaml(), sort_keys=False, allow_unicode=True, width=110))


# bookkeeping of incremental models (which load last touched a row): not for analysis
LINEAGE_COLUMNS = {"load_id", "visits_load_id", "attribution_key", "refreshed_in", "replaced_day"}


def warehouse_columns(dsn: str) -> dict[str, list[tuple[str, str]]]:
    from ecomlytics.warehouse.client import connect

    client = connect(dsn)
    return {table: VIRTUAL_COLUMNS.get(table) or [
        (r[0], r[1]) for r in client.query(f"DESCRIBE TABLE marts.`{table}`").result_rows
        if r[0] not in LINEAGE_COLUMNS] for table in read_description().datasets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", help="DSN of a warehouse with built marts (default: the configured one, "
                        "$ECOMLYTICS_WAREHOUSE or the embedded warehouse)")
    parser.add_argument("--out", type=Path, default=ASSETS_DIR)
    args = parser.parse_args()
    write_bundle(warehouse_columns(settings.warehouse_dsn(args.warehouse)), args.out)
    write_exposures()
    print(f"bundle written to {args.out}")


if __name__ == "__main__":
    main()
