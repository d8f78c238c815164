"""The sample-data generator: deterministic, in the seed format, realistic where it matters."""

from __future__ import annotations

import filecmp
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ecomlytics.sample_data import BAD_ROWS, HEADERS, SOURCE_DAILY_COST, generate


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("gen"), users=4000, days=365, seed=3, start=date(2017, 6, 1),
                    bad_share=0.001)


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_same_seed_gives_identical_files(sample, tmp_path: Path) -> None:
    again = generate(tmp_path, users=4000, days=365, seed=3, start=date(2017, 6, 1), bad_share=0.001)
    for kind, path in sample.items():
        assert filecmp.cmp(path, again[kind], shallow=False), kind
    other = generate(tmp_path / "other", users=4000, days=365, seed=4, start=date(2017, 6, 1), bad_share=0.001)
    assert not filecmp.cmp(sample["visits"], other["visits"], shallow=False)


def test_headers_follow_the_seed_format(sample) -> None:
    for kind, path in sample.items():
        assert path.read_text().splitlines()[0] == ",".join(HEADERS[kind])
    assert HEADERS["visits"][:5] == ["Device", "End Ts", "Source Id", "Start Ts", "Uid"]


def test_uids_are_19_20_digit_unsigned_64_bit(sample) -> None:
    uids = read(sample["visits"]).Uid
    uids = uids[uids.str.fullmatch(r"\d+")]
    assert uids.str.len().between(19, 20).all()
    assert (uids.map(int) >= 2**63).any() and (uids.map(int) < 2**64).all()


def test_items_add_up_to_order_revenue_exactly(sample) -> None:
    orders = read(sample["orders"])
    items = read(sample["order_items"])
    items = items[items.quantity.str.fullmatch(r"\d+")]
    cents = (items.quantity.astype(int) * (items.unit_price.astype(float) * 100).round().astype(int))
    by_order = cents.groupby(items.order_id).sum()
    good = orders[orders.Revenue.str.fullmatch(r"\d+\.\d\d") & orders.order_id.ne("")]
    revenue_cents = (good.Revenue.astype(float) * 100).round().astype(int).set_axis(good.order_id)
    assert (by_order.reindex(revenue_cents.index) == revenue_cents).all()


def test_unpaid_sources_have_no_costs_and_costs_differ_a_lot(sample) -> None:
    costs = read(sample["costs"])
    costs = costs[~costs.costs.str.startswith("-")]
    paid = {int(s) + 1 for s in (SOURCE_DAILY_COST > 0).nonzero()[0]}
    assert set(costs.source_id.astype(int)) == paid
    totals = costs.costs.astype(float).groupby(costs.source_id).sum()
    assert totals.max() / totals.min() > 10


def test_behaviour_is_realistic(sample) -> None:
    visits = read(sample["visits"])
    visits = visits[visits.Uid.str.fullmatch(r"\d+")].copy()
    start = pd.to_datetime(visits["Start Ts"], errors="coerce")
    end = pd.to_datetime(visits["End Ts"], errors="coerce")
    visits = visits[start.notna() & end.notna() & (end >= start)]
    start, end = start[visits.index], end[visits.index]
    duration = (end - start).dt.total_seconds()
    assert duration.mode().iloc[0] == 60  # most sessions about a minute
    assert set(visits.Device) == {"desktop", "touch"} and visits.os.nunique() >= 4
    weekday = start.dt.weekday.value_counts()
    assert weekday[[0, 1, 2, 3]].mean() > weekday[[5, 6]].mean() * 1.05  # weekly seasonality
    monthly = start.dt.to_period("M").value_counts()
    assert monthly[pd.Period("2017-12")] > monthly[pd.Period("2017-08")] * 1.3  # New-Year peak
    first = start.groupby(visits.Uid).min().dt.to_period("M")
    cohort = first[visits.Uid].to_numpy()
    lifetime = (start.dt.to_period("M").to_numpy() - cohort)
    month1 = visits.Uid[[lt.n == 1 for lt in lifetime]].nunique() / first.size
    assert 0.01 < month1 < 0.2  # retention decays to a few percent
    orders = read(sample["orders"])
    per_buyer = orders.Uid.value_counts()
    assert (per_buyer > 1).mean() > 0.2 and per_buyer.max() >= 5  # repeat buyers


def test_bad_rows_of_every_kind_are_present_only_when_asked(sample, tmp_path: Path) -> None:
    for kind, values, _why in BAD_ROWS:
        assert ",".join(values) in sample[kind].read_text(), (kind, values)
    clean = generate(tmp_path, users=1000, days=60, seed=3, start=date(2017, 6, 1), bad_share=0)
    for kind, values, _why in BAD_ROWS:
        assert ",".join(values) not in clean[kind].read_text()


def test_names_agree_with_gender_and_products_with_their_category(sample) -> None:
    customers = read(sample["customers"])
    named = customers[(customers.name != "") & (customers.gender != "")]
    first, last = named.name.str.split(" ", n=1).str[0], named.name.str.split(" ", n=1).str[1]
    women, men = named.gender == "F", named.gender == "M"
    assert women.sum() > 100 and men.sum() > 100
    assert last[women].str.endswith("a").all() and not last[men].str.endswith("a").any()
    assert not set(first[women]) & set(first[men])  # no first name used for both
    items = read(sample["order_items"])
    items = items[items.order_id != "O-bad"]  # the deliberately bad rows
    per_sku = items.groupby("sku").agg(names=("product_name", "nunique"), categories=("category", "nunique"))
    assert (per_sku.names == 1).all() and (per_sku.categories == 1).all()
    assert not items.product_name.str.contains("#").any()
    assert items.drop_duplicates("sku").product_name.is_unique
