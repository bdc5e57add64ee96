"""What of a prediction's private fields may reach ClickHouse: nothing, or a keyed hash.

The A/B unit id (a user, a session) is dropped, replaced by its HMAC-SHA256 under a
secret key (so units still group and count, but the id cannot be read back or guessed
without the key), or kept; named features are removed from the stored feature map.
Prompt text and input embeddings have no column in any table, and dead letters are
stored as their reason and offsets (their raw bytes stay in Kafka), so these fields are
the whole of what a stored row could reveal.

The policy is read from the ClickHouse settings
(:meth:`~streams.settings.clickhouse.ClickHouseSettings.private_fields`), so it lives with
them; storage applies it once, where rows are built (:mod:`streams.storage.metric_rows`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

UnitIdPolicy = Literal["drop", "hash", "keep"]


@dataclass(frozen=True)
class PrivateFields:
    """The privacy policy of stored rows.

    Examples
    --------
    >>> policy = PrivateFields(unit_id="hash", private_features=frozenset({"income"}),
    ...                        hash_key=b"0123456789abcdef")
    >>> policy.unit("user-42") == hmac.new(b"0123456789abcdef", b"user-42", "sha256").hexdigest()
    True
    >>> policy.features({"income": 52000.0, "age": 41.0})
    {'age': 41.0}
    """

    unit_id: UnitIdPolicy = "drop"
    """``drop``: store ''; ``hash``: store the keyed hash; ``keep``: store the id."""
    private_features: frozenset[str] = frozenset()
    """Feature names removed before storing."""
    hash_key: bytes = field(default=b"", repr=False)
    """The HMAC key; required when something is hashed."""

    def __post_init__(self) -> None:
        if self.unit_id not in ("drop", "hash", "keep"):
            raise ValueError(f"unit_id must be one of ['drop', 'hash', 'keep'], "
                             f"got {self.unit_id!r}")
        if self.unit_id == "hash" and len(self.hash_key) < 16:
            raise ValueError("hashing the unit id needs a hash_key of at least 16 bytes")

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the key, as 64 hex digits."""
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()

    def unit(self, unit_id: str) -> str:
        """What is stored of ``unit_id``."""
        if self.unit_id == "keep":
            return unit_id
        if self.unit_id == "hash" and unit_id:
            return self.keyed_hash(unit_id)
        return ""

    def features(self, features: dict[str, float]) -> dict[str, float]:
        """``features`` without the private ones (the same dict when none is there)."""
        if not self.private_features or self.private_features.isdisjoint(features):
            return features
        return {k: v for k, v in features.items() if k not in self.private_features}
