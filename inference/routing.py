"""A/B variant routing: each unit (a user, a session) always meets the same variant.

A unit id is hashed with BLAKE2b (salted, so separate experiments split independently)
to a number ``u`` uniform in [0, 1); variants own consecutive intervals of [0, 1) in the
sorted order of their names, as wide as their shares. The assignment needs no state, is
the same in every process and on every restart (Python's ``hash()`` is not, so it is not
used), and when one of two variants grows its share, units only move towards it.

Examples
--------
>>> router = VariantRouter({"champion": 0.9, "challenger": 0.1}, salt="exp-1")
>>> router.assign("user-42") == router.assign("user-42")
True
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Mapping

import numpy as np

__all__ = ["VariantRouter", "in_share", "unit_hash"]

_SUM_TOLERANCE = 1e-9
_TWO_64 = float(2**64)


def unit_hash(unit_id: str, salt: str = "") -> float:
    """The unit's position in [0, 1): BLAKE2b-64 of ``salt``, NUL, ``unit_id``, over 2**64.

    Examples
    --------
    >>> 0.0 <= unit_hash("user-42") < 1.0
    True
    """
    digest = hashlib.blake2b(f"{salt}\x00{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _TWO_64


def in_share(key: str, share: float, salt: str = "") -> bool:
    """Whether ``key`` falls in the first ``share`` of [0, 1) by :func:`unit_hash`.

    What a shadow version scores: the same requests in every process and on every
    replay (so a crashed worker's rerun scores exactly those again), and a larger share
    keeps every request a smaller one picked.

    Examples
    --------
    >>> in_share("req-1", 1.0), in_share("req-1", 0.0)
    (True, False)
    >>> sum(in_share(f"req-{i}", 0.3, "shadow:churn") for i in range(10_000))
    2973
    """
    return share >= 1.0 or (share > 0.0 and unit_hash(key, salt) < share)


class VariantRouter:
    """Deterministic, stateless assignment of unit ids to variants by traffic share.

    Parameters
    ----------
    split
        Share of units per variant name; shares are finite, >= 0 and sum to 1.
    salt
        Mixed into the hash so that two experiments' assignments are independent.
    """

    def __init__(self, split: Mapping[str, float], salt: str = "") -> None:
        if not split:
            raise ValueError("split must name at least one variant, e.g. {'a': 1.0}")
        for name, share in split.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"split keys must be non-empty variant names, got {name!r}")
            if not (isinstance(share, int | float) and math.isfinite(share) and share >= 0):
                raise ValueError(f"split[{name!r}] must be a finite share >= 0, got {share!r}")
        total = math.fsum(split.values())
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise ValueError(f"split shares must sum to 1 (within 1e-9), got {total!r}")
        self.split = dict(split)
        self.salt = salt
        self._variants = np.array(sorted(split), dtype=object)
        shares = np.array([split[v] for v in self._variants], dtype=np.float64)
        cumulative = np.cumsum(shares)
        # The last variant with a share closes at 1 whatever the rounding of the sum,
        # so a variant with share 0 never receives a unit.
        cumulative[int(np.flatnonzero(shares > 0)[-1]) :] = 1.0
        self._cuts = cumulative[:-1]
        # per-request assignment is on the hot path: plain lists and bisect beat numpy
        # scalars there, and a single live variant needs no hash at all
        self._cut_list = self._cuts.tolist()
        self._names = [str(v) for v in self._variants]
        live = [str(v) for v, s in zip(self._variants, shares, strict=True) if s > 0]
        self._only = live[0] if len(live) == 1 else None

    @property
    def variants(self) -> tuple[str, ...]:
        """The variant names, in the order of their intervals."""
        return tuple(self._variants)

    def assign(self, unit_id: str) -> str:
        """The variant of ``unit_id``."""
        if self._only is not None:
            return self._only
        return self._names[bisect.bisect_right(self._cut_list, unit_hash(unit_id, self.salt))]

    def __repr__(self) -> str:
        return f"VariantRouter(split={self.split!r}, salt={self.salt!r})"
