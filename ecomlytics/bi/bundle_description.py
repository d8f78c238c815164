"""The dashboards' description (superset_assets/description/*.yml): read, blocks expanded, checked.

The description is data a newcomer edits: datasets with their metrics, readable names, filters,
dashboards with their rows of charts. bundle_builder.py renders it into the Superset bundle; this
module only reads it and refuses a description the renderer could not render, naming the file and
the chart (an unknown dataset, metric, chart kind or option, a missing option, an unknown filter).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecomlytics.bi.setup import ASSETS_DIR, CURRENCY_PLACEHOLDER, DESCRIPTION_FOLDER

DESCRIPTION_DIR = ASSETS_DIR / DESCRIPTION_FOLDER
DASHBOARDS_DIR = "dashboards"  # one file per dashboard, named by its slug
BLOCKS_FILE = "blocks.yml"
PERIOD = "period"  # the time-range filter every dataset with a time column takes
# Parameters of a chart kind the renderer passes itself: not options of the description.
RENDERER_PARAMETERS = ("described",)
# Chart options that name metrics of the chart's dataset, and those that name its columns (at_least: its first item).
METRIC_OPTIONS = ("metric", "metrics")
COLUMN_OPTIONS = ("x", "y", "groupby", "columns", "order_by", "top_of", "at_least")
DASHBOARD_KEYS = {"title", "filters", "about", "rows"}
OPTIONAL_DASHBOARD_KEYS = {"label_colors"}
BLOCK_KEYS = {"parameters", "description", "rows"}
DATASET_KEYS = {"time_column", "metrics", "computed_columns"}
METRIC_KEYS = {"sql", "format", "money"}
COMPUTED_COLUMN_KEYS = {"sql", "type"}


class DescriptionError(ValueError):
    """A description the renderer cannot render: the message names the file and the chart."""


@dataclass(frozen=True)
class Metric:
    sql: str
    format: str  # d3 format; DURATION: milliseconds shown as "6h 4m 28s"
    money: bool = False  # shown with the configured currency


@dataclass(frozen=True)
class ComputedColumn:
    sql: str  # over one row of the dataset
    type: str  # ClickHouse type


@dataclass(frozen=True)
class Dataset:
    name: str
    time_column: str | None  # what the dashboards' Period filter applies to; None: no Period
    metrics: dict[str, Metric]
    computed_columns: dict[str, ComputedColumn]


@dataclass(frozen=True)
class Filter:
    label: str
    column: str
    dataset: str  # the dataset its values are read from


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # a chart kind of the renderer: big_number, timeseries, ...
    options: dict[str, Any]  # the kind's keyword arguments (title, dataset, metrics, ...)
    description: str | None  # shown on the chart's card
    file: str  # the file its options are written in: dashboards/<slug>.yml or blocks.yml
    source: str  # where it is described, for errors: "dashboards/overview.yml, row 1, chart 1 'GMV'"


@dataclass(frozen=True)
class DashboardSpec:
    slug: str
    title: str
    about: str
    filters: tuple[str, ...]
    rows: list[list[ChartSpec]]
    label_colors: Mapping[str, str] = field(default_factory=dict)  # series name -> colour, on every chart


@dataclass(frozen=True)
class Description:
    datasets: dict[str, Dataset]
    names: dict[str, str]  # readable names of metrics and columns
    filters: dict[str, Filter]
    dashboards: list[DashboardSpec]
    renamed: dict[str, str]  # chart title now -> the title its UUID was made from
    moved: dict[str, str]  # "dataset:title" now -> the one its UUID was made from
    navigation: str  # closes every dashboard's text

    def verbose(self, name: str) -> str:
        """A metric's or column's readable name; unlisted: its name with spaces, capitalized."""
        return self.names.get(name) or name.replace("_", " ").capitalize()

    def is_money(self, dataset: str, metric: str) -> bool:
        found = self.datasets[dataset].metrics.get(metric)
        return found is not None and found.money


def check_columns(described: Description, columns_of: Mapping[str, Collection[str]]) -> None:
    """Every column a chart or a filter names exists in its dataset (``columns_of``: dataset -> its column
    names, read from a built warehouse): the columns are known only then, not when the description is read."""
    for name, described_filter in described.filters.items():
        if described_filter.column not in columns_of[described_filter.dataset]:
            raise DescriptionError(f"filters.yml, filter {name!r}: no column {described_filter.column!r} in "
                                   f"dataset {described_filter.dataset!r}")
    for chart in (c for board in described.dashboards for row in board.rows for c in row):
        dataset = chart.options["dataset"]
        for option, column in _named_columns(chart.options):
            if column not in columns_of[dataset]:
                raise DescriptionError(f"{chart.source}: no column {column!r} in dataset {dataset!r} (option {option})")


def _named_columns(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, column) for each column a chart's options name."""
    named = []
    for option in COLUMN_OPTIONS:
        value = options.get(option)
        if option == "at_least" and value:
            value = value[0]  # [column, value]
        named += [(option, column) for column in (value if isinstance(value, list) else [value]) if column]
    return named


def dashboard_file(slug: str) -> str:
    """Where a dashboard is described, relative to the description's folder."""
    return f"{DASHBOARDS_DIR}/{slug}.yml"


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise DescriptionError(f"{name}: cannot read it: {error}") from error


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise DescriptionError(f"{where}: expected a mapping, found {type(value).__name__}")
    return value


def _no_unknown_keys(found: Mapping, known: set[str], where: str) -> None:
    unknown = sorted(set(found) - known)
    if unknown:
        raise DescriptionError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def _datasets(raw: Any) -> dict[str, Dataset]:
    datasets = {}
    for name, body in _mapping(raw, "datasets.yml").items():
        body = _mapping(body, f"datasets.yml, dataset {name!r}")
        _no_unknown_keys(body, DATASET_KEYS, f"datasets.yml, dataset {name!r}")
        metrics = {metric: Metric(facts["sql"], facts["format"], bool(facts.get("money", False))) for metric, facts
                   in _facts(body.get("metrics"), METRIC_KEYS, {"sql", "format"}, f"dataset {name!r}, metric")}
        computed = {column: ComputedColumn(facts["sql"], facts["type"]) for column, facts in
                    _facts(body.get("computed_columns"), COMPUTED_COLUMN_KEYS, COMPUTED_COLUMN_KEYS,
                           f"dataset {name!r}, computed column")}
        datasets[name] = Dataset(name, body.get("time_column"), metrics, computed)
    return datasets


def _facts(raw: Any, keys: set[str], required: set[str], what: str) -> list[tuple[str, dict]]:
    """(name, facts) of each metric or computed column of a dataset: ``keys`` known, ``required`` given."""
    named = []
    for name, facts in (raw or {}).items():
        where = f"datasets.yml, {what} {name!r}"
        facts = _mapping(facts, where)
        _no_unknown_keys(facts, keys, where)
        missing = sorted(required - set(facts))
        if missing:
            raise DescriptionError(f"{where}: needs {', '.join(missing)}")
        named.append((name, facts))
    return named


def _filled(value: Any, parameters: Mapping[str, Any]) -> Any:
    """``value`` with each ``{parameter}`` replaced (a text that is only ``{parameter}`` takes the value
    as it is) and ``{currency}`` as the placeholder the bundle import replaces."""
    if isinstance(value, list):
        return [_filled(item, parameters) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, parameters) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    for name, given in parameters.items():
        if value == f"{{{name}}}":
            return given
        value = value.replace(f"{{{name}}}", str(given))
    return value.replace("{currency}", CURRENCY_PLACEHOLDER)


class _Checker:
    """Checks charts against the datasets and the renderer's chart kinds (their keyword arguments)."""

    def __init__(self, datasets: dict[str, Dataset], chart_kinds: Mapping[str, Callable]) -> None:
        self.datasets = datasets
        self.kinds = {kind: inspect.signature(function).parameters for kind, function in chart_kinds.items()}

    def chart(self, raw: Any, file: str, position: str, parameters: Mapping[str, Any],
              shared_description: str | None) -> ChartSpec:
        raw = _mapping(raw, position)
        options = {key: _filled(value, parameters) for key, value in raw.items() if key not in ("chart", "description")}
        where = f"{position} {options['title']!r}" if options.get("title") else position
        kind = raw.get("chart")
        if kind not in self.kinds:
            raise DescriptionError(f"{where}: unknown chart kind {kind!r} (known: {', '.join(self.kinds)})")
        accepted = {name: p for name, p in self.kinds[kind].items() if name not in RENDERER_PARAMETERS}
        _no_unknown_keys(options, set(accepted), f"{where} ({kind})")
        missing = [name for name, p in accepted.items() if p.default is inspect.Parameter.empty and name not in options]
        if missing:
            raise DescriptionError(f"{where} ({kind}): missing option(s) {', '.join(missing)}")
        dataset = self.datasets.get(options["dataset"])
        if dataset is None:
            raise DescriptionError(f"{where}: unknown dataset {options['dataset']!r} (datasets.yml)")
        named = [options[key] for key in METRIC_OPTIONS if key in options]
        metrics = [m for value in named for m in (value if isinstance(value, list) else [value])]
        metrics += [rule.get("metric") for rule in options.get("colours") or []]
        for metric in metrics:
            if metric not in dataset.metrics:
                raise DescriptionError(f"{where}: unknown metric {metric!r} of dataset {dataset.name!r} "
                                       f"(its metrics: {', '.join(dataset.metrics) or 'none'})")
        return ChartSpec(kind, options, raw.get("description", shared_description), file, where)

    def rows(self, raw: Any, file: str, blocks: dict, parameters: Mapping[str, Any] | None = None,
             shared_description: str | None = None, where: str | None = None) -> list[list[ChartSpec]]:
        """Rows of charts written in ``file`` (``where``: how an error names it, default the file)."""
        where = where or file
        if not isinstance(raw, list):
            raise DescriptionError(f"{where}: rows must be a list of rows")
        rows: list[list[ChartSpec]] = []
        for number, row in enumerate(raw, start=1):
            if isinstance(row, dict) and "block" in row:
                rows += self.block(row, f"{where}, row {number}", blocks)
            elif isinstance(row, list):
                rows.append([self.chart(chart, file, f"{where}, row {number}, chart {index}", parameters or {},
                                        shared_description) for index, chart in enumerate(row, start=1)])
            else:
                raise DescriptionError(f"{where}, row {number}: a list of charts or a `block:`")
        return rows

    def block(self, placed: dict, where: str, blocks: dict) -> list[list[ChartSpec]]:
        name = placed["block"]
        if name not in blocks:
            raise DescriptionError(f"{where}: unknown block {name!r} (blocks.yml: {', '.join(blocks)})")
        block = _mapping(blocks[name], f"blocks.yml, block {name!r}")
        _no_unknown_keys(block, BLOCK_KEYS, f"blocks.yml, block {name!r}")
        given = {key: value for key, value in placed.items() if key != "block"}
        expected = block.get("parameters") or []
        if sorted(given) != sorted(expected):
            raise DescriptionError(f"{where}: block {name!r} takes {', '.join(expected) or 'no parameters'}, "
                                   f"given {', '.join(given) or 'none'}")
        return self.rows(block.get("rows"), BLOCKS_FILE, {}, given, block.get("description"),
                         f"{where}: {BLOCKS_FILE}, block {name!r}")


def _filters(raw: Any, datasets: Mapping[str, Dataset]) -> dict[str, Filter]:
    filters = {}
    for name, body in _mapping(raw, "filters.yml").items():
        body = _mapping(body, f"filters.yml, filter {name!r}")
        _no_unknown_keys(body, {"label", "column", "dataset"}, f"filters.yml, filter {name!r}")
        if body.get("dataset") not in datasets:
            raise DescriptionError(f"filters.yml, filter {name!r}: unknown dataset {body.get('dataset')!r}")
        filters[name] = Filter(body["label"], body["column"], body["dataset"])
    return filters


def _dashboard(folder: Path, slug: str, filters: Mapping[str, Filter], checker: _Checker,
               blocks: dict) -> DashboardSpec:
    file = dashboard_file(slug)
    if not (folder / file).is_file():
        raise DescriptionError(f"dashboards.yml: dashboard {slug!r} has no file {file}")
    board = _mapping(_read(folder, file), file)
    _no_unknown_keys(board, DASHBOARD_KEYS | OPTIONAL_DASHBOARD_KEYS, file)
    missing = sorted(DASHBOARD_KEYS - set(board))
    if missing:
        raise DescriptionError(f"{file}: missing {', '.join(missing)}")
    for name in board["filters"]:
        if name != PERIOD and name not in filters:
            raise DescriptionError(f"{file}: unknown filter {name!r} (filters.yml, or {PERIOD})")
    colours = _mapping(board.get("label_colors") or {}, f"{file}, label_colors")
    return DashboardSpec(slug, board["title"], board["about"], tuple(board["filters"]),
                         checker.rows(board["rows"], file, blocks), dict(colours))


def load_description(chart_kinds: Mapping[str, Callable], folder: Path = DESCRIPTION_DIR) -> Description:
    """The description in ``folder``, checked against ``chart_kinds`` (chart kind -> the renderer's
    function; its keyword arguments are the kind's options)."""
    stray = sorted(str(path.relative_to(folder)) for path in folder.rglob("*.yaml"))
    if stray:  # *.yaml under superset_assets/ reads as the bundle's (the byte-for-byte test, the bundle zip)
        raise DescriptionError(f"{', '.join(stray)}: description files are named *.yml")
    datasets = _datasets(_read(folder, "datasets.yml"))
    filters = _filters(_read(folder, "filters.yml"), datasets)
    index = _mapping(_read(folder, "dashboards.yml"), "dashboards.yml")
    slugs = list(index.get("dashboards") or [])
    unlisted = sorted({path.stem for path in (folder / DASHBOARDS_DIR).glob("*.yml")} - set(slugs))
    if unlisted:
        raise DescriptionError(f"dashboards.yml: {', '.join(unlisted)} not listed under dashboards (the order)")
    checker = _Checker(datasets, chart_kinds)
    blocks = _mapping(_read(folder, BLOCKS_FILE), BLOCKS_FILE)
    dashboards = [_dashboard(folder, slug, filters, checker, blocks) for slug in slugs]
    history = _mapping(_read(folder, "chart_history.yml"), "chart_history.yml")
    return Description(datasets, _mapping(_read(folder, "names.yml"), "names.yml"), filters, dashboards,
                       dict(history.get("renamed") or {}), dict(history.get("moved") or {}), index["navigation"])
