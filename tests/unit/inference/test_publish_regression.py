"""Publishing a regression with a label column: the holdout's MAE, RMSE and bias are
written as the version's error reference (checked against numpy), the output reference
is the deciles of its values, and a label that is not a number is refused by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from detectors.reference.profile import OUTPUT_REFERENCE, ReferenceProfile
from detectors.reference.regression import FILE_NAME, ErrorReference
from inference.model_spec import ModelSpec
from inference.publish_checks import PublishRefused
from inference.publisher import publish_with_data
from inference.reference_data import split_holdout
from inference.registry import ModelStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own


class _Price(torch.nn.Module):
    def forward(self, numeric: torch.Tensor) -> torch.Tensor:
        return 3.0 * numeric[:, :1] - 0.5 * numeric[:, 1:] + 10.0


def _version(folder: Path) -> Path:
    folder.mkdir(parents=True)
    torch.jit.save(torch.jit.script(_Price().eval()), str(folder / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "regression",
                         "inputs": {"numeric": [{"name": "size"}, {"name": "age"}]}}
                        ).save(folder)
    return folder


def test_the_holdouts_errors_are_the_versions_error_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(5, 1, 600), rng.normal(20, 5, 600)])
    model = 3.0 * x[:, 0] - 0.5 * x[:, 1] + 10.0
    truth = model + rng.normal(0.3, 1.0, 600)
    pq.write_table(pa.table({"size": x[:, 0], "age": x[:, 1], "price": truth}),
                   tmp_path / "ref.parquet")
    store = ModelStore(tmp_path / "models")
    done = publish_with_data(store, "price", "v1", _version(tmp_path / "build"),
                             tmp_path / "ref.parquet", label="price", device="cpu")
    kept, held = split_holdout(600, 0.2, 0)
    ref = ErrorReference.load(done.path / FILE_NAME)
    error = model[held] - truth[held]
    assert ref.n == len(held) == 120
    assert ref.mae == pytest.approx(np.abs(error).mean(), rel=1e-5)
    assert ref.rmse == pytest.approx(np.sqrt((error ** 2).mean()), rel=1e-5)
    assert ref.bias == pytest.approx(error.mean(), rel=1e-4)
    assert done.card.lineage.metrics["holdout_mae"] == ref.mae
    assert done.references is not None and done.references.holdout_accuracy is None
    # the output reference is the deciles of the values on the reference rows
    outputs = ReferenceProfile.load(done.path / OUTPUT_REFERENCE)
    assert np.allclose(outputs.edges[0], np.quantile(model[kept], np.arange(1, 10) / 10),
                       rtol=1e-4)


def test_a_label_that_is_not_a_number_is_refused_naming_the_row(tmp_path: Path) -> None:
    pq.write_table(pa.table({"size": [1.0, 2.0], "age": [3.0, 4.0], "price": ["1", "cheap"]}),
                   tmp_path / "ref.parquet")
    with pytest.raises(PublishRefused, match="label of row 0 is '1'"):
        publish_with_data(ModelStore(tmp_path / "models"), "price", "v1",
                          _version(tmp_path / "build"), tmp_path / "ref.parquet",
                          label="price", holdout=0.5, device="cpu")
