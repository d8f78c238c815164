"""Writes the Superset bundle (superset_assets/) from a compact description: its one writer.

The committed YAML in superset_assets/ is what `ecomlytics serve` imports, rendered here: dashboards,
charts (with saved query contexts, so the chart data API can run them), datasets with metrics, native
filters. A test keeps the committed files equal to this rendering. After editing dashboards in the UI,
`ecomlytics superset-export` writes Superset's export elsewhere and lists the charts, datasets and
dashboards that differ, setting by setting (bundle_diff.py): carry them into the description here.

    python -m ecomlytics.bi.bundle_builder --warehouse chdb:///path/to/built/warehouse

Column types are read from a built warehouse (the marts must exist).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ecomlytics.bi.setup import ASSETS_DIR, CURRENCY_PLACEHOLDER, URI_PLACEHOLDER

NAMESPACE = uuid.UUID("5f3c1a52-7d0e-4c1e-9a53-0d2f6f1b9e11")
DATABASE_UUID = str(uuid.uuid5(NAMESPACE, "database:ecomlytics"))


def uid(kind: str, name: str) -> str:
    """Stable UUIDs, so a rebuilt bundle overwrites the same objects on import."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def kpi_metrics(distinct: Callable[[str], str]) -> dict[str, tuple[str, str]]:
    """Overview KPIs over kpi_daily / kpi_weekly rows; only how a distinct count is read differs:
    ``distinct("users")`` is the SQL of distinct users over the selected rows."""
    users, buyers = distinct("users"), distinct("buyers")
    return {
        "gmv": ("sum(revenue)", ",.2f"),
        "orders": ("sum(orders)", ",d"),
        "sessions": ("sum(sessions)", ",d"),
        "users": (users, ",d"),
        "buyers": (buyers, ",d"),
        "new_buyers": (distinct("new_buyers"), ",d"),
        "units": ("sum(units)", ",d"),
        "aov": ("toFloat64(sum(revenue)) / nullIf(sum(orders), 0)", ",.2f"),
        "conversion": (f"sum(orders) / nullIf({users}, 0)", ".2%"),
        "buyer_conversion": (f"{buyers} / nullIf({users}, 0)", ".2%"),
        "session_conversion": ("sum(orders) / nullIf(sum(sessions), 0)", ".2%"),
        "revenue_per_session": ("toFloat64(sum(revenue)) / nullIf(sum(sessions), 0)", ",.3f"),
    }


# Durations are shown as "6h 4m 28s": Superset's DURATION format reads milliseconds, so every *_s
# metric (seconds, kept for SQL Lab and the API) has a millisecond twin the charts use.
DURATION = "DURATION"


def median(column: str) -> str:
    """The contract's median: the mean of the two middle values of an even count (ClickHouse's medianExact
    takes the upper one). Written with the low / high medians, plain functions every SQL parser reads."""
    return f"(medianExactLow({column}) + medianExactHigh({column})) / 2"

# dataset -> (main datetime column, {metric: (SQL, d3 format)})
DATASETS: dict[str, tuple[str | None, dict[str, tuple[str, str]]]] = {
    # kpi_daily rows hold uniqExact states: distinct counts merge them, exact for any roll-up.
    "kpi_daily": ("day", {
        **kpi_metrics(lambda name: f"uniqExactMerge({name}_state)"),
        "asl_mean_s": ("sum(session_seconds) / nullIf(sum(sessions), 0)", ",.0f"),
        "session_length_mean": ("1000 * sum(session_seconds) / nullIf(sum(sessions), 0)", DURATION),
    }),
    # Weekly KPIs with finalized distinct counts, one row per week: a virtual dataset (KPI_WEEKLY_SQL)
    # over marts.kpi_weekly.
    "kpi_weekly": ("week", kpi_metrics(lambda name: f"sum({name})")),
    # The period against the previous period of the same length and last year (KPI_COMPARE_SQL).
    "kpi_compare": ("day", {}),
    "activity_daily": ("day", {
        "dau": ("sum(dau)", ",d"),
        "active_users": ("uniqExactMerge(users_state)", ",d"),
        "sessions_per_user": ("sum(sessions) / nullIf(uniqExactMerge(users_state), 0)", ".2f"),
        "avg_session_s": ("sum(avg_session_s * sessions) / nullIf(sum(sessions), 0)", ",.0f"),
    }),
    "activity_weekly": ("week", {"wau": ("sum(wau)", ",d")}),
    "activity_monthly": ("month", {"mau": ("sum(mau)", ",d")}),
    "fct_sessions": ("start_ts", {
        "sessions": ("count()", ",d"),
        "asl_mean_s": ("avg(duration_s)", ",.0f"),
        "asl_median_s": (median("duration_s"), ",.0f"),
    }),
    "kpi_headline": (None, {
        "asl_mean_s": ("max(asl_mean_s)", ",.0f"),
        "asl_median_s": ("max(asl_median_s)", ",.0f"),
        "asl_mode_s": ("max(asl_mode_s)", ",.0f"),
        "ttf_median_s": ("max(ttf_median_s)", ",.0f"),
        "session_length_mean": ("1000 * max(asl_mean_s)", DURATION),
        "session_length_median": ("1000 * max(asl_median_s)", DURATION),
        "session_length_mode": ("1000 * max(asl_mode_s)", DURATION),
        "ttf_median": ("1000 * max(ttf_median_s)", DURATION),
        "sticky_wau": ("max(sticky_wau)", ".1%"),
        "sticky_mau": ("max(sticky_mau)", ".1%"),
        "orders_per_buyer_6m": ("max(orders_per_buyer_6m)", ".2f"),
        "ltv_6m": ("max(ltv_6m)", ",.2f"),
        "cac": ("max(cac)", ",.2f"),
        "romi_6m": ("max(romi_6m)", ".1%"),
    }),
    "sales_daily": ("day", {
        "gmv": ("sum(revenue)", ",.2f"),
        "units": ("sum(units)", ",d"),
        "buyers": ("uniqExactMerge(buyers_state)", ",d"),
    }),
    "retention_monthly": ("cohort_month", {
        "retention": ("sum(active_users) / nullIf(sum(cohort_users), 0)", ".1%"),
        "active_users": ("sum(active_users)", ",d"),
        "lifetime_months": ("sum(active_users) / nullIf(sumIf(cohort_users, lifetime_month = 0), 0)", ".2f"),
    }),
    "ltv_monthly": ("cohort_month", {
        "ltv": ("sum(cum_gross_profit) / nullIf(sum(cohort_buyers), 0)", ",.2f"),
        "active_buyers": ("sum(active_buyers)", ",d"),
        "average_check": ("toFloat64(sum(revenue)) / nullIf(sum(orders), 0)", ",.2f"),
    }),
    "marketing_monthly": ("month", {
        "costs": ("sum(costs)", ",.0f"),
        "new_buyers": ("sum(new_buyers)", ",d"),
        "cac": ("toFloat64(sum(costs)) / nullIf(sum(new_buyers), 0)", ",.2f"),
    }),
    "romi_cohorts": ("cohort_month", {
        "romi": ("sum(cum_gross_profit) / nullIf(toFloat64(sum(costs)), 0) - 1", ".0%"),
        "payback_month": ("min(payback_month)", "d"),
    }),
    # One row per channel over the cohorts of the dashboard's Period (CHANNEL_SCORECARD_SQL). Its columns are
    # named unlike the metrics: ClickHouse would read `costs` in `sum(costs) / ...` as the alias of the
    # metric `sum(costs) AS costs` (an aggregate inside an aggregate).
    "channel_scorecard": ("cohort_month", {
        "costs": ("sum(spend)", ",.0f"),
        "new_buyers": ("sum(acquired)", ",d"),
        "cac": ("sum(spend) / nullIf(sum(acquired), 0)", ",.2f"),
        "ltv_6m": ("sum(gross_profit_6m) / nullIf(sum(buyers_6m), 0)", ",.2f"),
        "romi_6m": ("sum(gross_profit_6m) / nullIf(sum(costs_6m), 0) - 1", ".0%"),
        "payback_month": ("min(payback_age)", "d"),
    }),
    "ttf_buyers": ("first_order_date", {
        "buyers": ("count()", ",d"),
        "ttf_median_s": (median("ttf_seconds"), ",.0f"),
        "ttf_median": (f"1000 * {median('ttf_seconds')}", DURATION),
    }),
    "customer_flow_monthly": ("month", {
        "new": ("sum(new_buyers)", ",d"),
        "returning": ("sum(returning_buyers)", ",d"),
        "reactivated": ("sum(reactivated_buyers)", ",d"),
        "churned": ("-sum(churned_buyers)", ",d"),
    }),
    "rfm_scores": ("as_of_date", {"customers": ("count()", ",d"), "monetary": ("sum(monetary)", ",.2f")}),
    "rfm_monthly": ("snapshot_month", {"customers": ("sum(customers)", ",d")}),
    "rfm_customers": ("as_of_date", {"customers": ("count()", ",d")}),
    "rfm_summary": ("as_of_date", {"customers": ("sum(customers)", ",d")}),
    "customer_base_summary": ("registration_month", {
        "contacts": ("sum(contacts)", ",d"),
        "reachable_email": ("sum(reachable_email) / nullIf(sum(contacts), 0)", ".1%"),
        "reachable_sms": ("sum(reachable_sms) / nullIf(sum(contacts), 0)", ".1%"),
        "reachable_push": ("sum(reachable_push) / nullIf(sum(contacts), 0)", ".1%"),
        "profile_completeness": ("sum(profile_completeness_sum) / nullIf(sum(contacts), 0)", ".1%"),
    }),
    "customer_profiles": ("registration_month", {
        "contacts": ("count()", ",d"),
        "reachable_email": ("avg(email_opt_in * has_email)", ".1%"),
        "reachable_sms": ("avg(sms_opt_in * has_phone)", ".1%"),
        "reachable_push": ("avg(push_opt_in)", ".1%"),
        "profile_completeness": ("avg(profile_completeness)", ".1%"),
    }),
}


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
    The period is clipped to the data; a comparison period that does not lie wholly inside the data
    (empty or partly covered) reads "n/a", never a percentage. Values are text: one table column
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

    def fixed(value: str, decimals: int) -> str:  # "995.70" (toString drops a Decimal's trailing zeros)
        scale = 10 ** decimals
        scaled = f"toInt64(round(abs({value}) * {scale}))"
        return (f"concat(if({value} < 0, '-', ''), toString(intDiv({scaled}, {scale})), '.', "
                f"leftPad(toString({scaled} % {scale}), {decimals}, '0'))")

    def shown(value: str, ok: str) -> str:  # k.3: the row's format
        text = (f"multiIf(k.3 = 'money', concat({fixed(value, 2)}, ' {CURRENCY_PLACEHOLDER}'), "
                f"k.3 = 'count', toString(toUInt64(round({value}))), concat({fixed(f'100 * {value}', 2)}, '%'))")
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

    @property
    def uuid(self) -> str:
        key = f"{self.dataset}:{RENAMED.get(self.title, self.title)}"
        return uid("chart", MOVED.get(key, key))


# Charts renamed since first published keep their UUIDs (an import updates them in place instead of
# leaving the old chart behind): new title -> the title the UUID was made from.
MOVED = {  # charts moved to another dataset keep their UUIDs too: "dataset:title" -> the one it was made from
    "kpi_weekly:Active users, weekly": "activity_weekly:Active users, weekly",
    # the scorecard replaces the payback table (and carries its payback month)
    "channel_scorecard:Channel scorecard": "romi_cohorts:Payback month by source",
}
RENAMED = {
    "CAC, monthly (channels in the filter, all by default)": "CAC by source, monthly",
    "Session length, mean": "Session length, mean (s)", "Session length, median": "Session length, median (s)",
    "Session length, mode": "Session length, mode (s)",
    "Time to first order, median": "Time to first order, median (s)",
    "Mean session length by OS, weekly": "Mean session length by OS (s), weekly",
    "Median time to first order by channel": "Median time to first order by channel (s)",
    "Retention by visit cohort and lifetime month (month 0 = 100%, not shown)":
        "Retention by visit cohort and lifetime month",
}


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


def big_number(title: str, ds: str, metric: str, x: str | None = None, grain: str = "P1W", fmt: str | None = None,
               subheader: str = "", width: int = 2) -> Chart:
    """A KPI tile: with x, the last complete week's value over the weekly trend line.

    No change in %: Superset's compare lag compares with the point ``lag`` rows before, whatever the
    period (an empty week is skipped, a week with little data gives a huge %). Periods are compared in
    the Overview's comparison table (KPI_COMPARE_SQL): same length and last year, "n/a" when empty."""
    params = {"metric": metric, "header_font_size": 0.4, "subheader_font_size": 0.15, "y_axis_format": fmt or
              "SMART_NUMBER", "time_format": "smart_date"}
    if x is None:
        params |= {"subheader": subheader}
        return Chart(title, ds, "big_number_total", params, width, 40, {"columns": [], "metrics": [metric]})
    params |= {"x_axis": x_axis_param(x, grain), "time_grain_sqla": grain, "subtitle": "last complete week",
               "subtitle_font_size": 0.15, "show_trend_line": True, "start_y_axis_at_zero": True,
               "rolling_type": "None", "show_timestamp": True}
    # No saved orderby on the axis: Superset would write ORDER BY <its SQL> (week), not its label (Week),
    # which ClickHouse refuses beside GROUP BY Week. The tile orders its points itself.
    query: dict = {"columns": [axis(x, grain)], "metrics": [metric]}
    if COMPLETE_WEEK in COMPUTED_COLUMNS.get(ds, {}):
        # The newest week is usually still running: a tile comparing it with a full week would
        # always show a drop. Tiles show the last complete week against the one before.
        params["adhoc_filters"] = [{"expressionType": "SIMPLE", "subject": COMPLETE_WEEK, "operator": "==",
                                    "comparator": 1, "clause": "WHERE", "isExtra": False}]
        query["filters"] = [{"col": COMPLETE_WEEK, "op": "==", "val": 1}]
    return Chart(title, ds, "big_number", params, width, 40, query)


def timeseries(title: str, ds: str, metrics: list[str], x: str, grain: str | None = "P1W",
               groupby: list[str] | None = None,
               kind: str = "line", stack: bool = False, width: int = 6, fmt: str = "SMART_NUMBER",
               limit: int = 10000, sort_x: bool = False, horizontal: bool = False, y_title: str | None = None,
               x_title: str | None = None, legend_right: bool = False) -> Chart:
    """A line / bar chart; ``sort_x`` orders a categorical x axis by its labels instead of by value.
    The value axis is titled with its unit (``y_title``, default from the metric); ``legend_right``: one
    series per line beside the plot, for many series (a legend on top would page them)."""
    params = {"x_axis": x_axis_param(x, grain), "metrics": metrics, "groupby": groupby or [], "rich_tooltip": True,
              "show_legend": True, "legend_type": "plain", "y_axis_format": fmt,
              "row_limit": limit, "truncate_metric": True, "x_axis_sort_asc": True, "zoomable": False,
              **axis_titles(y_title or value_title(metrics[0], fmt), x_title, horizontal)}
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
    viz = "echarts_timeseries_bar" if kind == "bar" else "echarts_timeseries_line"
    columns = [axis(x, grain), *(groupby or [])]
    return Chart(title, ds, viz, params, width, 50,
                 {"columns": columns, "metrics": metrics, "orderby": [[metrics[0], False]], "row_limit": limit})


def bars(title: str, ds: str, metric: str, groupby: str, width: int = 4, share: bool = False, height: int = 50,
         fmt: str = "SMART_NUMBER") -> Chart:
    """Horizontal bars by category, largest first, values on the bars: names stay whole where a donut's
    outside labels were cut ("Paid social...", "Churn: 5..."). ``share``: each bar as a share of the total."""
    value = f"Share of {verbose(metric)}, %" if share else value_title(metric, fmt)
    params = {"x_axis": groupby, "metrics": [metric], "groupby": [], "orientation": "horizontal",
              "x_axis_sort": metric, "x_axis_sort_asc": True, "show_value": True, "show_legend": False,
              "row_limit": 50, "y_axis_format": ".1%" if share else fmt, "rich_tooltip": True, "zoomable": False,
              "truncateXAxis": False, **axis_titles(value, horizontal=True)}
    if share:
        params["contributionMode"] = "column"
    return Chart(title, ds, "echarts_timeseries_bar", params, width, height,
                 {"columns": [groupby], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 50})


def pie(title: str, ds: str, metric: str, groupby: str, width: int = 4) -> Chart:
    # Labels outside with leader lines and no legend: the slices get the whole card, names stay readable.
    params = {"metric": metric, "groupby": [groupby], "donut": True, "show_labels": True, "labels_outside": True,
              "label_line": True, "label_type": "key_percent", "outerRadius": 60, "innerRadius": 30,
              "row_limit": 50, "sort_by_metric": True, "show_legend": False}
    return Chart(title, ds, "pie", params, width, 50,
                 {"columns": [groupby], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 50})


# Table cell colours (Superset's conditional formatting): light red / green of its theme.
RED, GREEN = "#EFA1AA", "#ACE1C4"


def colour(metric: str, operator: str, value: float, hex_colour: str) -> dict:
    """A table conditional-formatting rule: the metric's cells ``operator value`` get the colour."""
    return {"column": metric, "operator": operator, "targetValue": value, "colorScheme": hex_colour}


def table(title: str, ds: str, groupby: list[str], metrics: list[str], limit: int = 10, ascending: bool = False,
          width: int = 6, colours: list[dict] | None = None, height: int = 50, top_of: str | None = None) -> Chart:
    """An aggregated table ordered by its first metric; ``colours``: conditional formatting rules.

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
        params |= {"conditional_formatting": colours, "show_cell_bars": False}
    return Chart(title, ds, "table", params, width, height,
                 {"columns": groupby, "metrics": metrics, "orderby": [[metrics[0], ascending]], "row_limit": row_limit,
                  **top})


def raw_table(title: str, ds: str, columns: list[str], limit: int = 10000, width: int = 12,
              height: int = 120, search: bool = True, order_by: str | None = None, descending: bool = False) -> Chart:
    params = {"query_mode": "raw", "all_columns": columns, "row_limit": limit, "include_search": search,
              "server_pagination": False, "order_by_cols": [], "allow_render_html": False}
    # metrics None, not []: the table plugin's raw mode sends none, and [] would make Superset GROUP BY every column.
    query = {"columns": columns, "metrics": None, "row_limit": limit}
    if order_by:
        params["order_by_cols"] = [json.dumps([order_by, not descending])]
        query["orderby"] = [[order_by, not descending]]
    return Chart(title, ds, "table", params, width, height, query)


def heatmap(title: str, ds: str, x: str, y: str, metric: str, fmt: str, width: int = 12,
            at_least: tuple[str, int] | None = None) -> Chart:
    """``at_least``: (column, value) keeps rows with column >= value (e.g. retention without month 0,
    which is 100% by definition and would take the whole colour scale)."""
    params = {"x_axis": x, "groupby": y, "metric": metric, "normalize_across": "heatmap", "legend_type": "continuous",
              "linear_color_scheme": "blue_white_yellow", "show_values": True, "show_percentage": False,
              "value_bounds": [None, None], "y_axis_format": fmt, "x_axis_time_format": "smart_date",
              "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_asc", "row_limit": 10000, "xscale_interval": -1,
              "yscale_interval": -1, "left_margin": 16, "bottom_margin": 16}  # px; labels are contained
    query: dict = {"columns": [x, y], "metrics": [metric], "orderby": [[metric, False]], "row_limit": 10000}
    if at_least:
        column, value = at_least
        params["adhoc_filters"] = [{"expressionType": "SIMPLE", "subject": column, "operator": ">=",
                                    "comparator": value, "clause": "WHERE", "isExtra": False}]
        query["filters"] = [{"col": column, "op": ">=", "val": value}]
    return Chart(title, ds, "heatmap_v2", params, width, 70, query)


@dataclass
class Dashboard:
    slug: str
    title: str
    about: str  # markdown: how to read it (signals and actions)
    rows: list[list[Chart]]
    filters: tuple[str, ...] = ("period", "channel", "os")


# No links between dashboards in their text: a markdown link is the same for every role, and a role
# may not open every dashboard. The top bar's My dashboards menu lists those a role may open (navigation.py).
NAV = "Other dashboards: the **My dashboards** menu in the top bar (those your role may open)."


SCORECARD_TITLE = "Channel scorecard"
COMPARE_TITLE = "The period against the previous period of the same length and last year"


def dashboards() -> list[Dashboard]:
    k, w, cb = "kpi_daily", "kpi_weekly", "customer_base_summary"
    return [
        Dashboard("overview", "Overview KPI", """**What:** GMV, AOV, users, conversion (orders / users), revenue per
session and units sold: tiles show the last complete week over the weekly trend; the table compares the
whole Period with the period of the same length before it and with the same dates a year earlier ("n/a"
where that period is not wholly inside the data).
**Signals → actions:** GMV peak or dip → open **Sales** to see which channel / OS / category moved it ·
AOV ↓ with stable orders → push upsell and bundles · conversion ↓ while traffic grows → check speed,
checkout and payments · refund rate ↑ or gross margin ↓ → check returns by product and the discounts granted.
**Sales channel** (delivery / pickup / ...) filters the gross-and-net charts; the other charts count every
sales channel (they read kpi_daily / kpi_weekly, whose users and sessions have none).""", [
            [big_number("GMV", w, "gmv", "week"), big_number("AOV", w, "aov", "week", fmt=",.2f"),
             big_number("Users", w, "users", "week"), big_number("Conversion", w, "conversion", "week", fmt=".2%"),
             big_number("Revenue per session", w, "revenue_per_session", "week", fmt=",.3f"),
             big_number("Units sold", w, "units", "week")],
            [raw_table(COMPARE_TITLE, "kpi_compare", ["kpi", "this_period", "previous_period", "change_vs_previous",
                                                      "same_period_last_year", "change_vs_last_year"],
                       limit=20, height=46, search=False, order_by="position")],
            *gross_and_net("P1W"),
            [timeseries("GMV by channel, weekly", k, ["gmv"], "day", "P1W", ["channel"], kind="bar", stack=True,
                        width=8),
             bars("GMV share by channel", k, "gmv", "channel", share=True)],
        ], ("period", "channel", "os", "sales_channel")),
        Dashboard("sales", "Sales: channels, OS, categories, SKUs", """**What:** where revenue comes from —
channel shares and dynamics, OS, categories month over month and seasonality, top and bottom SKUs.
**Actions:** move budget from channels with high CAC and low conversion (see **Marketing**) to efficient
ones · a dip on one OS/device → audit the release (SDK, performance, crashes), roll out fixes gradually
and A/B the checkout · categories with negative MoM on a high base → promo, content, stock · top SKUs →
storefronts, cross-sell and bundles · net revenue or gross margin falling behind GMV → refunds, discounts,
tax or shipping grow: see the gross and net rows (the Category filter does not apply to them: refunds and
costs are per order).""", [
            *gross_and_net("P1M"),
            [bars("Channel share of GMV", "sales_daily", "gmv", "channel", share=True),
             timeseries("GMV by channel, monthly", "sales_daily", ["gmv"], "day", "P1M", ["channel"], kind="bar",
                        stack=True, width=8)],
            [timeseries("GMV by category, monthly (MoM, seasonality)", "sales_daily", ["gmv"], "day", "P1M",
                        ["category"], width=8),
             bars("GMV by OS", "sales_daily", "gmv", "os")],
            [table("Top 10 SKUs by GMV", "sales_daily", ["sku", "product_name", "category"], ["gmv", "units"],
                   top_of="sku"),
             table("Bottom 10 SKUs by GMV", "sales_daily", ["sku", "product_name", "category"], ["gmv", "units"],
                   ascending=True, top_of="sku")],
        ], ("period", "channel", "category", "os", "sales_channel")),
        Dashboard("users-conversion", "Users & conversion", """**What:** DAU / WAU / MAU and growth, sticky
factor, sessions by OS, conversion lines.
**Signals → actions:** MAU ↑ but conversion flat or ↓ → UX, performance, checkout · sessions grow on one
OS only → check traffic quality and creatives · conversion jumps after releases → look for regressions,
fix and roll out gradually.""", [
            [big_number("Sticky factor (DAU/WAU)", "kpi_headline", "sticky_wau", fmt=".1%", width=3),
             big_number("Sticky factor (DAU/MAU)", "kpi_headline", "sticky_mau", fmt=".1%", width=3),
             big_number("Users", w, "users", "week", width=3), big_number("Buyers", w, "buyers", "week", width=3)],
            [timeseries("DAU", "activity_daily", ["dau"], "day", "P1D", width=4, y_title="Users"),
             timeseries("WAU", "activity_weekly", ["wau"], "week", "P1W", width=4, y_title="Users"),
             timeseries("MAU", "activity_monthly", ["mau"], "month", "P1M", width=4, y_title="Users")],
            [timeseries("Sessions by OS, weekly", k, ["sessions"], "day", "P1W", ["os"], kind="bar", stack=True),
             timeseries("Conversion (orders / users), buyer and session conversion, weekly", w,
                        ["conversion", "buyer_conversion", "session_conversion"], "week", "P1W", fmt=".2%",
                        y_title="Conversion, %")],
        ], ("period", "channel", "os")),
        Dashboard("engagement-ttf", "Engagement & time to first order", """**What:** active users, session
length (mean / median / mode) and how long traffic takes to the first order.
**Signals → actions:** long TTF tail → welcome series and personal offers · session length ↓ on one OS →
UX, speed or tracking problems · active users grow without GMV → work on conversion and AOV.""", [
            [big_number("Session length, mean", "kpi_headline", "session_length_mean", fmt=DURATION, width=3),
             big_number("Session length, median", "kpi_headline", "session_length_median", fmt=DURATION, width=3),
             big_number("Session length, mode", "kpi_headline", "session_length_mode", fmt=DURATION, width=3),
             big_number("Time to first order, median", "kpi_headline", "ttf_median", fmt=DURATION, width=3)],
            # Finalized weekly users and additive session seconds: no per-user work at query time.
            # Weekly distinct users from kpi_weekly: exact for any channel / OS selection, so those filters apply.
            [timeseries("Active users, weekly", w, ["users"], "week", "P1W", width=6),
             timeseries("Mean session length by OS, weekly", k, ["session_length_mean"], "day", "P1W", ["os"],
                        width=6, fmt=DURATION)],
            [timeseries("Buyers by time to first order", "ttf_buyers", ["buyers"], "ttf_range", None, kind="bar",
                        width=6, sort_x=True),
             timeseries("Median time to first order by channel", "ttf_buyers", ["ttf_median"], "channel", None,
                        kind="bar", width=6, fmt=DURATION, horizontal=True)],
        ]),
        Dashboard("cohorts", "Cohorts: retention, LTV, lifetime", """**What:** how each monthly cohort stays
and pays: retention heatmap, LTV by cohort and age, lifetime, average check, active buyers; filter by
channel to judge traffic quality.
**Questions:** after how long do users stop coming back? Which cohort brought more money in its first six
months? A lifetime that shrinks in one cohort → investigate that campaign. **Sales channel** selects buyer
cohorts by the sales channel of the buyer's first order (all their orders count); visit cohorts (retention,
lifetime) have none and ignore it.""", [
            [heatmap("Retention by visit cohort and lifetime month (month 0 = 100%, not shown)", "retention_monthly",
                     "lifetime_month", COHORT, "retention", ".1%", at_least=("lifetime_month", 1))],
            [heatmap("LTV by buyer cohort and age (cumulative gross profit per buyer)", "ltv_monthly", "age_month",
                     COHORT, "ltv", ",.2f")],
            [timeseries("Lifetime (months active per user) by cohort", "retention_monthly", ["lifetime_months"],
                        "cohort_month", "P1M", kind="bar", width=6),
             timeseries("Average check by buyer cohort", "ltv_monthly", ["average_check"], "cohort_month", "P1M",
                        kind="bar", width=6)],
            [heatmap("Active buyers by cohort and age", "ltv_monthly", "age_month", COHORT, "active_buyers", ",d")],
        ], ("period", "channel", "sales_channel")),
        Dashboard("marketing", "Marketing: costs, CAC, ROMI, customer flow", """**What:** the channel
scorecard, per channel over the Period's buyer cohorts: spend, new buyers, CAC; LTV and ROMI at 6 months
(cohorts that reached age 5; age 0 = first month; on gross profit net of refunds, tax, shipping and COGS);
payback month = first age at which the cohorts have earned their costs back (N/A: not yet). Below: spend per
source, monthly CAC, ROMI by cohort and age, customer flow.
**Actions:** red ROMI (CAC above the same cohorts' 6-month LTV) → cut or rebuild the channel; green ROMI and
payback within 6 months → shift budget to it.""", [
            [big_number("CAC (project)", "kpi_headline", "cac", fmt=",.2f", width=3),
             big_number("LTV at 6 months", "kpi_headline", "ltv_6m", fmt=",.2f", width=3),
             big_number("ROMI at 6 months", "kpi_headline", "romi_6m", fmt=".1%", width=3),
             big_number("Orders per buyer in 6 months", "kpi_headline", "orders_per_buyer_6m", fmt=".2f", width=3)],
            [table(SCORECARD_TITLE, "channel_scorecard", ["channel"],
                   ["costs", "new_buyers", "cac", "ltv_6m", "romi_6m", "payback_month"], limit=20,
                   width=12, height=48, colours=[
                       # ROMI < 0: the cohorts' CAC is above their 6-month LTV. (Superset compares a cell with
                       # a constant, not with another column: a CAC-vs-LTV colour is this one.)
                       colour("romi_6m", "<", 0, RED), colour("romi_6m", ">", 0, GREEN),
                       colour("payback_month", "≤", 5, GREEN)])],
            [timeseries("Costs by source, monthly", "marketing_monthly", ["costs"], "month", "P1M", ["channel"],
                        kind="bar", stack=True, legend_right=True),
             # One line (all channels, or those the Channel filter selects) instead of one per source:
             # per-channel CAC is in the scorecard.
             timeseries("CAC, monthly (channels in the filter, all by default)", "marketing_monthly", ["cac"],
                        "month", "P1M")],
            [heatmap("ROMI by cohort and age", "romi_cohorts", "age_month", COHORT, "romi", ".0%", width=12)],
            [timeseries("Customer flow: new / returning / reactivated / churned", "customer_flow_monthly",
                        ["new", "returning", "reactivated", "churned"], "month", "P1M", kind="bar", stack=True,
                        width=12, y_title="Buyers")],
        ], ("period", "channel")),
        Dashboard("rfm", "RFM segmentation", """**What:** the customer base by RFM (recency, frequency, monetary
with exact quantiles): segment and macro-segment shares, monthly dynamics and the recommended action per
segment. **Actions:** see *recommended action*; the CRM team acts on the contacts in
the **RFM contacts (CRM)** dashboard or with `ecomlytics export rfm`.""", [
            [bars("Customers by segment", "rfm_summary", "customers", "segment"),
             bars("Customers by macro-segment", "rfm_summary", "customers", "macro_segment"),
             table("Recommended action per segment", "rfm_summary", ["segment", "recommended_action"], ["customers"],
                   limit=20, width=4)],
            [timeseries("Segments by month", "rfm_monthly", ["customers"], "snapshot_month", "P1M", ["segment"],
                        kind="bar", stack=True, width=12)],
        ], ("segment", "macro_segment")),
        # Contact data lives on its own dashboard, opened only by roles granted the PII datasets.
        Dashboard("rfm-contacts", "RFM contacts (CRM)", """**What:** the customers to act on, with contact
details and consent, by RFM segment, most valuable first. **Actions:** filter by segment or macro-segment
and by the consent of the campaign's channel, then download the contacts for a mailing or SMS tool as is
from `/ecomlytics/contacts.csv?segment=Lost%20VIP&consent=email` (CRM and Admin; phones exactly as
stored, named by segment and date) or with `ecomlytics export rfm`.""", [
            [raw_table("Contacts (CRM)", "rfm_customers", ["customer_id", "name", "email", "phone", "email_consent",
                                                            "sms_consent", "push_consent", "segment", "macro_segment",
                                                            "recommended_action", "recency_days", "frequency",
                                                            "monetary"], order_by="monetary", descending=True)],
        ], ("segment", "macro_segment", *CONSENT_FILTERS)),
        Dashboard("customer-base", "Customer base", """**What:** how many contacts the base has, how it grows,
whether they can be reached (e-mail / SMS / push consent), how complete profiles are and how active the base
is. **Actions:** low reachability → consent campaigns; incomplete profiles → progressive profiling;
dormant share growing → win-back (see **RFM**).""", [
            [big_number("Contacts", cb, "contacts", width=2),
             big_number("Reachable by e-mail", cb, "reachable_email", fmt=".1%", width=2),
             big_number("Reachable by SMS", cb, "reachable_sms", fmt=".1%", width=2),
             big_number("Reachable by push", cb, "reachable_push", fmt=".1%", width=2),
             big_number("Profile completeness", cb, "profile_completeness", fmt=".1%", width=4)],
            [timeseries("Registrations by month", cb, ["contacts"], "registration_month", "P1M", kind="bar", width=4),
             bars("Activity of the base", cb, "contacts", "activity_label"),
             bars("Contacts by city", cb, "contacts", "city")],
        ], ("period", "city", "activity")),
        attribution_dashboard(),
    ]


CONSENTS = {"email": "E-mail", "sms": "SMS", "push": "Push"}
CONSENT_FILTERS = tuple(f"{channel}_consent" for channel in CONSENTS)
FILTER_COLUMNS = {  # filter -> (label, column, dataset the values come from)
    "channel": ("Channel", "channel", "kpi_daily"),
    "os": ("OS", "os", "kpi_daily"),
    "category": ("Category", "category", "sales_daily"),
    "segment": ("Segment", "segment", "rfm_summary"),
    "macro_segment": ("Macro-segment", "macro_segment", "rfm_summary"),
    "city": ("City", "city", "customer_base_summary"),
    "activity": ("Activity", "activity_label", "customer_base_summary"),
    **{f"{channel}_consent": (f"{label} consent", f"{channel}_consent", "rfm_customers")
       for channel, label in CONSENTS.items()},
}


def query_context(chart: Chart) -> str:
    query = {"filters": [], "extras": {"having": "", "where": ""}, "applied_time_extras": {},
             "columns": [], "metrics": [], "orderby": [], "annotation_layers": [], "row_limit": 10000,
             "series_limit": 0, "order_desc": True, "url_params": {}, "custom_params": {},
             "custom_form_data": {}, "time_range": "No filter"}
    query |= chart.query
    form_data = {"viz_type": chart.viz_type, "datasource": "0__table", **chart.params}
    return json.dumps({"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [query],
                       "form_data": form_data, "result_format": "json", "result_type": "full"})


def time_column(dataset: str) -> str | None:
    """The column a dashboard's Period filter applies to (a cohort dataset's is the cohort month)."""
    return DATASETS[dataset][0]


def with_period(chart: Chart) -> Chart:
    """The chart with a TEMPORAL_RANGE ad-hoc filter on its dataset's time column, in the params
    (what the browser sends) and in the saved query. Without it Superset ignores a dashboard's time
    range and still shows the "filter applied" badge."""
    column = time_column(chart.dataset)
    if column is None:
        return chart
    params = {**chart.params, "time_range": "No filter", "adhoc_filters": [
        *chart.params.get("adhoc_filters", []), {"expressionType": "SIMPLE", "subject": column,
                                                  "operator": "TEMPORAL_RANGE", "comparator": "No filter",
                                                  "clause": "WHERE", "isExtra": False}]}
    query = {**chart.query, "filters": [*chart.query.get("filters", []),
                                        {"col": column, "op": "TEMPORAL_RANGE", "val": "No filter"}]}
    return dataclasses.replace(chart, params=params, query=query)


def applies(filter_name: str, chart: Chart) -> bool:
    """Whether a dashboard filter can apply to a chart: else the chart is out of its scope."""
    if filter_name == "period":
        return time_column(chart.dataset) is not None
    return _has_column(chart.dataset, FILTER_COLUMNS[filter_name][1])


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


# Metrics that are money: shown with the configured currency (settings.currency(), written over the
# placeholder when the bundle is imported).
MONEY_METRICS = {"gmv", "aov", "revenue_per_session", "ltv", "ltv_6m", "average_check", "costs", "cac", "monetary"}


def currency_of(metric: str) -> dict | None:
    return {"symbol": CURRENCY_PLACEHOLDER, "symbolPosition": "suffix"} if metric in MONEY_METRICS else None


def value_title(metric: str, fmt: str) -> str:
    """A value axis's title: the metric with its unit where the tick labels do not show it (money in
    the configured currency, percentages); durations tick as "3m 20s", counts name what is counted."""
    if metric in MONEY_METRICS:
        return f"{verbose(metric)} ({CURRENCY_PLACEHOLDER})"
    if fmt.endswith("%"):
        return f"{verbose(metric)}, %"
    return verbose(metric)


def axis_titles(value: str, category: str | None = None, horizontal: bool = False) -> dict:
    """Echarts axis-title params: ``value`` on the value axis, ``category`` on the other. A vertical value
    axis has its title on top (short titles: it is centred on the axis line); horizontal bars' value axis
    has it centred under the ticks (at the axis's end it was cut by the chart's edge)."""
    titles = {"y_axis_title": value, "y_axis_title_position": "Left" if horizontal else "Top",
              "y_axis_title_margin": 30 if horizontal else 15}
    if category:
        titles |= {"x_axis_title": category, "x_axis_title_margin": 30}
    return titles


# Readable names for metrics and columns (dataset verbose names: chart legends, table headers,
# tooltips). Anything not listed reads as its name with spaces, capitalized.
VERBOSE = {
    "gmv": "GMV", "aov": "AOV (average order value)", "users": "Users", "buyers": "Buyers",
    "new_buyers": "New buyers", "units": "Units sold", "conversion": "Conversion (orders / users)",
    "buyer_conversion": "Buyer conversion (buyers / users)",
    "session_conversion": "Session conversion (orders / sessions)",
    "revenue_per_session": "Revenue per session", "asl_mean_s": "Session length, mean (s)",
    "asl_median_s": "Session length, median (s)", "asl_mode_s": "Session length, mode (s)",
    "ttf_median_s": "Time to first order, median (s)", "session_length_mean": "Session length, mean",
    "session_length_median": "Session length, median", "session_length_mode": "Session length, mode",
    "ttf_median": "Time to first order, median", "dau": "DAU", "wau": "WAU", "mau": "MAU",
    "sticky_wau": "Sticky factor (DAU / WAU)", "sticky_mau": "Sticky factor (DAU / MAU)",
    "ltv": "LTV per buyer", "ltv_6m": "LTV at 6 months", "cac": "CAC", "romi": "ROMI", "romi_6m": "ROMI at 6 months",
    "orders_per_buyer_6m": "Orders per buyer in 6 months", "payback_month": "Payback month",
    "lifetime_months": "Lifetime (months active per user)", "average_check": "Average check",
    "active_buyers": "Active buyers", "active_users": "Active users", "new": "New", "returning": "Returning",
    "reactivated": "Reactivated", "churned": "Churned", "customers": "Customers", "monetary": "Monetary (revenue)",
    "contacts": "Contacts", "reachable_email": "Reachable by e-mail", "reachable_sms": "Reachable by SMS",
    "reachable_push": "Reachable by push", "profile_completeness": "Profile completeness",
    "sessions_per_user": "Sessions per user", "avg_session_s": "Session length, mean (s)",
    # columns
    "os": "OS", "sku": "SKU", "uid": "User id", "customer_id": "Customer id", "email": "E-mail",
    "email_opt_in": "E-mail opt-in", "sms_opt_in": "SMS opt-in", "push_opt_in": "Push opt-in",
    "has_email": "Has e-mail", "rfm_code": "RFM code", "r_score": "R score", "f_score": "F score",
    "m_score": "M score", "recency_days": "Recency (days)", "frequency": "Frequency (orders)",
    "ttf_seconds": "Time to first order (s)", "ttf_range": "Time to first order", "duration_s": "Duration (s)",
    "revenue": "Revenue", "costs": "Costs", "first_os": "First OS", "macro_segment": "Macro-segment",
    "in_complete_week": "In a complete week", "kpi": "KPI", "this_period": "This period",
    "previous_period": "Previous period (same length)", "change_vs_previous": "Change vs previous period",
    "same_period_last_year": "Same period last year", "change_vs_last_year": "Change vs last year",
    "age_month": "Age (months)", "lifetime_month": "Lifetime month",
    "spend": "Spend", "acquired": "New buyers (first order)",
    "payback_age": "Payback month", "email_consent": "E-mail consent", "sms_consent": "SMS consent",
    "push_consent": "Push consent", "activity_label": "Activity", "activity_status": "Activity status",
    "product_name": "Product", "buyers_6m": "Buyers of cohorts aged 6 months",
    "gross_profit_6m": "Gross profit at 6 months", "costs_6m": "Costs of cohorts aged 6 months",
}


def verbose(name: str) -> str:
    return VERBOSE.get(name) or name.replace("_", " ").capitalize()


def dataset_yaml(table: str, columns: list[tuple[str, str]]) -> dict:
    main_dttm, metrics = DATASETS[table]
    computed = COMPUTED_COLUMNS.get(table, {})
    return {
        "table_name": table, "main_dttm_col": main_dttm, "description": None, "default_endpoint": None,
        "offset": 0, "cache_timeout": None, "schema": "marts", "catalog": None, "sql": VIRTUAL_SQL.get(table),
        "params": None, "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False, "always_filter_main_dttm": False, "uuid": uid("dataset", table),
        "metrics": [{"metric_name": name, "verbose_name": verbose(name), "metric_type": None,
                     "expression": sql, "description": None, "d3format": fmt, "currency": currency_of(name),
                     "extra": {}, "warning_text": None} for name, (sql, fmt) in metrics.items()],
        "columns": [{"column_name": name, "verbose_name": verbose(name),
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


def dashboard_yaml(board: Dashboard, chart_ids: dict[str, int], datasets_of: dict[str, str]) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": board.title}},
    }
    rows: list[list[tuple[str, dict]]] = [[("MARKDOWN-about", {"type": "MARKDOWN", "meta": {
        "width": 12, "height": about_height(board.about), "code": f"{board.about}\n\n{NAV}"}})]]
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
        in_scope = [chart_ids[c.uuid] for c in charts if applies(name, c)]
        excluded = [chart_ids[c.uuid] for c in charts if chart_ids[c.uuid] not in in_scope]
        if name == "period":
            target, label, filter_type, controls = {}, "Period", "filter_time", {}
        else:
            label, column, source = FILTER_COLUMNS[name]
            target = {"datasetUuid": uid("dataset", source), "column": {"name": column}}
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


def write_bundle(columns_of: dict[str, list[tuple[str, str]]], out: Path = ASSETS_DIR) -> None:
    """Write every YAML file of the bundle into ``out`` (replacing what was there)."""
    _COLUMNS.update(columns_of)
    for sub in ("databases", "datasets", "charts", "dashboards"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)

    def dump(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))

    dump(out / "metadata.yaml", {"version": "1.0.0", "type": "assets", "timestamp": "2026-11-23T00:00:00+00:00"})
    dump(out / "databases" / "ecomlytics.yaml", database_yaml())
    for table in DATASETS:
        dump(out / "datasets" / "ecomlytics" / f"{table}.yaml", dataset_yaml(table, columns_of[table]))
    chart_ids: dict[str, int] = {}
    for board in dashboards():
        for chart in (c for row in board.rows for c in row):
            chart_ids.setdefault(chart.uuid, len(chart_ids) + 1)
            name = f"{board.slug}__{chart.title}".replace("/", "-").replace(" ", "_")[:90]
            dump(out / "charts" / f"{name}_{chart.uuid[:8]}.yaml", chart_yaml(with_period(chart)))
        dump(out / "dashboards" / f"{board.slug}.yaml", dashboard_yaml(board, chart_ids, {}))


# ---- Attribution (issue 17): channels credited by five attribution models (CONTRACT section 6) ----
# roas_monthly holds costs beside the credited figures, so ROAS and the orders / revenue it divides come
# from the same rows. Metric names differ from the columns: ClickHouse would read `costs` in
# `sum(revenue) / sum(costs)` as the alias of a metric `sum(costs) AS costs` (an aggregate inside an aggregate).
ATTRIBUTION_METRICS = {
    "credited_orders": ("sum(orders)", ",.1f"),
    "credited_revenue": ("sum(revenue)", ",.2f"),
    "credited_net_revenue": ("sum(net_revenue)", ",.2f"),
    "spend": ("sum(costs)", ",.2f"),
    "roas": ("toFloat64(sum(revenue)) / nullIf(toFloat64(sum(costs)), 0)", ",.2f"),
    "net_roas": ("toFloat64(sum(net_revenue)) / nullIf(toFloat64(sum(costs)), 0)", ",.2f"),
}
DATASETS["roas_monthly"] = ("month", ATTRIBUTION_METRICS)
FILTER_COLUMNS["model"] = ("Attribution model", "model", "roas_monthly")
MONEY_METRICS.update({"credited_revenue", "credited_net_revenue", "spend"})
VERBOSE.update({
    "credited_orders": "Orders (credited)", "credited_revenue": "Revenue (credited)",
    "credited_net_revenue": "Net revenue (credited)", "roas": "ROAS", "net_roas": "Net ROAS",
    "model": "Attribution model", "net_revenue": "Net revenue",
})


def attribution_dashboard() -> Dashboard:
    r = "roas_monthly"
    return Dashboard("attribution", "Attribution: channels by model, ROAS", """**What:** orders, revenue and
ROAS per channel as five attribution models credit them: *first* / *last* touch, *linear*, *time decay*
(half-life 7 days) and *position based* (40 / 20 / 40), over the buyer's sessions in the 30 days before each
order (orders without one: channel *unknown*). ROAS = credited revenue / the channel's costs (empty without
costs); net ROAS uses net revenue. Periods are whole months (costs are monthly). Pick models with
**Attribution model**; never add figures of several models up.
Below: **payback curves** per acquisition (first-touch) channel over the Period's buyer cohorts: cumulative
gross profit per buyer (net of refunds, tax, shipping and COGS) by age month against the same cohorts' CAC.
**Signals → actions:** a channel whose ROAS is high under *first* but low under *last* opens journeys that
others close → judge it on assisted revenue, not last click · ROAS below 1 under every model → cut or rebuild
the channel · net ROAS far below ROAS → refunds, tax or shipping eat the channel's revenue · a payback curve
that stays under 100% → the channel's buyers do not earn back what they cost.""", [
        [table("Channels by attribution model", r, ["channel", "model"],
               ["credited_revenue", "credited_net_revenue", "credited_orders", "spend", "roas", "net_roas"],
               limit=200, width=12, height=60,
               colours=[colour("roas", "<", 1, RED), colour("roas", ">=", 1, GREEN)])],
        [timeseries("ROAS by channel and model", r, ["roas"], "channel", None, ["model"], kind="bar", width=6,
                    fmt=",.2f", horizontal=True),
         timeseries("Net ROAS by channel and model", r, ["net_roas"], "channel", None, ["model"], kind="bar",
                    width=6, fmt=",.2f", horizontal=True)],
        [timeseries("Orders by channel and model (credited)", r, ["credited_orders"], "channel", None, ["model"],
                    kind="bar", width=6, horizontal=True),
         timeseries("Revenue by channel and model (credited)", r, ["credited_revenue"], "channel", None, ["model"],
                    kind="bar", width=6, horizontal=True)],
        *payback_rows(),
    ], ("period", "channel", "model"))



# ---- Money (issue 17): gross and net side by side, payback curves, the Sales-channel filter ----
# money_daily: the sales' money per day x sales channel x first-touch source / device / OS (contract
# section 5). Metric names differ from the columns (ClickHouse would read a column in another metric as
# the alias of a metric of that name); ratios in Float64 (a Decimal quotient keeps only the dividend's scale).
MONEY_DAILY_METRICS = {
    "gmv": ("sum(revenue)", ",.2f"),
    "net_sales": ("sum(net_revenue)", ",.2f"),
    "refunds": ("sum(refunded)", ",.2f"),
    "refund_rate": ("toFloat64(sum(refunded)) / nullIf(toFloat64(sum(revenue)), 0)", ".2%"),
    "discounts_granted": ("sum(discounts)", ",.2f"),
    "profit": ("toFloat64(sum(gross_profit))", ",.2f"),
    "gross_margin": ("toFloat64(sum(gross_profit)) / nullIf(toFloat64(sum(net_revenue)), 0)", ".2%"),
}
DATASETS["money_daily"] = ("day", MONEY_DAILY_METRICS)
# Payback curves per acquisition channel, pooled over the Period's buyer cohorts that reached each age:
# cumulative gross profit per buyer, CAC of the same cohorts (their cohort month's costs / their buyers)
# and the two divided (100% = the channel's cohorts have earned their acquisition cost back).
DATASETS["romi_cohorts"][1].update({
    "payback_ratio": ("sum(cum_gross_profit) / nullIf(toFloat64(sum(costs)), 0)", ".0%"),
    "gross_profit_per_buyer": ("sum(cum_gross_profit) / nullIf(sum(cohort_buyers), 0)", ",.2f"),
    # CAC of the Period's cohorts: each cohort counted once (its age-0 row; every cohort has one); none without costs
    "cohort_cac": ("nullIf(toFloat64(sumIf(costs, age_month = 0)), 0) / nullIf(sumIf(cohort_buyers, age_month = 0), 0)",
                   ",.2f"),
})
FILTER_COLUMNS["sales_channel"] = ("Sales channel", "sales_channel", "money_daily")
MONEY_METRICS.update({"net_sales", "refunds", "discounts_granted", "profit", "gross_profit_per_buyer", "cohort_cac"})
VERBOSE.update({
    "net_sales": "Net revenue", "refunds": "Refunds", "refund_rate": "Refund rate (refunds / GMV)",
    "discounts_granted": "Discounts", "profit": "Gross profit",
    "gross_margin": "Gross margin (gross profit / net revenue)", "sales_channel": "Sales channel",
    "payback_ratio": "Gross profit per buyer / CAC", "gross_profit_per_buyer": "Cumulative gross profit per buyer",
    "cohort_cac": "CAC", "cogs": "COGS",
})

def described_rows(description: str, first: Chart, *below: Chart) -> list[list[Chart]]:
    """Charts that share a definition on their cards: ``first`` on a row of its own, ``below`` beside each other."""
    return [[dataclasses.replace(first, description=description)],
            [dataclasses.replace(chart, description=description) for chart in below]]


GROSS_NET_TITLE = "Gross and net over the period"
# Contract section 5 defines the amounts; it names no refund rate or gross margin: those are defined here.
GROSS_NET_DEFINITIONS = (
    "Money in the configured currency, over the sales (cancelled orders excluded). GMV = revenue; net revenue = "
    "GMV - refunds - tax - shipping; refunds are capped at each order's revenue and count on the order's day; "
    "discounts are already deducted from GMV; gross profit = net revenue - COGS x (1 - refunded share). The "
    "contract defines no refund rate or gross margin; here refund rate = refunds / GMV (revenue) and gross "
    "margin = gross profit / net revenue.")


def gross_and_net(grain: str) -> list[list[Chart]]:
    """Gross and net side by side over money_daily (Overview: weekly, Sales: monthly): the Period's totals
    in one row, then the amounts and the two rates over time. The totals table is one chart on both."""
    word = {"P1W": "weekly", "P1M": "monthly"}[grain]
    m = "money_daily"
    totals = table(GROSS_NET_TITLE, m, [], ["gmv", "net_sales", "refunds", "refund_rate", "discounts_granted",
                                            "profit", "gross_margin"], width=12, height=20)
    totals.params["show_cell_bars"] = False  # one row: every cell bar would be full, the row one green band
    amounts = timeseries(f"GMV and net revenue, refunds, discounts, gross profit, {word}", m,
                         ["gmv", "net_sales", "refunds", "discounts_granted", "profit"], "day", grain, width=8,
                         y_title=f"Amount ({CURRENCY_PLACEHOLDER})")
    rates = timeseries(f"Refund rate and gross margin, {word}", m, ["refund_rate", "gross_margin"], "day", grain,
                       width=4, fmt=".1%", y_title="Rate, %")
    return described_rows(GROSS_NET_DEFINITIONS, totals, amounts, rates)


# Superset draws a formula annotation layer in the browser (the chart-data API drops it): the CAC line.
CAC_LINE = {"name": "CAC (= 100%)", "annotationType": "FORMULA", "sourceType": "", "value": "1",
            "overrides": {}, "show": True, "showLabel": True, "showMarkers": False, "hideLine": False,
            "style": "dashed", "width": 2, "opacity": "", "color": None, "titleColumn": "", "descriptionColumns": [],
            "timeColumn": "", "intervalEndColumn": ""}
PAYBACK_DEFINITIONS = (
    "Per acquisition (first-touch) channel, pooled over the buyer cohorts of the Period that reached each age: "
    "cumulative gross profit of their orders (contract section 5: net of refunds, tax, shipping and COGS) per "
    "buyer; CAC = the cohort months' costs of the channel / the cohorts' buyers. Age 0 = the month of the "
    "first order. Channels without costs have no CAC and no payback curve.")


def payback_rows() -> list[list[Chart]]:
    """Payback curves per acquisition channel (romi_cohorts): gross profit per buyer / CAC by age month with
    a 100% line (= CAC), the same in money, and the CAC of the same cohorts per channel."""
    r, age = "romi_cohorts", "Age (months since the first order)"
    ratio = timeseries("Payback curves: cumulative gross profit per buyer / CAC, by acquisition channel", r,
                       ["payback_ratio"], "age_month", None, ["channel"], width=12, fmt=".0%", x_title=age,
                       y_title="Share of CAC, %", legend_right=True)
    ratio.params["annotation_layers"] = [CAC_LINE]
    money = timeseries("Cumulative gross profit per buyer by acquisition channel", r, ["gross_profit_per_buyer"],
                       "age_month", None, ["channel"], width=8, x_title=age, legend_right=True,
                       y_title=f"Per buyer ({CURRENCY_PLACEHOLDER})")
    cac = bars("CAC by acquisition channel (cohorts of the period)", r, "cohort_cac", "channel", width=4)
    return described_rows(PAYBACK_DEFINITIONS, ratio, money, cac)


def exposures_yaml() -> dict:
    """dbt exposures, one per dashboard: lineage from marts to the dashboards that read them."""
    import re

    def plain(markdown: str) -> str:  # one line, no markdown emphasis
        return re.sub(r"\*+", "", " ".join(markdown.split()))

    return {"version": 2, "exposures": [{
        "name": board.slug.replace("-", "_"), "label": board.title, "type": "dashboard", "maturity": "high",
        "url": f"http://127.0.0.1:8088/superset/dashboard/{board.slug}/", "description": plain(board.about),
        "depends_on": [f"ref('{name}')" for name in sorted({VIRTUAL_BASE.get(c.dataset, c.dataset)
                                                            for row in board.rows for c in row})],
        "owner": {"name": "ecomlytics", "email": "analytics@ecomlytics.local"}} for board in dashboards()]}


def write_exposures(path: Path = ASSETS_DIR.parent / "models" / "exposures.yml") -> None:
    path.write_text(yaml.safe_dump(exposures_yaml(), sort_keys=False, allow_unicode=True, width=110))


# bookkeeping of incremental models (which load last touched a row): not for analysis
LINEAGE_COLUMNS = {"load_id", "visits_load_id", "attribution_key", "refreshed_in", "replaced_day"}


def warehouse_columns(dsn: str) -> dict[str, list[tuple[str, str]]]:
    from ecomlytics.warehouse.client import connect

    client = connect(dsn)
    return {table: VIRTUAL_COLUMNS.get(table) or [
        (r[0], r[1]) for r in client.query(f"DESCRIBE TABLE marts.`{table}`").result_rows
        if r[0] not in LINEAGE_COLUMNS] for table in DATASETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", required=True, help="DSN of a warehouse with built marts")
    parser.add_argument("--out", type=Path, default=ASSETS_DIR)
    args = parser.parse_args()
    write_bundle(warehouse_columns(args.warehouse), args.out)
    write_exposures()
    print(f"bundle written to {args.out}")


if __name__ == "__main__":
    main()
