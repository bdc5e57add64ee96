"""Settings of each component, read from ``INFERWATCH_*`` environment variables.

One settings object per component; every field has its default and its doc together.
:func:`load` turns a validation failure into a :class:`~streams.errors.ConfigError`
that names the environment variable, so a bad setting fails at start, not mid-stream.
Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal, TypeVar, get_args

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.version_binding import VersionBinding
from streams.decision.experiment_config import parse_experiments
from streams.errors import ConfigError

_ROOT = Path.cwd()


class KafkaSettings(BaseSettings):
    """Where the broker is, how to reach it securely, and how topics are named."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_KAFKA_", extra="ignore")

    bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated.")
    topic_prefix: str = Field("inferwatch.", description="Prefix of every topic name.")
    replication_factor: int = Field(1, ge=1, description="Replication factor of created "
                                    "topics (3 on a production cluster).")
    min_insync_replicas: int | None = Field(
        None, ge=1, description="min.insync.replicas of created topics: how many replicas "
        "must have a record before an acks=all write succeeds; default min(2, "
        "replication_factor).")
    max_record_bytes: int = Field(
        1024 * 1024, ge=1024, description="Records larger than this are dead-lettered."
    )
    session_timeout_ms: int = Field(10_000, ge=1000, description="Consumer session timeout.")
    worker_id: str = Field("w0", min_length=1, description="Stable id of this worker "
                           "(names its transactional producers; a restart with the same id "
                           "fences the previous incarnation).")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients talk to the brokers: encrypted (SSL), "
        "authenticated (SASL), both, or neither.")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol).")
    sasl_username: str = Field("", description="SASL user (with a SASL_* protocol).")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password (with a SASL_* protocol); never logged.")
    ssl_cafile: Path | None = Field(
        None, description="PEM file of the CAs that sign the brokers' certificates "
        "(with SSL or SASL_SSL); unset: the system's trust store.")
    ssl_certfile: Path | None = Field(
        None, description="PEM certificate of this client, for brokers that ask for one.")
    ssl_keyfile: Path | None = Field(
        None, description="PEM private key of ssl_certfile (unset: it is in ssl_certfile).")

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        """Refuse a combination that would connect otherwise than the operator meant."""
        env = "INFERWATCH_KAFKA_"
        protocol = f"{env}SECURITY_PROTOCOL={self.security_protocol}"
        sasl = self.security_protocol.startswith("SASL_")
        tls = self.security_protocol.endswith("SSL")
        if sasl and not self.sasl_username:
            raise ValueError(f"{env}SASL_USERNAME is required with {protocol}")
        if sasl and not (self.sasl_password and self.sasl_password.get_secret_value()):
            raise ValueError(f"{env}SASL_PASSWORD is required with {protocol}")
        if not sasl and (self.sasl_username or self.sasl_password is not None):
            name = "SASL_USERNAME" if self.sasl_username else "SASL_PASSWORD"
            raise ValueError(f"{env}{name} is set but {protocol} does not authenticate "
                             "with SASL: use SASL_SSL (or SASL_PLAINTEXT), or unset it")
        files = {"SSL_CAFILE": self.ssl_cafile, "SSL_CERTFILE": self.ssl_certfile,
                 "SSL_KEYFILE": self.ssl_keyfile}
        for name, value in files.items():
            if value is not None and not tls:
                raise ValueError(f"{env}{name} is set but {protocol} does not use TLS: "
                                 "use SSL or SASL_SSL, or unset it")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError(f"{env}SSL_KEYFILE needs {env}SSL_CERTFILE (its certificate)")
        if self.min_insync_replicas is not None and (
                self.min_insync_replicas > self.replication_factor):
            raise ValueError(f"{env}MIN_INSYNC_REPLICAS={self.min_insync_replicas} is more "
                             f"than {env}REPLICATION_FACTOR={self.replication_factor}: "
                             "no write could ever succeed")
        return self

    @property
    def min_isr(self) -> int:
        """min.insync.replicas of created topics."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return min(2, self.replication_factor)


class InferenceSettings(BaseSettings):
    """How the inference agent batches and where its models live."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_INFERENCE_", extra="ignore")

    model_dir: Path = Field(_ROOT / "var" / "models", description="Model store root.")
    max_batch: int = Field(256, ge=1, le=65536, description="Flush a model batch at this size.")
    max_wait_ms: float = Field(
        20.0, ge=0, le=60_000, description="…or when the oldest waited this long.")
    device: str | None = Field(None, description="Force a torch device; default cuda if present.")
    variants: str = Field("A=1.0", description="Traffic split, e.g. 'A=0.9,B=0.1'.")
    experiment: str = Field(
        "", description="The experiment the traffic split serves: it salts the sticky hash "
        "of (experiment, unit id), so separate experiments split units independently.")
    variant_versions: str = Field(
        "", description="Model version served per variant, 'MODEL:VARIANT=VERSION' "
        "comma-separated, e.g. 'churn:A=v1,churn:B=v2'; VERSION is a published version or "
        "'latest'. An unbound variant serves the latest version.")

    @field_validator("variants")
    @classmethod
    def _split_parses(cls, value: str) -> str:
        parse_split(value)
        return value

    @field_validator("variant_versions")
    @classmethod
    def _binding_parses(cls, value: str) -> str:
        VersionBinding.parse(value)
        return value

    @property
    def split(self) -> dict[str, float]:
        return parse_split(self.variants)

    @property
    def binding(self) -> VersionBinding:
        return VersionBinding.parse(self.variant_versions)


class MonitorSettings(BaseSettings):
    """Windows and thresholds of the monitors and the decision step."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_MONITOR_", extra="ignore")

    summary_size: int = Field(
        250, ge=1, description="A partition emits a summary every N predictions…")
    summary_interval_s: float = Field(1.0, gt=0, description="…or every this many seconds.")
    window_size: int = Field(1000, ge=50, description="Predictions per decision window per model.")
    window_max_s: float = Field(30.0, gt=0, description="Close a window after this long if it has "
                                "at least min_window predictions.")
    min_window: int = Field(200, ge=10, description="Smallest window that is judged.")
    drift_alpha: float = Field(0.001, gt=0, lt=1, description="False-discovery rate over features.")
    drift_min_psi: float = Field(0.1, ge=0, description="Smallest PSI that counts as drift.")
    latency_quantile: float = Field(0.99, gt=0, lt=1, description="Latency quantile watched.")
    latency_threshold_s: float = Field(
        0.25, gt=0, description="Alert when that quantile exceeds this.")
    fire_after: int = Field(2, ge=1, description="Consecutive bad windows before an alert fires.")
    resolve_after: int = Field(2, ge=1, description="Consecutive good windows before it resolves.")
    retrain_after: int = Field(
        3, ge=1, description="Windows of sustained drift before a retrain.")
    retrain_cooldown_s: float = Field(
        3600.0, ge=0, description="At most one retrain per model per this.")
    slo_objective: float = Field(0.99, gt=0, lt=1, description="Latency SLO: this share of "
                                 "requests under slo_threshold_s over slo_period_days.")
    slo_threshold_s: float = Field(0.2, gt=0, description="Latency SLO threshold, seconds.")
    slo_period_days: float = Field(30.0, gt=0, description="SLO period (latency and errors).")
    slo_error_objective: float = Field(0.999, gt=0, lt=1, description="Error-rate SLO: this "
                                       "share of requests answered without a model error.")
    concept_baseline_labelled: int = Field(1000, ge=1, description="Labelled predictions "
                                           "that set a model's baseline error rate.")
    concept_alpha: float = Field(0.001, gt=0, lt=1, description="Significance of a window's "
                                 "error-rate rise over the baseline.")
    concept_min_increase: float = Field(0.05, ge=0, le=1, description="Smallest rise of the "
                                        "error rate (absolute) that counts as concept drift.")
    embedding_sample: int = Field(128, ge=16, le=1024, description="Input embeddings kept "
                                  "per window (a bottom-k sample by request-id hash) and in "
                                  "a model's embedding reference.")
    embedding_reference: int = Field(512, ge=32, le=8192, description="Input embeddings "
                                     "of a model's first windows that form its reference "
                                     "(several windows' worth, so that one unusual window "
                                     "does not make every later test fire more often).")
    embedding_permutations: int = Field(400, ge=19, le=10_000, description="Permutations "
                                        "of the MMD test (its p-value is at least "
                                        "1 / (1 + this)).")
    embedding_alpha: float = Field(0.005, gt=0, lt=1, description="Significance of a "
                                   "window's embedding drift decision against the "
                                   "reference: the MMD and the novelty tests each at half.")
    dashboard_url: str = Field(
        "http://127.0.0.1:3000/d/inferwatch", description="Linked from alerts.")
    experiments: str = Field(
        "", description="Champion/challenger experiments, 'NAME=MODEL:CHAMPION:CHALLENGER:"
        "SHARE' comma-separated, e.g. 'churn-v2=churn:A:B:0.5' (SHARE: the challenger's).")
    ab_alpha: float = Field(0.05, gt=0, lt=0.5, description="Experiments: level of the "
                            "always-valid tests (two-sided primary, one-sided guardrails).")
    ab_tuning_n: float = Field(5000.0, gt=0, description="Experiments: the units (both "
                               "arms) the mixture SPRT is tuned for (GrowthBook's default).")
    ab_horizon: int = Field(200_000, ge=200, description="Experiments: labelled predictions "
                            "(both arms) after which no difference is 'inconclusive'.")
    ab_srm_level: float = Field(0.001, gt=0, lt=1, description="Experiments: level of the "
                                "sequential sample-ratio-mismatch test.")
    ab_slow_margin: float = Field(0.01, ge=0, lt=1, description="Experiments: roll back a "
                                  "challenger whose share of predictions over the latency SLO "
                                  "threshold exceeds the champion's by more than this.")
    ab_error_margin: float = Field(0.005, ge=0, lt=1, description="Experiments: roll back a "
                                   "challenger whose share of model errors exceeds the "
                                   "champion's by more than this.")

    @field_validator("experiments")
    @classmethod
    def _experiments_parse(cls, value: str) -> str:
        parse_experiments(value)
        return value

    @field_validator("embedding_alpha")
    @classmethod
    def _reachable_alpha(cls, alpha: float, info: ValidationInfo) -> float:
        permutations = info.data.get("embedding_permutations", 400)
        if alpha / 2 < 1 / (1 + permutations):
            raise ValueError(f"half of {alpha} (the MMD test's share of it) is below the "
                             f"smallest p-value of {permutations} permutations, "
                             f"1/{permutations + 1}: the MMD could never fire (raise "
                             "INFERWATCH_MONITOR_EMBEDDING_PERMUTATIONS)")
        return alpha


class ClickHouseSettings(BaseSettings):
    """Where metrics are stored: embedded chDB by default, a server by URL."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_CLICKHOUSE_", extra="ignore")

    url: str = Field(
        "", description="http(s)://user@host:port/db of a server; empty = embedded chDB.")
    path: Path = Field(_ROOT / "var" / "chdb", description="Data folder of the embedded engine.")
    batch_max: int = Field(2000, ge=1, description="Most records per insert (smaller batches "
                           "keep the event loop, shared with inference, responsive).")
    batch_wait_ms: int = Field(500, ge=1, description="Longest wait to fill a batch.")
    retry_max_s: float = Field(30.0, gt=0, description="Longest backoff between insert retries.")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "chdb://")):
            raise ValueError("must start with http://, https:// or chdb://")
        return value

    @property
    def dsn(self) -> str:
        return self.url or f"chdb://{self.path.resolve()}"


def parse_split(text: str) -> dict[str, float]:
    """Parse 'A=0.9,B=0.1' into a traffic split that sums to 1.

    >>> parse_split("A=0.9,B=0.1")
    {'A': 0.9, 'B': 0.1}
    """
    split: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, share = part.partition("=")
        if not sep or not name:
            raise ValueError(f"expected VARIANT=SHARE, got {part!r}")
        split[name.strip()] = float(share)
    if (not split or not all(math.isfinite(v) and v >= 0 for v in split.values())
            or abs(sum(split.values()) - 1) > 1e-9):
        raise ValueError(f"shares must be non-negative and sum to 1, got {text!r}")
    return split


S = TypeVar("S", bound=BaseSettings)
_SECRETISH = re.compile("KEY|TOKEN|SECRET|PASSWORD")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def load(cls: type[S]) -> S:
    """Build ``cls`` from the environment, or raise ConfigError naming the variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a check across fields: its message names them, no input shown
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            name = "_".join(str(p) for p in err["loc"]).upper()
            value = err.get("input")
            if isinstance(value, str):  # a URL's user:password@ never reaches a log
                value = _USERINFO.sub("***@", value)
            shown = "" if _SECRETISH.search(name) else f" (got {value!r})"
            problems.append(f"{prefix}{name}: {err['msg']}{shown}")
        raise ConfigError("bad setting: " + "; ".join(problems)) from None


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
    cooldown_s: float = Field(1800.0, ge=0, description="A resolved incident that fires again "
                              "within this is reopened quietly.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Port of the worker's Prometheus "
                              "/metrics endpoint; 0: not served.")

    @field_validator("alertmanager_url", "webhook_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

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


def variables() -> dict[str, bool]:
    """Every ``INFERWATCH_*`` variable a settings class here reads, and whether it is a
    secret (a ``SecretStr`` field): what a deployment's ConfigMap and Secret may hold.

    >>> names = variables()
    >>> names["INFERWATCH_KAFKA_BOOTSTRAP"], names["INFERWATCH_ALERTING_WEBHOOK_TOKEN"]
    (False, True)
    """
    found: dict[str, bool] = {}
    for cls in list(globals().values()):
        if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls is not BaseSettings:
            prefix = cls.model_config.get("env_prefix", "")
            for name, info in cls.model_fields.items():
                kinds = (info.annotation, *get_args(info.annotation))
                found[f"{prefix}{name}".upper()] = SecretStr in kinds
    return found
