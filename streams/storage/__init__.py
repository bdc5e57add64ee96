"""Storage: the sink loop, the rows each event becomes, the ClickHouse store and its
migrations, and the private fields that are never stored.

May import the ground floors, :mod:`streams.settings` and :mod:`streams.kafka`.
"""
