"""The Kafka side of every loop: clients, the transactional batch loop, the record writer,
one topic reader, and the pure :class:`~streams.kafka.stage.Stage` protocol the loops run.

May import :mod:`streams.wire`, :mod:`streams.telemetry`, :mod:`streams.experiments` and
:mod:`streams.settings`.
"""
