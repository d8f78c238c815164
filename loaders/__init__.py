"""Loaders: CSV / CSV.gz / Parquet inputs -> typed, validated raw tables in ClickHouse."""
