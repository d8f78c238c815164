"""Where ecomlytics keeps its local state and which warehouse it talks to.

Everything generated on this machine (embedded warehouse, Superset metadata DB, secret key,
sample data, logs) lives under one state dir, ``$ECOMLYTICS_HOME`` (default ``./var``), so a
checkout stays clean and secrets never land in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "ECOMLYTICS_HOME"
WAREHOUSE_ENV = "ECOMLYTICS_WAREHOUSE"
BI_WAREHOUSE_ENV = "ECOMLYTICS_BI_WAREHOUSE"


def state_dir() -> Path:
    """The local state dir (created on first use)."""
    path = Path(os.environ.get(HOME_ENV, "var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_warehouse_dsn() -> str:
    """Embedded chDB in the state dir: the default when nothing is configured."""
    return f"chdb://{state_dir() / 'warehouse'}"


def warehouse_dsn(override: str | None = None) -> str:
    """The DSN in force: explicit ``--warehouse`` > ``$ECOMLYTICS_WAREHOUSE`` > embedded default."""
    return override or os.environ.get(WAREHOUSE_ENV) or default_warehouse_dsn()


def bi_warehouse_dsn(override: str | None = None) -> str | None:
    """The DSN Superset reads the marts with on a ClickHouse server (a read-only user, docs/security.md):
    explicit ``--bi-warehouse`` > ``$ECOMLYTICS_BI_WAREHOUSE``; None when not set."""
    return override or os.environ.get(BI_WAREHOUSE_ENV) or None


CURRENCY_ENV = "ECOMLYTICS_CURRENCY"
# Every money amount is in the data's base currency: the contract's `base_currency` (docs/CONTRACT.md,
# section 1), USD unless configured.
DEFAULT_CURRENCY = "USD"


def currency() -> str:
    """ISO 4217 code money is shown in on the dashboards: ``$ECOMLYTICS_CURRENCY`` or the default."""
    return (os.environ.get(CURRENCY_ENV) or DEFAULT_CURRENCY).strip().upper()


def currency_sign(code: str) -> str:
    """The sign the dashboards print after an amount in ``code``: the one Superset's charts take from the
    browser's English locale (both come from Unicode's CLDR): "$" for USD, "€" for EUR, the code itself
    where English has no sign of its own (e.g. "RUB")."""
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(code, locale="en")
