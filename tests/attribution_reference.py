"""Multi-touch attribution (docs/CONTRACT.md section 6) in plain pandas / Python, from the input files.

Shares no code with the dbt models: touchpoints, ordering and every model's credits are worked out
here from the contract's wording, on the rows tests.reference_metrics.Reference validated.
"""

from __future__ import annotations

import pandas as pd

from tests.reference_metrics import Reference, month_start

MODELS = ("first", "last", "linear", "time_decay", "position_based")
# How the dashboards name them (the charts, the table and the Attribution model filter).
MODEL_NAMES = {"first": "First touch", "last": "Last touch", "linear": "Linear", "time_decay": "Time decay",
               "position_based": "Position based"}


def credits(model: str, ages_days: list[float], half_life_days: float) -> list[float]:
    """Each touchpoint's credit (touchpoints in contract order; ages = buy_ts - start_ts in days)."""
    n = len(ages_days)
    if model == "first":
        return [1.0] + [0.0] * (n - 1)
    if model == "last":
        return [0.0] * (n - 1) + [1.0]
    if model == "linear":
        return [1.0 / n] * n
    if model == "time_decay":
        weights = [2.0 ** (-age / half_life_days) for age in ages_days]
        return [w / sum(weights) for w in weights]
    if model == "position_based":
        if n <= 2:
            return [1.0 / n] * n
        return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    raise ValueError(model)


def net_revenue(orders: pd.DataFrame) -> pd.Series:
    """The orders' net revenue (CONTRACT section 5): ref.orders are the sales (cancelled orders and
    orders without an fx rate left out, as in fct_orders) with net_revenue in the base currency; revenue
    for a frame without that column (net revenue = revenue without the optional money inputs)."""
    return orders["net_revenue"] if "net_revenue" in orders else orders["revenue"]


def touchpoints(ref: Reference, lookback_days: int = 30) -> pd.DataFrame:
    """One row per (order, touchpoint), in contract order: order (row label of ref.orders), start_ts,
    source_id; an order without a session in [buy_ts - lookback, buy_ts] gets source 0 at buy_ts."""
    orders = ref.orders.rename_axis("order").reset_index()[["order", "uid", "buy_ts"]]
    pairs = orders.merge(ref.visits[["uid", "start_ts", "source_id"]], on="uid")
    window = (pairs.start_ts <= pairs.buy_ts) & (pairs.start_ts >= pairs.buy_ts - pd.Timedelta(days=lookback_days))
    pairs = pairs[window]
    untouched = orders[~orders.order.isin(pairs.order)].assign(start_ts=lambda o: o.buy_ts, source_id=0)
    both = pd.concat([pairs, untouched], ignore_index=True)
    return both.sort_values(["order", "start_ts", "source_id"], kind="stable")[["order", "buy_ts", "start_ts",
                                                                               "source_id"]]


def attribution_daily(ref: Reference, lookback_days: int = 30, half_life_days: float = 7.0) -> pd.DataFrame:
    """Credited orders, revenue and net revenue per (day, model, source_id)."""
    orders = ref.orders.assign(net_revenue=net_revenue(ref.orders))
    rows = []
    for order, touches in touchpoints(ref, lookback_days).groupby("order", sort=False):
        revenue, net = float(orders.revenue[order]), float(orders.net_revenue[order])
        day = orders.buy_ts[order].normalize()
        ages = ((touches.buy_ts - touches.start_ts).dt.total_seconds() / 86400).tolist()
        for model in MODELS:
            for source, credit in zip(touches.source_id, credits(model, ages, half_life_days), strict=True):
                rows.append((day, model, int(source), credit, credit * revenue, credit * net))
    credited = pd.DataFrame(rows, columns=["day", "model", "source_id", "orders", "revenue", "net_revenue"])
    credited = credited[credited.orders > 0]  # a source appears where the model credits it
    return credited.groupby(["day", "model", "source_id"], as_index=False).sum()


def roas_monthly(ref: Reference, daily: pd.DataFrame) -> pd.DataFrame:
    """Costs, credited revenue and (net) ROAS per (month, model, source_id); ROAS NaN when costs are 0.
    Every (month, source) with costs gets a row for each model."""
    attributed = (daily.assign(month=month_start(daily.day))
                  .groupby(["month", "model", "source_id"], as_index=False)[["orders", "revenue", "net_revenue"]]
                  .sum())
    costs = (ref.costs.assign(month=month_start(ref.costs.dt))
             .groupby(["month", "source_id"], as_index=False).costs.sum())
    spent = costs[["month", "source_id"]].merge(pd.DataFrame({"model": MODELS}), how="cross")
    keys = pd.concat([attributed[["month", "model", "source_id"]], spent]).drop_duplicates()
    out = keys.merge(attributed, how="left").merge(costs, how="left").fillna(
        {"orders": 0.0, "revenue": 0.0, "net_revenue": 0.0, "costs": 0.0})
    paid = out.costs > 0
    out["roas"] = (out.revenue / out.costs).where(paid)
    out["net_roas"] = (out.net_revenue / out.costs).where(paid)
    return out
