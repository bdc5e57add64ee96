"""Train a candidate from the champion's weights on recent labelled examples.

:func:`mlp_fine_tune` is the retrain worker's built-in trainer, an implementation of the
trainer contract (:mod:`retrain.trainer_contract`): the trainer's ``fine_tune`` (early
stopping on the newest rows, cuda when present). :class:`CandidateTrainer` is the older,
in-process form (champion folder, training rows, out folder) that tests and benchmarks
write; :class:`RowsTrainer` presents one through the contract. :func:`fine_tuned` is the
fine-tune in that form; :func:`warm_start` is the plain one: continue Adam
from the champion's weights on the training rows, keeping the champion's architecture and
input scaling, deterministic under a seed. The candidate's folder gets what a published
version holds: ``model.pt``, ``reference.json`` (its training rows' profile, so drift is
judged against what it learnt) and the output reference.

This module imports torch, as the trainer does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from detectors.reference.profile import OUTPUT_REFERENCE, OUTPUTS, ReferenceProfile
from inference.torch_requirement import torch_missing
from retrain.examples import LabelledExamples
from retrain.trainer_contract import TrainedCandidate, TrainerInput

try:
    import torch

    from inference.torch_predictor import build_classifier, save_artifact
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise torch_missing("retrain.candidate") from exc

__all__ = ["CandidateTrainer", "RowsTrainer", "TrainedCandidate", "fine_tuned", "mlp_fine_tune",
           "warm_start"]

_BATCH_SIZE = 128
_LEARNING_RATE = 1e-3


class CandidateTrainer(Protocol):
    """Trains a candidate into ``out_dir`` from the champion's folder and the examples."""

    def __call__(self, champion_dir: Path, train: LabelledExamples, out_dir: Path, *,
                 seed: int, max_epochs: int,
                 on_epoch: Callable[[int], None] | None = None) -> TrainedCandidate: ...


def warm_start(champion_dir: Path, train: LabelledExamples, out_dir: Path, *, seed: int,
               max_epochs: int, on_epoch: Callable[[int], None] | None = None
               ) -> TrainedCandidate:
    """Continue training the champion in ``champion_dir`` on ``train``; save to ``out_dir``."""
    blob = torch.load(Path(champion_dir) / "model.pt", map_location="cpu", weights_only=True)
    metadata = dict(blob["metadata"])
    names = tuple(metadata["features"])
    if set(names) != set(train.names):
        raise ValueError(f"the champion reads features {names}, the examples hold "
                         f"{train.names}: a warm start needs the same features")
    X = train.features[:, [train.names.index(n) for n in names]]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_classifier(metadata)
    net.load_state_dict(blob["state_dict"])
    shuffle = torch.Generator().manual_seed(seed)
    xs = torch.from_numpy(X.astype(np.float32))
    ys = torch.from_numpy(train.labels.astype(np.int64))
    optimiser = torch.optim.Adam(net.parameters(), lr=_LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    net.train()
    for epoch in range(max_epochs):
        for idx in torch.randperm(len(xs), generator=shuffle).split(_BATCH_SIZE):
            optimiser.zero_grad()
            loss_fn(net(xs[idx]), ys[idx]).backward()
            optimiser.step()
        if on_epoch is not None:
            on_epoch(epoch + 1)
    net.eval()
    train_s = time.perf_counter() - start
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_artifact(out_dir / "model.pt", net, metadata)
    model, version = metadata["model"], metadata["version"]
    ReferenceProfile.from_features(model, version, names, X).save(out_dir / "reference.json")
    with torch.inference_mode():
        scores = torch.softmax(net(xs), dim=1)[:, 1].numpy().astype(np.float64)
    ReferenceProfile.from_features(model, version, OUTPUTS, scores[:, None]).save(
        out_dir / OUTPUT_REFERENCE)
    return TrainedCandidate(len(X), max_epochs, train_s, "cpu")


class RowsTrainer:
    """A :class:`CandidateTrainer` seen through the trainer contract: it trains on the
    job's rows outside the holdout, for ``max_epochs`` at most."""

    def __init__(self, trainer: CandidateTrainer, max_epochs: int) -> None:
        self.trainer = trainer
        self.max_epochs = max_epochs
        self.__name__ = getattr(trainer, "__name__", type(trainer).__name__)

    def __call__(self, job: TrainerInput) -> TrainedCandidate:
        return self.trainer(job.champion_dir, job.train_rows().labelled(), job.out_dir,
                            seed=job.seed, max_epochs=self.max_epochs, on_epoch=job.progress)


def mlp_fine_tune(job: TrainerInput, *, max_epochs: int = 20, patience: int = 3
                  ) -> TrainedCandidate:
    """The built-in trainer (the contract of :mod:`retrain.trainer_contract`): fine-tune
    the project's MLP champion on the rows outside the holdout, on ``job.device``."""
    return fine_tuned(job.champion_dir, job.train_rows().labelled(), job.out_dir,
                      seed=job.seed, max_epochs=max_epochs, on_epoch=job.progress,
                      patience=patience, device=job.device)


def fine_tuned(champion_dir: Path, train: LabelledExamples, out_dir: Path, *, seed: int,
               max_epochs: int, on_epoch: Callable[[int], None] | None = None,
               patience: int = 3, device: str | None = None) -> TrainedCandidate:
    """The trainer the retrain worker uses: :func:`retrain.fine_tune.fine_tune` (the
    champion's weights, early stopping on the newest rows, cuda when present)."""
    from retrain.fine_tune import fine_tune, load_champion
    from retrain.training_set import TrainingSet

    names = tuple(load_champion(champion_dir)[1]["features"])
    if set(names) != set(train.names):
        raise ValueError(f"the champion reads features {names}, the examples hold "
                         f"{train.names}: a warm start needs the same features")
    order = np.argsort(train.ts, kind="stable")
    rows = TrainingSet(train.features[order][:, [train.names.index(n) for n in names]],
                       train.labels[order], names, timestamps=train.ts[order])
    model = fine_tune(champion_dir, rows, out_dir, version="candidate", seed=seed,
                      max_epochs=max_epochs, patience=patience, device=device,
                      on_epoch=None if on_epoch is None else lambda e, _: on_epoch(e))
    return TrainedCandidate(model.n_train, model.best_epoch, model.train_s, model.device)
