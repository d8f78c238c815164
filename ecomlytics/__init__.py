"""ecomlytics: e-commerce growth-analytics warehouse (loaders -> ClickHouse -> dbt marts -> Superset)."""

__version__ = "0.1.0"
