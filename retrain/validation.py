"""Validate a candidate against the champion on the same recent holdout, before it serves.

Three checks, each reported with its figure, its threshold and whether it passed:

``accuracy``
    The candidate's accuracy gain over the champion is at least ``margin``, and the gain
    is significant under McNemar's paired test: on the holdout's discordant pairs,
    ``b`` rows only the champion gets right and ``c`` rows only the candidate does; under
    "no difference" ``c ~ Binomial(b + c, 1/2)``, and the one-sided p-value is
    ``P(X >= c)`` (exact) or ``P(X > c) + P(X = c) / 2`` (mid-p, less conservative).
``segment:<key=value>``
    In each declared segment the accuracy falls by no more than ``segment_tolerance``.
``latency``
    The median of repeated timed batches of the candidate is at most
    ``1 + latency_tolerance`` times the champion's, timed on this machine,
    interleaved so that both models meet the same load.

Examples
--------
>>> import numpy as np
>>> y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
>>> champion = np.array([0, 0, 0, 1, 0, 0, 0, 1, 1, 0])
>>> candidate = y.copy()
>>> gain = mcnemar(y, champion, candidate)
>>> gain.b, gain.c, gain.gain, round(gain.p_value, 4)
(0, 4, 0.4, 0.0312)
>>> report = validate_candidate(y, champion, candidate, ValidationPolicy(margin=0.1, alpha=0.1))
>>> report.passed, [c.name for c in report.checks]
(True, ['accuracy'])
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import betainc, gammaln

from retrain.batch_timing import time_batches

__all__ = [
    "Check", "McNemarResult", "ValidationPolicy", "ValidationReport", "latency_check",
    "mcnemar", "segment_checks", "time_batches", "validate_candidate",
]

PValueMethod = Literal["exact", "mid-p"]


@dataclass(frozen=True)
class ValidationPolicy:
    """What a candidate must show to replace the champion.

    Parameters
    ----------
    margin
        Least accuracy gain (candidate minus champion, as a share of rows), e.g. 0.01.
    alpha
        Largest one-sided McNemar p-value that counts as significant.
    method
        ``"exact"`` or ``"mid-p"``: the McNemar p-value.
    segment_tolerance
        Largest accuracy drop allowed in any declared segment.
    latency_tolerance
        Largest relative rise of the median batch latency (0.2: 20 % slower at most).
    min_segment_rows
        A segment with fewer holdout rows is reported but not judged (too few to tell).
    """

    margin: float = 0.0
    alpha: float = 0.05
    method: PValueMethod = "mid-p"
    segment_tolerance: float = 0.02
    latency_tolerance: float = 0.2
    min_segment_rows: int = 30

    def __post_init__(self) -> None:
        if not -1.0 <= self.margin <= 1.0:
            raise ValueError(f"ValidationPolicy.margin must be in [-1, 1], got {self.margin!r}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"ValidationPolicy.alpha must be in (0, 1), got {self.alpha!r}")
        if self.method not in ("exact", "mid-p"):
            raise ValueError(
                f"ValidationPolicy.method must be 'exact' or 'mid-p', got {self.method!r}"
            )
        for name in ("segment_tolerance", "latency_tolerance"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"ValidationPolicy.{name} must be >= 0, got {value!r}")
        if self.min_segment_rows < 1:
            raise ValueError(
                f"ValidationPolicy.min_segment_rows must be >= 1, got {self.min_segment_rows}"
            )


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's paired comparison of two classifiers on the same rows.

    Attributes
    ----------
    b, c
        Rows only the champion gets right; rows only the candidate gets right.
    n
        Rows compared.
    gain
        ``(c - b) / n``: the candidate's accuracy minus the champion's.
    p_value
        One-sided p-value of "the candidate is no better" (exact or mid-p).
    """

    b: int
    c: int
    n: int
    gain: float
    p_value: float


def _binomial_upper_tail(k: int, m: int) -> tuple[float, float]:
    """``(P(X >= k), P(X = k))`` for X ~ Binomial(m, 1/2).

    The tail is the regularised incomplete beta function ``I_{1/2}(k, m - k + 1)``, the
    point mass ``C(m, k) / 2^m`` from log-gamma: closed forms, so a holdout of millions
    of rows costs no more than one of ten.
    """
    if k <= 0:
        return 1.0, 0.5**m if k == 0 else 0.0
    log_pmf = gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1) - m * math.log(2.0)
    return float(betainc(k, m - k + 1, 0.5)), math.exp(log_pmf)


def mcnemar(
    y_true: np.ndarray,
    champion: np.ndarray,
    candidate: np.ndarray,
    method: PValueMethod = "mid-p",
) -> McNemarResult:
    """McNemar's one-sided test that ``candidate``'s labels beat ``champion``'s on ``y_true``."""
    y, a, c_pred = (np.asarray(v) for v in (y_true, champion, candidate))
    if not (y.shape == a.shape == c_pred.shape) or y.ndim != 1:
        raise ValueError(
            f"y_true, champion and candidate must be 1-d and aligned, got shapes "
            f"{y.shape}, {a.shape}, {c_pred.shape}"
        )
    if len(y) == 0:
        raise ValueError("cannot compare two models on an empty holdout")
    a_right, c_right = a == y, c_pred == y
    b = int(np.sum(a_right & ~c_right))
    c = int(np.sum(c_right & ~a_right))
    tail, at = _binomial_upper_tail(c, b + c)
    p = tail if method == "exact" else tail - at / 2
    return McNemarResult(b, c, len(y), (c - b) / len(y), min(1.0, p))


@dataclass(frozen=True)
class Check:
    """One validation check: its figure against its threshold, and the verdict."""

    name: str
    figure: float
    threshold: float
    passed: bool
    p_value: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """Every check of a candidate against the champion; it passes when all of them do."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed."""
        return [check.name for check in self.checks if not check.passed]

    def rows(
        self, *, validation_id: str, model: str, champion_version: str,
        candidate_version: str, at: float,
    ) -> list[dict[str, object]]:
        """One row per check for the ClickHouse ``validations`` table.

        Columns: validation_id, model, champion_version, candidate_version, check,
        figure, threshold, p_value (NaN when the check has none), passed (0/1), detail,
        at (epoch seconds); plus one row ``check = "overall"`` with the verdict.
        """
        base = {"validation_id": validation_id, "model": model,
                "champion_version": champion_version, "candidate_version": candidate_version,
                "at": at}
        rows: list[dict[str, object]] = [
            {**base, "check": c.name, "figure": c.figure, "threshold": c.threshold,
             "p_value": math.nan if c.p_value is None else c.p_value,
             "passed": int(c.passed), "detail": c.detail}
            for c in self.checks
        ]
        rows.append({**base, "check": "overall", "figure": float(len(self.failed)),
                     "threshold": 0.0, "p_value": math.nan, "passed": int(self.passed),
                     "detail": ("failed: " + ", ".join(self.failed)) if self.failed
                     else "all passed"})
        return rows


def validate_candidate(
    y_true: np.ndarray,
    champion: np.ndarray,
    candidate: np.ndarray,
    policy: ValidationPolicy,
    *,
    segments: Mapping[str, np.ndarray] | None = None,
    latency: tuple[list[float], list[float]] | None = None,
) -> ValidationReport:
    """Run the checks of ``policy`` on the holdout labels and both models' predictions.

    Parameters
    ----------
    y_true, champion, candidate
        The holdout's true labels and each model's predicted labels, row-aligned.
    policy
        Margin, significance and tolerances.
    segments
        Declared segments: name (``"region=eu"``) to a boolean mask over the rows.
    latency
        Seconds per batch of the champion and of the candidate (:func:`time_batches`);
        None leaves the latency check out.
    """
    test = mcnemar(y_true, champion, candidate, policy.method)
    significant = test.p_value <= policy.alpha
    checks = [Check(
        "accuracy", test.gain, policy.margin, test.gain >= policy.margin and significant,
        test.p_value,
        f"McNemar {policy.method}: b={test.b} c={test.c} n={test.n}, alpha={policy.alpha}",
    )]
    y, a, c = np.asarray(y_true), np.asarray(champion), np.asarray(candidate)
    checks += segment_checks(
        segments, y.shape, policy, -policy.segment_tolerance,
        lambda rows: float(np.mean(c[rows] == y[rows]) - np.mean(a[rows] == y[rows])))
    checks += [latency_check(latency, policy)] if latency is not None else []
    return ValidationReport(tuple(checks))


def segment_checks(segments: Mapping[str, np.ndarray] | None, shape: tuple[int, ...],
                   policy: ValidationPolicy, threshold: float,
                   figure: Callable[[np.ndarray], float]) -> list[Check]:
    """A ``segment:<name>`` check per declared segment: ``figure`` of its rows (a boolean
    mask) within ``threshold`` (at least it when negative, at most it otherwise); a
    segment of fewer than ``policy.min_segment_rows`` rows is reported, not judged."""
    checks = []
    for name, mask in (segments or {}).items():
        rows = np.asarray(mask, dtype=bool)
        if rows.shape != shape:
            raise ValueError(f"segment {name!r} mask has shape {rows.shape}, rows {shape}")
        n = int(rows.sum())
        if n < policy.min_segment_rows:
            checks.append(Check(f"segment:{name}", math.nan, threshold, True,
                                detail=f"{n} rows < {policy.min_segment_rows}: not judged"))
            continue
        value = figure(rows)
        passed = value >= threshold if threshold < 0 else value <= threshold
        checks.append(Check(f"segment:{name}", value, threshold, passed, detail=f"{n} rows"))
    return checks


def latency_check(latency: tuple[list[float], list[float]], policy: ValidationPolicy) -> Check:
    """The ``latency`` check: the candidate's median batch time against the champion's."""
    champion_s, candidate_s = latency
    if not champion_s or not candidate_s:
        raise ValueError("latency needs at least one timed batch of each model")
    cand_med, champ_med = statistics.median(candidate_s), statistics.median(champion_s)
    bound = 1.0 + policy.latency_tolerance
    return Check("latency", cand_med / champ_med, bound, cand_med / champ_med <= bound,
                 detail=f"median of {len(candidate_s)} batches: candidate {cand_med:.6f} s, "
                 f"champion {champ_med:.6f} s")
