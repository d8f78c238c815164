"""The headline KPIs (marts.kpi_headline), as data and as a table for the terminal."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

# column -> (label, kind) where kind picks the human format
HEADLINE = {
    "dau": ("DAU (mean)", "count"),
    "wau": ("WAU (mean)", "count"),
    "mau": ("MAU (mean)", "count"),
    "sticky_wau": ("Sticky factor DAU/WAU", "ratio"),
    "sticky_mau": ("Sticky factor DAU/MAU", "ratio"),
    "sessions_per_user_day": ("Sessions per user per day", "number"),
    "asl_mean_s": ("Session length, mean", "duration"),
    "asl_median_s": ("Session length, median", "duration"),
    "asl_mode_s": ("Session length, mode", "duration"),
    "ttf_median_s": ("Time to first order, median", "duration"),
    "orders_per_buyer_6m": ("Orders per buyer in 6 months", "number"),
    "aov": ("AOV", "money"),
    "ltv_6m": ("LTV at 6 months", "money"),
    "cac": ("CAC (project)", "money"),
    "romi_6m": ("ROMI at 6 months", "ratio"),
}


def headline(client: Client) -> dict[str, float | None]:
    """marts.kpi_headline as {column: value}."""
    result = client.query("SELECT * FROM marts.kpi_headline")
    if not result.result_rows:
        return {}
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


def human(value: float | None, kind: str, currency: str = "") -> str:
    """A figure as people read it: 1m 05s, 12.34 USD, 45.6%, 1,234."""
    if value is None or value != value:  # None or NaN
        return "—"
    if kind == "duration":
        seconds = int(round(value))
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        if days:
            return f"{days}d {hours:02d}h"
        if hours:
            return f"{hours}h {minutes:02d}m"
        return f"{minutes}m {secs:02d}s"
    if kind == "ratio":
        return f"{value * 100:.1f}%"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "money":
        return f"{value:,.2f} {currency}".rstrip()
    return f"{value:,.2f}"  # a plain number, e.g. sessions per user


def print_headline(client: Client, console: Console | None = None) -> None:
    """Print the headline KPIs as a table, money with its currency (as on the dashboards)."""
    from ecomlytics.settings import currency

    values = headline(client)
    table = Table(title="Headline KPIs (marts.kpi_headline)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for column, (label, kind) in HEADLINE.items():
        table.add_row(label, human(values.get(column), kind, currency()))
    (console or Console()).print(table)
