"""NannyML's CBPE on the streams of ``bench/cbpe.py``; run in its own venv.

``nannyml`` pins old pandas and scikit-learn, so ``bench/cbpe.py`` runs this file with the
peer interpreter: ``python bench/cbpe_peer.py DATA.npz`` prints JSON: per seed, the
estimated accuracy of each analysis chunk, its band, and the seconds that ``fit`` and
``estimate`` took (data frames built before the clock starts).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any

import nannyml as nml
import numpy as np
import pandas as pd


def _frame(scores: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"y_pred_proba": scores, "y_pred": (scores >= 0.5).astype(int),
                         "y_true": labels})


def timed_estimates(estimator: Any, ref: pd.DataFrame, ana: pd.DataFrame,
                    metrics: list[str]) -> dict[str, Any]:
    """Fit ``estimator`` on ``ref``, estimate ``ana``; per metric its chunks' estimates and
    band, with the seconds both took (shared by the NannyML peers)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(ref)
        res = estimator.estimate(ana).filter(period="analysis").to_df()
    seconds = time.perf_counter() - t0
    return {m: {"estimate": res[(m, "value")].tolist(),
                "low": res[(m, "lower_confidence_boundary")].tolist(),
                "high": res[(m, "upper_confidence_boundary")].tolist(),
                "seconds": seconds} for m in metrics}


def main(path: str) -> None:
    data = np.load(path)
    chunk = int(data["chunk"])
    out = []
    for s in range(int(data["seeds"])):
        ref = _frame(data[f"ref_scores_{s}"], data[f"ref_labels_{s}"])
        ana = _frame(data[f"scores_{s}"], data[f"labels_{s}"]).drop(columns="y_true")
        est = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                       problem_type="classification_binary", metrics=["accuracy"],
                       chunk_size=chunk)
        out.append(timed_estimates(est, ref, ana, ["accuracy"])["accuracy"])
    print(json.dumps({"version": nml.__version__, "seeds": out}))


if __name__ == "__main__":
    main(sys.argv[1])
