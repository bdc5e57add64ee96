"""NannyML's DLE on the streams of ``bench/dle.py``; run in its own venv.

``python bench/dle_peer.py DATA.npz`` prints JSON: per seed and metric (MAE, RMSE), the
estimate of each analysis chunk, its band, and the seconds that ``fit`` and ``estimate``
took (data frames built before the clock starts).
"""

from __future__ import annotations

import json
import sys

import nannyml as nml
import numpy as np
import pandas as pd
from cbpe_peer import timed_estimates  # type: ignore[import-not-found]

FEATURES = ["x1", "x2", "x3"]


def _frame(x: np.ndarray, pred: np.ndarray, y: np.ndarray | None) -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["y_pred"] = pred
    if y is not None:
        frame["y_true"] = y
    return frame


def main(path: str) -> None:
    data = np.load(path)
    chunk = int(data["chunk"])
    out = []
    for s in range(int(data["seeds"])):
        ref = _frame(data[f"ref_x_{s}"], data[f"ref_pred_{s}"], data[f"ref_y_{s}"])
        ana = _frame(data[f"x_{s}"], data[f"pred_{s}"], None)
        est = nml.DLE(feature_column_names=FEATURES, y_pred="y_pred", y_true="y_true",
                      metrics=["mae", "rmse"], chunk_size=chunk)
        out.append(timed_estimates(est, ref, ana, ["mae", "rmse"]))
    print(json.dumps({"version": nml.__version__, "seeds": out}))


if __name__ == "__main__":
    main(sys.argv[1])
