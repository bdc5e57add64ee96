"""The regression-error adapter: a window's joined values (MAE, RMSE, bias) against the
served version's errors on its holdout.

The outcome join sums each joined value's errors; the merged window's
:class:`~detectors.regression_error.RegressionErrors` is tested by
:class:`~detectors.regression_error.MaeShift` against the reference MAE
(``error_reference.json`` of the version that serves). A significant rise pages, through
the alert book's hysteresis, as concept drift does for a classifier; the report carries
the MAE, RMSE and bias beside the reference's.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.reference.regression import ErrorReference
from detectors.regression_error import MaeShift
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow

ErrorLookup = Callable[[str], "ErrorReference | None"]


class RegressionError:
    """MAE per window against the reference MAE; a page when it rises."""

    detector = "regression_error"

    def __init__(self, references: ErrorLookup | None, shift: MaeShift | None = None) -> None:
        self.references = references
        self.shift = shift or MaeShift()

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        ref = self.references(win.model) if self.references is not None else None
        if ref is None or not win.errors.n:
            return []
        v = self.shift.judge(win.errors, ref.mae)
        evidence: Evidence = {
            "mae": round(v.mae, 6), "rmse": round(v.rmse, 6), "bias": round(v.bias, 6),
            "reference_mae": round(ref.mae, 6), "reference_rmse": round(ref.rmse, 6),
            "reference_bias": round(ref.bias, 6), "valued": float(v.n)}
        report = window_report(
            self.detector, win, n=v.n, statistic=v.mae,
            threshold=ref.mae * (1.0 + self.shift.min_increase), p_value=v.p_value,
            fired=v.worse, change="drift", evidence=evidence)
        return [Verdict.of(report)]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        return (f"regression error: MAE {evidence.get('mae')} against reference "
                f"{evidence.get('reference_mae')} (RMSE {evidence.get('rmse')}, bias "
                f"{evidence.get('bias')}) on {evidence.get('valued')} values")
