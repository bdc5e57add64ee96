"""The one state contract of every stateful piece of the pipeline.

Detectors, alert rules, the retrain policy, windows, burn-rate monitors and sketches all
save and resume the same way: ``snapshot()`` returns plain data (dicts, lists, numbers,
strings: what the wire codec carries as JSON), and ``restore(snapshot)`` takes it into an
object built with the same parameters, which then behaves exactly as the original would.
The contract suite (``tests/contract/test_state_contract.py``) holds every such class to
it: a round trip through the codec, identical behaviour on the next inputs, bounded size.
"""

from __future__ import annotations

import base64
import math
import random
from collections import deque
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Stateful(Protocol):
    """Saves its state as plain data and resumes from it in place."""

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, snapshot: dict[str, Any]) -> None: ...


def to_plain(value: Any) -> Any:
    """``value`` as data the wire codec carries exactly (JSON: no arrays, no infinities).

    Arrays keep their dtype, shape and bits; deques their ``maxlen``; a ``random.Random``
    its state; non-finite floats their value. :func:`from_plain` is the inverse.

    >>> import numpy as np
    >>> back = from_plain(to_plain({"a": np.array([1.5, np.inf]), "b": float("-inf")}))
    >>> back["a"].tolist(), back["b"]
    ([1.5, inf], -inf)
    """
    if isinstance(value, np.ndarray):
        return {"__ndarray__": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode(),
                "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, deque):
        return {"__deque__": [to_plain(v) for v in value], "maxlen": value.maxlen}
    if isinstance(value, random.Random):
        version, internal, gauss = value.getstate()
        return {"__random__": [version, list(internal), gauss]}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def from_plain(value: Any) -> Any:
    """The value :func:`to_plain` made plain."""
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        raw = base64.b64decode(value["__ndarray__"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"]).copy()
    if "__deque__" in value:
        return deque((from_plain(v) for v in value["__deque__"]), maxlen=value["maxlen"])
    if "__random__" in value:
        version, internal, gauss = value["__random__"]
        rng = random.Random()
        rng.setstate((version, tuple(internal), gauss))
        return rng
    if "__float__" in value:
        return float(value["__float__"])
    return {k: from_plain(v) for k, v in value.items()}
