"""The BI side: Superset's configuration, roles and security, the SQL guard, serving, the dashboards
bundle and the CRM contacts download.
"""
