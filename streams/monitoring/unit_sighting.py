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

from collections.abc import Iterable, Sequence

import numpy as np

#: most unit ids a partition remembers per model and variant before it starts again
MAX_PARTITION_UNITS = 50_000
#: most unit hashes the decision step remembers per experiment before it starts again
#: (about 30 MB)
MAX_EXPERIMENT_UNITS = 500_000
_SPACE = 1 << 64
_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_SEED = np.uint64(0x9E3779B97F4A7C15)


def unit_keys(unit_ids: Sequence[str]) -> np.ndarray:
    """The units' 64-bit hashes (uint64), vectorised: a murmur3-style mix of each 8-byte
    word of the UTF-8 id, seeded with its length (so NUL padding cannot collide). The
    same in every process; independent of the router's salted BLAKE2b.

    >>> keys = unit_keys(["user-42", "a much longer unit id", "user-42"]).tolist()
    >>> keys[0] == keys[2] == unit_key("user-42")
    True
    """
    raw = [u.encode() for u in unit_ids]
    if not raw:
        return np.zeros(0, np.uint64)
    width = max(8, -(-max(map(len, raw)) // 8) * 8)
    words = np.array(raw, dtype=f"S{width}").view("<u8").reshape(len(raw), width // 8)
    lengths = np.fromiter(map(len, raw), np.int64, len(raw))
    with np.errstate(over="ignore"):
        h = lengths.astype(np.uint64) * _M1 ^ _SEED
        for j in range(words.shape[1]):  # an id's own words only: the batch cannot matter
            h = np.where(8 * j < lengths, _mix((h ^ _mix(words[:, j])) * _M2), h)
    return h


def _mix(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser: every input bit flips each output bit with odds 1/2."""
    x = (x ^ (x >> np.uint64(33))) * _M1
    x = (x ^ (x >> np.uint64(33))) * _M2
    return x ^ (x >> np.uint64(33))


def unit_key(unit_id: str) -> int:
    """One unit's 64-bit hash (see :func:`unit_keys`).

    >>> 0 <= unit_key("user-42") < 2 ** 64
    True
    """
    return int(unit_keys([unit_id])[0])


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

        The set operations run in C; only the units new to the partition are hashed, in
        one vectorised call."""
        seen = self._seen.setdefault((partition, model, variant), set())
        new = set(unit_ids) - seen
        new.discard("")
        if not new:
            return []
        if len(seen) + len(new) > self.cap:
            seen.clear()
        seen |= new
        keys = np.sort(unit_keys(list(new)))
        return (keys if self._below >= _SPACE else keys[keys < self._below]).tolist()


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
