"""The versions of private upstream code that ecomlytics' two patches were written for.

``dbt.chdb_bridge`` wraps dbt-clickhouse's client factory (the ``chdb`` driver) and ``warehouse.chdb_handles`` replaces
two private functions of clickhouse-connect's chDB backend. Both depend on code no release promises
to keep, so pyproject.toml bounds those packages to the ranges below, and each patch checks the
installed version before it applies itself: a newer release gets a clear error instead of a subtle
failure. Each entry names the upstream change that would retire its patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

from packaging.specifiers import SpecifierSet


@dataclass(frozen=True)
class Patched:
    package: str
    supported: str  # a PEP 440 specifier, the same as in pyproject.toml
    patch: str
    retire_when: str


PATCHED = {
    "dbt-clickhouse": Patched(
        "dbt-clickhouse", ">=1.10.3,<1.11", "ecomlytics/dbt/chdb_bridge.py (profile `driver: chdb`)",
        "dbt-clickhouse ships a chDB driver (ClickHouse/dbt-clickhouse#369)"),
    "clickhouse-connect": Patched(
        "clickhouse-connect", ">=1.12,<1.13", "ecomlytics/warehouse/chdb_handles.py (pooled chDB handles)",
        "clickhouse-connect reuses chDB handles across clients itself"),
}


class UnsupportedVersion(RuntimeError):
    """An installed package is outside the range a patch was written for."""


def check(package: str) -> None:
    """Raise UnsupportedVersion unless the installed ``package`` is in its patch's supported range."""
    entry = PATCHED[package]
    installed = version(package)
    if installed not in SpecifierSet(entry.supported):
        raise UnsupportedVersion(
            f"{package} {installed} is installed, but {entry.patch} was written for {package}{entry.supported}: "
            f"install a supported version (pip install '{package}{entry.supported}'), or update the patch; "
            f"it can be deleted once {entry.retire_when}.")
