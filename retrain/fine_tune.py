"""Fine-tune the champion from its own weights on recent labelled examples.

A warm start: the candidate begins as an exact copy of the champion (weights and its
input standardisation, which stays fixed so the weights keep their meaning) and takes
Adam steps on the older part of the examples. After each epoch it is scored on the most
recent part (the validation split); training stops when ``patience`` epochs in a row
bring no lower validation loss, and the weights of the best epoch are kept. Epoch 0 is
the champion itself, so a fine-tune that cannot improve on it returns its weights.

Deterministic for a seed: the shuffling comes from ``numpy.random.default_rng(seed)``
(the same on every device) and torch's random state is seeded inside
``torch.random.fork_rng``, so the caller's global generators are left as they were.
It runs on cuda when torch sees one, else on CPU, and the artifact's metadata says
which (``trained_on``), with the parent version and the seed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.torch_requirement import torch_missing
from retrain.trainer import TrainedModel, save_model
from retrain.training_set import TrainingSet

try:
    import torch

    from inference.torch_predictor import (
        ARTIFACT_FORMAT,
        StandardisedMLP,
        build_classifier,
        select_device,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("retrain.fine_tune") from exc

__all__ = ["fine_tune", "load_champion"]


def load_champion(champion_dir: Path) -> tuple[StandardisedMLP, dict[str, Any]]:
    """The network and metadata of the artifact in ``champion_dir`` (or its ``model.pt``)."""
    path = Path(champion_dir)
    path = path / "model.pt" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no champion artifact at {path}: pass its version folder")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"{path} is not an inferwatch model artifact of format {ARTIFACT_FORMAT}")
    with torch.random.fork_rng(devices=[]):  # the layers' initialisation draws; keep ours
        net = build_classifier(blob["metadata"])
    net.load_state_dict(blob["state_dict"])
    return net, dict(blob["metadata"])


def fine_tune(
    champion_dir: Path,
    examples: TrainingSet,
    out_dir: Path,
    *,
    version: str,
    seed: int = 0,
    max_epochs: int = 20,
    patience: int = 3,
    learning_rate: float = 1e-3,
    batch_size: int = 128,
    validation_fraction: float = 0.2,
    device: str | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainedModel:
    """Fine-tune the champion in ``champion_dir`` on ``examples``; save it under ``out_dir``.

    Parameters
    ----------
    champion_dir
        The champion's version folder (its ``model.pt``).
    examples
        Labelled rows, oldest first, with the champion's feature names.
    out_dir
        Gets ``model.pt`` and the reference profiles (created if missing).
    version
        The candidate's version name, written into its metadata.
    seed
        Seeds the shuffling and torch's random state: same seed, same weights.
    max_epochs, patience
        At most ``max_epochs`` passes; stop after ``patience`` without a better
        validation loss.
    learning_rate, batch_size
        Adam's step size and the mini-batch rows.
    validation_fraction
        The most recent share of ``examples`` kept out of training, for early stopping.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``; None picks cuda when present.
    on_epoch
        Called with the finished epoch and its validation loss (progress).
    """
    schedule = _Schedule(max_epochs, patience, learning_rate, batch_size)
    net, meta = load_champion(champion_dir)
    _check_examples(examples, meta)
    train, val = examples.split_recent(validation_fraction)
    device = select_device(device)
    (best_epoch, best_loss, best_state), epochs_run, train_s = _train_seeded(
        net, train, val, device, seed, schedule, on_epoch)
    net.load_state_dict(best_state)
    metadata = {
        **meta, "version": version, "parent_version": meta["version"], "trained_on": device,
        "seed": seed, "best_epoch": best_epoch,
    }
    model_path, reference_path, accuracy = _save(net.cpu().eval(), metadata, train, val,
                                                 Path(out_dir))
    return TrainedModel(
        meta["model"], version, model_path, reference_path, accuracy, len(train), epochs_run,
        train_s, device=device, parent=meta["version"], best_epoch=best_epoch,
        validation_loss=best_loss,
    )


def _save(net: StandardisedMLP, metadata: dict[str, Any], train: TrainingSet,
          val: TrainingSet, out_dir: Path) -> tuple[Path, Path, float]:
    """Write the candidate under ``out_dir``: its model and reference paths, and its
    accuracy on ``val``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # the newest rows, held out from the weights: the version's calibration (its accuracy
    # estimate before labels) and the holdout a reduced precision is checked against
    model_path, reference_path = save_model(out_dir, net, metadata, train.features,
                                            (val.features, val.labels))
    _, accuracy = _evaluate(net, val, torch.device("cpu"))
    return model_path, reference_path, accuracy


@dataclass(frozen=True)
class _Schedule:
    """How long and how fast to train: Adam's step, the mini-batch, early stopping."""

    max_epochs: int
    patience: int
    learning_rate: float
    batch_size: int

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.patience < 1 or self.batch_size < 1:
            raise ValueError(
                f"need max_epochs, patience and batch_size >= 1, got {self.max_epochs}, "
                f"{self.patience}, {self.batch_size}"
            )
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be a finite number > 0, got {self.learning_rate!r}")


def _check_examples(examples: TrainingSet, meta: dict[str, Any]) -> None:
    """Raise ValueError unless ``examples`` have the champion's columns and classes."""
    if tuple(meta["features"]) != examples.feature_names:
        raise ValueError(
            f"the examples' features {examples.feature_names} are not the champion's "
            f"{tuple(meta['features'])}: the candidate must read the same columns"
        )
    if len(examples) and (examples.labels.min() < 0 or examples.labels.max() >= meta["n_classes"]):
        raise ValueError(f"labels must be in 0..{meta['n_classes'] - 1} for this champion")


_Best = tuple[int, float, dict[str, "torch.Tensor"]]
"""The best epoch so far, its validation loss and its weights."""


def _train_seeded(
    net: StandardisedMLP, train: TrainingSet, val: TrainingSet, device: str, seed: int,
    schedule: _Schedule, on_epoch: Callable[[int, float], None] | None,
) -> tuple[_Best, int, float]:
    """:func:`_train` on ``device`` under ``seed``, leaving the caller's torch RNG as it was;
    also the seconds it took."""
    target = torch.device(device)
    forked = [target.index or 0] if target.type == "cuda" else []
    start = time.perf_counter()
    with torch.random.fork_rng(devices=forked):
        torch.manual_seed(seed)
        net = net.to(target)
        best, epochs_run = _train(net, train, val, target, np.random.default_rng(seed),
                                  schedule, on_epoch)
    return best, epochs_run, time.perf_counter() - start


def _train(
    net: StandardisedMLP, train: TrainingSet, val: TrainingSet, device: torch.device,
    rng: np.random.Generator, schedule: _Schedule,
    on_epoch: Callable[[int, float], None] | None,
) -> tuple[_Best, int]:
    """Adam with early stopping; ((best epoch, its loss, its weights), epochs run)."""
    xs = torch.from_numpy(train.features.astype(np.float32)).to(device)
    ys = torch.from_numpy(train.labels).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=schedule.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    best_loss, _ = _evaluate(net, val, device)
    best = (0, best_loss, copy.deepcopy(net.state_dict()))
    stale, epoch = 0, 0
    for epoch in range(1, schedule.max_epochs + 1):
        net.train()
        order = torch.from_numpy(rng.permutation(len(xs))).to(device)
        for idx in order.split(schedule.batch_size):
            optimiser.zero_grad()
            loss_fn(net(xs[idx]), ys[idx]).backward()
            optimiser.step()
        loss, _ = _evaluate(net, val, device)
        if on_epoch is not None:
            on_epoch(epoch, loss)
        if loss < best[1]:
            best, stale = (epoch, loss, copy.deepcopy(net.state_dict())), 0
        else:
            stale += 1
            if stale >= schedule.patience:
                break
    return best, epoch


def _evaluate(net: StandardisedMLP, rows: TrainingSet, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``net`` on ``rows``."""
    net.eval()
    with torch.inference_mode():
        x = torch.from_numpy(rows.features.astype(np.float32)).to(device)
        y = torch.from_numpy(rows.labels).to(device)
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).double().mean().item()
    return float(loss), float(accuracy)
