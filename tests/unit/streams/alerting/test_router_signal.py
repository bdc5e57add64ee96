"""A wire alert as the incident tracker sees it: every drift detector is "drift"."""

from __future__ import annotations

import pytest

from streams.alerting.router import signal_of
from streams.wire.events import Alert


def _alert(detector: str) -> Alert:
    return Alert(fingerprint="fp", status="firing", severity="page",
                 labels={"model": "m", "detector": detector, "segment": "*", "variant": "A"},
                 annotations={"summary": "s"}, starts_at=5.0)


@pytest.mark.parametrize("detector", ["feature_drift", "prediction_drift", "concept_drift",
                                      "embedding_drift"])
def test_drift_detectors_are_held_by_upstream_incidents(detector: str) -> None:
    signal = signal_of(_alert(detector))
    assert (signal.effective_kind, signal.detector, signal.model) == ("drift", detector, "m")


def test_other_detectors_keep_their_own_kind() -> None:
    assert signal_of(_alert("latency_quantile")).effective_kind == "latency_quantile"
