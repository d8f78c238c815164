"""The BI side: Superset's configuration, roles and security, the SQL guard (and the ClickHouse server
profile rendered from it), serving, the dashboards bundle and the CRM contacts download.
"""
