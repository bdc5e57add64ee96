"""Files inferwatch ships as package data: ClickHouse migrations and Grafana dashboards.

``clickhouse/NNNN_name.sql`` are the store's schema migrations, applied in order, each
once (:mod:`streams.storage.migrations`); ``grafana/*.json`` are the dashboards that
``inferwatch grafana`` provisions and Grafana's file provisioning mounts. Read them with
:func:`importlib.resources.files`, so an installed wheel finds them as a checkout does.
"""
