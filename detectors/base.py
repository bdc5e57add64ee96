"""The contract every streaming detector follows (river's, plus batches and snapshots).

Hyper-parameters are stored unchanged under their own names in ``__init__``; state is
built in ``_reset()``; ``update(x)`` returns None; results are read-only properties.
``update_many(values)`` gives the same answer as looping ``update`` (subclasses override
it with numpy); ``snapshot()``/``restore()`` let a restarted worker resume.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from detectors.state import from_plain, to_plain


class Detector:
    """Base of streaming detectors: hyper-parameters, reset, batches, snapshots."""

    #: names of the state attributes that ``snapshot`` saves; by default every attribute
    #: that is not a hyper-parameter.
    _state_fields: ClassVar[tuple[str, ...] | None] = None

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Build the state; called by ``__init__`` and after a drift where relevant."""

    # -- hyper-parameters ------------------------------------------------------------
    def _get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {name: getattr(self, name) for name in sig.parameters if name != "self"}

    def clone(self) -> Detector:
        """A fresh detector with the same hyper-parameters."""
        return type(self)(**self._get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._get_params().items())
        return f"{type(self).__name__}({params})"

    # -- updates ---------------------------------------------------------------------
    def update(self, x: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement update(x)")

    def update_many(self, values: Iterable[float] | np.ndarray) -> np.ndarray | None:
        """Feed a batch; equal to calling ``update`` on each value in order.

        Subclasses may return the positions in the batch where the detector fired
        (change detectors do); this default returns None.
        """
        for x in np.asarray(values, dtype=float).ravel():
            self.update(float(x))
        return None

    # -- snapshots -------------------------------------------------------------------
    def _state_names(self) -> list[str]:
        params = set(self._get_params())
        if self._state_fields is not None:
            return list(self._state_fields)
        return [k for k in vars(self) if k not in params]

    def snapshot(self) -> dict[str, Any]:
        """The detector's hyper-parameters and state, as plain data (a copy)."""
        return {
            "type": type(self).__name__,
            "params": to_plain(self._get_params()),
            "state": {k: to_plain(getattr(self, k)) for k in self._state_names()},
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Resume from ``snapshot()``'s output (of a detector with the same parameters)."""
        if snapshot.get("type") != type(self).__name__:
            raise ValueError(f"snapshot is of {snapshot.get('type')!r}, cannot restore a "
                             f"{type(self).__name__}")
        if from_plain(snapshot["params"]) != self._get_params():
            raise ValueError(f"snapshot's parameters {snapshot['params']} differ from this "
                             f"detector's {self._get_params()}: build it with them first")
        for k, v in snapshot["state"].items():
            setattr(self, k, from_plain(v))


class DriftDetector(Detector):
    """A detector that signals a change in the stream it watches."""

    def _reset(self) -> None:
        self._drift_detected = False

    @property
    def drift_detected(self) -> bool:
        """Whether the last update signalled a drift."""
        return self._drift_detected


def check_choice(name: str, value: Any, valid: Iterable[Any]) -> None:
    """Raise a ValueError naming ``name`` and its valid values unless ``value`` is one."""
    options = list(valid)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_range(name: str, value: float, low: float, high: float,
                *, low_open: bool = False, high_open: bool = False) -> None:
    """Raise a ValueError naming ``name`` and its valid interval unless ``value`` is in it."""
    lo_ok = value > low if low_open else value >= low
    hi_ok = value < high if high_open else value <= high
    if not (lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{rb}, got {value!r}")
