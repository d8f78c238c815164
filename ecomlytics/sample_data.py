"""Realistic, deterministic sample inputs in the seed format, vectorised with numpy.

Users arrive with weekly and yearly seasonality (New-Year peak) through 10 sources of very
different cost and quality, come back with retention decaying to a few percent, and some of them
buy after a long-tail time to first order, a few of them often. Users are generated in chunks,
each from its own seeded stream, so memory stays bounded and the files are byte-identical for the
same arguments. A small share of deliberately bad rows exercises the loaders' quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from rich.progress import Progress

FILES = {
    "visits": "visits_log.csv",
    "orders": "orders_log.csv",
    "costs": "costs.csv",
    "order_items": "order_items.csv",
    "customers": "customers.csv",
    "events": "events.csv",
    "refunds": "refunds.csv",
    "fx_rates": "fx_rates.csv",
    "products": "products.csv",
}
HEADERS = {
    "visits": ["Device", "End Ts", "Source Id", "Start Ts", "Uid", "os", "country", "region", "city", "campaign"],
    "orders": [
        "Buy Ts", "Revenue", "Uid", "order_id", "country", "region", "city",
        "status", "currency", "discount", "coupon", "shipping", "tax", "sales_channel",
    ],
    "costs": ["source_id", "dt", "costs"],
    "order_items": ["order_id", "sku", "category", "quantity", "unit_price", "product_name", "variant"],
    "customers": [
        "uid", "name", "email", "phone", "city", "registered_at",
        "email_opt_in", "sms_opt_in", "push_opt_in", "gender", "birth_date",
    ],
    "events": ["uid", "ts", "event", "sku", "search_term", "page"],
    "refunds": ["refund_id", "order_id", "refund_ts", "amount", "reason"],
    "fx_rates": ["date", "currency", "rate"],
    "products": ["sku", "product_name", "category", "brand", "unit_cost"],
}

# Sources 1..10: share of new users, chance that a visitor ever buys, daily spend (0 = unpaid).
SOURCE_SHARE = np.array([0.06, 0.05, 0.27, 0.22, 0.12, 0.06, 0.01, 0.01, 0.10, 0.10])
SOURCE_BUY_RATE = np.array([0.30, 0.22, 0.15, 0.18, 0.16, 0.20, 0.12, 0.10, 0.10, 0.09])
SOURCE_DAILY_COST = np.array([60.0, 130.0, 390.0, 180.0, 140.0, 0.0, 0.0, 0.0, 15.0, 20.0])

DESKTOP_OS = np.array(["Windows", "macOS", "Linux"])
TOUCH_OS = np.array(["Android", "iOS"])
GEO = [  # country, region, city, weight
    ("Russia", "Moscow", "Moscow", 0.34),
    ("Russia", "Saint Petersburg", "Saint Petersburg", 0.18),
    ("Russia", "Sverdlovsk Oblast", "Yekaterinburg", 0.08),
    ("Russia", "Novosibirsk Oblast", "Novosibirsk", 0.07),
    ("Kazakhstan", "Almaty Region", "Almaty", 0.08),
    ("Kazakhstan", "Astana", "Astana", 0.05),
    ("Belarus", "Minsk Region", "Minsk", 0.10),
    ("Armenia", "Yerevan", "Yerevan", 0.05),
    ("Georgia", "Tbilisi", "Tbilisi", 0.05),
]
CATEGORIES = {  # category: (SKU count, typical unit price)
    "Concert tickets": (40, 2.4),
    "Theatre": (30, 3.0),
    "Cinema": (25, 1.2),
    "Kids": (20, 1.5),
    "Sport events": (20, 2.8),
    "Exhibitions": (15, 1.0),
    "Festivals": (10, 4.5),
    "Gift cards": (5, 5.0),
}
VARIANTS = np.array(["standard", "standard", "standard", "vip", "student"])
# Names agree with the customer's gender (Russian surnames take -a for women).
FEMALE_FIRST_NAMES = np.array(["Anna", "Maria", "Elena", "Olga", "Nina", "Irina", "Tatiana", "Svetlana"])
MALE_FIRST_NAMES = np.array(["Ivan", "Dmitry", "Sergey", "Alexey", "Pavel", "Andrey", "Mikhail", "Nikolay"])
MALE_LAST_NAMES = np.array(["Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Popov", "Sokolov", "Orlov", "Volkov"])
PRODUCTS = {  # category: names of its products (numbered when a category has more SKUs than names)
    "Concert tickets": ["Rock night", "Jazz evening", "Symphony gala", "Pop live", "Indie showcase"],
    "Theatre": ["Swan Lake", "The Seagull", "Hamlet", "The Nutcracker", "Eugene Onegin"],
    "Cinema": ["Premiere screening", "Classic matinee", "IMAX night", "Documentary club"],
    "Kids": ["Puppet show", "Circus matinee", "Science show", "Fairy-tale musical"],
    "Sport events": ["Football match", "Hockey game", "Basketball game", "Tennis final"],
    "Exhibitions": ["Modern art", "Photography", "Impressionists", "Design week"],
    "Festivals": ["Summer music fest", "Food festival", "Street art fest"],
    "Gift cards": ["Gift card"],
}
# Money (contract section 5): orders of these countries are priced in EUR, a few phone orders in GBP
# (no GBP rates at all: they show as data issues); the rest in the base currency, half of them
# naming it. Coupons: code -> discount in percent of the pre-discount amount.
EUR_COUNTRIES = ("Belarus", "Armenia", "Georgia")
GBP_SHARE = 0.002
COUPONS = {"WELCOME10": 10, "SPRING15": 15, "VIP20": 20}
CANCEL_SHARE = 0.03
REFUND_SHARE = 0.06
VAT = 20  # percent, included in Revenue
REFUND_REASONS = np.array(["event cancelled", "changed plans", "duplicate purchase", "wrong date"])
BRANDS = np.array(["Ticketland", "Kassir", "Concert.ru", "Afisha"])
CAMPAIGNS = np.array(["winter_sale", "spring_promo", "summer_fest", "autumn_season"])  # by quarter of the year
SEARCH_TERMS = np.array(["concert", "theatre tonight", "kids show", "festival", "gift card", "cinema"])
PAGES = np.array(["/", "/catalog", "/product", "/cart", "/checkout", "/search"])

CHUNK_USERS = 100_000
EVENT_SAMPLE_MOD = 10  # behaviour events are tracked for one user in ten (a tracking sample)


@dataclass(frozen=True)
class Period:
    start: np.datetime64  # first day, datetime64[s]
    days: int

    @property
    def end(self) -> np.datetime64:
        return self.start + np.timedelta64(self.days * 86400, "s")


def day_weights(start: date, days: int) -> np.ndarray:
    """Relative traffic per day: weekly cycle, yearly wave peaking in winter, New-Year peak."""
    d = np.datetime64(start, "D") + np.arange(days)
    dow = (d.astype("int64") + 3) % 7  # 0 = Monday
    weekly = np.array([1.15, 1.18, 1.14, 1.10, 0.98, 0.72, 0.76])[dow]
    doy = (d - d.astype("datetime64[Y]")).astype("int64")
    yearly = 1.0 + 0.35 * np.cos(2 * np.pi * (doy - 350) / 365.25)
    month_day = d.astype("datetime64[D]") - d.astype("datetime64[M]").astype("datetime64[D]")
    month = d.astype("datetime64[M]").astype("int64") % 12 + 1
    new_year = 1.0 + 0.9 * np.exp(-((np.where(month == 12, month_day.astype("int64") - 31, doy)) ** 2) / 40.0)
    return weekly * yearly * new_year


def _timestamps(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[s]"))


def _money(cents: np.ndarray) -> np.ndarray:
    """Exact 2-decimal strings from integer cents (never through float formatting)."""
    cents = cents.astype(np.int64)
    sign = np.where(cents < 0, "-", "")
    whole = (np.abs(cents) // 100).astype(str)
    frac = np.char.zfill((np.abs(cents) % 100).astype(str), 2)
    return np.char.add(np.char.add(np.char.add(sign, whole), "."), frac)


class CsvSink:
    """Appends arrow tables to one CSV file per kind, header written first."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.paths = {kind: out_dir / name for kind, name in FILES.items()}
        self.files = {kind: open(path, "wb") for kind, path in self.paths.items()}  # noqa: SIM115
        for kind, handle in self.files.items():
            handle.write((",".join(HEADERS[kind]) + "\n").encode())
        self.rows = dict.fromkeys(FILES, 0)

    def write(self, kind: str, columns: list[pa.Array | np.ndarray]) -> None:
        table = pa.table({name: col for name, col in zip(HEADERS[kind], columns, strict=True)})
        pacsv.write_csv(table, self.files[kind], pacsv.WriteOptions(include_header=False, quoting_style="none"))
        self.rows[kind] += table.num_rows

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


@dataclass(frozen=True)
class Catalog:
    sku: np.ndarray
    category: np.ndarray
    name: np.ndarray
    price_cents: np.ndarray
    popularity: np.ndarray  # probabilities

    @classmethod
    def make(cls, rng: np.random.Generator) -> Catalog:
        skus, cats, names, prices = [], [], [], []
        for category, (count, price) in CATEGORIES.items():
            for i in range(count):
                skus.append(f"SKU-{len(skus) + 1:05d}")
                cats.append(category)
                stems = PRODUCTS[category]
                names.append(f"{stems[i % len(stems)]} {i // len(stems) + 1}" if count > len(stems) else stems[i])
                prices.append(max(30, int(round(price * rng.lognormal(0.0, 0.35) * 100))))
        popularity = 1.0 / np.arange(1, len(skus) + 1) ** 0.9
        rng.shuffle(popularity)
        return cls(np.array(skus), np.array(cats), np.array(names), np.array(prices), popularity / popularity.sum())


def _pick(rng: np.random.Generator, n: int, share: np.ndarray) -> np.ndarray:
    return rng.choice(len(share), size=n, p=share / share.sum())


def _hours(rng: np.random.Generator, n: int) -> np.ndarray:
    diurnal = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 9, 10, 11, 12, 12, 10, 7, 4], float)
    return _pick(rng, n, diurnal)


def _durations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Session length in seconds: mostly about a minute (the mode is 60 s), with a long tail."""
    r = rng.random(n)
    tail = 1 + np.minimum(np.round(rng.lognormal(1.1, 0.9, n)), 180)
    minutes = np.where(r < 0.10, 0, np.where(r < 0.45, 1, tail))
    return (minutes * 60).astype(np.int64)


class ChunkGenerator:
    """Generates all inputs for one chunk of users."""

    def __init__(self, seed: int, period: Period, weights: np.ndarray, catalog: Catalog) -> None:
        self.seed = seed
        self.period = period
        self.day_p = weights / weights.sum()
        self.catalog = catalog

    def run(self, index: int, n_users: int, sink: CsvSink, bad_share: float) -> None:
        rng = np.random.default_rng([self.seed, index])
        p = self.period
        uid = rng.integers(10**18, np.iinfo(np.uint64).max, size=n_users, dtype=np.uint64, endpoint=True)
        first_day = _pick(rng, n_users, self.day_p)
        source = _pick(rng, n_users, SOURCE_SHARE) + 1
        touch = rng.random(n_users) < 0.34
        os_name = np.where(
            touch, TOUCH_OS[_pick(rng, n_users, np.array([0.62, 0.38]))],
            DESKTOP_OS[_pick(rng, n_users, np.array([0.78, 0.17, 0.05]))],
        )
        device = np.where(touch, "touch", "desktop")
        geo = _pick(rng, n_users, np.array([g[3] for g in GEO]))
        country, region, city = (np.array([g[i] for g in GEO])[geo] for i in range(3))

        # Sessions: the first visit, then returns that decay fast (a few loyal users keep coming).
        loyal = rng.random(n_users) < 0.05
        extra = rng.geometric(0.62, n_users) - 1 + np.where(loyal, rng.integers(4, 40, n_users), 0)
        user_of = np.repeat(np.arange(n_users), 1 + extra)
        is_first = np.r_[True, user_of[1:] != user_of[:-1]]
        gap_days = np.where(
            loyal[user_of], rng.uniform(0, p.days, user_of.size), rng.exponential(12.0, user_of.size)
        )
        day = first_day[user_of] + np.where(is_first, 0, np.ceil(gap_days)).astype(np.int64)
        keep = day < p.days
        user_of, is_first, day = user_of[keep], is_first[keep], day[keep]
        n_sess = user_of.size
        start = (
            p.start + (day * 86400 + _hours(rng, n_sess) * 3600 + rng.integers(0, 60, n_sess) * 60)
            .astype("timedelta64[s]")
        )
        duration = _durations(rng, n_sess)
        end = start + duration.astype("timedelta64[s]")
        sess_source = np.where(
            is_first | (rng.random(n_sess) < 0.75), source[user_of], _pick(rng, n_sess, SOURCE_SHARE) + 1
        )
        first_start = start[is_first]  # one per user, users in order
        # Paid sources' sessions carry the quarter's campaign.
        quarter = (start.astype("datetime64[M]").astype(np.int64) % 12) // 3
        campaign = np.where(SOURCE_DAILY_COST[sess_source - 1] > 0, CAMPAIGNS[quarter], "")
        sink.write("visits", [
            pa.array(device[user_of]), _timestamps(end), pa.array(sess_source.astype(np.uint32)),
            _timestamps(start), pa.array(uid[user_of]), pa.array(os_name[user_of]),
            pa.array(country[user_of]), pa.array(region[user_of]), pa.array(city[user_of]), pa.array(campaign),
        ])

        # Orders: conversion depends on the source; time to first order has a long tail.
        buy_rate = SOURCE_BUY_RATE[source - 1] * np.where(touch, 0.8, 1.0)
        buyer = np.flatnonzero(rng.random(n_users) < buy_rate)
        in_first_session = rng.random(buyer.size) < 0.45
        ttf = np.where(
            in_first_session,
            duration[is_first][buyer] + rng.integers(0, 120, buyer.size),
            (rng.lognormal(12.0, 1.6, buyer.size)).astype(np.int64),
        )
        frequent = rng.random(buyer.size) < 0.08
        n_orders = rng.geometric(0.55, buyer.size) + np.where(frequent, rng.poisson(10, buyer.size), 0)
        order_user = np.repeat(buyer, n_orders)
        nth = np.arange(order_user.size) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
        gaps = rng.exponential(np.where(frequent[np.repeat(np.arange(buyer.size), n_orders)], 9.0, 40.0)) * 86400
        gaps = np.where(nth == 0, 0, gaps)
        offset = np.repeat(ttf, n_orders) + _group_cumsum(gaps.astype(np.int64), n_orders)
        buy_ts = first_start[order_user] + offset.astype("timedelta64[s]")
        in_period = buy_ts < p.end
        order_user, buy_ts = order_user[in_period], buy_ts[in_period]
        order_uid = uid[order_user]
        # A few buyers never show up in the visits log (e.g. phone orders).
        phantom = rng.random(order_uid.size) < 0.003
        order_uid = np.where(
            phantom, rng.integers(10**18, np.iinfo(np.uint64).max, order_uid.size, dtype=np.uint64), order_uid
        )
        order_id = np.char.add(f"O{index:04d}-", np.arange(order_uid.size).astype(str))
        december = buy_ts.astype("datetime64[M]").astype(np.int64) % 12 == 11
        item_order, sku_idx, qty = self._items(rng, order_id.size, december)
        line_cents = self.catalog.price_cents[sku_idx] * qty
        revenue_cents = np.bincount(item_order, weights=line_cents, minlength=order_id.size).astype(np.int64)
        money = _order_money(np.random.default_rng([self.seed, index, 17]), revenue_cents, country[order_user],
                             phantom)
        sink.write("orders", [
            _timestamps(buy_ts), pa.array(_money(revenue_cents)), pa.array(order_uid), pa.array(order_id),
            pa.array(country[order_user]), pa.array(region[order_user]), pa.array(city[order_user]),
            *(pa.array(column) for column in money.columns),
        ])
        _write_refunds(np.random.default_rng([self.seed, index, 18]), sink, index, order_id, buy_ts,
                       revenue_cents, money.cancelled)
        sink.write("order_items", [
            pa.array(order_id[item_order]), pa.array(self.catalog.sku[sku_idx]),
            pa.array(self.catalog.category[sku_idx]), pa.array(qty.astype(np.int64)),
            pa.array(_money(self.catalog.price_cents[sku_idx])), pa.array(self.catalog.name[sku_idx]),
            pa.array(VARIANTS[rng.integers(0, VARIANTS.size, sku_idx.size)]),
        ])

        self._customers(rng, sink, uid, buyer, first_start, city)
        self._events(rng, sink, uid, user_of, start, end, order_uid, buy_ts)
        if bad_share > 0:
            write_bad_rows(rng, sink, bad_share, at_least_one=index == 0, scale=n_sess)

    def _items(self, rng: np.random.Generator, n_orders: int, december: np.ndarray):
        n_items = 1 + (rng.random(n_orders) < np.where(december, 0.45, 0.25)) + (rng.random(n_orders) < 0.08)
        item_order = np.repeat(np.arange(n_orders), n_items)
        sku_idx = _pick(rng, item_order.size, self.catalog.popularity)
        qty = 1 + rng.poisson(np.where(december[item_order], 0.6, 0.3))
        return item_order, sku_idx, qty

    def _customers(self, rng, sink: CsvSink, uid, buyer, first_start, city) -> None:
        registered = np.zeros(uid.size, bool)
        registered[buyer] = rng.random(buyer.size) < 0.95
        registered |= rng.random(uid.size) < 0.2
        idx = np.flatnonzero(registered)
        n = idx.size
        female = rng.random(n) < 0.55
        first = np.where(female, FEMALE_FIRST_NAMES[rng.integers(0, FEMALE_FIRST_NAMES.size, n)],
                         MALE_FIRST_NAMES[rng.integers(0, MALE_FIRST_NAMES.size, n)])
        last = MALE_LAST_NAMES[rng.integers(0, MALE_LAST_NAMES.size, n)]
        last = np.where(female, np.char.add(last, "a"), last)
        name = np.where(rng.random(n) < 0.9, np.char.add(np.char.add(first, " "), last), "")
        email = np.where(
            rng.random(n) < 0.85,
            np.char.add(np.char.add(np.char.lower(first), "."), np.char.add(uid[idx].astype(str), "@example.org")),
            "",
        )
        phone = np.where(
            rng.random(n) < 0.7,
            np.char.add("+7 9", np.char.zfill((uid[idx] % 1_000_000_000).astype(str), 9)),
            "",
        )
        reg_at = first_start[idx] + rng.integers(0, 3 * 86400, n).astype("timedelta64[s]")
        birth = (np.datetime64("1960-01-01") + rng.integers(0, 45 * 365, n).astype("timedelta64[D]")).astype(str)
        sink.write("customers", [
            pa.array(uid[idx]), pa.array(name), pa.array(email), pa.array(phone),
            pa.array(np.where(rng.random(n) < 0.8, city[idx], "")), _timestamps(reg_at),
            pa.array((rng.random(n) < 0.6).astype(np.int8)), pa.array((rng.random(n) < 0.35).astype(np.int8)),
            pa.array((rng.random(n) < 0.45).astype(np.int8)),
            pa.array(np.where(rng.random(n) < 0.7, np.where(female, "F", "M"), "")),
            pa.array(np.where(rng.random(n) < 0.5, birth, "")),
        ])

    def _events(self, rng, sink: CsvSink, uid, user_of, start, end, order_uid, buy_ts) -> None:
        tracked = np.flatnonzero(uid[user_of] % EVENT_SAMPLE_MOD == 0)
        per_session = 1 + rng.poisson(1.8, tracked.size)
        sess = np.repeat(tracked, per_session)
        span = (end[sess] - start[sess]).astype(np.int64)
        ts = start[sess] + (rng.random(sess.size) * (span + 1)).astype(np.int64).astype("timedelta64[s]")
        kinds = np.array(["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout"])
        event = kinds[_pick(rng, sess.size, np.array([0.45, 0.30, 0.10, 0.09, 0.02, 0.04]))]
        sku = np.where(np.isin(event, ["product_view", "add_to_cart", "remove_from_cart"]),
                       self.catalog.sku[_pick(rng, sess.size, self.catalog.popularity)], "")
        term = np.where(event == "search", SEARCH_TERMS[rng.integers(0, SEARCH_TERMS.size, sess.size)], "")
        page = np.where(event == "page_view", PAGES[rng.integers(0, PAGES.size, sess.size)], "")
        purchases = np.flatnonzero(order_uid % EVENT_SAMPLE_MOD == 0)
        sink.write("events", [
            pa.array(np.r_[uid[user_of][sess], order_uid[purchases]]),
            _timestamps(np.r_[ts, buy_ts[purchases]]),
            pa.array(np.r_[event, np.full(purchases.size, "purchase")]),
            pa.array(np.r_[sku, np.full(purchases.size, "")]),
            pa.array(np.r_[term, np.full(purchases.size, "")]),
            pa.array(np.r_[page, np.full(purchases.size, "/checkout/success")]),
        ])


@dataclass(frozen=True)
class OrderMoney:
    """The optional money columns of a chunk's orders (header order) and which orders are cancelled."""

    columns: tuple[np.ndarray, ...]  # status, currency, discount, coupon, shipping, tax, sales_channel
    cancelled: np.ndarray


def _order_money(rng: np.random.Generator, revenue_cents: np.ndarray, country: np.ndarray,
                 phone_order: np.ndarray) -> OrderMoney:
    """Status, currency, coupon discount, shipping and tax of each order (all already in Revenue)."""
    n = revenue_cents.size
    cancelled = rng.random(n) < CANCEL_SHARE
    base_named = rng.random(n) < 0.5
    currency = np.where(np.isin(country, EUR_COUNTRIES), "EUR", np.where(base_named, "USD", ""))
    currency = np.where(phone_order & (rng.random(n) < GBP_SHARE / 0.003), "GBP", currency)
    code = np.array(list(COUPONS))[rng.integers(0, len(COUPONS), n)]
    coupon = np.where(rng.random(n) < 0.12, code, "")
    pct = np.array([COUPONS.get(c, 0) for c in coupon], dtype=np.int64)
    discount = revenue_cents * pct // (100 - pct)  # Revenue is the amount after the discount
    delivery = rng.random(n) < 0.4
    shipping = np.where(delivery, np.minimum(99, revenue_cents // 10), 0)
    tax = (revenue_cents - shipping) * VAT // (100 + VAT)
    return OrderMoney(
        columns=(np.where(cancelled, "cancelled", "completed"), currency, _money(discount), coupon,
                 _money(shipping), _money(tax), np.where(delivery, "delivery", "pickup")),
        cancelled=cancelled,
    )


def _write_refunds(rng: np.random.Generator, sink: CsvSink, index: int, order_id: np.ndarray, buy_ts: np.ndarray,
                   revenue_cents: np.ndarray, cancelled: np.ndarray) -> None:
    """Full and partial refunds of some completed orders, days after the order. The first chunk adds
    a refund of an unknown order and an order refunded more than its revenue (both data issues)."""
    refunded = np.flatnonzero(~cancelled & (revenue_cents > 0) & (rng.random(order_id.size) < REFUND_SHARE))
    full = rng.random(refunded.size) < 0.6
    cents = np.where(full, revenue_cents[refunded],
                     (revenue_cents[refunded] * rng.uniform(0.1, 0.9, refunded.size)).astype(np.int64))
    ts = buy_ts[refunded] + (rng.exponential(5.0, refunded.size) * 86400 + 3600).astype("timedelta64[s]")
    ids, orders = np.char.add(f"R{index:04d}-", np.arange(refunded.size).astype(str)), order_id[refunded]
    if index == 0 and refunded.size:
        ids = np.r_[ids, [f"R{index:04d}-orphan", f"R{index:04d}-over"]]
        orders = np.r_[orders, ["O-unknown-1", orders[0]]]
        cents = np.r_[cents, [150, revenue_cents[refunded[0]]]]
        ts = np.r_[ts, [ts[0], ts[0] + np.timedelta64(86400, "s")]]
    sink.write("refunds", [pa.array(ids), pa.array(orders), _timestamps(ts), pa.array(_money(cents)),
                           pa.array(REFUND_REASONS[rng.integers(0, REFUND_REASONS.size, ids.size)])])


def write_fx_rates(rng: np.random.Generator, sink: CsvSink, start: date, days: int) -> None:
    """Daily EUR rates (units of USD per EUR), a random walk around 1.10. They start on the 4th day
    (earlier EUR orders have no rate) and skip two days (their orders use the latest earlier rate)."""
    day = np.arange(3, days)
    day = day[(day != days // 3) & (day != days // 3 + 1)]
    rate = 1.10 * np.exp(np.cumsum(rng.normal(0.0, 0.003, day.size)))
    dt = (np.datetime64(start, "D") + day.astype("timedelta64[D]")).astype(str)
    sink.write("fx_rates", [pa.array(dt), pa.array(np.full(day.size, "EUR")), pa.array(np.char.mod("%.6f", rate))])


def write_products(rng: np.random.Generator, sink: CsvSink, catalog: Catalog) -> None:
    """The catalog with a brand and, for most SKUs, a unit cost in the base currency."""
    n = catalog.sku.size
    cost = (catalog.price_cents * rng.uniform(0.55, 0.8, n)).astype(np.int64)
    sink.write("products", [
        pa.array(catalog.sku), pa.array(catalog.name), pa.array(catalog.category),
        pa.array(BRANDS[rng.integers(0, BRANDS.size, n)]), pa.array(np.where(rng.random(n) < 0.85, _money(cost), "")),
    ])


def _group_cumsum(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (groups are consecutive runs of the given sizes)."""
    total = np.cumsum(values)
    group_start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return total - np.r_[0, total][group_start]


# One deliberately bad row per kind: (input, [column values in header order], what is wrong).
BAD_ROWS: list[tuple[str, list[str], str]] = [
    ("visits", ["touch", "2017-06-01 10:00:00", "4", "2017-06-01 10:05:00", "11111111111111111111"],
     "End Ts earlier than Start Ts"),
    ("visits", ["desktop", "2017-06-01 10:00:00", "3", "2017-13-45 25:61:00", "11111111111111111112"],
     "unparsable Start Ts"),
    ("visits", ["desktop", "2017-06-01 10:01:00", "3", "2017-06-01 10:00:00", ""], "missing Uid"),
    ("orders", ["2017-06-02 12:00:00", "-4.50", "11111111111111111113"], "negative Revenue"),
    ("orders", ["2017-06-02 12:00:00", "3.10", "12abc"], "unparsable Uid"),
    ("costs", ["3", "2017-06-03", "-10.00"], "negative costs"),
    ("order_items", ["O-bad", "SKU-00001", "Cinema", "-1", "1.20"], "negative quantity"),
    ("events", ["11111111111111111114", "2017-06-04 09:00:00", "teleport"], "unknown event"),
    ("orders", ["2017-06-02 12:00:00", "3.10", "11111111111111111115", "", "", "", "", "lost"],
     "unknown status"),
    ("orders", ["2017-06-02 12:00:00", "3.10", "11111111111111111115", "", "", "", "", "", "US$"],
     "unparsable currency"),
    ("refunds", ["R-bad-1", "", "2017-06-05 10:00:00", "1.00"], "refund without order_id"),
    ("refunds", ["R-bad-2", "O-bad", "2017-06-05 10:00:00", "-1.00"], "negative amount"),
    ("fx_rates", ["2017-06-05", "EUR", "0"], "rate 0"),
    ("products", ["SKU-bad", "", "", "", "-1.00"], "negative unit_cost"),
]


def write_bad_rows(rng: np.random.Generator, sink: CsvSink, share: float, *, at_least_one: bool, scale: int) -> None:
    """Append deliberately bad rows so the quarantine path is exercised (every kind at least once)."""
    copies = rng.binomial(max(scale, 1), share / len(BAD_ROWS), len(BAD_ROWS))
    if at_least_one:
        copies = np.maximum(copies, 1)
    for (kind, values, _why), count in zip(BAD_ROWS, copies, strict=True):
        if count:
            padded = values + [""] * (len(HEADERS[kind]) - len(values))
            sink.write(kind, [pa.array([v] * int(count), pa.string()) for v in padded])


def write_costs(rng: np.random.Generator, sink: CsvSink, start: date, weights: np.ndarray, n_users: int) -> None:
    """Daily spend per paid source, following traffic seasonality (unpaid sources have no rows)."""
    days = weights.size
    scale = n_users / 228_000  # the seed analysis spent these amounts on ~228k users a year
    paid = np.flatnonzero(SOURCE_DAILY_COST > 0)
    day = np.tile(np.arange(days), paid.size)
    src = np.repeat(paid, days)
    noise = rng.lognormal(0.0, 0.15, day.size)
    cents = np.round(SOURCE_DAILY_COST[src] * scale * weights[day] / weights.mean() * noise * 100).astype(np.int64)
    dt = (np.datetime64(start, "D") + day.astype("timedelta64[D]")).astype(str)
    sink.write("costs", [pa.array((src + 1).astype(np.int64)), pa.array(dt), pa.array(_money(cents))])


def generate(
    out_dir: Path, *, users: int, days: int, seed: int, start: date = date(2017, 6, 1), bad_share: float = 0.001
) -> dict[str, Path]:
    """Write every sample input into out_dir and return {kind: path}."""
    weights = day_weights(start, days)
    period = Period(np.datetime64(start, "s"), days)
    catalog = Catalog.make(np.random.default_rng([seed, 10**6]))
    chunks = ChunkGenerator(seed, period, weights, catalog)
    sink = CsvSink(Path(out_dir))
    try:
        sizes = [min(CHUNK_USERS, users - i) for i in range(0, users, CHUNK_USERS)]
        with Progress(transient=True) as progress:
            task = progress.add_task("generating sample data", total=users)
            for index, size in enumerate(sizes):
                chunks.run(index, size, sink, bad_share)
                progress.advance(task, size)
        write_costs(np.random.default_rng([seed, 10**6 + 1]), sink, start, weights, users)
        write_fx_rates(np.random.default_rng([seed, 10**6 + 2]), sink, start, days)
        write_products(np.random.default_rng([seed, 10**6 + 3]), sink, catalog)
    finally:
        sink.close()
    return dict(sink.paths)
