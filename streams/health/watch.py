"""The pipeline's own health as alerts: schema faults (dead-letter rates) and consumer lag.

Kafka-free: the health loop (:mod:`streams.health.loop`) feeds it dead letters, topic
volumes and group lags, and produces the :class:`~streams.wire.events.Alert` events it
returns. Each alert's identity is computed once from what fired, so its resolve, a
re-fire and a replay after a restart carry the same fingerprint and labels:

- ``schema``: (model, source topic, reason); the model is ``*`` when the dead record
  names none (an undecodable record concerns every model);
- ``consumer_lag``: (group, topic), model ``*``.

After a restart, :meth:`HealthWatch.adopt` reopens the alerts that the alerts topic
still shows firing, so each one resolves when its condition clears.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from detectors.consumer_lag import ConsumerLag
from detectors.dead_letter_rate import DeadLetterRate
from detectors.fingerprint import fingerprint
from detectors.sustained import HealthChange, key_of
from streams.settings import HealthSettings
from streams.wire.dead_letter import H_KIND, H_TOPIC
from streams.wire.events import Alert

SCHEMA = "schema"
CONSUMER_LAG = "consumer_lag"
EVERY_MODEL = "*"


class _Named(msgspec.Struct):
    model: str = EVERY_MODEL


_named = msgspec.json.Decoder(_Named)


def model_of(value: bytes | None) -> str:
    """The model a dead record names, or ``*`` when it names none (or cannot be read)."""
    try:
        model = _named.decode(value or b"").model
    except msgspec.MsgspecError:
        return EVERY_MODEL
    return model if model and model.isprintable() else EVERY_MODEL


def identity(detector: str, parts: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The fingerprint and the labels of the health alert on ``parts``."""
    if detector == SCHEMA:
        model, topic, reason = parts
        what = {"source_topic": topic, "reason": reason}
    else:
        model = EVERY_MODEL
        group, topic = parts
        what = {"group": group, "topic": topic}
    fp = fingerprint(model, detector, ",".join(f"{k}={v}" for k, v in what.items()))
    labels = {"alertname": detector, "model": model, "detector": detector,
              "severity": "page", **what}
    return fp, labels


def describe(detector: str, labels: Mapping[str, str],
             evidence: Mapping[str, float | str]) -> str:
    """One line on what fired, with the evidence now."""
    if detector == SCHEMA:
        return (f"{float(evidence['share']):.1%} of {labels['source_topic']} records "
                f"dead-lettered ({labels['reason']}) over {float(evidence['window_s']):g}s "
                f"(bound {float(evidence['max_share']):.1%})")
    return (f"consumer group {labels['group']} is {float(evidence['lag']):.0f} records "
            f"behind on {labels['topic']} (bound {float(evidence['max_lag']):.0f})")


class HealthWatch:
    """The schema and lag rules, and the alerts their changes make."""

    def __init__(self, settings: HealthSettings, dashboard_url: str = "") -> None:
        s = settings
        self.settings = settings
        self.dashboard_url = dashboard_url
        self.schema = DeadLetterRate(
            max_share=s.dead_letter_share, window_s=s.dead_letter_window_s,
            min_records=s.dead_letter_min_records, fire_after_s=s.schema_fire_after_s,
            resolve_after_s=s.schema_resolve_after_s)
        self.lag = ConsumerLag(max_lag=s.lag_max, fire_after_s=s.lag_fire_after_s,
                               resolve_after_s=s.lag_resolve_after_s)

    def dead_letters(self, records: Iterable[tuple[list[tuple[str, bytes]], bytes | None,
                                                   float]]) -> None:
        """Count dead letters: each its headers, its value and when it was written."""
        counts: Counter[tuple[str, str, str, float]] = Counter()
        for headers, value, at in records:
            h = {k: v.decode("utf-8", "replace") for k, v in headers}
            counts[(model_of(value), h.get(H_TOPIC, "?"), h.get(H_KIND, "?"), at)] += 1
        for (model, topic, reason, at), n in sorted(counts.items()):
            self.schema.add_dead_letters(model, topic, reason, n, now=at)

    def volumes(self, end_offsets: Mapping[str, int], *, now: float) -> None:
        """Each source topic's end offsets (summed over partitions) at ``now``."""
        for topic, end in end_offsets.items():
            self.schema.add_volume(topic, end, now=now)

    def evaluate(self, lags: Mapping[tuple[str, str], int], *, now: float) -> list[Alert]:
        """Judge both rules at ``now``; the alerts of their changes."""
        return ([self._alert(SCHEMA, c) for c in self.schema.evaluate(now=now)]
                + [self._alert(CONSUMER_LAG, c) for c in self.lag.evaluate(lags, now=now)])

    def adopt(self, alerts: Iterable[Alert]) -> list[str]:
        """Reopen the health alerts whose latest event (in order) is a firing one.

        Returns their fingerprints.
        """
        latest: dict[str, Alert] = {}
        for alert in alerts:
            if alert.labels.get("detector") in (SCHEMA, CONSUMER_LAG):
                latest[alert.fingerprint] = alert
        reopened = []
        for fp, alert in sorted(latest.items()):
            if alert.status != "firing":
                continue
            lb = alert.labels
            if lb["detector"] == SCHEMA:
                self.schema.condition.open(
                    key_of((lb["model"], lb["source_topic"], lb["reason"])), alert.starts_at)
            else:
                self.lag.condition.open(key_of((lb["group"], lb["topic"])), alert.starts_at)
            reopened.append(fp)
        return reopened

    def snapshot(self) -> dict[str, Any]:
        return {"schema": self.schema.snapshot(), "lag": self.lag.snapshot()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.schema.restore(snapshot["schema"])
        self.lag.restore(snapshot["lag"])

    def _alert(self, detector: str, change: HealthChange) -> Alert:
        fp, labels = identity(detector, change.parts)
        what = describe(detector, labels, change.evidence)
        where = labels["model"] if labels["model"] != EVERY_MODEL else "every model"
        return Alert(
            fingerprint=fp, status="firing" if change.status == "firing" else "resolved",
            severity="page", labels=labels,
            annotations={"summary": f"{where}: {what}",
                         "description": ", ".join(f"{k}={v}"
                                                  for k, v in change.evidence.items()),
                         "dashboard": self.dashboard_url},
            starts_at=change.starts_at, ends_at=change.ends_at,
            evidence=dict(change.evidence))
