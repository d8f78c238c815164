"""The terminal's headline figures carry their units, as the dashboards do."""

from __future__ import annotations

from ecomlytics.headline import human


def test_figures_carry_their_units() -> None:
    assert human(4.8312, "money", "USD") == "4.83 USD"
    assert human(1234567.5, "money", "EUR") == "1,234,567.50 EUR"
    assert human(0.2219, "ratio") == "22.2%"
    assert human(17100, "duration") == "4h 45m"
    assert human(65, "duration") == "1m 05s"
    assert human(None, "money", "USD") == "—"
    assert human(1.1549, "number", "USD") == "1.15"  # sessions per user: no currency
