"""What every change detector of this package adds to ``DriftDetector``.

A change detector resets itself on the update after it fired (river's convention), and
its ``update_many`` returns the positions in the batch where it fired, so a batch says
as much as the loop of ``update`` it replaces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from detectors.base import DriftDetector

_FIRST_CHUNK = 1 << 10
_LAST_CHUNK = 1 << 16


class ChangeDetector(DriftDetector):
    """A streaming change detector with a batch path that equals its loop.

    Subclasses implement ``update(x)`` and ``_update_batch(values)``; the latter feeds
    a float array and returns the positions where the detector fired.
    """

    #: ``"real"`` for real-valued streams, ``"binary"`` for 0/1 error streams.
    input_kind: ClassVar[str] = "real"

    def update_many(self, values: Iterable[float] | np.ndarray) -> np.ndarray:
        """Feed a batch; equal to calling ``update`` on each value in order.

        Parameters
        ----------
        values
            The batch, oldest first.

        Returns
        -------
        numpy.ndarray
            Positions (0-based, in the batch) after which ``drift_detected`` was True.
        """
        x = np.ascontiguousarray(np.asarray(values, dtype=float).ravel())
        if x.size == 0:
            return np.empty(0, dtype=np.int64)
        return self._update_batch(x)

    def _update_batch(self, x: np.ndarray) -> np.ndarray:
        hits: list[int] = []
        start, chunk = 0, _FIRST_CHUNK
        while start < x.size:
            if self._drift_detected:
                self._reset()
                chunk = _FIRST_CHUNK
            start = self._warm_up(x, start)
            if start == x.size:
                break
            used, fired = self._run(x[start: start + chunk])
            start += used
            if fired:
                hits.append(start - 1)
            else:
                chunk = min(2 * chunk, _LAST_CHUNK)
        return np.asarray(hits, dtype=np.int64)

    def _warm_up(self, x: np.ndarray, start: int) -> int:
        """Feed the values that precede the vectorised regime; return where it starts."""
        return start

    def _run(self, x: np.ndarray) -> tuple[int, bool]:
        """Feed a prefix of ``x`` that ends at the first alarm if any.

        Returns the number of values fed and whether the last of them fired. Chunks
        grow from 1,024 to 65,536 values after each reset, so the work thrown away
        after an alarm stays proportional to the stretch before it.
        """
        for i, v in enumerate(x.tolist()):
            self.update(v)
            if self._drift_detected:
                return i + 1, True
        return x.size, False

    @classmethod
    def _invalid_params(cls) -> list[dict[str, Any]]:
        """Hyper-parameter sets that must raise ValueError (used by the contract suite)."""
        raise NotImplementedError(f"{cls.__name__} must list invalid hyper-parameters")


def check_positive_int(name: str, value: Any, minimum: int = 1) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
