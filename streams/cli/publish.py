"""``inferwatch models publish``: publish the user's model version with its reference data.

``inferwatch models publish MODEL --version V --from PATH --reference DATA`` checks the
version folder ``PATH`` (``model.json`` and the artifact) on a sample of ``DATA`` (a
Parquet or CSV file), builds its references by running the model on the data, and
publishes it with its card to the registry the workers serve from
(``INFERWATCH_INFERENCE_MODEL_DIR``); see :mod:`inference.publisher`. A model that fails
a check is refused with its cause, and nothing is published.

>>> args = parser().parse_args(["churn", "--version", "v2", "--from", "build",
...                             "--reference", "ref.parquet", "--label", "churned"])
>>> args.model, args.version, str(args.source), args.holdout, args.device
('churn', 'v2', 'build', 0.2, None)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.cli.command import ExampleFormatter
from streams.errors import ConfigError
from streams.settings import InferenceSettings, load

__all__ = ["EXAMPLE", "parser", "publish"]

EXAMPLE = ("inferwatch models publish churn --version v2 --from build/churn "
           "--reference data/train.parquet --label churned --holdout 0.2")


def parser() -> argparse.ArgumentParser:
    """The parser of ``inferwatch models publish``'s arguments."""
    p = argparse.ArgumentParser(
        prog="inferwatch models publish", formatter_class=ExampleFormatter,
        description="Publish a model version (a folder with model.json and its artifact) "
                    "with references built from DATA: numeric decile bins, category counts, "
                    "the model's embeddings of a text input, its scores, and with --label "
                    "its calibration and holdout accuracy. The model is checked on a sample "
                    "first (output shape against the classes, finite outputs, a batch of one "
                    "against a batch of many, cuda against cpu when a GPU is present); a "
                    "model that fails is refused and nothing is published.",
        epilog=f"example:\n  {EXAMPLE}")
    p.add_argument("model", help="the model's name")
    p.add_argument("--version", required=True, help="the new version's name, e.g. v2")
    p.add_argument("--from", dest="source", required=True, type=Path, metavar="PATH",
                   help="the version folder: model.json and the artifact it names")
    p.add_argument("--reference", required=True, type=Path, metavar="DATA",
                   help="the reference data, a Parquet (.parquet, .pq) or CSV file")
    p.add_argument("--label", metavar="COLUMN",
                   help="the column of true classes: measure the model on a holdout")
    p.add_argument("--holdout", type=float, default=0.2,
                   help="share of the rows set aside, with --label (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seeds the holdout and the sample")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    return p


def publish(argv: list[str]) -> int:
    """Run ``inferwatch models publish`` with ``argv`` (the words after ``publish``)."""
    from inference.publisher import publish_with_data
    from inference.registry import ModelStore

    args = parser().parse_args(argv)
    store = ModelStore(load(InferenceSettings).model_dir)
    try:
        done = publish_with_data(store, args.model, args.version, args.source, args.reference,
                                 label=args.label, holdout=args.holdout, device=args.device,
                                 seed=args.seed)
    except (ValueError, FileExistsError) as exc:  # PublishRefused and SpecError among them
        raise ConfigError(f"models publish: {exc}; nothing was published") from None
    built = done.references
    assert built is not None  # publish_with_data builds them
    lines = [f"published {done.model} {done.version} to {done.path}",
             f"  rows: {built.n_reference} reference, {built.n_holdout} holdout",
             f"  references: {', '.join(built.files)}"]
    if built.holdout_accuracy is not None:
        lines.append(f"  holdout accuracy: {built.holdout_accuracy:.4f} "
                     f"(label {args.label}, {built.n_holdout} rows)")
    if built.holdout_mae is not None:
        lines.append(f"  holdout MAE: {built.holdout_mae:.4f} "
                     f"(label {args.label}, {built.n_holdout} rows)")
    lines += [f"  note: {note}" for note in built.notes]
    lines += [f"  checked on {done.device}", f"  content hash: {done.card.content_hash}"]
    print("\n".join(lines))
    return 0
