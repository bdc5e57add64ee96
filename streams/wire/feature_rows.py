"""Feature maps into a matrix with the columns in a model's order, a batch at a time.

Decoded events carry their features as ``{name: value}`` maps. The stages need them as
rows of a numpy matrix in the order a model (or its reference profile) names them: one
``itemgetter`` call per row picks them all in C, the common case; only a batch where some
map lacks a name takes the slower path, which leaves NaN for what is missing (values
are validated finite on decoding, so NaN can only mean missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter

import numpy as np


def feature_rows(names: Sequence[str], features: Sequence[Mapping[str, float]],
                 dtype: type = np.float64) -> np.ndarray:
    """The ``(len(features), len(names))`` matrix; NaN where a map lacks a name.

    >>> feature_rows(["b", "a"], [{"a": 1.0, "b": 2.0}, {"a": 3.0, "c": 9.0}]).tolist()
    [[2.0, 1.0], [nan, 3.0]]
    """
    get = itemgetter(*names)
    try:
        values = [get(f) for f in features]
    except KeyError:
        values = [[f.get(n, np.nan) for n in names] for f in features]
    return np.array(values, dtype=dtype).reshape(len(features), len(names))
