"""Champion/challenger experiments: the spec (arms, share, guardrails) and its lifecycle.

The lifecycle (start, stop) works on the registry and is handed the function that
publishes its event, so it needs no Kafka client. May import :mod:`streams.wire` and
:mod:`streams.telemetry`.
"""
