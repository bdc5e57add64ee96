"""``inferwatch train``: train the demo classifier on generated data and publish it.

It publishes as ``inferwatch models publish`` does (:func:`inference.publisher.publish_checked`):
the trained version is loaded, checked on a sample of its holdout (output shape, finite
outputs, a batch of one against a batch of many, cuda against cpu when a GPU is present)
and published with its card (content hash, device, holdout accuracy).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from streams.cli.command import Subparsers, add_command
from streams.errors import ConfigError
from streams.settings import InferenceSettings, KafkaSettings, load

#: the demo classifier's training epochs (one tick of the progress bar each)
EPOCHS = 8


def add_to(sub: Subparsers) -> None:
    """Add ``train``."""
    t = add_command(sub, "train", _train, help="train the demo classifier and publish it",
                    description="Train the small torch classifier on generated data and "
                                "publish it to the model store.",
                    example="inferwatch train --model churn --version v2 --rows 50000 --seed 1")
    t.add_argument("--model", default="churn")
    t.add_argument("--version", default="v1")
    t.add_argument("--rows", type=int, default=20000, help="training rows (default 20000)")
    t.add_argument("--seed", type=int, default=0)


def _train(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from inference.model_card import Lineage
    from inference.model_inputs import ModelInputs
    from inference.publisher import SAMPLE_ROWS, publish_checked
    from inference.quantize import load_holdout
    from inference.registry import ModelStore
    from retrain.trainer import train_classifier
    from streams.telemetry.progress import ProgressBar
    settings = load(InferenceSettings)
    store = ModelStore(settings.model_dir)
    if args.version in store.versions(args.model):
        print(f"{args.model} {args.version} is already published in {settings.model_dir}")
        return 0
    bar = ProgressBar(EPOCHS, f"train {args.model}", unit=" epochs")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            trained = train_classifier(Path(tmp), model=args.model, version=args.version,
                                       n=args.rows, seed=args.seed, epochs=EPOCHS,
                                       on_epoch=bar.update)
        finally:
            bar.close()
        holdout, _ = load_holdout(Path(tmp))
        lineage = Lineage(device=trained.device, metrics={
            "holdout_accuracy": trained.accuracy, "n_train": float(trained.n_train)})
        try:
            done = publish_checked(store, args.model, args.version, Path(tmp),
                                   ModelInputs.of_numeric(holdout[:SAMPLE_ROWS]), lineage)
        except ValueError as exc:  # a refused check: the trainer's fault, named
            raise ConfigError(f"train: {exc}; nothing was published") from None
    print(f"published {args.model} {args.version} to {done.path} "
          f"(held-out accuracy {trained.accuracy:.3f}, {done.card.content_hash})")
    return 0
