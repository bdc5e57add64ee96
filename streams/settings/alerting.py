"""Where alerts go (Alertmanager, webhook, Slack, PagerDuty) and the Grafana dashboard."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings.values import url_scheme

#: relative default paths resolve against the directory the command started in
_ROOT = Path.cwd()


class AlertingSettings(BaseSettings):
    """Where alerts go, and how incidents are grouped and damped."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_ALERTING_", extra="ignore")

    alertmanager_url: str = Field("", description="Alertmanager base URL (v2 API), e.g. "
                                  "http://alertmanager:9093; empty: not used.")
    webhook_url: str = Field("", description="Generic JSON webhook; empty: not used.")
    webhook_token: SecretStr | None = Field(None, description="Bearer token of the webhook.")
    slack_webhook_url: SecretStr | None = Field(None, description="Slack incoming webhook.")
    pagerduty_routing_key: SecretStr | None = Field(None, description="PagerDuty Events v2 "
                                                    "routing key.")
    spill_dir: Path = Field(_ROOT / "var" / "outbox", description="Outbox overflow and the "
                            "accepted-notification log (no incident is notified twice).")
    group_wait_s: float = Field(0.5, ge=0, description="A new incident waits this long for "
                                "more alerts before its first notification, so alerts that "
                                "fire together (one decision window's) arrive as one; longer "
                                "also gathers later windows' alerts, and pages that much "
                                "later.")
    group_interval_s: float = Field(300.0, ge=0, description="Least time between two "
                                    "notifications of one incident: an alert of a detector "
                                    "not yet named that joins an incident already notified "
                                    "(a new cause) is notified as an update at most this "
                                    "long after it joined (Alertmanager's group_interval "
                                    "and its default); more features of a drift already "
                                    "named ride along and are listed in the resolve.")
    cooldown_s: float = Field(1800.0, ge=0, description="A resolved incident that fires again "
                              "within this is reopened quietly.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Port of the worker's Prometheus "
                              "/metrics endpoint; 0: not served.")

    _http = field_validator("alertmanager_url", "webhook_url")(url_scheme("http://", "https://"))

    @property
    def any_sink(self) -> bool:
        return bool(self.alertmanager_url or self.webhook_url or self.slack_webhook_url
                    or self.pagerduty_routing_key)


class GrafanaSettings(BaseSettings):
    """Where `inferwatch grafana` provisions the dashboard, and how Grafana reaches ClickHouse."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_GRAFANA_", extra="ignore")

    url: str = Field("http://127.0.0.1:3000", description="Grafana's base URL.")
    token: SecretStr | None = Field(None, description="Service-account token (Admin role to "
                                    "create the data source).")
    clickhouse_host: str = Field("127.0.0.1", description="ClickHouse host as Grafana sees it.")
    clickhouse_port: int = Field(8123, ge=1, le=65535, description="ClickHouse port.")
    clickhouse_protocol: str = Field("http", description="http or native.")
    clickhouse_user: str = Field("default", description="A read-only user is enough.")
    clickhouse_password: SecretStr | None = Field(None, description="Its password.")
    folder_uid: str | None = Field(None, description="Grafana folder of the dashboard.")

    @field_validator("clickhouse_protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in ("http", "native"):
            raise ValueError("must be one of ['http', 'native']")
        return value
