"""ClickHouse: the server or the embedded path, its credentials, and what may be stored."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings.private_fields import PrivateFields
from streams.settings.values import comma_names, readable_file, url_scheme

_ROOT = Path.cwd()
_PASSWORD_IN_URL = re.compile(r"://[^/@\s]*:[^/@\s]*@")


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
    batch_max: int = Field(10000, ge=1, description="Most records per insert; a batch is "
                           "written when this many are held (an insert's fixed cost, ~40 ms of "
                           "ClickHouse CPU, spreads over its rows: 20 µs a row at 2,000, 8 at "
                           "10,000).")
    batch_wait_ms: int = Field(500, ge=1, description="…or when the oldest record held has "
                               "waited this long: a quiet stream is written within it.")
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

    # the scheme is checked first: a URL of another scheme is named as that, password or not
    _scheme = field_validator("url")(url_scheme("http://", "https://", "chdb://"))
    _readable = field_validator("ca_file")(readable_file)

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        if _PASSWORD_IN_URL.search(value):
            raise ValueError("must not carry a password (user:password@): set "
                             "INFERWATCH_CLICKHOUSE_PASSWORD instead")
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
            private_features=frozenset(comma_names(self.private_features)),
            hash_key=self.hash_key.get_secret_value().encode() if self.hash_key else b"")
