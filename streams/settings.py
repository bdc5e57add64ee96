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
from streams.errors import ConfigError
from streams.private_fields import PrivateFields

_ROOT = Path.cwd()
_PASSWORD_IN_URL = re.compile(r"://[^/@\s]*:[^/@\s]*@")


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
    dead_letter_retention_ms: int = Field(
        7 * 24 * 3600 * 1000, ge=60_000, description="How long the dead-letter topic keeps "
        "records (retention.ms at creation). Dead letters hold the raw bytes, private "
        "fields included, and only Kafka holds them: ClickHouse stores reason and offsets.")
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
    quality_tolerance: float = Field(0.02, ge=0, lt=1, description="Rise of a feature's "
                                     "share of bad values (missing, non-finite, outside "
                                     "the training range, or a feature the reference does "
                                     "not know) over the reference's share that is "
                                     "tolerated before a data-quality page.")
    quality_alpha: float = Field(0.001, gt=0, lt=1, description="False discovery rate of "
                                 "the data-quality tests over a model's features.")
    dashboard_url: str = Field(
        "http://127.0.0.1:3000/d/inferwatch", description="Linked from alerts.")

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


class HealthSettings(BaseSettings):
    """The health loop: dead-letter rates (schema alerts) and consumer lag."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_HEALTH_", extra="ignore")

    interval_s: float = Field(2.0, gt=0, description="Seconds between evaluations.")
    dead_letter_share: float = Field(0.05, gt=0, lt=1, description="Share of a source "
                                     "topic's records dead-lettered for one reason, over "
                                     "dead_letter_window_s, that is a schema fault.")
    dead_letter_window_s: float = Field(30.0, gt=0, description="Seconds over which the "
                                        "dead-letter share is measured.")
    dead_letter_min_records: int = Field(50, ge=1, description="Fewest source records in "
                                         "the window for a share to be judged.")
    schema_fire_after_s: float = Field(10.0, ge=0, description="A dead-letter share over "
                                       "the bound this long pages.")
    schema_resolve_after_s: float = Field(15.0, ge=0, description="Under the bound this "
                                          "long, the schema alert resolves.")
    lag_max: int = Field(10_000, ge=1, description="Records a consumer group may be behind "
                         "on a topic.")
    lag_fire_after_s: float = Field(120.0, ge=0, description="Lag over lag_max this long "
                                    "pages.")
    lag_resolve_after_s: float = Field(60.0, ge=0, description="Lag under lag_max this "
                                       "long resolves.")
    lag_groups: str = Field("", description="Comma-separated consumer groups to watch; "
                            "empty: every group whose name starts with the topic prefix "
                            "(the workers' own).")

    @property
    def groups(self) -> list[str]:
        return [g.strip() for g in self.lag_groups.split(",") if g.strip()]


class ClickHouseSettings(BaseSettings):
    """Where metrics are stored: embedded chDB by default, a server by URL."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_CLICKHOUSE_", extra="ignore")

    url: str = Field(
        "", description="http(s)://host:port/db of a server; empty = embedded chDB. The "
        "password goes in INFERWATCH_CLICKHOUSE_PASSWORD, never in the URL.")
    user: str = Field("", description="ClickHouse user of a server; empty: the URL's, "
                      "else the server's default user.")
    password: SecretStr | None = Field(None, description="That user's password.")
    tls_verify: bool = Field(True, description="Check the https server's certificate (and "
                             "host name); turn off only for a test server.")
    ca_file: Path | None = Field(None, description="CA bundle (PEM) that signed the https "
                                 "server's certificate; default: the system's.")
    path: Path = Field(_ROOT / "var" / "chdb", description="Data folder of the embedded engine.")
    batch_max: int = Field(2000, ge=1, description="Most records per insert (smaller batches "
                           "keep the event loop, shared with inference, responsive).")
    batch_wait_ms: int = Field(500, ge=1, description="Longest wait to fill a batch.")
    retry_max_s: float = Field(30.0, gt=0, description="Longest backoff between insert retries.")
    unit_id: Literal["drop", "hash", "keep"] = Field(
        "drop", description="What predictions.unit_id stores of the A/B unit (a user, a "
        "session): nothing, its keyed hash (HMAC-SHA256 with hash_key: units still group "
        "and count), or the raw id.")
    private_features: str = Field(
        "", description="Features never stored, comma-separated names: removed from "
        "predictions.features before the insert (they are still monitored).")
    hash_key: SecretStr | None = Field(
        None, validate_default=True, description="Key of the keyed hash (at least 16 "
        "characters); required when a field is hashed. Keep it: a new key gives new hashes.")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "chdb://")):
            raise ValueError("must start with http://, https:// or chdb://")
        if _PASSWORD_IN_URL.search(value):
            raise ValueError("must not carry a password (user:password@): set "
                             "INFERWATCH_CLICKHOUSE_PASSWORD instead")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("hash_key")
    @classmethod
    def _key_when_hashing(cls, key: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("unit_id") == "hash" and key is None:
            raise ValueError("is required when INFERWATCH_CLICKHOUSE_UNIT_ID=hash")
        if key is not None and len(key.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return key

    @property
    def dsn(self) -> str:
        return self.url or f"chdb://{self.path.resolve()}"

    def private_fields(self) -> PrivateFields:
        """The privacy policy of stored rows, as the sink applies it."""
        return PrivateFields(
            unit_id=self.unit_id,
            private_features=frozenset(filter(None, (f.strip() for f in
                                                     self.private_features.split(",")))),
            hash_key=self.hash_key.get_secret_value().encode() if self.hash_key else b"")


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
