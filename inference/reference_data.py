"""The user's reference data: a Parquet or CSV file read into the columns a spec names.

A version is published with the data it was trained on (or recent data): its references
are built from it. :func:`read_reference` reads the spec's inputs (and the label column,
when one is named) with pyarrow, one Python list per column, ``None`` for a missing
value; categorical and text columns are read as strings, so a CSV category ``"01"``
stays ``"01"``. :func:`split_holdout` sets a seeded share of the rows aside to measure
the model on, and :func:`label_codes` turns the label column into class indices.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ref.csv"
>>> _ = path.write_text("x,plan,y\\n1.5,01,churn\\n,pro,stay\\n")
>>> table = read_reference(path, numeric=["x"], strings=["plan"], label="y")
>>> table.columns["x"], table.columns["plan"], table.label, table.n
([1.5, None], ['01', 'pro'], ['churn', 'stay'], 2)
>>> label_codes(table.label, ("stay", "churn")).tolist()
[1, 0]
>>> read_reference(path, numeric=["tenure"], strings=[])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
inference.reference_data.ReferenceDataError: .../ref.csv has no column 'tenure' \
(it has plan, x, y)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

__all__ = [
    "ReferenceDataError",
    "ReferenceTable",
    "label_codes",
    "read_reference",
    "split_holdout",
    "true_values",
]

#: the suffixes read as Parquet; any other file is read as CSV
PARQUET_SUFFIXES: Final = (".parquet", ".pq")


class ReferenceDataError(ValueError):
    """Reference data that cannot be used; the message names the file and the column."""


@dataclass(frozen=True)
class ReferenceTable:
    """Columns of a reference file: name -> values (``None`` where missing), and the label
    column's values when one was asked for."""

    path: Path
    columns: dict[str, list[Any]]
    label: list[Any] | None
    n: int

    def rows(self, index: np.ndarray) -> ReferenceTable:
        """The rows at ``index``, in that order."""
        idx = np.asarray(index, dtype=np.int64).tolist()

        def pick(values: list[Any]) -> list[Any]:
            return [values[i] for i in idx]

        return ReferenceTable(self.path, {k: pick(v) for k, v in self.columns.items()},
                              None if self.label is None else pick(self.label), len(idx))


def read_reference(path: Path, *, numeric: Sequence[str], strings: Sequence[str],
                   label: str | None = None) -> ReferenceTable:
    """Read the columns ``numeric`` (as numbers) and ``strings`` (as text) of ``path``, and
    its ``label`` column; ReferenceDataError names a missing column or an unreadable file."""
    path = Path(path)
    wanted = [*numeric, *strings, *([label] if label is not None else [])]
    table, names = _read(path, wanted, set(strings))
    missing = [name for name in wanted if name not in names]
    if missing:
        what = "no label column" if missing == [label] else "no column"
        raise ReferenceDataError(f"{path} has {what} {', '.join(map(repr, missing))} "
                                 f"(it has {', '.join(sorted(names))})")
    columns = {name: _values(table.column(name).to_pylist(), name, path, name in strings)
               for name in [*numeric, *strings]}
    labels = table.column(label).to_pylist() if label is not None else None
    if table.num_rows == 0:
        raise ReferenceDataError(f"{path} holds no rows")
    return ReferenceTable(path, columns, labels, table.num_rows)


def _read(path: Path, wanted: list[str], strings: set[str]) -> tuple[Any, list[str]]:
    """The table of ``wanted`` columns (those there), and every column name of the file."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ReferenceDataError("reading reference data needs pyarrow: "
                                 "pip install pyarrow") from exc
    if not path.is_file():
        raise ReferenceDataError(f"{path}: no such file (give a Parquet or CSV file)")
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    try:
        if parquet:
            names = pq.read_schema(path).names
            return pq.read_table(path, columns=[c for c in wanted if c in names]), names
        options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in strings}, strings_can_be_null=True)
        table = pacsv.read_csv(path, convert_options=options)
        return table, table.column_names
    except (pa.ArrowException, OSError) as exc:
        kind = "Parquet" if parquet else "CSV"
        raise ReferenceDataError(f"{path} cannot be read as {kind}: {exc}") from None


def _values(values: list[Any], name: str, path: Path, as_text: bool) -> list[Any]:
    if as_text:
        return [None if v is None else str(v) for v in values]
    out: list[Any] = []
    for row, value in enumerate(values):
        # a CSV column with one bad field is read as text: name that field, not the first
        try:
            out.append(value if value is None or isinstance(value, int | float)
                       else float(value))
        except (TypeError, ValueError):
            raise ReferenceDataError(f"{path}: column {name!r} must hold numbers, "
                                     f"row {row} holds {value!r}") from None
    return out


def split_holdout(n: int, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the reference and of the holdout: ``round(fraction * n)`` rows drawn
    at random (seeded) for the holdout, both in file order.

    >>> split_holdout(10, 0.2, seed=0)[1].size, split_holdout(10, 0.0)[1].size
    (2, 0)
    """
    if not 0.0 <= fraction < 1.0:
        raise ReferenceDataError(f"holdout must be a share in [0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(n)
    k = round(fraction * n)
    return np.sort(order[k:]), np.sort(order[:k])


def true_values(labels: Sequence[Any]) -> np.ndarray:
    """A regression's true values of ``labels`` as floats; ReferenceDataError names the
    first row whose label is not a finite number."""
    out = np.empty(len(labels), dtype=np.float64)
    for row, value in enumerate(labels):
        number = value if isinstance(value, int | float) and not isinstance(value, bool) \
            else None
        if number is None or not np.isfinite(number):
            raise ReferenceDataError(f"label of row {row} is {value!r}: a regression's "
                                     "label must be a finite number")
        out[row] = number
    return out


def label_codes(labels: Sequence[Any], classes: Sequence[str]) -> np.ndarray:
    """Class indices of ``labels``: a class name, or its index (an int or its digits).

    ReferenceDataError names the first row whose label is neither.
    """
    index = {name: i for i, name in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for row, value in enumerate(labels):
        code = _class_of(value, index)
        if code is None:
            raise ReferenceDataError(f"label of row {row} is {value!r}: it must be one of "
                                     f"the classes {list(classes)} or their index "
                                     f"0..{len(classes) - 1}")
        out[row] = code
    return out


def _class_of(value: Any, index: dict[str, int]) -> int | None:
    """The class index ``value`` names, as a class name or an index; None when neither."""
    if value is None:
        return None
    if str(value) in index:
        return index[str(value)]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if text.isdigit() and int(text) < len(index):
        return int(text)
    return None
