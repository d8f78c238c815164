"""The ClickHouse warehouse: connecting (embedded chDB or a server), pooled chDB handles, the server's
configuration.
"""
