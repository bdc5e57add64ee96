"""A micro-batch's requests as one model version's inputs, encoded by its spec.

:func:`inference.model_inputs.encode_requests` is the encoding: numeric features,
categorical codes and texts, each request that cannot be encoded left out with its
reason. A spec of numeric inputs alone (the demo's MLP, most tabular models) takes the
same answer on the hot path's fast road: the feature maps picked into a matrix in C
(:func:`~streams.wire.feature_rows.feature_rows`), the spec's defaults filled where a
value is missing, and a reason only for the rows that still lack one.

Examples
--------
>>> from inference.model_spec import ModelSpec
>>> from streams.wire.events import InferenceRequest
>>> spec = ModelSpec.from_dict({"kind": "torchscript", "task": "binary", "classes": ["n", "y"],
...     "inputs": {"numeric": [{"name": "x"}, {"name": "y", "default": 0.5}]}})
>>> reqs = [InferenceRequest(id=str(i), ts=0.0, model="m", features=f)
...         for i, f in enumerate([{"x": 1.0, "y": 2.0}, {"x": 3.0}, {"y": 1.0}])]
>>> enc = encode_batch(spec, reqs)
>>> enc.inputs.numeric.tolist(), enc.kept.tolist(), enc.errors
([[1.0, 2.0], [3.0, 0.5]], [0, 1], {2: 'x: missing'})
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.model_inputs import EncodedRequests, ModelInputs, encode_requests
from inference.model_spec import ModelSpec
from streams.wire.events import InferenceRequest
from streams.wire.feature_rows import feature_rows

__all__ = ["encode_batch"]


def encode_batch(spec: ModelSpec, requests: Sequence[InferenceRequest]) -> EncodedRequests:
    """The inputs of ``requests`` by ``spec``; those that cannot be encoded are left out
    with their reason, as :func:`~inference.model_inputs.encode_requests` says."""
    if spec.categorical or spec.text is not None:
        return encode_requests(spec, [r.features for r in requests],
                               [r.categorical for r in requests], [r.text for r in requests])
    rows = feature_rows(spec.feature_names, [r.features for r in requests], np.float32)
    holes = np.isnan(rows)  # values are finite on decoding: NaN is a missing value
    if not holes.any():
        return EncodedRequests(ModelInputs.of_numeric(rows), np.arange(len(rows)), {})
    defaults = np.array([np.nan if c.default is None else c.default for c in spec.numeric],
                        dtype=np.float32)
    rows = np.where(holes, defaults, rows)
    still = np.isnan(rows)
    refused = still.any(axis=1)
    errors = {int(i): f"{spec.numeric[int(np.argmax(still[i]))].name}: missing"
              for i in np.flatnonzero(refused)}
    kept = np.flatnonzero(~refused)
    return EncodedRequests(ModelInputs.of_numeric(rows[kept]), kept, errors)
