"""Kafka: where the brokers are, how to reach them securely, and how topics are made."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings.values import readable_file


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

    _readable = field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")(readable_file)

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
