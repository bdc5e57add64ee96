"""Units first seen in a partition: what the sample-ratio test counts.

Assignment is sticky per unit (user, session), so all of a unit's requests land in one
arm: counted per prediction, a heavy user moves an arm's count by its request count, and a
healthy 50/50 split looks overdispersed (variance times ``E[k^2]/E[k]`` for ``k`` requests
per unit) to a test that assumes one independent draw per count. The sample-ratio test
therefore counts distinct units per arm. Predictions are keyed by request id, so a unit's
requests spread over the partitions: each partition sends, with its summary, the hashes of
the units it had not seen before (:class:`UnitSighting`), and the decision step keeps the
hashes it has counted per experiment (:class:`UnitTally`) and adds only new ones.

Both sets are bounded and not persisted: when one is full it is cleared, and after a clear,
a restart or a rebalance a returning unit is counted again. Which unit returns does not
depend on its arm, so recounts split as the shares do and the test stays valid; they only
add the (small) overdispersion of units counted a few times. Keep the units active over an
experiment under the caps, or sample them: with ``rate < 1`` only units whose hash falls
under ``rate`` are sent (the hash is not the router's, so the sample is independent of the
arm). A prediction without a unit id is no unit.

>>> s = UnitSighting()
>>> s.first_seen(0, "churn", "A", ["u1", "u2", "u1", ""]) == sorted(map(unit_key, ["u1", "u2"]))
True
>>> s.first_seen(0, "churn", "A", ["u2", "u3"]) == [unit_key("u3")]
True
>>> t = UnitTally(); t.new_units([unit_key("u1"), unit_key("u3")]), t.new_units([unit_key("u3")])
(2, 0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: most unit ids a partition remembers per model and variant before it starts again
MAX_PARTITION_UNITS = 50_000
#: most unit hashes the decision step remembers per experiment before it starts again
#: (about 30 MB)
MAX_EXPERIMENT_UNITS = 500_000
_SPACE = 1 << 64


def unit_key(unit_id: str) -> int:
    """The unit's 64-bit hash (unsigned; independent of the router's salted hash).

    >>> 0 <= unit_key("user-42") < 2 ** 64
    True
    """
    digest = hashlib.blake2b(unit_id.encode(), digest_size=8, person=b"iw-unit").digest()
    return int.from_bytes(digest, "little")


def _check_cap(cap: int) -> None:
    if cap < 1:
        raise ValueError(f"cap must be >= 1, got {cap}")


class UnitSighting:
    """Per (partition, model, variant), the units seen so far; reports the ones seen first.

    Per variant, so that a shadow's copy of a request cannot hide the unit from its arm.
    Clearing here only sends a unit again: the decision step's tally drops it."""

    def __init__(self, rate: float = 1.0, cap: int = MAX_PARTITION_UNITS) -> None:
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        _check_cap(cap)
        self.rate = rate
        self.cap = cap
        self._below = _SPACE if rate >= 1.0 else int(rate * _SPACE)
        self._seen: dict[tuple[int, str, str], set[str]] = {}

    def first_seen(self, partition: int, model: str, variant: str,
                   unit_ids: Iterable[str]) -> list[int]:
        """The hashes (sorted) of the sampled units of ``unit_ids`` this partition sees first.

        The set operations run in C; only a unit new to the partition is hashed."""
        seen = self._seen.setdefault((partition, model, variant), set())
        new = set(unit_ids) - seen
        new.discard("")
        if not new:
            return []
        if len(seen) + len(new) > self.cap:
            seen.clear()
        seen |= new
        return sorted(k for k in map(unit_key, new) if k < self._below)


class UnitTally:
    """The units of one experiment counted so far (all arms, all partitions)."""

    def __init__(self, cap: int = MAX_EXPERIMENT_UNITS) -> None:
        _check_cap(cap)
        self.cap = cap
        self._seen: set[int] = set()

    def new_units(self, keys: Iterable[int]) -> int:
        """How many of ``keys`` were not counted yet (and count them now)."""
        new = set(keys) - self._seen
        if len(self._seen) + len(new) > self.cap:
            self._seen = set()  # start again: returning units are counted once more
        self._seen |= new
        return len(new)
