"""Storage: the sink loop, the rows each event becomes, the ClickHouse store and its
migrations; it applies the private-fields policy of
:mod:`streams.settings.private_fields`, so those fields are never stored.

May import lines 1 to 4: :mod:`streams.wire`, :mod:`streams.telemetry`,
:mod:`streams.experiments`, :mod:`streams.settings`, :mod:`streams.kafka`; not the other
folders of line 5.
"""
