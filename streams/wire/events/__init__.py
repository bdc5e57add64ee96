"""Wire schemas of every event inferwatch reads or writes.

Each event is a ``msgspec.Struct`` with a ``schema_version`` field fixed to the version
this code speaks; decoding validates types, the version and the values (finite numbers,
known enums) in one pass, without per-event pydantic. Timestamps are seconds since the
epoch (float, UTC). Field names are the JSON keys.

Events are untracked by the cyclic garbage collector (``gc=False``): they hold only
strings, numbers and containers of them, so they can never be part of a reference cycle,
and a decoded batch no longer wakes the collector to walk every struct (a third of the
decoding cost of a Prediction).

This package is the public surface; its private modules hold one topic family each: the
traffic (requests, predictions, outcomes), the verdicts (detector reports, alerts, retrain
requests and decisions), the model-updates topic and its tagged union, and the monitors'
summary.
"""

from streams.wire.events._base import (
    SCHEMA_VERSION,
    AlertStatus,
    Decision,
    Event,
    OutcomeKind,
    Severity,
)
from streams.wire.events._model_updates import (
    ExperimentAction,
    ExperimentDecided,
    ExperimentStarted,
    ModelUpdate,
    ModelVersionPublished,
    ShadowAction,
    ShadowDecided,
    ValidationCheck,
)
from streams.wire.events._summary import CostSums, MonitorSummary, ShadowPairs
from streams.wire.events._traffic import (
    Cost,
    InferenceRequest,
    Latency,
    ModelOutput,
    Outcome,
    Prediction,
    ShadowPrediction,
)
from streams.wire.events._verdicts import Alert, DetectorReport, RetrainDecided, RetrainRequested

__all__ = [
    "SCHEMA_VERSION",
    "Alert",
    "AlertStatus",
    "Cost",
    "CostSums",
    "Decision",
    "DetectorReport",
    "Event",
    "ExperimentAction",
    "ExperimentDecided",
    "ExperimentStarted",
    "InferenceRequest",
    "Latency",
    "ModelOutput",
    "ModelUpdate",
    "ModelVersionPublished",
    "MonitorSummary",
    "Outcome",
    "OutcomeKind",
    "Prediction",
    "RetrainDecided",
    "RetrainRequested",
    "Severity",
    "ShadowAction",
    "ShadowDecided",
    "ShadowPairs",
    "ShadowPrediction",
    "ValidationCheck",
]
