"""The worker's web port: metrics, liveness and readiness."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """The worker's web port: /metrics, /livez and /readyz (the port is
    ``INFERWATCH_ALERTING_METRICS_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_WEB_", extra="ignore")

    host: str = Field("127.0.0.1", min_length=1, description="Address the web port listens "
                      "on; 0.0.0.0 in a container, so that probes and scrapers reach it.")
    ready_commit_age_s: float = Field(60.0, gt=0, description="Ready only while every loop "
                                      "that holds partitions has committed all it consumed "
                                      "within this many seconds.")
    live_timeout_s: float = Field(5.0, gt=0, le=60, description="Live only while the event "
                                  "loop runs a callback within this many seconds.")
