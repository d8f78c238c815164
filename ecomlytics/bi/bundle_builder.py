"""Renders the dashboards' description into the Superset bundle (superset_assets/): its one writer.

The description is data in superset_assets/description/*.yml (datasets and metrics, readable names,
filters, one file per dashboard; read and checked by bundle_description.py). This module is the
renderer: its chart kinds (big_number, timeseries, bars, pie, table, raw_table, heatmap) turn a
described chart into Superset's params and saved query context, and it lays out dashboards with
their native filters and scopes. It also holds the SQL of the virtual datasets. The committed YAML
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
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ecomlytics import settings
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
from ecomlytics.bi.setup import ASSETS_DIR, CURRENCY_PLACEHOLDER, URI_PLACEHOLDER

NAMESPACE = uuid.UUID("5f3c1a52-7d0e-4c1e-9a53-0d2f6f1b9e11")
DATABASE_UUID = str(uuid.uuid5(NAMESPACE, "database:ecomlytics"))


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
    period a year earlier, from kpi_daily (distinct users / buyers merged exactly for any span).
    The period is clipped to the data; a comparison period that does not lie wholly inside the data
    (empty or partly covered) reads "n/a", never a percentage. Values are text: one table column
    holds money, counts and ratios."""
    measures = {"revenue": "toFloat64(sum{if}(revenue{cond}))", "orders": "toFloat64(sum{if}(orders{cond}))",
                "sessions": "toFloat64(sum{if}(sessions{cond}))", "units": "toFloat64(sum{if}(units{cond}))",
                "users": "toFloat64(uniqExactMerge{if}(users_state{cond}))",
                "buyers": "toFloat64(uniqExactMerge{if}(buyers_state{cond}))"}
    periods = {"c": ("cur_from", "cur_to"), "p": ("prev_from", "cur_from"), "l": ("ly_from", "ly_to")}
    inner = ",\n        ".join(
        template.format(**{"if": "If", "cond": f", d.day >= {start} AND d.day < {end}"}) + f" AS {name}_{key}"
        for name, template in measures.items() for key, (start, end) in periods.items())
    kpis = [  # label, format, value from the measures of one period ({p}: c, p or l)
        ("GMV", "money", "revenue_{p}"), ("Orders", "count", "orders_{p}"),
        ("AOV (average order value)", "money", "revenue_{p} / nullIf(orders_{p}, 0)"),
        ("Users", "count", "users_{p}"), ("Buyers", "count", "buyers_{p}"),
        ("Conversion (orders / users)", "pct", "orders_{p} / nullIf(users_{p}, 0)"),
        ("Revenue per session", "money", "revenue_{p} / nullIf(sessions_{p}, 0)"), ("Units sold", "count", "units_{p}")]

    def fixed(value: str, decimals: int) -> str:  # "995.70" (toString drops a Decimal's trailing zeros)
        scale = 10 ** decimals
        scaled = f"toInt64(round(abs({value}) * {scale}))"
        return (f"concat(if({value} < 0, '-', ''), toString(intDiv({scaled}, {scale})), '.', "
                f"leftPad(toString({scaled} % {scale}), {decimals}, '0'))")

    def shown(fmt: str, value: str, ok: str) -> str:
        text = {"money": f"concat({fixed(value, 2)}, ' {CURRENCY_PLACEHOLDER}')",
                "count": f"toString(toUInt64(round({value})))",
                "pct": f"concat({fixed(f'100 * {value}', 2)}, '%')"}[fmt]
        return f"if({ok} AND {value} IS NOT NULL, {text}, 'n/a')"

    def change(now: str, before: str, ok: str) -> str:
        ratio = f"({now}) / ({before}) - 1"
        return (f"if({ok} AND ifNull({before}, 0) > 0 AND {now} IS NOT NULL, "
                f"concat(if({ratio} >= 0, '+', ''), {fixed(f'100 * ({ratio})', 1)}, '%'), 'n/a')")

    rows = ",\n        ".join(
        "tuple({i}, '{label}', {cur}, {prev}, {chg_prev}, {ly}, {chg_ly})".format(
            i=i, label=label, cur=shown(fmt, value.format(p="c"), "1"),
            prev=shown(fmt, value.format(p="p"), "prev_ok"), ly=shown(fmt, value.format(p="l"), "ly_ok"),
            chg_prev=change(value.format(p="c"), value.format(p="p"), "prev_ok"),
            chg_ly=change(value.format(p="c"), value.format(p="l"), "ly_ok"))
        for i, (label, fmt, value) in enumerate(kpis, start=1))
    start = "{% if period.from_expr %}toDate('{{ period.from_expr }}'){% else %}data_from{% endif %}"
    end = "{% if period.to_expr %}toDate('{{ period.to_expr }}'){% else %}data_to{% endif %}"
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
SELECT cur_from AS day, '' AS channel, '' AS os, k.1 AS position, k.2 AS kpi, k.3 AS this_period,
    k.4 AS previous_period, k.5 AS change_vs_previous, k.6 AS same_period_last_year, k.7 AS change_vs_last_year
FROM (
    SELECT
        {inner}
    FROM marts.kpi_daily AS d
    WHERE d.day >= least(prev_from, ly_from) AND d.day < cur_to
    {{%- if channels %}} AND d.channel IN {{{{ channels | where_in }}}}{{% endif %}}
    {{%- if oses %}} AND d.os IN {{{{ oses | where_in }}}}{{% endif %}}
)
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
# the mart a virtual dataset without a table of its own reads
VIRTUAL_BASE = {"kpi_compare": "kpi_daily", "channel_scorecard": "romi_cohorts"}
# Virtual datasets over no table of their own: their columns (the builder cannot DESCRIBE them).
VIRTUAL_COLUMNS = {"kpi_compare": [
    ("day", "Date"), ("channel", "String"), ("os", "String"), ("position", "UInt8"), ("kpi", "String"),
    ("this_period", "String"), ("previous_period", "String"), ("change_vs_previous", "String"),
    ("same_period_last_year", "String"), ("change_vs_last_year", "String")],
    "channel_scorecard": [
        ("cohort_month", "Date"), ("channel", "String"), ("spend", "Float64"), ("acquired", "UInt64"),
        ("buyers_6m", "UInt64"), ("gross_profit_6m", "Float64"), ("costs_6m", "Float64"),
        ("payback_age", "Nullable(UInt32)")]}


@dataclass
class Chart:
    title: str
    dataset: str
    viz_type: str
    params: dict
    width: int = 4
    height: int = 50
    query: dict = field(default_factory=dict)  # the saved query (columns / metrics / orderby / row_limit)
    description: str | None = None  # shown on the chart's card: how a figure is defined, where it needs saying
    uuid: str = ""  # set by build_chart (chart_uuid)


def chart_uuid(dataset: str, title: str, described: Description) -> str:
    """Charts renamed or moved to another dataset since first published keep their UUIDs (an import
    updates them in place instead of leaving the old chart behind): chart_history.yml."""
    key = f"{dataset}:{described.renamed.get(title, title)}"
    return uid("chart", described.moved.get(key, key))


GRAIN_LABELS = {"P1D": "Day", "P1W": "Week", "P1M": "Month"}


def axis_label(column: str, grain: str) -> str:
    """The x axis's label under a time grain: never the column's own name. ClickHouse resolves a
    name in WHERE to a SELECT alias first, so ``toMonday(day) AS day ... WHERE day >= ...`` would
    filter week starts, not days (see /work/shared/SUPERSET-NOTES.md, "grain alias trap")."""
    if column.endswith("_month") and grain == "P1M":
        return column.replace("_", " ").capitalize()  # "Cohort month", "Registration month"
    return GRAIN_LABELS[grain]


def axis(column: str, grain: str | None) -> dict | str:
    """The x axis column of a saved query (a grained axis is labelled unlike its column)."""
    if grain is None:
        return column
    return {"timeGrain": grain, "columnType": "BASE_AXIS", "sqlExpression": column, "label": axis_label(column, grain),
            "expressionType": "SQL"}


def x_axis_param(column: str, grain: str | None) -> dict | str:
    """The chart's ``x_axis`` form-data control: with a grain, a custom SQL column with its own
    label (the browser builds its query from these params, not from the saved query)."""
    if grain is None:
        return column
    return {"expressionType": "SQL", "sqlExpression": column, "label": axis_label(column, grain)}


# d3 time formats of grained axes: months always with their year ("smart_date" drops it and lets
# September and November collide).
AXIS_TIME_FORMATS = {"P1D": "%d %b %Y", "P1W": "%d %b %Y", "P1M": "%b %Y"}

# The chart kinds below are the renderer's vocabulary: a described chart `chart: <kind>` is the
# function of that name called with the chart's options as keyword arguments (bundle_description
# checks them against these signatures). ``described`` gives readable names and money facts.


def big_number(described: Description, title: str, dataset: str, metric: str, x: str | None = None,
               grain: str = "P1W", format: str | None = None, subheader: str = "", width: int = 2) -> Chart:
    """A KPI tile: with x, the last complete week's value over the weekly trend line.

    No change in %: Superset's compare lag compares with the point ``lag`` rows before, whatever the
    period (an empty week is skipped, a week with little data gives a huge %). Periods are compared in
    the Overview's comparison table (KPI_COMPARE_SQL): same length and last year, "n/a" when empty."""
    params = {"metric": metric, "header_font_size": 0.4, "subheader_font_size": 0.15, "y_axis_format": format or
              "SMART_NUMBER", "time_format": "smart_date"}
    if x is None:
        params |= {"subheader": subheader}
        return Chart(title, dataset, "big_number_total", params, width, 40, {"columns": [], "metrics": [metric]})
    params |= {"x_axis": x_axis_param(x, grain), "time_grain_sqla": grain, "subtitle": "last complete week",
               "subtitle_font_size": 0.15, "show_trend_line": True, "start_y_axis_at_zero": True,
               "rolling_type": "None", "show_timestamp": True}
    # No saved orderby on the axis: Superset would write ORDER BY <its SQL> (week), not its label (Week),
    # which ClickHouse refuses beside GROUP BY Week. The tile orders its points itself.
    query: dict = {"columns": [axis(x, grain)], "metrics": [metric]}
    if COMPLETE_WEEK in COMPUTED_COLUMNS.get(dataset, {}):
        # The newest week is usually still running: a tile comparing it with a full week would
        # always show a drop. Tiles show the last complete week against the one before.
        params["adhoc_filters"] = [{"expressionType": "SIMPLE", "subject": COMPLETE_WEEK, "operator": "==",
                                    "comparator": 1, "clause": "WHERE", "isExtra": False}]
        query["filters"] = [{"col": COMPLETE_WEEK, "op": "==", "val": 1}]
    return Chart(title, dataset, "big_number", params, width, 40, query)


def formula_line(name: str, value: str) -> dict:
    """A horizontal line at ``value`` (an annotation layer Superset draws in the browser; the chart-data API
    drops it)."""
    return {"name": name, "annotationType": "FORMULA", "sourceType": "", "value": value,
            "overrides": {}, "show": True, "showLabel": True, "showMarkers": False, "hideLine": False,
            "style": "dashed", "width": 2, "opacity": "", "color": None, "titleColumn": "", "descriptionColumns": [],
            "timeColumn": "", "intervalEndColumn": ""}


TIMESERIES_STYLES = {"line": "echarts_timeseries_line", "bar": "echarts_timeseries_bar"}


def timeseries(described: Description, title: str, dataset: str, metrics: list[str], x: str,
               grain: str | None = "P1W", groupby: list[str] | None = None,
               style: str = "line", stack: bool = False, width: int = 6, format: str = "SMART_NUMBER",
               limit: int = 10000, sort_x: bool = False, horizontal: bool = False, y_title: str | None = None,
               x_title: str | None = None, legend_right: bool = False, line: dict | None = None) -> Chart:
    """A line / bar chart (``style``); ``sort_x`` orders a categorical x axis by its labels instead of by value.
    The value axis is titled with its unit (``y_title``, default from the metric); ``legend_right``: one
    series per line beside the plot, for many series (a legend on top would page them); ``line``: a
    formula line ``{name, value}``."""
    params = {"x_axis": x_axis_param(x, grain), "metrics": metrics, "groupby": groupby or [], "rich_tooltip": True,
              "show_legend": True, "legend_type": "plain", "y_axis_format": format,
              "row_limit": limit, "truncate_metric": True, "x_axis_sort_asc": True, "zoomable": False,
              **axis_titles(y_title or value_title(described, dataset, metrics[0], format), x_title, horizontal)}
    if legend_right:  # the plot is narrower: month labels slanted, or they run into each other
        params |= {"legend_orientation": "right", "xAxisLabelRotation": 45}
    if grain:
        params["time_grain_sqla"] = grain
        params["x_axis_time_format"] = AXIS_TIME_FORMATS[grain]
    if stack:
        params["stack"] = "Stack"
    if sort_x:
        params["x_axis_sort"] = x
    if horizontal:  # long category names: bars along the y axis, names in full
        params["orientation"] = "horizontal"
    if line:
        params["annotation_layers"] = [formula_line(**line)]
    if style not in TIMESERIES_STYLES:
        raise ValueError(f"unknown style {style!r} (known: {', '.join(TIMESERIES_STYLES)})")
    viz = TIMESERIES_STYLES[style]
    columns = [axis(x, grain), *(groupby or [])]
    return Chart(title, dataset, viz, params, width, 50,
                 {"columns": columns, "metrics": metrics, "orderby": [[metrics[0], False]], "row_limit": limit})


def bars(described: Description, title: str, dataset: str, metric: str, groupby: str, width: int = 4,
         share: bool = False, height: int = 50, format: str = "SMART_NUMBER") -> Chart:
    """Horizontal bars by category, largest first, values on the bars: names stay whole where a donut's
    outside labels were cut ("Paid social...", "Churn: 5..."). ``share``: each bar as a share of the total."""
    value = f"Share of {described.verbose(metric)}, %" if share else value_title(described, dataset, metric, format)
    params = {"x_axis": groupby, "metrics": [metric], "groupby": [], "orientation": "horizontal",
              "x_axis_sort": metric, "x_axis_sort_asc": True, "show_value": True, "show_legend": False,
              "row_limit": 50, "y_axis_format": ".1%" if share else format, "rich_tooltip": True, "zoomable": False,
              "truncateXAxis": False, **axis_titles(value, horizontal=True)}
    if share:
        params["contributionMode"] = "column"
    return Chart(title, dataset, "echarts_timeseries_bar", params, width, height,
                 {"columns": [groupby], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 50})


def pie(described: Description, title: str, dataset: str, metric: str, groupby: str, width: int = 4) -> Chart:
    # Labels outside with leader lines and no legend: the slices get the whole card, names stay readable.
    params = {"metric": metric, "groupby": [groupby], "donut": True, "show_labels": True, "labels_outside": True,
              "label_line": True, "label_type": "key_percent", "outerRadius": 60, "innerRadius": 30,
              "row_limit": 50, "sort_by_metric": True, "show_legend": False}
    return Chart(title, dataset, "pie", params, width, 50,
                 {"columns": [groupby], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 50})


# Table cell colours (Superset's conditional formatting): light red / green of its theme.
CELL_COLOURS = {"red": "#EFA1AA", "green": "#ACE1C4"}


def colour(metric: str, operator: str, value: float, colour: str) -> dict:
    """A table conditional-formatting rule: the metric's cells ``operator value`` get the colour."""
    if colour not in CELL_COLOURS:
        raise ValueError(f"unknown colour {colour!r} (known: {', '.join(CELL_COLOURS)})")
    return {"column": metric, "operator": operator, "targetValue": value, "colorScheme": CELL_COLOURS[colour]}


def table(described: Description, title: str, dataset: str, groupby: list[str], metrics: list[str], limit: int = 10,
          ascending: bool = False, width: int = 6, colours: list[dict] | None = None, height: int = 50,
          top_of: str | None = None, cell_bars: bool = True) -> Chart:
    """An aggregated table ordered by its first metric; ``colours``: conditional formatting rules
    ``{metric, operator, value, colour}``; ``cell_bars``: a bar in each metric cell.

    ``top_of``: the table shows the top (bottom with ``ascending``) ``limit`` values of that column by
    the first metric, through Superset's series limit (a sub-query picks them), under a row limit ten
    times larger. A table whose rows reach its row limit shows a "row limit reached" warning, and a
    top 10 cut by ``row_limit: 10`` always does."""
    row_limit, top = limit, {}
    if top_of:
        row_limit = 10 * limit
        top = {"series_columns": [top_of], "series_limit": limit, "series_limit_metric": metrics[0],
               "order_desc": not ascending}
    params = {"query_mode": "aggregate", "groupby": groupby, "metrics": metrics, "row_limit": row_limit,
              "order_desc": not ascending, "timeseries_limit_metric": metrics[0], "include_search": False,
              "table_timestamp_format": "smart_date", "allow_render_html": False, **top}
    if colours:  # no cell bars beside them: a long bar on a high CAC read as one more "good" colour
        params |= {"conditional_formatting": [colour(**rule) for rule in colours], "show_cell_bars": False}
    if not cell_bars:
        params["show_cell_bars"] = False
    return Chart(title, dataset, "table", params, width, height,
                 {"columns": groupby, "metrics": metrics, "orderby": [[metrics[0], ascending]], "row_limit": row_limit,
                  **top})


def raw_table(described: Description, title: str, dataset: str, columns: list[str], limit: int = 10000,
              width: int = 12, height: int = 120, search: bool = True, order_by: str | None = None,
              descending: bool = False) -> Chart:
    params = {"query_mode": "raw", "all_columns": columns, "row_limit": limit, "include_search": search,
              "server_pagination": False, "order_by_cols": [], "allow_render_html": False}
    # metrics None, not []: the table plugin's raw mode sends none, and [] would make Superset GROUP BY every column.
    query = {"columns": columns, "metrics": None, "row_limit": limit}
    if order_by:
        params["order_by_cols"] = [json.dumps([order_by, not descending])]
        query["orderby"] = [[order_by, not descending]]
    return Chart(title, dataset, "table", params, width, height, query)


def heatmap(described: Description, title: str, dataset: str, x: str, y: str, metric: str, format: str,
            width: int = 12, at_least: list | None = None) -> Chart:
    """``at_least``: [column, value] keeps rows with column >= value (e.g. retention without month 0,
    which is 100% by definition and would take the whole colour scale)."""
    params = {"x_axis": x, "groupby": y, "metric": metric, "normalize_across": "heatmap", "legend_type": "continuous",
              "linear_color_scheme": "blue_white_yellow", "show_values": True, "show_percentage": False,
              "value_bounds": [None, None], "y_axis_format": format, "x_axis_time_format": "smart_date",
              "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_asc", "row_limit": 10000, "xscale_interval": -1,
              "yscale_interval": -1, "left_margin": 16, "bottom_margin": 16}  # px; labels are contained
    query: dict = {"columns": [x, y], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 10000}
    if at_least:
        column, value = at_least
        params["adhoc_filters"] = [{"expressionType": "SIMPLE", "subject": column, "operator": ">=",
                                    "comparator": value, "clause": "WHERE", "isExtra": False}]
        query["filters"] = [{"col": column, "op": ">=", "val": value}]
    return Chart(title, dataset, "heatmap_v2", params, width, 70, query)


CHART_KINDS = {kind.__name__: kind for kind in (big_number, timeseries, bars, pie, table, raw_table, heatmap)}


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


def build_dashboard(spec: DashboardSpec, described: Description) -> Dashboard:
    rows = [[build_chart(chart, described) for chart in row] for row in spec.rows]
    return Dashboard(spec.slug, spec.title, spec.about, rows, spec.filters)


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


def applies(filter_name: str, chart: Chart, described: Description) -> bool:
    """Whether a dashboard filter can apply to a chart: else the chart is out of its scope."""
    if filter_name == PERIOD:
        return described.datasets[chart.dataset].time_column is not None
    return _has_column(chart.dataset, described.filters[filter_name].column)


COMPLETE_WEEK = "in_complete_week"
COHORT = "cohort"  # a cohort month as "2017-08": heatmap rows keep their year and sort in time order
# dataset -> {computed column: (SQL, ClickHouse type)}: labels that sort in their natural order, and
# whether a row's week (Monday-Sunday) is complete in the data.
COMPUTED_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "ttf_buyers": {"ttf_range": ("concat(toString(ttf_bucket_order), '. ', ttf_bucket)", "String"),
                   "os": ("first_os", "String")},  # the buyer's first OS: the dashboards' OS filter applies
    "kpi_daily": {COMPLETE_WEEK: ("toUInt8(toMonday(day) + 6 <= (SELECT max(day) FROM marts.kpi_daily))", "UInt8")},
    **{table: {COHORT: ("substring(toString(cohort_month), 1, 7)", "String")}
       for table in ("retention_monthly", "ltv_monthly", "romi_cohorts")},
    "kpi_weekly": {COMPLETE_WEEK: ("toUInt8(week + 6 <= (SELECT max(last_day) FROM marts.kpi_weekly))", "UInt8")},
}


def currency_of(money: bool) -> dict | None:
    """Money is shown with the configured currency (settings.currency(), written over the placeholder
    when the bundle is imported)."""
    return {"symbol": CURRENCY_PLACEHOLDER, "symbolPosition": "suffix"} if money else None


def value_title(described: Description, dataset: str, metric: str, format: str) -> str:
    """A value axis's title: the metric with its unit where the tick labels do not show it (money in
    the configured currency, percentages); durations tick as "3m 20s", counts name what is counted."""
    if described.is_money(dataset, metric):
        return f"{described.verbose(metric)} ({CURRENCY_PLACEHOLDER})"
    if format.endswith("%"):
        return f"{described.verbose(metric)}, %"
    return described.verbose(metric)


def axis_titles(value: str, category: str | None = None, horizontal: bool = False) -> dict:
    """Echarts axis-title params: ``value`` on the value axis, ``category`` on the other. A vertical value
    axis has its title on top (short titles: it is centred on the axis line); horizontal bars' value axis
    has it centred under the ticks (at the axis's end it was cut by the chart's edge)."""
    titles = {"y_axis_title": value, "y_axis_title_position": "Left" if horizontal else "Top",
              "y_axis_title_margin": 30 if horizontal else 15}
    if category:
        titles |= {"x_axis_title": category, "x_axis_title_margin": 30}
    return titles


def dataset_yaml(table: str, columns: list[tuple[str, str]], described: Description) -> dict:
    dataset = described.datasets[table]
    computed = COMPUTED_COLUMNS.get(table, {})
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
                     "expression": computed[name][0] if name in computed else None,
                     "description": None, "python_date_format": None, "extra": {}}
                    for name, ch_type in [*columns, *((n, t) for n, (_, t) in computed.items())]],
        "version": "1.0.0", "database_uuid": DATABASE_UUID,
    }


def about_height(about: str) -> int:
    """Grid rows of a dashboard's text card: three lines of text (about 180 characters each at 1600 px) and the
    navigation line fit the 16 rows every card had; each further line takes 3 rows more (the card clips)."""
    lines = math.ceil(len(" ".join(about.split())) / 180)
    return 16 + 3 * max(0, lines - 3)


def dashboard_yaml(board: Dashboard, chart_ids: dict[str, int], described: Description) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": board.title}},
    }
    rows: list[list[tuple[str, dict]]] = [[("MARKDOWN-about", {"type": "MARKDOWN", "meta": {
        "width": 12, "height": about_height(board.about), "code": f"{board.about}\n\n{described.navigation}"}})]]
    for chart in (c for row in board.rows for c in row):
        assert chart.uuid in chart_ids
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
    charts = [c for row in board.rows for c in row]
    filters = []
    for name in board.filters:
        in_scope = [chart_ids[c.uuid] for c in charts if applies(name, c, described)]
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
    return {
        "dashboard_title": board.title, "description": None, "css": "", "slug": board.slug,
        "certified_by": None, "certification_details": None, "published": True, "uuid": uid("dashboard", board.slug),
        "position": position,
        "metadata": {"native_filter_configuration": filters, "color_scheme": "supersetColors",
                     "refresh_frequency": 0, "expanded_slices": {}, "label_colors": {},
                     "timed_refresh_immune_slices": [], "cross_filters_enabled": True,
                     "shared_label_colors": [], "color_scheme_domain": []},
        "version": "1.0.0",
    }


_COLUMNS: dict[str, list[tuple[str, str]]] = {}


def _has_column(dataset: str, column: str) -> bool:
    return any(name == column for name, _ in _COLUMNS[dataset]) or column in COMPUTED_COLUMNS.get(dataset, {})


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
    # checked before anything is removed: a description that fails leaves ``out`` alone
    check_columns(described, {table: {name for name, _ in columns} | set(COMPUTED_COLUMNS.get(table, {}))
                              for table, columns in columns_of.items()})
    boards = dashboards(described)
    _COLUMNS.update(columns_of)
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
        dump(out / "dashboards" / f"{board.slug}.yaml", dashboard_yaml(board, chart_ids, described))


def exposures_yaml(described: Description | None = None) -> dict:
    """dbt exposures, one per dashboard: lineage from marts to the dashboards that read them."""
    described = described or read_description()

    def plain(markdown: str) -> str:  # one line, no markdown emphasis
        return re.sub(r"\*+", "", " ".join(markdown.split()))

    return {"version": 2, "exposures": [{
        "name": board.slug.replace("-", "_"), "label": board.title, "type": "dashboard", "maturity": "high",
        "url": f"http://127.0.0.1:8088/superset/dashboard/{board.slug}/", "description": plain(board.about),
        "depends_on": [f"ref('{name}')" for name in sorted({VIRTUAL_BASE.get(c.dataset, c.dataset)
                                                            for row in board.rows for c in row})],
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
