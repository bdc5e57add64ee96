"""Trainers for the tests, named as a user names theirs (``tests.integration.retrain_trainers:f``).

Each follows the contract of :mod:`retrain.trainer_contract`; they run in the trainer's own
process, so what a test wants to see of them goes to files under ``INFERWATCH_TEST_DIR``.
:func:`scripted` does what the file ``trainer-mode`` there says, so one retrain worker
can meet each kind of trainer in turn.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from retrain.trainer_contract import TrainedCandidate, TrainerInput


def _test_dir() -> Path:
    return Path(os.environ.get("INFERWATCH_TEST_DIR", "."))


def raises(job: TrainerInput) -> None:
    """A trainer with a bug."""
    raise RuntimeError(f"the user's trainer broke on {len(job.examples)} examples")


def hangs(job: TrainerInput) -> None:
    """A trainer that never returns (its pid is left in ``hung.pid``)."""
    (_test_dir() / "hung.pid").write_text(str(os.getpid()))
    time.sleep(3600)


def writes_nothing(job: TrainerInput) -> None:
    """A trainer that returns without writing a version."""


def writes_a_bad_spec(job: TrainerInput) -> None:
    """A trainer whose ``model.json`` names a kind nothing can load."""
    (job.out_dir / "model.json").write_text(json.dumps(
        {"kind": "onnx", "task": "binary", "classes": ["no", "yes"],
         "inputs": {"numeric": [{"name": "f0"}]}}))


def fine_tunes(job: TrainerInput) -> TrainedCandidate:
    """The built-in fine-tune, five epochs at most; it also leaves what it was given in
    ``given.json`` (rows, holdout rows, seed, device, seconds to the deadline)."""
    from retrain.candidate import mlp_fine_tune

    (_test_dir() / "given.json").write_text(json.dumps({
        "rows": len(job.examples), "holdout": int(job.holdout.sum()), "seed": job.seed,
        "device": job.device, "to_deadline_s": job.deadline - time.time(),
        "numeric": sorted(job.examples.numeric), "target_kind": job.examples.target_kind}))
    return mlp_fine_tune(job, max_epochs=5)


def scripted(job: TrainerInput) -> TrainedCandidate | None:
    """What ``INFERWATCH_TEST_DIR/trainer-mode`` names: raises, hangs or fine_tunes."""
    mode = (_test_dir() / "trainer-mode").read_text().strip()
    trainer = {"raises": raises, "hangs": hangs, "fine_tunes": fine_tunes}[mode]
    return trainer(job)


def writes_a_nan_model(job: TrainerInput) -> None:
    """A TorchScript model with a valid spec whose every answer is NaN."""
    import torch

    class Nan(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full((x.shape[0], 2), float("nan"))

    torch.jit.save(torch.jit.script(Nan()), str(job.out_dir / "model.ts"))
    (job.out_dir / "model.json").write_text(json.dumps(
        {"kind": "torchscript", "task": "binary", "classes": ["0", "1"],
         "inputs": {"numeric": [{"name": n} for n in job.examples.numeric]}}))


def fits_a_linear_regression(job: TrainerInput) -> TrainedCandidate:
    """A user's regression trainer: least squares on the training rows (never the holdout)
    over the champion's numeric inputs, saved as a TorchScript ``regression`` version. It
    leaves what it was given in ``given.json`` (the target kind, rows, holdout rows) and
    the holdout rows themselves in ``holdout.npz`` (``x`` in the spec's order, ``y``)."""
    import numpy as np
    import torch

    from inference.model_spec import ModelSpec

    started = time.perf_counter()
    spec = ModelSpec.load(job.champion_dir)
    names = [i.name for i in spec.numeric]
    train = job.train_rows()
    x = np.column_stack([train.numeric[n] for n in names] + [np.ones(len(train))])
    coef, *_ = np.linalg.lstsq(x, train.target.astype(float), rcond=None)
    (_test_dir() / "given.json").write_text(json.dumps({
        "rows": len(job.examples), "holdout": int(job.holdout.sum()),
        "target_kind": job.examples.target_kind, "coef": coef.tolist()}))
    held = job.examples.take(job.holdout)
    np.savez(_test_dir() / "holdout.npz", x=np.column_stack([held.numeric[n] for n in names]),
             y=held.target)
    linear = torch.nn.Linear(len(names), 1).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(coef[None, :-1]))
        linear.bias.fill_(float(coef[-1]))
    torch.jit.save(torch.jit.script(linear.float().eval()), str(job.out_dir / "model.ts"))
    ModelSpec.from_dict({"kind": "torchscript", "task": "regression",
                         "inputs": {"numeric": [{"name": n} for n in names]}}
                        ).save(job.out_dir)
    return TrainedCandidate(len(train), 1, time.perf_counter() - started, job.device)
