"""``inferwatch train``: train the demo classifier on generated data and publish it."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from streams.cli.command import Subparsers, add_command
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
        path = store.publish(args.model, args.version, Path(tmp))
    print(f"published {args.model} {args.version} to {path} "
          f"(held-out accuracy {trained.accuracy:.3f})")
    return 0
