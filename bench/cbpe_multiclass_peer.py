"""NannyML's multi-class CBPE on the streams of ``bench/cbpe_multiclass.py``; run in its
own venv.

``python bench/cbpe_multiclass_peer.py DATA.npz`` prints JSON: per seed and metric
(accuracy, macro recall and precision), the estimate of each analysis chunk, its band,
and the seconds that ``fit`` and ``estimate`` took (data frames built before the clock).
"""

from __future__ import annotations

import json
import sys

import nannyml as nml
import numpy as np
import pandas as pd
from cbpe_peer import timed_estimates  # type: ignore[import-not-found]

METRICS = ("accuracy", "recall", "precision")


def _frame(proba: np.ndarray, labels: np.ndarray | None) -> pd.DataFrame:
    frame = pd.DataFrame({f"p{k}": proba[:, k] for k in range(proba.shape[1])})
    frame["y_pred"] = proba.argmax(axis=1)
    if labels is not None:
        frame["y_true"] = labels
    return frame


def main(path: str) -> None:
    data = np.load(path)
    chunk = int(data["chunk"])
    out = []
    for s in range(int(data["seeds"])):
        ref = _frame(data[f"ref_proba_{s}"], data[f"ref_labels_{s}"])
        ana = _frame(data[f"proba_{s}"], None)
        k = data[f"proba_{s}"].shape[1]
        est = nml.CBPE(y_pred_proba={c: f"p{c}" for c in range(k)}, y_pred="y_pred",
                       y_true="y_true", problem_type="classification_multiclass",
                       metrics=list(METRICS), chunk_size=chunk)
        out.append(timed_estimates(est, ref, ana, list(METRICS)))
    print(json.dumps({"version": nml.__version__, "seeds": out}))


if __name__ == "__main__":
    main(sys.argv[1])
