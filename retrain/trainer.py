"""Train the project's own classifier on generated traffic, and save its artifact.

The model is a small MLP (8 → 32 → 32 → 2, ReLU) on standardised inputs, trained with
Adam on CPU in a few seconds. The run is deterministic for a seed: the data come from
:class:`~retrain.synthetic.FeatureGenerator`, and the weight initialisation and the
shuffling from seeded torch generators. The output directory gets

- ``model.pt``: the artifact that :class:`~inference.torch_predictor.TorchPredictor`
  loads (weights, feature names, input mean and std, hidden sizes, class names);
- ``model.json``: its spec, kind ``mlp`` (:func:`~inference.torch_predictor.mlp_spec`:
  the features as numeric inputs, the classes the labels name);
- ``reference.json``: the :class:`~detectors.reference.profile.ReferenceProfile` of the training
  features, for the drift detectors.

This is one of the two modules that import torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detectors.reference import performance as performance_reference
from detectors.reference.profile import OUTPUT_REFERENCE, OUTPUTS, ReferenceProfile
from inference.quantize import HOLDOUT_FILE
from inference.torch_requirement import torch_missing
from retrain.synthetic import FEATURES, FeatureGenerator

try:
    import torch

    from inference.torch_predictor import (
        StandardisedMLP,
        build_classifier,
        mlp_spec,
        save_artifact,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("retrain.trainer") from exc

__all__ = ["HIDDEN", "TrainedModel", "save_model", "train_classifier"]

HIDDEN: tuple[int, ...] = (32, 32)
_N_HOLDOUT = 5000
_BATCH_SIZE = 128
_LEARNING_RATE = 3e-3


@dataclass(frozen=True)
class TrainedModel:
    """What a training run produced.

    Attributes
    ----------
    model, version
        Name and version written into the artifact.
    model_path, reference_path
        The saved ``model.pt`` and ``reference.json``.
    accuracy
        Accuracy on a held-out sample of the same seeded generator.
    n_train, epochs
        Training rows and passes over them.
    train_s
        Wall-clock seconds of the optimisation loop.
    device
        Where the weights were trained (``"cpu"``, ``"cuda:0"``).
    parent
        The version a fine-tune started from (None: trained from scratch).
    best_epoch
        The epoch whose weights were kept (a fine-tune's early stopping; 0 keeps the
        parent's weights unchanged); for a training from scratch, ``epochs``.
    validation_loss
        Cross-entropy on the validation split at ``best_epoch`` (NaN when not measured).
    """

    model: str
    version: str
    model_path: Path
    reference_path: Path
    accuracy: float
    n_train: int
    epochs: int
    train_s: float
    device: str = "cpu"
    parent: str | None = None
    best_epoch: int = -1
    validation_loss: float = float("nan")


def train_classifier(
    out_dir: Path,
    *,
    model: str = "churn",
    version: str = "v1",
    n: int = 20000,
    seed: int = 0,
    epochs: int = 8,
    on_epoch: Callable[[int], None] | None = None,
) -> TrainedModel:
    """Train the classifier on ``n`` generated rows and save it under ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory for ``model.pt`` and ``reference.json`` (created if missing).
    model, version
        Name and version recorded in the artifact and the reference profile.
    n
        Training rows; the held-out set is a further 5,000 rows of the same stream.
    seed
        Seeds the data, the initial weights and the shuffling.
    epochs
        Passes over the training rows.
    on_epoch
        Called with the count of finished epochs after each (a progress bar listens).
    """
    if n < 100 or epochs < 1:
        raise ValueError(f"need n >= 100 and epochs >= 1, got n={n}, epochs={epochs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = FeatureGenerator(seed)
    train, holdout = gen.sample(n), gen.sample(_N_HOLDOUT)
    metadata = {
        "model": model,
        "version": version,
        "features": list(FEATURES),
        "mean": train.features.mean(axis=0).tolist(),
        "std": np.maximum(train.features.std(axis=0), 1e-12).tolist(),
        "hidden": list(HIDDEN),
        "n_classes": 2,
        # the label values, as the spec's class names (a class's index is its label)
        "classes": [str(c) for c in range(2)],
        "trained_on": "cpu",
    }
    if set(np.unique(train.labels).tolist()) != {0, 1}:
        raise ValueError("the generated training labels must hold both classes 0 and 1")
    start = time.perf_counter()
    net = _fit(metadata, train.features, train.labels, seed=seed, epochs=epochs,
               on_epoch=on_epoch)
    train_s = time.perf_counter() - start
    accuracy = _accuracy(net, holdout.features, holdout.labels)

    model_path, reference_path = save_model(out_dir, net, metadata, train.features,
                                            (holdout.features, holdout.labels))
    return TrainedModel(model, version, model_path, reference_path, accuracy, n, epochs, train_s,
                        best_epoch=epochs)


def save_model(
    out_dir: Path, net: StandardisedMLP, metadata: dict, features: np.ndarray,
    holdout: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Path, Path]:
    """Write ``model.pt``, its spec ``model.json`` (kind ``mlp``), and the reference
    profiles of ``features`` and of the model's scores on them into ``out_dir``; with a
    labelled ``holdout`` (features, labels), also the holdout and the model's calibration
    on it. Returns the paths of ``model.pt`` and ``reference.json``."""
    model, version = metadata["model"], metadata["version"]
    model_path, reference_path = out_dir / "model.pt", out_dir / "reference.json"
    save_artifact(model_path, net, metadata)
    mlp_spec(metadata).save(out_dir)
    ReferenceProfile.from_features(model, version, metadata["features"], features
                                   ).save(reference_path)
    # the model's own scores on its training rows: the reference of prediction drift
    ReferenceProfile.from_features(model, version, OUTPUTS, _scores(net, features)[:, None]
                                   ).save(out_dir / OUTPUT_REFERENCE)
    if holdout is not None:
        # the labelled holdout, which a reduced serving precision is checked against
        np.savez(out_dir / HOLDOUT_FILE, features=holdout[0], labels=holdout[1])
        # calibration and accuracy on the holdout: what estimates accuracy before labels
        performance_reference.PerformanceReference.from_holdout(
            model, version, _scores(net, holdout[0]), holdout[1],
        ).save(out_dir / performance_reference.FILE_NAME)
    return model_path, reference_path


def _fit(
    metadata: dict, X: np.ndarray, y: np.ndarray, *, seed: int, epochs: int,
    on_epoch: Callable[[int], None] | None = None,
) -> StandardisedMLP:
    """Adam on cross-entropy, shuffled mini-batches; torch's global RNG is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_classifier(metadata)
    shuffle = torch.Generator().manual_seed(seed)
    xs = torch.from_numpy(X.astype(np.float32))
    ys = torch.from_numpy(y.astype(np.int64))
    optimiser = torch.optim.Adam(net.parameters(), lr=_LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xs), generator=shuffle)
        for idx in order.split(_BATCH_SIZE):
            optimiser.zero_grad()
            loss_fn(net(xs[idx]), ys[idx]).backward()
            optimiser.step()
        if on_epoch is not None:
            on_epoch(epoch + 1)
    return net.eval()


def _scores(net: StandardisedMLP, X: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        logits = net(torch.from_numpy(X.astype(np.float32)))
        return torch.softmax(logits, dim=1)[:, 1].numpy().astype(np.float64)


def _accuracy(net: StandardisedMLP, X: np.ndarray, y: np.ndarray) -> float:
    with torch.inference_mode():
        predicted = net(torch.from_numpy(X.astype(np.float32))).argmax(dim=1).numpy()
    return float((predicted == y).mean())
