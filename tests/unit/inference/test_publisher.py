"""Publishing a version with its reference data: the references checked against numpy and
collections.Counter, the card's hash, and refusals that leave the store as it was.

The loader here is a small TorchScript one of the test's own, so publishing is tested
apart from the serving loaders (``inference.loaders``); the command's test uses those.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import ReferenceImportance, permutation_importance
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import ReferenceProfile
from inference.model_card import Lineage
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from inference.predictor import PredictionBatch
from inference.publish_checks import PublishRefused
from inference.publisher import publish_checked, publish_with_data
from inference.registry import ModelStore

PLANS = ("free", "pro", "team")


class Scorer(nn.Module):
    """Logits of two numeric inputs and one category code; ``broken`` gives NaN."""

    def __init__(self, n_out: int = 2, broken: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.numeric = nn.Linear(2, n_out)
        self.plan = nn.Embedding(len(PLANS), n_out)
        self.broken = broken

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        out = self.numeric(numeric) + self.plan(categorical[:, 0])
        return out * float("nan") if self.broken else out


def spec_of(numeric: tuple[str, ...] = ("tenure", "spend")) -> ModelSpec:
    return ModelSpec.from_dict({
        "kind": "torchscript", "task": "binary", "classes": ["stay", "churn"],
        "inputs": {"numeric": [{"name": n} for n in numeric],
                   "categorical": [{"name": "plan", "vocabulary": list(PLANS),
                                    "default": "free"}]}})


def save_version(folder: Path, module: nn.Module, spec: ModelSpec | None = None) -> Path:
    folder.mkdir(parents=True)
    spec = spec or spec_of()
    spec.save(folder)
    torch.jit.save(torch.jit.script(module.eval()), str(folder / spec.artifact))
    return folder


def write_data(path: Path, n: int = 500, seed: int = 0) -> Path:
    """Reference rows: numeric columns, a plan with unseen and missing values, a label."""
    rng = np.random.default_rng(seed)
    plans = rng.choice([*PLANS, "gold", None], size=n, p=[0.5, 0.25, 0.15, 0.05, 0.05])
    pq.write_table(pa.table({
        "tenure": rng.exponential(12.0, n), "spend": rng.normal(50.0, 10.0, n),
        "plan": pa.array(plans.tolist(), pa.string()),
        "churned": rng.integers(0, 2, n)}), path)
    return path


class ScriptedPredictor:
    """What a loader returns for a TorchScript version (softmax over its logits)."""

    def __init__(self, folder: Path, device: str | None) -> None:
        self.spec = ModelSpec.load(folder)
        self.device = device or "cpu"
        self.module = torch.jit.load(str(folder / self.spec.artifact), map_location=self.device)

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        with torch.inference_mode():
            logits = self.module(torch.from_numpy(inputs.numeric),
                                 torch.from_numpy(inputs.categorical))
        return PredictionBatch.from_probabilities(torch.softmax(logits.double(), 1).numpy(), 0.0)


def direct_probabilities(module: nn.Module, table: dict[str, list], rows: np.ndarray
                         ) -> np.ndarray:
    """The module's own probabilities for ``rows`` of the data (an unseen or missing plan
    takes the spec's default, ``free``)."""
    numeric = np.column_stack([np.asarray(table[c], dtype=np.float32)[rows]
                               for c in ("tenure", "spend")])
    codes = np.array([[PLANS.index(p) if p in PLANS else 0] for p in
                      np.asarray(table["plan"], dtype=object)[rows]], dtype=np.int64)
    with torch.no_grad():
        logits = module.eval()(torch.from_numpy(numeric), torch.from_numpy(codes))
    return torch.softmax(logits.double(), 1).numpy()


def assert_references(path: Path, data: Path, holdout_rows: int) -> None:
    """The version at ``path`` holds references equal to numpy's and Counter's over the
    reference rows of ``data``, and a calibration and accuracy over its holdout."""
    table = pq.read_table(data).to_pydict()
    n = len(table["plan"])
    held = _held_rows(path, table, holdout_rows)
    kept = np.setdiff1d(np.arange(n), held)
    profile = ReferenceProfile.load(path / "reference.json")
    assert profile.names == ("tenure", "spend") and profile.n == len(kept)
    for j, name in enumerate(profile.names):
        x = np.asarray(table[name], dtype=np.float32)[kept].astype(np.float64)
        assert np.allclose(profile.edges[j], np.unique(np.quantile(x, np.arange(1, 10) / 10)))
    categories = CategoryProfile.load(path / "reference_categories.json")
    counted = Counter(np.asarray(table["plan"], dtype=object)[kept].tolist())
    assert categories.counts["plan"].tolist() == [
        counted["free"], counted["pro"], counted["team"], counted["gold"], counted[None]]
    scores = direct_probabilities(Scorer(), table, kept)[:, 1]
    output = ReferenceProfile.load(path / "reference_output.json")
    assert np.allclose(output.edges[0], np.unique(np.quantile(scores, np.arange(1, 10) / 10)),
                       atol=1e-6)
    performance = PerformanceReference.load(path / "performance_reference.json")
    predicted = direct_probabilities(Scorer(), table, held).argmax(1)
    assert performance.n == holdout_rows
    assert performance.accuracy == pytest.approx(
        float((predicted == np.asarray(table["churned"])[held]).mean()))


def _held_rows(path: Path, table: dict[str, list], holdout_rows: int) -> np.ndarray:
    """The holdout's rows, found from the holdout file's numeric inputs."""
    with np.load(path / "holdout.npz") as saved:
        features, labels = saved["features"], saved["labels"]
    assert features.shape == (holdout_rows, 2) and labels.shape == (holdout_rows,)
    tenure = np.asarray(table["tenure"], dtype=np.float32)
    return np.sort(np.array([int(np.flatnonzero(tenure == t)[0]) for t in features[:, 0]]))


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models", clock=lambda: 1_780_000_000.0)


def test_a_version_is_published_with_its_references_and_card(
        tmp_path: Path, store: ModelStore) -> None:
    source = save_version(tmp_path / "build", Scorer())
    data = write_data(tmp_path / "ref.parquet")
    done = publish_with_data(store, "churn", "v1", source, data, label="churned",
                             holdout=0.2, loader=ScriptedPredictor, gpu=False)
    path = store.path_for("churn", "v1")
    assert done.path == path and done.device == "cpu"
    assert {p.name for p in path.iterdir()} == {
        "model.json", "model.ts", "card.json", "reference.json", "reference_categories.json",
        "reference_output.json", "performance_reference.json", "holdout.npz",
        "reference_importance.json"}
    assert ModelSpec.load(path) == spec_of()
    assert_references(path, data, holdout_rows=100)
    assert store.verify("churn", "v1") == done.card
    assert done.references is not None and done.references.n_reference == 400
    assert done.card.lineage.metrics["holdout_accuracy"] == done.references.holdout_accuracy
    assert done.card.lineage.metrics["n_holdout"] == 100.0
    assert not (source / "reference.json").exists()  # the user's folder is left as it was


def test_without_a_label_every_row_is_the_reference(tmp_path: Path, store: ModelStore) -> None:
    source = save_version(tmp_path / "build", Scorer())
    data = write_data(tmp_path / "ref.parquet", n=300)
    done = publish_with_data(store, "churn", "v1", source, data, loader=ScriptedPredictor,
                             gpu=False)
    assert done.references is not None
    assert (done.references.n_reference, done.references.n_holdout) == (300, 0)
    assert done.references.holdout_accuracy is None
    assert not (done.path / "performance_reference.json").exists()
    assert ReferenceProfile.load(done.path / "reference.json").n == 300


@pytest.mark.parametrize(("module", "spec", "cause"), [
    (Scorer(n_out=3), None, "the model gives 3 output columns, but its spec declares 2 classes"),
    (Scorer(broken=True), None, "the model's output is NaN or infinite for 256 of 256 rows"),
    (Scorer(), spec_of(("tenure", "income")), "has no column 'income' (it has churned, plan, "
                                              "spend, tenure)"),
])
def test_a_refused_model_publishes_nothing(tmp_path: Path, store: ModelStore, module: nn.Module,
                                           spec: ModelSpec | None, cause: str) -> None:
    source = save_version(tmp_path / "build", module, spec)
    data = write_data(tmp_path / "ref.parquet")
    with pytest.raises(PublishRefused) as info:
        publish_with_data(store, "churn", "v1", source, data, label="churned",
                          loader=ScriptedPredictor, gpu=False)
    assert cause in str(info.value)
    assert store.versions("churn") == []
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_a_published_version_is_not_published_again(tmp_path: Path, store: ModelStore) -> None:
    source = save_version(tmp_path / "build", Scorer())
    data = write_data(tmp_path / "ref.parquet", n=100)
    publish_with_data(store, "churn", "v1", source, data, loader=ScriptedPredictor, gpu=False)
    with pytest.raises(FileExistsError, match="churn v1 is already published"):
        publish_with_data(store, "churn", "v1", source, data, loader=ScriptedPredictor)


class TenureScorer(nn.Module):
    """Logits of the tenure alone: spend and plan are inputs it ignores."""

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        z = (numeric[:, 0] - 12.0) / 3.0
        return torch.stack([torch.zeros_like(z), z], dim=1) + 0.0 * categorical[:, :1]


def tenure_data(path: Path, n: int = 400) -> Path:
    """Reference rows whose label is the tenure's side of 12 (as the scorer says)."""
    rng = np.random.default_rng(3)
    tenure = rng.exponential(12.0, n)
    pq.write_table(pa.table({"tenure": tenure, "spend": rng.normal(50.0, 10.0, n),
                             "plan": rng.choice(list(PLANS), size=n).tolist(),
                             "churned": (tenure > 12).astype(int)}), path)
    return path


def scorer_probabilities(X: np.ndarray) -> np.ndarray:
    """TenureScorer's probabilities over a matrix of (tenure, spend, plan code)."""
    with torch.no_grad():
        logits = TenureScorer()(torch.from_numpy(X[:, :2].astype(np.float32)),
                                torch.from_numpy(X[:, 2:].astype(np.int64)))
    return torch.softmax(logits.double(), 1).numpy()


@pytest.mark.parametrize("label", ["churned", None])
def test_the_importance_ranks_the_input_the_model_uses_first(
        tmp_path: Path, store: ModelStore, label: str | None) -> None:
    source = save_version(tmp_path / "build", TenureScorer())
    data = tenure_data(tmp_path / "ref.parquet")
    done = publish_with_data(store, "churn", "v1", source, data, label=label, holdout=0.25,
                             loader=ScriptedPredictor, gpu=False, seed=5)
    assert done.references is not None
    assert "reference_importance.json" in done.references.files
    saved = ReferenceImportance.load(done.path)
    assert saved is not None and saved.names == ("tenure", "spend", "plan")
    assert (saved.model, saved.version, saved.loss) == ("churn", "v1", "error_rate")
    importance = dict(zip(saved.names, saved.importance, strict=True))
    assert importance["tenure"] > 0.2 and importance["spend"] == importance["plan"] == 0.0
    # the same measure, by hand: the holdout against its labels, or every reference row
    # against the model's own answers, shuffled by the publish seed's generator
    if label is not None:
        with np.load(done.path / "holdout.npz") as held:
            X = np.hstack([held["features"], held["categorical"]]).astype(np.float64)
            y: np.ndarray | None = held["labels"]
    else:
        table = pq.read_table(data).to_pydict()
        X = np.column_stack([table["tenure"], np.asarray(table["spend"]),
                             [PLANS.index(p) for p in table["plan"]]]).astype(np.float32)
        X, y = X.astype(np.float64), None
    assert saved.n == len(X) == (100 if label else 400)
    expected = permutation_importance(scorer_probabilities, X, y, np.random.default_rng(5))
    np.testing.assert_allclose(saved.importance, expected, atol=1e-12)


class TextPredictor:
    """A text model's answers: its embedding of a text is (length, vowels, spaces)."""

    def __init__(self, folder: Path, device: str | None) -> None:
        self.spec, self.device = ModelSpec.load(folder), "cpu"

    def predict_batch(self, inputs: ModelInputs) -> PredictionBatch:
        assert inputs.text is not None
        emb = np.array([[len(t), sum(c in "aeiou" for c in t), t.count(" ")]
                        for t in inputs.text], dtype=np.float32)
        p = 1.0 / (1.0 + np.exp(-(emb[:, 1] - emb[:, 2]) / 4.0))
        out = PredictionBatch.from_probabilities(np.column_stack([1 - p, p]), 0.0)
        return PredictionBatch(out.labels, out.scores, out.probabilities, 0.0, emb)


def test_a_text_model_gets_its_own_embeddings_as_reference(
        tmp_path: Path, store: ModelStore) -> None:
    source = tmp_path / "build"
    source.mkdir()
    ModelSpec.from_dict({"kind": "transformers", "task": "binary", "classes": ["ok", "spam"],
                         "inputs": {"text": {"name": "message"}}}).save(source)
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(["win", "cash", "hello", "meeting", "now"], size=k))
             for k in rng.integers(1, 6, size=60)]
    data = tmp_path / "ref.csv"
    data.write_text("message\n" + "\n".join(texts) + "\n")
    done = publish_with_data(store, "assistant", "v1", source, data, loader=TextPredictor,
                             gpu=False)
    expected = TextPredictor(source, None).predict_batch(
        ModelInputs(np.zeros((60, 0), np.float32), np.zeros((60, 0), np.int64), texts))
    for path in (done.path / "embedding_reference.npy",
                 store.root / "assistant" / "embedding_reference.npy"):
        assert np.array_equal(np.load(path), expected.embeddings)
    assert done.references is not None and "embedding_reference.npy" in done.references.files
    assert "reference.json" not in done.references.files
    store.verify("assistant", "v1")


def test_a_built_version_is_checked_then_published_with_a_card(
        tmp_path: Path, store: ModelStore) -> None:
    folder = save_version(tmp_path / "trained", Scorer())
    sample = ModelInputs(np.ones((8, 2), np.float32), np.zeros((8, 1), np.int64))
    done = publish_checked(store, "churn", "v1", folder, sample,
                           Lineage(device="cpu", metrics={"holdout_accuracy": 0.9}),
                           loader=ScriptedPredictor, gpu=False)
    assert store.verify("churn", "v1").lineage.metrics == {"holdout_accuracy": 0.9}
    assert json.loads((done.path / "card.json").read_text())["version"] == "v1"
    broken = save_version(tmp_path / "broken", Scorer(n_out=3))
    with pytest.raises(PublishRefused, match="3 output columns"):
        publish_checked(store, "churn", "v2", broken, sample, Lineage(),
                        loader=ScriptedPredictor, gpu=False)
    assert store.versions("churn") == ["v1"]


def test_a_published_folder_copied_and_changed_publishes_without_its_old_card(
        tmp_path: Path, store: ModelStore) -> None:
    folder = save_version(tmp_path / "trained", Scorer())
    sample = ModelInputs(np.ones((8, 2), np.float32), np.zeros((8, 1), np.int64))
    publish_checked(store, "churn", "v1", folder, sample, Lineage(), loader=ScriptedPredictor,
                    gpu=False)
    copy = tmp_path / "perturbed"
    shutil.copytree(store.path_for("churn", "v1"), copy)
    (copy / "model.ts").write_bytes((copy / "model.ts").read_bytes() + b"\0")
    store.publish("churn", "v2", copy)
    # v1's card named v1's files: v2 has none, rather than one that calls it corrupt
    assert store.card("churn", "v2") is None
    assert store.verify("churn", "v1").version == "v1"
