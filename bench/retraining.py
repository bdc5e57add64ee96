"""Accuracy on post-drift traffic: doing nothing, the retrain worker's warm start, and a
model retrained from scratch on the same labels.

The champion is trained as ``inferwatch train --rows 8000`` trains it; the traffic then
drifts as ``simulate --scenario retraining`` drifts it (f7 spread threefold). Each seed
draws the labelled examples a retrain gets (``--examples``, the worker's share of the
drifted traffic in the end-to-end test), runs the worker's job on them as the worker
configures it (``fine_tune`` from the champion's weights with early stopping, patience 3;
``PairedGate``: McNemar gain over the 0.01 margin, segments, batch latency; on the most
recent 30%), trains a fresh model of the same architecture on the same training rows,
and scores all three on 20,000 unseen drifted rows. ``--trainer warm_start`` runs the
plain warm start (fixed epochs) with the accuracy-gain gate instead.

    python -m bench.retraining --seeds 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from inference.registry import ModelStore
from retrain.candidate import fine_tuned
from retrain.examples import LabelledExamples
from retrain.holdout_gate import HoldoutGate, PairedGate, accuracy
from retrain.retrain_job import RetrainJob
from retrain.synthetic import FEATURES, FeatureGenerator
from retrain.trainer import HIDDEN, _accuracy, _fit, train_classifier
from retrain.validation import ValidationPolicy
from streams.simulation.simulator import RETRAINING_DRIFT


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--examples", type=int, default=5800)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--trainer", choices=["fine_tune", "warm_start"], default="fine_tune")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        champion_dir = Path(tmp) / "champion"
        train_classifier(champion_dir, n=8000, seed=0)
        for seed in range(args.seeds):
            gen = FeatureGenerator(100 + seed)
            batch = gen.sample(args.examples, drift=RETRAINING_DRIFT)
            ex = LabelledExamples(np.arange(float(args.examples)), batch.features, batch.labels,
                                  FEATURES)
            test = gen.sample(20_000, drift=RETRAINING_DRIFT)
            held = LabelledExamples(np.zeros(len(test)), test.features, test.labels, FEATURES)
            store = ModelStore(Path(tmp) / f"store{seed}")
            store.publish("churn", "v1", champion_dir)
            if args.trainer == "fine_tune":  # as streams/retraining/runner.py configures it
                job = RetrainJob(store, PairedGate(ValidationPolicy(margin=0.01, alpha=0.05,
                                                                    latency_tolerance=0.5)),
                                 trainer=partial(fine_tuned, patience=3), seed=seed,
                                 max_epochs=args.epochs)
            else:
                job = RetrainJob(store, HoldoutGate(0.01), seed=seed, max_epochs=args.epochs)
            start = time.perf_counter()
            result = job.run(f"rt-{seed}", "churn", ex, data_range=(0.0, 1.0))
            warm_s = time.perf_counter() - start
            nothing = accuracy(store.load_predictor("churn", "v1", "cpu"), held)
            warm = accuracy(store.load_predictor("churn", result.version, "cpu"), held)
            train, _ = ex.time_holdout(0.3)
            meta = {"model": "churn", "version": "scratch", "features": list(FEATURES),
                    "mean": train.features.mean(0).tolist(),
                    "std": np.maximum(train.features.std(0), 1e-12).tolist(),
                    "hidden": list(HIDDEN), "n_classes": 2}
            start = time.perf_counter()
            net = _fit(meta, train.features, train.labels, seed=seed, epochs=args.epochs)
            scratch_s = time.perf_counter() - start
            scratch = _accuracy(net, test.features, test.labels)
            rows.append((nothing, warm, scratch, result.passed, warm_s, scratch_s))
            print(f"seed {seed}: nothing {nothing:.4f}  {args.trainer} {warm:.4f} "
                  f"(validation {'passed' if result.passed else 'rejected'})  "
                  f"scratch {scratch:.4f}", flush=True)
        pre = FeatureGenerator(99).sample(20_000)
        champ = ModelStore(Path(tmp) / "store0").load_predictor("churn", "v1", "cpu")
        before = accuracy(champ, LabelledExamples(np.zeros(len(pre)), pre.features,
                                                  pre.labels, FEATURES))
    a = np.array(rows, dtype=float)
    print(f"\nchampion before the drift: {before:.4f}")
    trained = "fine-tune" if args.trainer == "fine_tune" else "warm start"
    for name, col in (("do nothing", 0), (f"{trained} (worker)", 1), ("from scratch", 2)):
        print(f"{name}: mean {a[:, col].mean():.4f}, min {a[:, col].min():.4f}, "
              f"max {a[:, col].max():.4f}")
    print(f"validation passed {int(a[:, 3].sum())}/{len(a)}; train s: warm "
          f"{a[:, 4].mean():.2f} (job), scratch {a[:, 5].mean():.2f}")


if __name__ == "__main__":
    main()
