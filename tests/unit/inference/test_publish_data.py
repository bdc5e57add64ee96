"""Reading the user's reference data: Parquet and CSV, missing columns named, seeded holdout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inference.reference_data import (
    ReferenceDataError,
    label_codes,
    read_reference,
    split_holdout,
)


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"tenure": [1.5, None, 3.0], "plan": ["free", "pro", None],
                             "zip": [1, 2, 3], "churned": [0, 1, 1]}), path)
    return path


def test_parquet_columns_come_back_with_missing_values_as_none(parquet: Path) -> None:
    table = read_reference(parquet, numeric=["tenure", "zip"], strings=["plan"], label="churned")
    assert table.n == 3
    assert table.columns == {"tenure": [1.5, None, 3.0], "zip": [1, 2, 3],
                             "plan": ["free", "pro", None]}
    assert table.label == [0, 1, 1]
    picked = table.rows(np.array([2, 0]))
    assert picked.columns["plan"] == [None, "free"] and picked.label == [1, 0] and picked.n == 2


def test_csv_reads_categories_as_written(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("x,zip,label\n0.5,01,yes\n1.5,,no\n")
    table = read_reference(path, numeric=["x"], strings=["zip"], label="label")
    # a category column stays text: "01" is not the number 1, an empty field is missing
    assert table.columns == {"x": [0.5, 1.5], "zip": ["01", None]}
    assert table.label == ["yes", "no"]


def test_a_missing_column_is_named_with_those_there(parquet: Path) -> None:
    with pytest.raises(ReferenceDataError, match=r"ref.parquet has no column 'spend', 'region' "
                                                 r"\(it has churned, plan, tenure, zip\)"):
        read_reference(parquet, numeric=["tenure", "spend"], strings=["region"])
    with pytest.raises(ReferenceDataError, match="has no label column 'target'"):
        read_reference(parquet, numeric=["tenure"], strings=[], label="target")


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "ref.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ReferenceDataError, match=r"ref.parquet cannot be read as Parquet"):
        read_reference(bad, numeric=["x"], strings=[])
    with pytest.raises(ReferenceDataError, match=r"nothing.csv: no such file"):
        read_reference(tmp_path / "nothing.csv", numeric=["x"], strings=[])
    words = tmp_path / "words.csv"
    words.write_text("x\n1.0\nabc\n")
    with pytest.raises(ReferenceDataError, match=r"column 'x' must hold numbers, row 1 holds "
                                                 r"'abc'"):
        read_reference(words, numeric=["x"], strings=[])
    empty = tmp_path / "empty.csv"
    empty.write_text("x\n")
    with pytest.raises(ReferenceDataError, match="holds no rows"):
        read_reference(empty, numeric=["x"], strings=[])


def test_the_holdout_is_a_seeded_share_of_the_rows() -> None:
    kept, held = split_holdout(1000, 0.2, seed=7)
    assert held.size == 200 and kept.size == 800
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(1000))
    again = split_holdout(1000, 0.2, seed=7)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(split_holdout(1000, 0.2, seed=8)[1], held)
    assert split_holdout(1000, 0.0)[1].size == 0
    with pytest.raises(ReferenceDataError, match=r"holdout must be a share in \[0, 1\), got 1.5"):
        split_holdout(10, 1.5)


def test_labels_are_class_names_or_indices() -> None:
    classes = ("stay", "churn", "pause")
    assert label_codes(["churn", "stay", 2, "1", 0.0], classes).tolist() == [1, 0, 2, 1, 0]
    with pytest.raises(ReferenceDataError, match=r"label of row 1 is 'gone': it must be one of "
                                                 r"the classes \['stay', 'churn', 'pause'\] "
                                                 r"or their index 0..2"):
        label_codes(["stay", "gone"], classes)
    with pytest.raises(ReferenceDataError, match="label of row 0 is 3"):
        label_codes([3], classes)
    with pytest.raises(ReferenceDataError, match="label of row 0 is None"):
        label_codes([None], classes)
