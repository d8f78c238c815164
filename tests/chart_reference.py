"""Every dashboard chart's expected values, computed in pandas from the input files (docs/CONTRACT.md).

Independent of the warehouse and the marts: it starts from tests/reference_metrics.py's validated
input rows (and reads the items / customers files itself). Each chart has one function here taking a
``Selection`` (the dashboard's native filter values) and returning its expected rows as
``{key: value}`` per metric, keyed like the chart's long-format rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd

from tests.reference_metrics import Reference, lines_in_base, month_start, months_between, quantile_exact
from tests.superset_served import REPO

CHANNELS = pd.read_csv(REPO / "seeds" / "channels.csv").set_index("source_id").channel
SEGMENTS = pd.read_csv(REPO / "seeds" / "rfm_segments.csv", dtype=str).set_index("rfm_code")
ACTIVITY_LABELS = pd.read_csv(REPO / "seeds" / "activity_statuses.csv").set_index("activity_status").activity_label


# The sign Superset's charts print after an amount (the browser's English locale): the comparison table's
# text amounts must end in the same one.
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def shown_currency_sign() -> str:
    from ecomlytics.settings import currency

    return CURRENCY_SIGNS[currency()]


def channel_of(source_id: pd.Series) -> pd.Series:
    named = source_id.map(CHANNELS)
    named = named.fillna("source " + source_id.astype(int).astype(str))
    return named.where(source_id != 0, "unknown")


def week_of(ts: pd.Series) -> pd.Series:
    return ts.dt.normalize() - pd.to_timedelta(ts.dt.weekday, unit="D")


def ms(ts: pd.Timestamp) -> float:
    """A timestamp as the chart-data API returns it (epoch milliseconds)."""
    return float(pd.Timestamp(ts).value // 10**6)


@dataclass(frozen=True)
class Selection:
    """The native filter values a dashboard sends: a time range and column -> values."""
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    channel: tuple[str, ...] = ()
    os: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    city: tuple[str, ...] = ()
    activity_label: tuple[str, ...] = ()
    segment: tuple[str, ...] = ()
    macro_segment: tuple[str, ...] = ()
    email_consent: tuple[str, ...] = ()
    sms_consent: tuple[str, ...] = ()
    push_consent: tuple[str, ...] = ()
    model_name: tuple[str, ...] = ()  # attribution model, as the dashboards name it
    sales_channel: tuple[str, ...] = ()  # an order's; a buyer cohort's: its first order's

    def period(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        """TEMPORAL_RANGE on ``column``: start <= value < end (rows without a value drop out)."""
        if self.start is None:
            return frame
        value = frame[column]
        return frame[(value >= self.start) & (value < self.end)]

    def pick(self, frame: pd.DataFrame, **columns: str) -> pd.DataFrame:
        """Filter the select filters: name (Selection field) -> frame column."""
        for name, column in columns.items():
            values = getattr(self, name)
            if values:
                frame = frame[frame[column].isin(values)]
        return frame


NONE = Selection()


def with_calendar(frame: pd.DataFrame, ts: pd.Series) -> pd.DataFrame:
    """The day, week (Monday) and month of ``ts`` as columns, as the marts key them."""
    frame["day"] = ts.dt.normalize()
    frame["week"] = week_of(ts)
    frame["month"] = month_start(ts)
    return frame


class ChartReference:
    def __init__(self, ref: Reference) -> None:
        self.ref = ref

    # ---- shared frames ---------------------------------------------------------------------------
    @cached_property
    def visits(self) -> pd.DataFrame:
        v = self.ref.visits.copy()
        v["channel"] = channel_of(v.source_id)
        return with_calendar(v, v.start_ts)

    @cached_property
    def buyers(self) -> pd.DataFrame:
        b = self.ref.buyers.copy()
        b["channel"] = channel_of(b.first_source_id)
        # the sales channel of the buyer's first order (the first by buy_ts, then order_id)
        first = self.ref.orders.sort_values(["buy_ts", "order_id"]).groupby("uid").sales_channel.first()
        b["sales_channel"] = first.reindex(b.index)
        b["first_os"] = b.first_os.fillna("unknown")
        return b

    @cached_property
    def items(self) -> pd.DataFrame:
        raw = pd.read_csv(self.ref.data_dir / "order_items.csv", dtype=str, keep_default_na=False)
        df = pd.DataFrame({"order_id": raw.order_id, "sku": raw.sku, "category": raw.category,
                           "product_name": raw.product_name if "product_name" in raw else "",
                           "quantity": pd.to_numeric(raw.quantity, errors="coerce"),
                           "unit_price": pd.to_numeric(raw.unit_price, errors="coerce")})
        ok = df.quantity.notna() & df.unit_price.notna() & (df.quantity >= 0) & (df.unit_price >= 0)
        ok &= (df.order_id != "") & (df.sku != "") & (df.category != "")
        df = df[ok & df.order_id.isin(self.ref.orders.order_id)].copy()
        df["quantity"] = df.quantity.astype(int)
        # unit_price is in the order's currency: converted at the order's rate (contract section 9)
        exact = df.assign(unit_price=raw.unit_price[df.index].map(Decimal))
        # Orders without an order_id (the warehouse generates one) have no item lines: left out of the lookup.
        rate = self.ref.orders[self.ref.orders.order_id != ""].set_index("order_id").rate
        df["line_revenue"] = lines_in_base(exact, rate).astype(float)
        return df

    @cached_property
    def orders(self) -> pd.DataFrame:
        o = self.ref.orders.join(self.buyers[["first_source_id", "channel", "first_os", "first_device"]], on="uid")
        units = self.items.groupby("order_id").quantity.sum()
        o["units"] = o.order_id.map(units).fillna(1).astype(int)
        return with_calendar(o, o.buy_ts)

    @cached_property
    def lines(self) -> pd.DataFrame:
        """Sales lines: an order's items, or one 'unknown' line with the order's revenue."""
        o = self.orders
        with_items = o.merge(self.items, on="order_id")
        without = o[~o.order_id.isin(self.items.order_id)].assign(sku="unknown", category="unknown", quantity=1,
                                                                    line_revenue=lambda f: f.revenue)
        cols = ["day", "channel", "first_os", "sales_channel", "sku", "category", "quantity", "line_revenue"]
        return pd.concat([with_items[cols], without[cols]], ignore_index=True)

    @cached_property
    def last_day(self) -> pd.Timestamp:
        return max(self.ref.visits.start_ts.max(), self.ref.orders.buy_ts.max()).normalize()

    # ---- overview / users-conversion: weekly KPIs ------------------------------------------------
    def weekly(self, s: Selection, complete_only: bool) -> pd.DataFrame:
        v = s.pick(s.period(self.visits, "week"), channel="channel", os="os")
        o = s.pick(s.period(self.orders, "week"), channel="channel", os="first_os")
        frame = pd.DataFrame({
            "users": v.groupby("week").uid.nunique(), "sessions": v.groupby("week").size(),
            "gmv": o.groupby("week").revenue.sum(), "orders": o.groupby("week").size(),
            "buyers": o.groupby("week").uid.nunique(), "units": o.groupby("week").units.sum()}).fillna(0)
        frame["aov"] = frame.gmv / frame.orders.replace(0, np.nan)
        frame["conversion"] = frame.orders / frame.users.replace(0, np.nan)
        frame["buyer_conversion"] = frame.buyers / frame.users.replace(0, np.nan)
        frame["session_conversion"] = frame.orders / frame.sessions.replace(0, np.nan)
        frame["revenue_per_session"] = frame.gmv / frame.sessions.replace(0, np.nan)
        if complete_only:
            frame = frame[frame.index + pd.Timedelta(days=6) <= self.last_day]
        frame.index = [ms(w) for w in frame.index]
        return frame

    def kpi_tile(self, metric: str):
        def expected(s: Selection) -> dict:
            return {metric: self.weekly(s, complete_only=True)[metric].to_dict()}
        return expected

    def conversion_weekly(self, s: Selection) -> dict:
        frame = self.weekly(s, complete_only=False)
        return {m: frame[m].to_dict() for m in ("conversion", "buyer_conversion", "session_conversion")}

    def active_users_weekly(self, s: Selection) -> dict:
        return {"users": self.weekly(s, complete_only=False).users.to_dict()}

    # ---- kpi_daily charts ------------------------------------------------------------------------
    def daily_orders(self, s: Selection) -> pd.DataFrame:
        return s.pick(s.period(self.orders, "day"), channel="channel", os="first_os", sales_channel="sales_channel")

    def daily_visits(self, s: Selection) -> pd.DataFrame:
        return s.pick(s.period(self.visits, "day"), channel="channel", os="os")

    def gmv_by_channel_weekly(self, s: Selection) -> dict:
        o = self.daily_orders(s)
        return {"gmv": {(ms(w), c): g for (w, c), g in o.groupby(["week", "channel"]).revenue.sum().items()}}

    def gmv_share_by_channel(self, s: Selection) -> dict:
        return {"gmv": self.daily_orders(s).groupby("channel").revenue.sum().to_dict()}

    def sessions_by_os_weekly(self, s: Selection) -> dict:
        v = self.daily_visits(s)
        return {"sessions": {(ms(w), os): n for (w, os), n in v.groupby(["week", "os"]).size().items()}}

    def session_length_by_os_weekly(self, s: Selection) -> dict:
        v = self.daily_visits(s)
        mean = v.groupby(["week", "os"]).duration_s.mean() * 1000
        return {"session_length_mean": {(ms(w), os): x for (w, os), x in mean.items()}}

    def compare_periods(self, s: Selection) -> tuple[Selection, Selection | None]:
        """The comparison table's period, clipped to the data (no period chosen: the last complete calendar
        month of the data), and the period of the same length before it (None when that starts before
        the data)."""
        first = min(self.visits.day.min(), self.orders.day.min())
        after_last = max(self.visits.day.max(), self.orders.day.max()) + pd.Timedelta(days=1)
        if s.start is None:
            end = after_last.to_period("M").start_time
            start = end - pd.DateOffset(months=1)
        else:
            start, end = max(s.start, first), min(s.end, after_last)
        before = start - (end - start)
        return replace(s, start=start, end=end), (replace(s, start=before, end=start) if before >= first else None)

    def compare_figures(self, s: Selection) -> dict:
        """One column of the comparison table: kpi -> (value, decimals shown, suffix)."""
        o, v = self.daily_orders(s), self.daily_visits(s)
        money = f" {shown_currency_sign()}"
        gmv, orders, sessions, users = o.revenue.sum(), len(o), len(v), v.uid.nunique()
        return {
            "GMV": (gmv, 2, money), "Orders": (orders, 0, ""), "AOV (average order value)": (gmv / orders, 2, money),
            "Users": (users, 0, ""), "Buyers": (o.uid.nunique(), 0, ""),
            "Conversion (orders / users)": (100 * orders / users, 2, "%"),
            "Revenue per session": (gmv / sessions, 2, money), "Units sold": (o.units.sum(), 0, "")}

    def compare_table(self, s: Selection) -> dict:
        """The comparison table's current and previous periods (None: outside the data, shown "n/a");
        the changes and last year: tests/test_dashboard_filters.py."""
        this, before = self.compare_periods(s)
        return {"this_period": self.compare_figures(this),
                "previous_period": self.compare_figures(before) if before is not None else None}

    # ---- money_daily: gross and net (contract section 5; refund rate = refunds / GMV, gross margin =
    # gross profit / net revenue: the dashboards' definitions, the contract has none) -------------------
    @staticmethod
    def gross_net(o: pd.DataFrame) -> dict[str, float]:
        """The gross-and-net figures of some sales, from their exact amounts."""
        total = {c: o[f"{c}_exact"].sum() for c in ("revenue", "net_revenue", "refunded", "discount", "gross_profit")}
        gmv, net = float(total["revenue"]), float(total["net_revenue"])
        return {"gmv": gmv, "net_sales": net, "refunds": float(total["refunded"]),
                "refund_rate": float(total["refunded"]) / gmv if gmv else np.nan,
                "discounts_granted": float(total["discount"]), "profit": float(total["gross_profit"]),
                "gross_margin": float(total["gross_profit"]) / net if net else np.nan}

    def gross_net_totals(self, s: Selection) -> dict:
        return {metric: {(): value} for metric, value in self.gross_net(self.daily_orders(s)).items()}

    def gross_net_by(self, period: str):
        """Per week / month (of the order's day): each figure."""
        def expected(s: Selection) -> dict:
            out: dict[str, dict] = {}
            for start, group in self.daily_orders(s).groupby(period):
                for metric, value in self.gross_net(group).items():
                    out.setdefault(metric, {})[ms(start)] = value
            return out
        return expected

    # ---- sales_daily -----------------------------------------------------------------------------
    def sales_lines(self, s: Selection) -> pd.DataFrame:
        return s.pick(s.period(self.lines, "day"), channel="channel", os="first_os", category="category",
                      sales_channel="sales_channel")

    def sales_by(self, column: str):
        def expected(s: Selection) -> dict:
            return {"gmv": self.sales_lines(s).groupby(column).line_revenue.sum().to_dict()}
        return expected

    def sales_monthly_by(self, column: str):
        def expected(s: Selection) -> dict:
            lines = self.sales_lines(s)
            gmv = lines.groupby([month_start(lines.day), column]).line_revenue.sum()
            return {"gmv": {(ms(m), c): g for (m, c), g in gmv.items()}}
        return expected

    def skus(self, s: Selection) -> pd.DataFrame:
        """GMV and units per SKU and category, with the SKU's product name from the items file (the greatest
        of its lines' names; 'unknown' without one, as for orders without lines)."""
        lines = self.sales_lines(s)
        skus = lines.groupby(["sku", "category"]).agg(gmv=("line_revenue", "sum"), units=("quantity", "sum"))
        named = self.items[self.items.product_name != ""]
        names = named.groupby("sku").product_name.max()
        skus["product_name"] = skus.index.get_level_values("sku").map(names).fillna("unknown")
        return skus

    # ---- activity --------------------------------------------------------------------------------
    def active(self, grain: str):
        column, metric = {"day": ("day", "dau"), "week": ("week", "wau"), "month": ("month", "mau")}[grain]

        def expected(s: Selection) -> dict:
            v = s.period(self.visits, column)
            return {metric: {ms(p): n for p, n in v.groupby(column).uid.nunique().items()}}
        return expected

    def sticky(self, which: str):
        def expected(s: Selection) -> dict:
            v = self.visits
            dau = v.groupby("day").uid.nunique().mean()
            other = v.groupby("week" if which == "wau" else "month").uid.nunique().mean()
            return {f"sticky_{which}": {(): dau / other}}
        return expected

    # ---- engagement headline ---------------------------------------------------------------------
    def headline(self, metric: str, value):
        def expected(s: Selection) -> dict:
            return {metric: {(): value()}}
        return expected

    # ---- time to first order ---------------------------------------------------------------------
    def ttf(self, s: Selection) -> pd.DataFrame:
        b = self.buyers[self.buyers.first_visit_ts.notna()].copy()
        b["ttf_seconds"] = (b.first_order_ts - b.first_visit_ts).dt.total_seconds().clip(lower=0)
        b["first_order_date"] = b.first_order_ts.dt.normalize()
        return s.pick(s.period(b, "first_order_date"), channel="channel", os="first_os")

    def ttf_ranges(self, s: Selection) -> dict:
        ranges = ["0-1 min", "1-10 min", "10-60 min", "1-24 h", "1-7 d", "7-30 d", "30-90 d", "90+ d"]
        bucket = pd.cut(self.ttf(s).ttf_seconds, [0, 60, 600, 3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400,
                                                  float("inf")],
                        right=False, labels=[f"{i}. {label}" for i, label in enumerate(ranges, start=1)])
        return {"buyers": {label: n for label, n in bucket.value_counts().items() if n}}

    def ttf_median_by_channel(self, s: Selection) -> dict:
        t = self.ttf(s)
        return {"ttf_median": (t.groupby("channel").ttf_seconds.median() * 1000).to_dict()}

    # ---- buyer cohorts (ltv_monthly) -------------------------------------------------------------
    def cohort_orders(self, s: Selection) -> tuple[pd.DataFrame, pd.DataFrame]:
        b = s.pick(self.buyers, channel="channel", sales_channel="sales_channel")
        b = s.period(b, "cohort_month")
        o = self.orders[self.orders.uid.isin(b.index)].join(b[["cohort_month"]], on="uid")
        o["age"] = months_between(o.cohort_month, o.month)
        return b, o

    def active_buyers(self, s: Selection) -> dict:
        _, o = self.cohort_orders(s)
        n = o.groupby(["cohort_month", "age"]).uid.nunique()
        return {"active_buyers": {(f"{c:%Y-%m}", a): x for (c, a), x in n.items()}}

    def average_check(self, s: Selection) -> dict:
        _, o = self.cohort_orders(s)
        return {"average_check": {ms(c): x for c, x in o.groupby("cohort_month").revenue.mean().items()}}

    def ltv(self, s: Selection) -> dict:
        b, o = self.cohort_orders(s)
        last = self.orders.month.max()
        out = {}
        for cohort, size in b.groupby("cohort_month").size().items():
            by_age = o[o.cohort_month == cohort].groupby("age").gross_profit.sum()
            for age in range(months_between(pd.Series([cohort]), pd.Series([last])).iloc[0] + 1):
                out[(f"{cohort:%Y-%m}", age)] = by_age[by_age.index <= age].sum() / size
        return {"ltv": out}

    # ---- visit cohorts (retention_monthly) -------------------------------------------------------
    def visit_cohorts(self, s: Selection) -> pd.DataFrame:
        ft = self.ref.first_touch.assign(channel=lambda f: channel_of(f.first_source_id))
        ft["cohort_month"] = month_start(ft.first_visit_ts)
        ft = s.period(s.pick(ft, channel="channel"), "cohort_month")
        v = self.visits[self.visits.uid.isin(ft.index)].join(ft[["cohort_month"]], on="uid")
        v["lifetime"] = months_between(v.cohort_month, v.month)
        return v

    def retention(self, s: Selection) -> dict:
        v = self.visit_cohorts(s)
        active = v.groupby(["cohort_month", "lifetime"]).uid.nunique()
        sizes = v.groupby("cohort_month").uid.nunique()
        return {"retention": {(f"{c:%Y-%m}", k): n / sizes[c] for (c, k), n in active.items() if k >= 1}}

    def lifetime(self, s: Selection) -> dict:
        v = self.visit_cohorts(s)
        active = v.groupby(["cohort_month", "lifetime"]).uid.nunique().groupby(level=0).sum()
        sizes = v.groupby("cohort_month").uid.nunique()
        return {"lifetime_months": {ms(c): active[c] / sizes[c] for c in sizes.index}}

    # ---- marketing -------------------------------------------------------------------------------
    @cached_property
    def monthly_sources(self) -> pd.DataFrame:
        """month x source: costs, new buyers (every pair with either), channel."""
        c = self.ref.costs.assign(month=month_start(self.ref.costs.dt)).groupby(["month", "source_id"]).costs.sum()
        new = self.buyers.groupby(["cohort_month", "first_source_id"]).size()
        new.index.names = ["month", "source_id"]
        frame = pd.concat([c, new.rename("new_buyers")], axis=1).fillna(0).reset_index()
        frame["channel"] = channel_of(frame.source_id)
        return frame

    def marketing(self, s: Selection) -> pd.DataFrame:
        return s.pick(s.period(self.monthly_sources, "month"), channel="channel")

    def costs_monthly(self, s: Selection) -> dict:
        m = self.marketing(s)
        return {"costs": {(ms(r.month), r.channel): r.costs for r in m.itertuples() if r.costs}}

    def cac_all_channels_monthly(self, s: Selection) -> dict:
        """One line: costs of the selected channels (all by default) / their new buyers, per month."""
        m = self.marketing(s).groupby("month")[["costs", "new_buyers"]].sum()
        m = m[m.new_buyers > 0]
        return {"cac": {ms(mo): r.costs / r.new_buyers for mo, r in m.iterrows()}}

    @cached_property
    def attribution_monthly(self) -> pd.DataFrame:
        """roas_monthly as contract section 6 computes it (tests/attribution_reference.py), with channels
        and the models as the dashboards name them."""
        from tests.attribution_reference import MODEL_NAMES, attribution_daily, roas_monthly

        monthly = roas_monthly(self.ref, attribution_daily(self.ref))
        return monthly.assign(channel=channel_of(monthly.source_id), model_name=monthly.model.map(MODEL_NAMES))

    def attribution(self, s: Selection) -> dict:
        """The Attribution dashboard per (channel, model): credited orders, revenue and net revenue, spend
        and (net) ROAS = credited (net) revenue / spend over the months of the period."""
        m = s.pick(s.period(self.attribution_monthly, "month"), channel="channel", model_name="model_name")
        g = m.groupby(["channel", "model_name"])[["orders", "revenue", "net_revenue", "costs"]].sum()
        paid = g.costs > 0
        g["roas"] = (g.revenue / g.costs).where(paid)
        g["net_roas"] = (g.net_revenue / g.costs).where(paid)
        return {"credited_orders": g.orders.to_dict(), "credited_revenue": g.revenue.to_dict(),
                "credited_net_revenue": g.net_revenue.to_dict(), "spend": g.costs.to_dict(),
                "roas": g.roas.to_dict(), "net_roas": g.net_roas.to_dict()}

    def scorecard(self, s: Selection) -> dict:
        """Channel scorecard over the cohorts of the period (cohort month in it): costs, new buyers, CAC
        from the months of the period; LTV / ROMI at 6 months pooled over the cohorts that reached age 5
        (cumulative gross profit at age 5 / their buyers, / their costs - 1); payback month =
        the first age at which the cohorts that reached it, pooled, have gross profit >= costs (> 0)."""
        m = self.marketing(s).groupby("channel")[["costs", "new_buyers"]].sum()
        r = self.romi_rows(s)
        r["channel"] = channel_of(r.source_id)
        pooled = r.groupby(["channel", "age"])[["cum_gp", "buyers", "costs"]].sum()
        out: dict[str, dict] = {k: {} for k in ("costs", "new_buyers", "cac", "ltv_6m", "romi_6m", "payback_month")}
        for channel, row in m.iterrows():
            cac = row.costs / row.new_buyers if row.new_buyers > 0 else np.nan
            ltv = romi = payback = np.nan
            if channel in pooled.index.get_level_values(0):
                ages = pooled.loc[channel]
                if 5 in ages.index:
                    at5 = ages.loc[5]
                    ltv = at5.cum_gp / at5.buyers
                    romi = at5.cum_gp / at5.costs - 1 if at5.costs > 0 else np.nan
                paid = ages[(ages.costs > 0) & (ages.cum_gp >= ages.costs)]
                payback = float(paid.index.min()) if len(paid) else np.nan
            out["costs"][channel] = row.costs
            out["new_buyers"][channel] = int(row.new_buyers)
            out["cac"][channel] = cac
            out["ltv_6m"][channel] = ltv
            out["romi_6m"][channel] = romi
            out["payback_month"][channel] = payback
        return out

    def customer_flow(self, s: Selection) -> dict:
        f = s.period(self.ref.customer_flow(), "month")
        out = {}
        for name, col, sign in (("new", "new", 1), ("returning", "returning", 1),
                                ("reactivated", "reactivated", 1), ("churned", "churned", -1)):
            out[name] = {ms(r.month): sign * getattr(r, col) for r in f.itertuples()}
        return out

    def romi_rows(self, s: Selection) -> pd.DataFrame:
        """cohort x source x age: cumulative gross profit, cohort buyers, the cohort month's source costs."""
        b = s.period(s.pick(self.buyers, channel="channel"), "cohort_month")
        o = self.orders[self.orders.uid.isin(b.index)].join(b[["cohort_month"]], on="uid")
        o["age"] = months_between(o.cohort_month, o.month)
        last = self.orders.month.max()
        costs = self.monthly_sources.set_index(["month", "source_id"]).costs
        rows = []
        for (cohort, source), group in b.groupby(["cohort_month", "first_source_id"]):
            size = len(group)
            by_age = o[o.uid.isin(group.index)].groupby("age").gross_profit.sum()
            cost = costs.get((cohort, source), 0.0)
            for age in range(months_between(pd.Series([cohort]), pd.Series([last])).iloc[0] + 1):
                rows.append((cohort, source, age, by_age[by_age.index <= age].sum(), size, cost))
        return pd.DataFrame(rows, columns=["cohort_month", "source_id", "age", "cum_gp", "buyers", "costs"])

    def payback(self, s: Selection) -> dict:
        """Payback curves per acquisition channel and age, pooled over the period's cohorts that reached the age:
        cumulative gross profit per buyer, and that / CAC (= cumulative gross profit / the cohorts' costs)."""
        r = self.romi_rows(s).assign(channel=lambda f: channel_of(f.source_id))
        g = r.groupby(["age", "channel"])[["cum_gp", "buyers", "costs"]].sum()
        return {"gross_profit_per_buyer": (g.cum_gp / g.buyers).to_dict(),
                "payback_ratio": (g.cum_gp / g.costs.where(g.costs > 0)).to_dict()}

    def cac_by_channel(self, s: Selection) -> dict:
        """CAC per acquisition channel over the period (contract section 4): all its costs in the period's
        months / its new buyers in them, as the Marketing scorecard."""
        g = self.marketing(s).groupby("channel")[["costs", "new_buyers"]].sum()
        g = g[g.new_buyers > 0]
        return {"cac": (g.costs / g.new_buyers).to_dict()}

    def romi(self, s: Selection) -> dict:
        r = self.romi_rows(s).groupby(["cohort_month", "age"])[["cum_gp", "costs"]].sum()
        r = r[r.costs > 0]
        return {"romi": {(f"{c:%Y-%m}", a): x.cum_gp / x.costs - 1 for (c, a), x in r.iterrows()}}

    # ---- RFM -------------------------------------------------------------------------------------
    @staticmethod
    def labelled(g: pd.DataFrame) -> pd.DataFrame:
        """RFM scores with their segment, recommended action (seeds/rfm_segments.csv) and macro-segment."""
        g = g.copy()
        g["segment"] = g.rfm_code.map(SEGMENTS.segment)
        g["recommended_action"] = g.rfm_code.map(SEGMENTS.recommended_action)
        g["macro_segment"] = [
            "New" if code[:2] in ("51", "41") else "Active" if r in (4, 5) and 2 <= f <= 5 else "Churn"
            for code, r, f in zip(g.rfm_code, g.r_score, g.f_score, strict=True)]
        return g

    @cached_property
    def rfm(self) -> pd.DataFrame:
        return self.labelled(self.ref.rfm())

    @cached_property
    def rfm_contacts(self) -> pd.DataFrame:
        """RFM customers with their consents as yes / no (no customers record: no consent)."""
        frame = self.rfm.copy()
        for channel in ("email", "sms", "push"):
            flags = self.customers[f"{channel}_opt_in"].reindex(frame.index).fillna("")
            frame[f"{channel}_consent"] = ["yes" if flag == "1" else "no" for flag in flags]
        return frame

    def rfm_selected(self, s: Selection) -> pd.DataFrame:
        consents = {name: name for name in ("email_consent", "sms_consent", "push_consent")}
        return s.pick(self.rfm_contacts, segment="segment", macro_segment="macro_segment", **consents)

    def rfm_by(self, column: str):
        def expected(s: Selection) -> dict:
            return {"customers": self.rfm_selected(s).groupby(column).size().to_dict()}
        return expected

    def rfm_actions(self, s: Selection) -> dict:
        g = self.rfm_selected(s)
        return {"customers": g.groupby(["segment", "recommended_action"]).size().to_dict()}

    def rfm_monthly(self, s: Selection) -> dict:
        months = pd.date_range(self.orders.month.min(), self.orders.month.max(), freq="MS")
        out = {}
        for month in months:
            g = self.labelled(self.ref.rfm(as_of=month + pd.DateOffset(months=1)))
            g = s.pick(g, segment="segment", macro_segment="macro_segment")
            for segment, n in g.groupby("segment").size().items():
                out[(ms(month), segment)] = n
        return {"customers": out}

    # ---- customer base ---------------------------------------------------------------------------
    @cached_property
    def customers(self) -> pd.DataFrame:
        raw = pd.read_csv(self.ref.data_dir / "customers.csv", dtype=str, keep_default_na=False)
        raw["uid"] = [int(u) for u in raw.uid]
        return raw.drop_duplicates("uid", keep="last").set_index("uid")

    @cached_property
    def base(self) -> pd.DataFrame:
        """The customer base: customers-file uids and buyers, with the customer_base_summary columns."""
        c = self.customers
        uids = c.index.union(self.buyers.index)
        base = pd.DataFrame(index=uids)
        col = lambda name: c[name].reindex(uids).fillna("")  # noqa: E731
        visits = pd.read_csv(self.ref.data_dir / "visits_log.csv", dtype=str, keep_default_na=False)
        first_city = None
        if "city" in visits:
            v = self.ref.visits.join(visits["city"])
            v = v.sort_values(["uid", "start_ts", "source_id", "device", "end_ts"])
            first_city = v.groupby("uid", sort=False).city.first()
        city = col("city")
        if first_city is not None:
            city = city.where(city != "", first_city.reindex(uids).fillna(""))
        base["city"] = city.where(city != "", "unknown")
        registered = pd.to_datetime(col("registered_at"), errors="coerce")
        base["registration_month"] = month_start(registered)
        flag = lambda name: pd.to_numeric(col(name), errors="coerce").fillna(0).astype(int)  # noqa: E731
        has = {name: (col(name) != "").astype(int) for name in ("name", "email", "phone", "gender", "birth_date")}
        base["reachable_email"] = flag("email_opt_in") * has["email"]
        base["reachable_sms"] = flag("sms_opt_in") * has["phone"]
        base["reachable_push"] = flag("push_opt_in")
        base["profile_completeness"] = (has["name"] + has["email"] + has["phone"] + (base.city != "unknown")
                                        + has["gender"] + has["birth_date"]) / 6
        as_of = self.ref.orders.buy_ts.dt.normalize().max() + pd.Timedelta(days=1)
        last = self.buyers.last_order_ts.reindex(uids)
        days = (as_of - last.dt.normalize()).dt.days
        base["activity_status"] = np.select([last.isna(), days <= 30, days <= 90],
                                            ["never_ordered", "active_30d", "active_90d"], "dormant")
        base["activity_label"] = base.activity_status.map(ACTIVITY_LABELS)
        return base

    def base_selected(self, s: Selection) -> pd.DataFrame:
        return s.period(s.pick(self.base, city="city", activity_label="activity_label"), "registration_month")

    def base_share(self, metric: str):
        def expected(s: Selection) -> dict:
            return {metric: {(): self.base_selected(s)[metric].mean()}}
        return expected

    def base_contacts(self, s: Selection) -> dict:
        return {"contacts": {(): len(self.base_selected(s))}}

    def base_by(self, column: str):
        def expected(s: Selection) -> dict:
            b = self.base_selected(s)
            counts = b.groupby(column, dropna=False).size()
            if column == "registration_month":  # buyers not in the customers file: no registration month
                return {"contacts": {None if pd.isna(m) else ms(m): n for m, n in counts.items()}}
            return {"contacts": counts.to_dict()}
        return expected


def quantile_median(values: pd.Series) -> float:
    """ClickHouse medianExact (quantileExact(0.5)): the upper middle element, no averaging."""
    return float(quantile_exact(values, 0.5))
