"""An independent pandas implementation of the contract's metrics, computed from input files.

Tests compare the marts against it. It shares no code with the loaders or the dbt models: rows
are validated here with the contract's row rules in plain pandas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

EIGHT_DECIMALS, CENT = Decimal("1e-8"), Decimal("0.01")
EVENTS = {"page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase"}


def _uid(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    ok = text.str.fullmatch(r"\d{1,20}").fillna(False)
    values = pd.Series([int(v) if good else None for v, good in zip(text, ok, strict=True)], index=series.index,
                       dtype="object")
    return values.where(values.map(lambda v: v is not None and v < 2**64), None)


def _money(series: pd.Series) -> pd.Series:
    """Exact amounts (Decimal) of non-negative money written with at most 2 decimals; None otherwise."""
    return pd.Series([Decimal(v) if re.fullmatch(r"\d+(\.\d{1,2})?", v) else None for v in series.astype(str)],
                     index=series.index, dtype=object)


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount converted to the base currency, to the cent (half away from zero)."""
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def lines_in_base(items: pd.DataFrame, rate: pd.Series) -> pd.Series:
    """Item line amounts (quantity x unit_price, Decimal) converted at their order's rate (order_id ->
    rate) to the cent so that an order's lines add up to its converted total: each line is the
    converted running total (lines by sku, quantity, unit_price) minus the one before it."""
    ordered = items.assign(value=[int(q) * p for q, p in zip(items.quantity, items.unit_price, strict=True)])
    ordered = ordered.sort_values(["order_id", "sku", "quantity", "unit_price"], kind="stable")
    running = ordered.groupby("order_id").value.transform(lambda v: v.cumsum())
    r = ordered.order_id.map(rate)
    return pd.Series([to_base(t, x) - to_base(t - v, x) for t, v, x in zip(running, ordered.value, r, strict=True)],
                     index=ordered.index, dtype=object).reindex(items.index)


def _read(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """An input CSV as text; an optional input that is absent reads as empty with `columns`."""
    if not path.exists() and columns is not None:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """An optional column ('' where the file has none)."""
    return raw[name] if name in raw else pd.Series("", index=raw.index, dtype=object)


def _ts(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%Y-%m-%d %H:%M:%S", errors="coerce")


def month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.to_timestamp()


def months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)


def quantile_exact(values: pd.Series, level: float):
    """ClickHouse quantileExact: the element at position floor(level * n) of the sorted values."""
    ordered = np.sort(values.to_numpy())
    return ordered[min(int(level * len(ordered)), len(ordered) - 1)]


@dataclass
class Reference:
    data_dir: Path
    margin_rate: float = 1.0
    base_currency: str = "USD"
    rfm_monetary: str = "net"  # net (net_revenue) or gross (revenue)

    # ---- valid input rows (contract row rules) -------------------------------------------------
    @cached_property
    def visits(self) -> pd.DataFrame:
        raw = pd.read_csv(self.data_dir / "visits_log.csv", dtype=str, keep_default_na=False)
        df = pd.DataFrame({
            "uid": _uid(raw["Uid"]), "device": raw["Device"], "start_ts": _ts(raw["Start Ts"]),
            "end_ts": _ts(raw["End Ts"]), "source_id": pd.to_numeric(raw["Source Id"], errors="coerce"),
            "os": raw.get("os", pd.Series("", index=raw.index)).replace("", "unknown"),
        })
        ok = df.uid.notna() & df.start_ts.notna() & df.end_ts.notna() & df.source_id.notna() & (df.device != "")
        ok &= df.end_ts >= df.start_ts
        df = df[ok].copy()
        df["source_id"] = df.source_id.astype(int)
        df["duration_s"] = (df.end_ts - df.start_ts).dt.total_seconds().astype(int)
        return df

    # ---- orders and money (contract sections 1 and 5) ------------------------------------------
    @cached_property
    def all_orders(self) -> pd.DataFrame:
        """Every valid order row, cancelled and without fx rate included, amounts in its currency
        (exact Decimals)."""
        raw = _read(self.data_dir / "orders_log.csv")
        opt = {c: _column(raw, c) for c in ("status", "currency", "discount", "shipping", "tax")}
        df = pd.DataFrame({"uid": _uid(raw["Uid"]), "buy_ts": _ts(raw["Buy Ts"]),
                           "revenue_original": _money(raw["Revenue"]), "order_id": _column(raw, "order_id"),
                           "status": opt["status"].str.lower().replace("", "completed"),
                           "currency": opt["currency"].str.upper().replace("", self.base_currency),
                           "sales_channel": _column(raw, "sales_channel").str.lower().replace("", "unknown"),
                           **{c: _money(opt[c].replace("", "0")) for c in ("discount", "shipping", "tax")}})
        ok = df.uid.notna() & df.buy_ts.notna() & df.revenue_original.notna()
        ok &= df.status.isin(["completed", "cancelled"]) & df.currency.str.fullmatch(r"[A-Z]{3}")
        ok &= df.discount.notna() & df.shipping.notna() & df.tax.notna()
        return df[ok].copy()

    @cached_property
    def fx_rates(self) -> pd.DataFrame:
        raw = _read(self.data_dir / "fx_rates.csv", ["date", "currency", "rate"])
        df = pd.DataFrame({"date": pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce"),
                           "currency": raw["currency"].str.upper(),
                           "rate": [Decimal(v) if re.fullmatch(r"\d+(\.\d{1,6})?", v) else None for v in raw["rate"]]})
        df = df[df.date.notna() & df.rate.notna() & df.currency.str.fullmatch(r"[A-Z]{3}")]
        df = df[df.rate > 0].drop_duplicates(["date", "currency"], keep="last")
        return df[df.currency != self.base_currency].sort_values("date")

    @cached_property
    def refunds(self) -> pd.DataFrame:
        """Valid refunds, keyed by refund_id (the last row wins; rows without an id are all kept)."""
        raw = _read(self.data_dir / "refunds.csv", ["refund_id", "order_id", "refund_ts", "amount"])
        df = pd.DataFrame({"refund_id": _column(raw, "refund_id"), "order_id": raw["order_id"],
                           "refund_ts": _ts(raw["refund_ts"]), "amount": _money(raw["amount"])})
        df = df[(df.order_id != "") & df.refund_ts.notna() & df.amount.notna()]
        keyed = df[df.refund_id != ""].drop_duplicates("refund_id", keep="last")
        return pd.concat([keyed, df[df.refund_id == ""]]).sort_index()

    @cached_property
    def items(self) -> pd.DataFrame:
        raw = _read(self.data_dir / "order_items.csv", ["order_id", "sku", "quantity", "unit_price"])
        df = pd.DataFrame({"order_id": raw["order_id"], "sku": raw["sku"],
                           "quantity": pd.to_numeric(raw["quantity"].where(raw["quantity"].str.fullmatch(r"\d+")),
                                                     errors="coerce"),
                           "unit_price": _money(raw["unit_price"])})
        return df[(df.order_id != "") & (df.sku != "") & df.quantity.notna() & df.unit_price.notna()]

    @cached_property
    def unit_costs(self) -> pd.Series:
        """sku -> unit cost (base currency) for products with a known cost (keyed by sku, last row wins)."""
        raw = _read(self.data_dir / "products.csv", ["sku", "unit_cost"])
        df = pd.DataFrame({"sku": raw["sku"], "text": raw["unit_cost"], "unit_cost": _money(raw["unit_cost"])})
        df = df[(df.sku != "") & ((df.text == "") | df.unit_cost.notna())].drop_duplicates("sku", keep="last")
        return df[df.unit_cost.notna()].set_index("sku").unit_cost

    @cached_property
    def money(self) -> pd.DataFrame:
        """all_orders with the fx rate (of the order's day, else the latest earlier; None without one)
        and every section-5 amount in the base currency (exact Decimals)."""
        o = self.all_orders.copy()
        o["day"] = o.buy_ts.dt.normalize()
        o = pd.merge_asof(o.reset_index().sort_values("day"), self.fx_rates.rename(columns={"date": "day"}),
                          on="day", by="currency", direction="backward").set_index("index").sort_index()
        o["rate"] = [Decimal(1) if c == self.base_currency else (r if isinstance(r, Decimal) else None)
                     for c, r in zip(o.currency, o.rate, strict=True)]
        o["is_sale"] = (o.status != "cancelled") & o.rate.notna()
        rate = o.rate.map(lambda r: r if r is not None else Decimal(0))
        refunds = self.refunds.groupby("order_id").amount.sum()
        o["refunds_original"] = o.order_id.map(refunds).map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
        o["revenue"] = [to_base(v, x) for v, x in zip(o.revenue_original, rate, strict=True)]
        o["refunded"] = [min(r, to_base(f, x)) for r, f, x in zip(o.revenue, o.refunds_original, rate, strict=True)]
        for column in ("discount", "shipping", "tax"):
            o[column] = [to_base(v, x) for v, x in zip(o[column], rate, strict=True)]
        o["net_revenue"] = o.revenue - o.refunded - o.tax - o.shipping
        cost_share = Decimal(1) - Decimal(str(self.margin_rate))
        items = self.items.join(o[["order_id", "rate"]].set_index("order_id"), on="order_id", how="inner")
        known = items.sku.map(self.unit_costs)
        quantity = items.quantity.astype(int)
        line_cost = [q * c if isinstance(c, Decimal) else q * p * (r or Decimal(0)) * cost_share
                     for q, p, c, r in zip(quantity, items.unit_price, known, items.rate, strict=True)]
        item_cogs = pd.Series(line_cost, index=items.index, dtype=object).groupby(items.order_id).sum()
        o["cogs"] = [(item_cogs[i] if i in item_cogs.index else r * cost_share).quantize(EIGHT_DECIMALS, ROUND_DOWN)
                     for i, r in zip(o.order_id, o.revenue, strict=True)]
        # Amounts carry 8 decimals: COGS and its unreturned share are cut there (toward zero), as Decimal is.
        o["gross_profit"] = [n - ((c * (r - f) / r).quantize(EIGHT_DECIMALS, ROUND_DOWN) if r > 0 else c)
                             for n, c, r, f in zip(o.net_revenue, o.cogs, o.revenue, o.refunded, strict=True)]
        return o

    @cached_property
    def orders(self) -> pd.DataFrame:
        """The sales (not cancelled, with an fx rate): money columns as floats, `*_exact` as Decimals."""
        o = self.money[self.money.is_sale].copy()
        for column in ("revenue", "net_revenue", "refunded", "discount", "tax", "shipping", "cogs", "gross_profit"):
            o[f"{column}_exact"] = o[column]
            o[column] = o[column].astype(float)
        return o

    @cached_property
    def costs(self) -> pd.DataFrame:
        raw = pd.read_csv(self.data_dir / "costs.csv", dtype=str, keep_default_na=False)
        df = pd.DataFrame({"source_id": pd.to_numeric(raw["source_id"], errors="coerce"),
                           "dt": pd.to_datetime(raw["dt"], format="%Y-%m-%d", errors="coerce"),
                           "costs": pd.to_numeric(raw["costs"], errors="coerce")})
        df = df[df.source_id.notna() & df.dt.notna() & df.costs.notna() & (df.costs >= 0)].copy()
        df["source_id"] = df.source_id.astype(int)
        # Keyed by (source_id, dt): the last row wins.
        return df.drop_duplicates(["source_id", "dt"], keep="last")

    # ---- first touch, buyers -------------------------------------------------------------------
    @cached_property
    def first_touch(self) -> pd.DataFrame:
        v = self.visits.sort_values(["uid", "start_ts", "source_id", "device", "end_ts"])
        return v.groupby("uid", sort=False).first()[["start_ts", "source_id", "device", "os"]].rename(
            columns={"start_ts": "first_visit_ts", "source_id": "first_source_id", "device": "first_device",
                     "os": "first_os"})

    @cached_property
    def buyers(self) -> pd.DataFrame:
        o = self.orders
        b = o.groupby("uid").agg(first_order_ts=("buy_ts", "min"), orders=("buy_ts", "size"),
                                 revenue=("revenue", "sum"), last_order_ts=("buy_ts", "max"))
        b = b.join(self.first_touch, how="left")
        b["first_source_id"] = b.first_source_id.fillna(0).astype(int)
        b["cohort_month"] = month_start(b.first_order_ts)
        return b

    # ---- product metrics -----------------------------------------------------------------------
    def active(self, freq: str) -> pd.Series:
        v = self.visits
        if freq == "D":
            key = v.start_ts.dt.normalize()
        elif freq == "W":
            key = (v.start_ts.dt.normalize() - pd.to_timedelta(v.start_ts.dt.weekday, unit="D"))
        else:
            key = month_start(v.start_ts)
        return v.groupby(key).uid.nunique()

    @property
    def dau(self) -> float:
        return self.active("D").mean()

    @property
    def wau(self) -> float:
        return self.active("W").mean()

    @property
    def mau(self) -> float:
        return self.active("M").mean()

    @property
    def sessions_per_user_day(self) -> float:
        v = self.visits
        day = v.start_ts.dt.normalize()
        return (v.groupby(day).size() / v.groupby(day).uid.nunique()).mean()

    @property
    def asl(self) -> tuple[float, float, int]:
        d = self.visits.duration_s
        counts = d.value_counts()
        mode = int(counts[counts == counts.max()].index.min())
        return d.mean(), float(d.median()), mode

    def retention(self) -> pd.DataFrame:
        """cohort_month x lifetime_month -> retention (all first-touch groups together)."""
        v = self.visits.join(self.first_touch[["first_visit_ts"]], on="uid")
        v["cohort_month"] = month_start(v.first_visit_ts)
        v["lifetime"] = months_between(v.cohort_month, month_start(v.start_ts))
        active = v.groupby(["cohort_month", "lifetime"]).uid.nunique()
        sizes = v.groupby("cohort_month").uid.nunique()
        return (active / sizes.reindex(active.index.get_level_values(0)).to_numpy()).rename("retention").reset_index()

    # ---- e-commerce metrics --------------------------------------------------------------------
    @property
    def aov(self) -> float:
        return self.orders.revenue.sum() / len(self.orders)

    @property
    def ttf_median(self) -> float:
        b = self.buyers[self.buyers.first_visit_ts.notna()]
        ttf = (b.first_order_ts - b.first_visit_ts).dt.total_seconds().clip(lower=0)
        return float(ttf.median())

    def ltv(self) -> pd.DataFrame:
        """cohort_month x age -> cumulative gross profit per cohort buyer."""
        o = self.orders.join(self.buyers[["cohort_month"]], on="uid")
        o["age"] = months_between(o.cohort_month, month_start(o.buy_ts))
        last = month_start(self.orders.buy_ts).max()
        rows = []
        for cohort, group in o.groupby("cohort_month"):
            size = (self.buyers.cohort_month == cohort).sum()
            by_age = group.groupby("age").gross_profit.sum()
            for age in range(months_between(pd.Series([cohort]), pd.Series([last])).iloc[0] + 1):
                rows.append((cohort, age, by_age[by_age.index <= age].sum() / size, size))
        return pd.DataFrame(rows, columns=["cohort_month", "age", "ltv", "buyers"])

    def six_month_cohorts(self) -> pd.DataFrame:
        last = month_start(self.orders.buy_ts).max()
        ltv = self.ltv()
        eligible = months_between(ltv.cohort_month, pd.Series(last, index=ltv.index)) >= 5
        return ltv[eligible & (ltv.age == 5)]

    @property
    def ltv_6m(self) -> float:
        return self.six_month_cohorts().ltv.mean()

    @property
    def orders_per_buyer_6m(self) -> float:
        o = self.orders.join(self.buyers[["cohort_month"]], on="uid")
        o["age"] = months_between(o.cohort_month, month_start(o.buy_ts))
        cohorts = self.six_month_cohorts()
        values = []
        for cohort in cohorts.cohort_month:
            size = (self.buyers.cohort_month == cohort).sum()
            values.append(((o.cohort_month == cohort) & (o.age <= 5)).sum() / size)
        return float(np.mean(values))

    # ---- marketing metrics ---------------------------------------------------------------------
    @property
    def cac(self) -> float:
        return self.costs.costs.sum() / len(self.buyers)

    @property
    def romi_6m(self) -> float:
        return self.ltv_6m / self.cac - 1

    def cac_by_month_source(self) -> pd.Series:
        c = self.costs.assign(month=month_start(self.costs.dt)).groupby(["month", "source_id"]).costs.sum()
        new = self.buyers.groupby(["cohort_month", "first_source_id"]).size()
        new.index.names = ["month", "source_id"]
        joined = pd.concat([c, new.rename("new_buyers")], axis=1)
        joined = joined[joined.new_buyers > 0].fillna({"costs": 0.0})  # unpaid sources acquire at zero cost
        return joined.costs / joined.new_buyers

    def marketing_monthly(self) -> pd.DataFrame:
        """month x source_id (every pair with costs or new buyers) -> costs, new_buyers, cac
        (contract: CAC(month, source) = costs / new buyers of the month whose first source it is;
        NaN without new buyers)."""
        c = self.costs.assign(month=month_start(self.costs.dt)).groupby(["month", "source_id"]).costs.sum()
        new = self.buyers.groupby(["cohort_month", "first_source_id"]).size()
        new.index.names = ["month", "source_id"]
        df = pd.concat([c, new.rename("new_buyers")], axis=1).fillna({"costs": 0.0, "new_buyers": 0})
        df["new_buyers"] = df.new_buyers.astype(int)
        df["cac"] = (df.costs / df.new_buyers).where(df.new_buyers > 0)
        return df.sort_index()

    def romi_cohorts(self) -> pd.DataFrame:
        """cohort_month x source_id (first-touch source of the cohort's buyers) x age_month, for every
        age up to the last month with orders: cohort_buyers, costs (the source's costs in the cohort
        month), cac = costs / cohort_buyers (NaN without costs), ltv = gross profit of those buyers'
        orders at ages 0..k / cohort_buyers, romi = ltv / cac - 1 (NaN without costs), payback_month =
        the first age with romi >= 0 of the (cohort, source), NaN if never."""
        b = self.buyers
        o = self.orders.join(b[["cohort_month", "first_source_id"]], on="uid")
        o["age"] = months_between(o.cohort_month, month_start(o.buy_ts))
        profit = o.groupby(["cohort_month", "first_source_id", "age"]).gross_profit.sum()
        sizes = b.groupby(["cohort_month", "first_source_id"]).size()
        spend = self.costs.assign(month=month_start(self.costs.dt)).groupby(["month", "source_id"]).costs.sum()
        last = month_start(self.orders.buy_ts).max()
        rows = []
        for (cohort, source), size in sizes.items():
            costs = float(spend.get((cohort, source), 0.0))
            cac = costs / size if costs > 0 else np.nan
            cumulative, payback, ages = 0.0, np.nan, []
            for age in range(months_between(pd.Series([cohort]), pd.Series([last])).iloc[0] + 1):
                cumulative += float(profit.get((cohort, source, age), 0.0))
                ltv = cumulative / size
                romi = ltv / cac - 1 if costs > 0 else np.nan
                if np.isnan(payback) and romi >= 0:
                    payback = age
                ages.append([cohort, source, age, size, costs, cac, ltv, romi])
            rows += [row + [payback] for row in ages]
        return pd.DataFrame(rows, columns=["cohort_month", "source_id", "age_month", "cohort_buyers", "costs", "cac",
                                           "ltv", "romi", "payback_month"]).set_index(
            ["cohort_month", "source_id", "age_month"]).sort_index()

    def customer_flow(self) -> pd.DataFrame:
        months = self.orders.assign(month=month_start(self.orders.buy_ts))[["uid", "month"]].drop_duplicates()
        first = months.groupby("uid").month.min()
        active = set(map(tuple, months[["uid", "month"]].itertuples(index=False)))
        rows = []
        all_months = sorted(months.month.unique())
        for m in all_months:
            prev = m - pd.DateOffset(months=1)
            here = months[months.month == m].uid
            new = int((first[here] == m).sum())
            returning = int(sum((u, prev) in active for u in here))
            reactivated = len(here) - new - returning
            churned = int(sum((u, m) not in active for u in months[months.month == prev].uid))
            rows.append((m, new, returning, reactivated, churned))
        return pd.DataFrame(rows, columns=["month", "new", "returning", "reactivated", "churned"])

    # ---- RFM -----------------------------------------------------------------------------------
    def rfm(self, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        o = self.orders
        as_of = as_of if as_of is not None else o.buy_ts.dt.normalize().max() + pd.Timedelta(days=1)
        o = o[o.buy_ts.dt.normalize() < as_of]
        money = "net_revenue_exact" if self.rfm_monetary == "net" else "revenue_exact"
        g = o.groupby("uid").agg(last=("buy_ts", "max"), frequency=("buy_ts", "size"), monetary=(money, "sum"))
        g["recency"] = (as_of - g["last"].dt.normalize()).dt.days

        def score(values: pd.Series, ascending: bool) -> pd.Series:
            cuts = [quantile_exact(values, q) for q in (0.2, 0.4, 0.6, 0.8)]
            rank = values.map(lambda v: next((i for i, c in enumerate(cuts) if v <= c), 4))
            return (5 - rank) if ascending else (rank + 1)

        g["r_score"] = score(g.recency, ascending=True)
        g["f_score"] = score(g.frequency, ascending=False)
        g["m_score"] = score(g.monetary, ascending=False)
        g["rfm_code"] = g.r_score.astype(str) + g.f_score.astype(str) + g.m_score.astype(str)
        return g
