"""The renderer's chart kinds: a described chart becomes Superset's params and saved query.

A chart in the description (superset_assets/description/) is `chart: <kind>` with options: the
function of that name here is called with the options as keyword arguments (bundle_description.py
checks them against these signatures) and returns a Chart; bundle_builder.py writes it into the
bundle with its dataset's Period filter and a stable UUID. ``described`` (the whole description)
gives readable names, money facts and computed columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ecomlytics.bi.bundle_description import Description
from ecomlytics.bi.setup import CURRENCY_PLACEHOLDER

# A computed column of kpi_daily / kpi_weekly (datasets.yml): whether the row's week is complete in the data.
COMPLETE_WEEK = "in_complete_week"


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
    if COMPLETE_WEEK in described.datasets[dataset].computed_columns:
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
    if sort_x:  # a few ordered buckets: every label shown (echarts' "auto" left out every other one)
        params |= {"x_axis_sort": x, "xAxisLabelInterval": "0"}
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
              descending: bool = False, money: list[str] | None = None) -> Chart:
    """``money``: columns shown as amounts in the configured currency (a raw table takes no metric, so
    the dataset's money metrics do not format its columns; Superset trims them from the dashboard)."""
    params = {"query_mode": "raw", "all_columns": columns, "row_limit": limit, "include_search": search,
              "server_pagination": False, "order_by_cols": [], "allow_render_html": False}
    if money:
        params["column_config"] = {column: {"d3NumberFormat": ",.2f", "currencyFormat": {
            "symbol": CURRENCY_PLACEHOLDER, "symbolPosition": "suffix"}} for column in money}
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


CHART_KINDS = {kind.__name__: kind for kind in (big_number, timeseries, bars, pie, table, raw_table, heatmap)}
