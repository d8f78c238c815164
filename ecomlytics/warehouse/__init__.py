"""The ClickHouse warehouse: connecting (embedded chDB or a server) and pooled chDB handles.
"""
