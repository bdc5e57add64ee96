"""inferwatch's own operational metrics, in base units, for a Prometheus ``/metrics``.

On-call watches the watcher: how far behind each consumer is, how fast events flow,
what is dead-lettered and why, how alert delivery fares. Each worker builds one
:class:`OpsMetrics` on its own registry (no global state, so tests and several apps in
one process do not collide); :class:`~streams.telemetry.web_port.WebPort` serves it.

Examples
--------
>>> m = OpsMetrics()
>>> m.events_processed.labels(stage="monitor").inc(1000)
>>> m.observe_delivery("slack", "retry")
>>> b"inferwatch_sink_retries_total{sink=\\"slack\\"} 1.0" in m.exposition()
True
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["OpsMetrics"]

_BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OpsMetrics:
    """The worker's metrics, registered on ``registry`` (a fresh one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.consumer_lag = Gauge(
            "inferwatch_consumer_lag_records", "Records between the committed offset and the "
            "log end, per topic and partition.", ["topic", "partition"], registry=r)
        self.events_processed = Counter(
            "inferwatch_events_processed", "Events processed, per pipeline stage "
            "(rate() gives events per second).", ["stage"], registry=r)
        self.dead_letters = Counter(
            "inferwatch_dead_letters", "Records sent to the dead-letter topic, by reason.",
            ["reason"], registry=r)
        self.sink_skipped = Counter(
            "inferwatch_sink_skipped_records", "Records the sink could not decode and did not "
            "dead-letter (predictions: the monitor does; internal topics: written by "
            "inferwatch), per topic.", ["topic"], registry=r)
        self.sink_retries = Counter(
            "inferwatch_sink_retries", "Retried deliveries or writes, per sink.", ["sink"],
            registry=r)
        self.alert_deliveries = Counter(
            "inferwatch_alert_deliveries", "Alert delivery outcomes (delivered, rejected, "
            "spilled, duplicate) per sink.", ["sink", "outcome"], registry=r)
        self.slo_budget_remaining = Gauge(
            "inferwatch_slo_error_budget_remaining_ratio", "Share of the SLO period's error "
            "budget not yet spent (1 untouched, 0 spent, negative overspent).",
            ["model", "variant", "slo"], registry=r)
        self.batch_duration = Histogram(
            "inferwatch_batch_duration_seconds", "Time to process one batch, per stage.",
            ["stage"], buckets=_BATCH_BUCKETS, registry=r)

    def observe_delivery(self, sink: str, outcome: str) -> None:
        """Count one outbox outcome; fits ``Outbox(on_outcome=...)``."""
        if outcome == "retry":
            self.sink_retries.labels(sink=sink).inc()
        else:
            self.alert_deliveries.labels(sink=sink, outcome=outcome).inc()

    def set_lag(self, topic: str, partition: int, records: int) -> None:
        """Set one partition's consumer lag in records."""
        self.consumer_lag.labels(topic=topic, partition=str(partition)).set(records)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (what ``/metrics`` answers)."""
        return generate_latest(self.registry)

