"""A batch of model inputs as tensors-to-be, built from requests or a table by the spec.

:class:`ModelInputs` holds what a predictor's forward pass takes: an ``(n, d)`` float32
matrix of the numeric inputs, an ``(n, c)`` int64 matrix of category codes (each a
vocabulary index) and the texts. :func:`encode_requests` builds it from the requests of
one micro-batch and says, per request, why one cannot be scored (a missing input
without a default, a category outside the vocabulary without one); :func:`encode_table`
builds it from the columns of a reference file and raises on the first such row.

Examples
--------
>>> from inference.model_spec import ModelSpec
>>> spec = ModelSpec.from_dict({
...     "kind": "torchscript", "task": "binary", "classes": ["no", "yes"],
...     "inputs": {"numeric": [{"name": "x"}],
...                "categorical": [{"name": "plan", "vocabulary": ["free", "pro"]}]}})
>>> enc = encode_requests(spec, [{"x": 1.0}, {"x": 2.0}, {}],
...                       [{"plan": "pro"}, {"plan": "gold"}, {"plan": "free"}])
>>> enc.inputs.numeric.tolist(), enc.inputs.categorical.tolist(), enc.kept.tolist()
([[1.0]], [[1]], [0])
>>> enc.errors
{1: "plan: 'gold' is not in the vocabulary ['free', 'pro']", 2: 'x: missing'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.model_spec import ModelSpec, SpecError

__all__ = ["EncodedRequests", "ModelInputs", "encode_requests", "encode_table"]


@dataclass(frozen=True)
class ModelInputs:
    """One batch of inputs, row-aligned: numeric ``(n, d)`` float32, categorical ``(n, c)``
    int64 codes, and the texts (None when the spec has no text input)."""

    numeric: np.ndarray
    categorical: np.ndarray
    text: list[str] | None = None

    @classmethod
    def of_numeric(cls, numeric: np.ndarray) -> ModelInputs:
        """Inputs made of a numeric matrix alone (the demo MLP's)."""
        x = np.ascontiguousarray(numeric, dtype=np.float32)
        return cls(x, np.zeros((len(x), 0), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.numeric)

    def take(self, rows: np.ndarray | Sequence[int]) -> ModelInputs:
        """The rows ``rows`` (indices), in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        text = None if self.text is None else [self.text[i] for i in idx.tolist()]
        return ModelInputs(self.numeric[idx], self.categorical[idx], text)


@dataclass(frozen=True)
class EncodedRequests:
    """A micro-batch's requests encoded: the inputs of those that can be scored, their
    indices in the batch (``kept``), and per left-out index the reason."""

    inputs: ModelInputs
    kept: np.ndarray
    errors: dict[int, str]


def encode_requests(spec: ModelSpec, numeric: Sequence[Mapping[str, float]],
                    categorical: Sequence[Mapping[str, str]] | None = None,
                    text: Sequence[str | None] | None = None) -> EncodedRequests:
    """Encode ``n`` requests' inputs by ``spec``; a request that cannot be is left out
    with its reason (the first input that fails, named)."""
    n = len(numeric)
    cats = categorical if categorical is not None else [{}] * n
    texts = text if text is not None else [None] * n
    num = np.empty((n, len(spec.numeric)), dtype=np.float32)
    codes = np.empty((n, len(spec.categorical)), dtype=np.int64)
    out_text: list[str] = []
    errors: dict[int, str] = {}
    for r in range(n):
        reason = (_numeric_row(spec, numeric[r], num[r]) or _categorical_row(spec, cats[r],
                                                                              codes[r]))
        if reason is None and spec.text is not None:
            value = texts[r] if texts[r] is not None else spec.text.default
            if value is None:
                reason = f"{spec.text.name}: missing"
            else:
                out_text.append(value)
        if reason is not None:
            errors[r] = reason
    kept = np.array([r for r in range(n) if r not in errors], dtype=np.int64)
    inputs = ModelInputs(num[kept], codes[kept], out_text if spec.text is not None else None)
    return EncodedRequests(inputs, kept, errors)


def _numeric_row(spec: ModelSpec, values: Mapping[str, float], out: np.ndarray) -> str | None:
    for j, col in enumerate(spec.numeric):
        value = values.get(col.name, col.default)
        if value is None:
            return f"{col.name}: missing"
        out[j] = value
    return None


def _categorical_row(spec: ModelSpec, values: Mapping[str, str], out: np.ndarray) -> str | None:
    for j, col in enumerate(spec.categorical):
        value = values.get(col.name)
        if value is None and col.default is None:
            return f"{col.name}: missing"
        try:
            out[j] = col.code(value if value is not None else col.default)  # type: ignore[arg-type]
        except ValueError:
            if col.default is None:
                return f"{col.name}: {value!r} is not in the vocabulary {list(col.vocabulary)}"
            out[j] = col.code(col.default)
    return None


def encode_table(spec: ModelSpec, columns: Mapping[str, Sequence[Any]]) -> ModelInputs:
    """Encode a table's columns (a reference file's) by ``spec``; SpecError names the first
    input the table lacks or the first row that cannot be encoded."""
    names = [i.name for i in spec.numeric] + [i.name for i in spec.categorical] + (
        [spec.text.name] if spec.text else [])
    missing = [name for name in names if name not in columns]
    if missing:
        raise SpecError(f"the data has no column for the inputs {missing} "
                        f"(it has {sorted(columns)})")
    n = len(columns[names[0]])
    rows_num: list[dict[str, float]] = [
        {c.name: x for c in spec.numeric if (x := _number(columns[c.name][r])) is not None}
        for r in range(n)]
    rows_cat = [{c.name: str(columns[c.name][r]) for c in spec.categorical
                 if columns[c.name][r] is not None} for r in range(n)]
    texts = ([None if v is None else str(v) for v in columns[spec.text.name]]
             if spec.text else None)
    encoded = encode_requests(spec, rows_num, rows_cat, texts)
    if encoded.errors:
        row, reason = next(iter(encoded.errors.items()))
        raise SpecError(f"row {row} of the data cannot be encoded: {reason} "
                        f"({len(encoded.errors)} rows in all)")
    return encoded.inputs


def _number(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return None if math.isnan(x) else x
