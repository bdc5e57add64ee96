"""A worker's settings: the roles it runs and the settings of each component it hosts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from streams.settings.alerting import AlertingSettings
from streams.settings.clickhouse import ClickHouseSettings
from streams.settings.inference import InferenceSettings
from streams.settings.kafka import KafkaSettings
from streams.settings.monitor import HealthSettings, MonitorSettings
from streams.settings.retrain import RetrainSettings
from streams.settings.web import WebSettings

__all__ = ["ROLES", "WorkerConfig"]

#: every role a worker may run (``inferwatch worker --roles``), each a loop or a service
ROLES = ("inference", "monitor", "join", "decide", "sink", "route", "health", "retrain")


@dataclass
class WorkerConfig:
    """Everything a worker needs, validated at start."""

    kafka: KafkaSettings
    inference: InferenceSettings
    monitor: MonitorSettings
    clickhouse: ClickHouseSettings
    alerting: AlertingSettings = field(default_factory=lambda: AlertingSettings())
    web: WebSettings = field(default_factory=lambda: WebSettings())
    health: HealthSettings = field(default_factory=lambda: HealthSettings())
    retrain: RetrainSettings = field(default_factory=lambda: RetrainSettings())
    roles: tuple[str, ...] = ROLES
    datadir: Path = field(default_factory=lambda: Path("var") / "faust")
