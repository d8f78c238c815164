"""Running dbt on the warehouse: the runner, the chDB bridge for dbt-clickhouse, publishing the marts
built in the shadow database, and facts read from dbt's manifest (PII).
"""
