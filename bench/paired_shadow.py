"""A shadow judged on the champion's own requests (paired) against an unpaired A/B.

The same difference between two models is judged two ways, a look after every label:

- ``paired``: the shadow scores every labelled request the champion answered, so each label
  judges both; classifiers by the discordant pairs (:mod:`detectors.ab.paired`, the exact
  beta-binomial sequence), regressors by the paired difference of absolute errors
  (:mod:`detectors.ab.paired_error`, plug-in variance, no decision before 100 pairs);
- ``unpaired``: the existing A/B (:mod:`detectors.ab.mixture_sprt`, tuning 5,000), each
  label going to one of two independent arms at random, with the burn-in of
  :class:`~detectors.ab.experiment.ExperimentTest` (100 units per arm, and 25 errors per
  arm for the binary error).

Cells (alpha 0.05 two-sided, ``--reps`` replicates each, ``--horizon`` labels):

- classifier: the champion right on 80% of requests; the shadow wins 7% of requests and
  loses 4% (better: 83%), the reverse (worse: 77%), or 5.5% each way (equal);
- regressor: errors ``e_a = Z + 0.3 W_a`` and ``e_b = (1 - g) Z + 0.3 W_b`` (``Z, W``
  standard normal: the models share most of their error), ``g`` = 0.06 (better), -0.06
  (worse) or 0 (equal).

Run::

    python -m bench.paired_shadow --reps 10000
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from bench.ab_streams import first_decision
from detectors.ab.beta_binomial import log_bayes_factor
from detectors.ab.mixture_sprt import DEFAULT_TUNING_N, log_likelihood_ratio, mixing_variance

ALPHA, CONCENTRATION, MIN_UNITS, MIN_ERRORS = 0.05, 20.0, 100, 25
#: (shadow wins, champion wins) per request; the champion is right on 80%
CLASSIFIER = {"better": (0.07, 0.04), "worse": (0.04, 0.07), "equal": (0.055, 0.055)}
REGRESSOR = {"better": 0.06, "worse": -0.06, "equal": 0.0}
Judge = Callable[[np.random.Generator, int, int], dict[str, tuple[np.ndarray, np.ndarray]]]


def _crosses(d: np.ndarray, v: np.ndarray, n: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Where the two-sided mixture SPRT crosses 1/alpha (the existing A/B's test)."""
    v = np.where(ok & (v > 0), v, 1.0)
    tau2 = mixing_variance(v, n, ALPHA, DEFAULT_TUNING_N)
    return ok & (log_likelihood_ratio(d, v, tau2) >= -math.log(ALPHA))


def _unpaired(rng: np.random.Generator, reps: int, horizon: int, draw: Any,
              binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two independent arms, each label to one at random; the shadow's gain by sign."""
    to_b = rng.random((reps, horizon)) < 0.5
    value = np.where(to_b, draw(rng, (reps, horizon), 1), draw(rng, (reps, horizon), 0))
    n_b = np.cumsum(to_b, axis=1)
    n_a = np.arange(1, horizon + 1) - n_b
    s_b = np.cumsum(value * to_b, axis=1)
    s_a = np.cumsum(value, axis=1) - s_b
    q_b = np.cumsum(value * value * to_b, axis=1)
    q_a = np.cumsum(value * value, axis=1) - q_b
    with np.errstate(divide="ignore", invalid="ignore"):
        m_a, m_b = s_a / n_a, s_b / n_b
        v = (q_a / n_a - m_a ** 2) / n_a + (q_b / n_b - m_b ** 2) / n_b
    ok = (n_a >= MIN_UNITS) & (n_b >= MIN_UNITS)
    if binary:
        ok &= (s_a >= MIN_ERRORS) & (s_b >= MIN_ERRORS)
    gain = m_a - m_b  # the metric is an error: lower is better
    return first_decision(_crosses(gain, v, n_a + n_b, ok), gain)


def _classifier(win: float, lose: float) -> Judge:
    def judge(rng: np.random.Generator, reps: int, horizon: int
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        u = rng.random((reps, horizon))
        k, m = np.cumsum(u < win, axis=1), np.cumsum(u < win + lose, axis=1)
        paired = log_bayes_factor(k, m, 0.5, CONCENTRATION / 2, CONCENTRATION / 2) >= \
            -math.log(ALPHA)
        err_a, err_b = 0.20, 0.20 + lose - win

        def draw(g: np.random.Generator, shape: tuple[int, int], arm: int) -> np.ndarray:
            return (g.random(shape) < (err_b if arm else err_a)).astype(np.float64)
        return {"paired": first_decision(paired, 2.0 * k - m),
                "unpaired": _unpaired(rng, reps, horizon, draw, binary=True)}
    return judge


def _regressor(gain: float) -> Judge:
    def errors(g: np.random.Generator, shape: tuple[int, int], arm: int) -> np.ndarray:
        scale = (1.0 - gain) if arm else 1.0
        return np.abs(scale * g.standard_normal(shape) + 0.3 * g.standard_normal(shape))

    def judge(rng: np.random.Generator, reps: int, horizon: int
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        z = rng.standard_normal((reps, horizon))
        d = np.abs(z + 0.3 * rng.standard_normal(z.shape)) - \
            np.abs((1.0 - gain) * z + 0.3 * rng.standard_normal(z.shape))
        n = np.arange(1, horizon + 1)
        mean = np.cumsum(d, axis=1) / n
        v = (np.cumsum(d * d, axis=1) / n - mean ** 2) / n
        paired = _crosses(mean, v, n, np.broadcast_to(n >= MIN_UNITS, d.shape))
        return {"paired": first_decision(paired, mean),
                "unpaired": _unpaired(rng, reps, horizon, errors, binary=False)}
    return judge


def run_cell(judge: Judge, seed: int, reps: int, horizon: int, chunk: int
             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per method: the label (1-based; inf if none) and the sign of the first decision."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for start in range(0, reps, chunk):
        for name, (first, sign) in judge(rng, min(chunk, reps - start), horizon).items():
            parts.setdefault(name, []).append((np.where(first >= 0, first + 1.0, np.inf),
                                               sign))
    return {name: (np.concatenate([f for f, _ in p]), np.concatenate([s for _, s in p]))
            for name, p in parts.items()}


def _share(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def _quantile(labels: np.ndarray, q: float) -> float:
    return float(np.quantile(labels, q, method="inverted_cdf"))


def _q(x: float) -> str:
    return ">horizon" if math.isinf(x) else f"{x:.0f}"


def report(kind: str, cell: str, results: dict[str, tuple[np.ndarray, np.ndarray]],
           reps: int) -> None:
    want = {"better": 1, "worse": -1, "equal": 0}[cell]
    medians = {}
    for name, (labels, sign) in results.items():
        right = np.where(sign == want, labels, np.inf) if want else labels
        medians[name] = _quantile(right, 0.5)
        speed = f"{_q(medians[name])} | {_q(_quantile(right, 0.9))}" if want else \
            f"type-I error (any decision): {_share(int((sign != 0).sum()), reps)} | -"
        print(f"| {kind} | {cell} | {name} | {_share(int((sign > 0).sum()), reps)} | "
              f"{_share(int((sign < 0).sum()), reps)} | {_share(int((sign == 0).sum()), reps)}"
              f" | {speed} |")
    if want:
        ratio = medians["unpaired"] / medians["paired"]
        print(f"| {kind} | {cell} | unpaired / paired (median labels) | | | | {ratio:.2f} x | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--horizon", type=int, default=20_000)
    ap.add_argument("--chunk", type=int, default=100)
    args = ap.parse_args()
    print(f"replicates per cell: {args.reps}; horizon {args.horizon} labels, a look per label;"
          f" alpha {ALPHA} two-sided\n")
    print("| model | shadow | test | decided better (share, 95% CI) | decided worse | "
          "undecided at the horizon | median labels to the right decision | p90 |")
    print("|---|---|---|---|---|---|---|---|")
    judges = [("classifier", c, _classifier(*CLASSIFIER[c])) for c in CLASSIFIER] + \
        [("regressor", c, _regressor(REGRESSOR[c])) for c in REGRESSOR]
    for seed, (kind, cell, judge) in enumerate(judges):
        t0 = time.perf_counter()
        results = run_cell(judge, 100 + seed, args.reps, args.horizon, args.chunk)
        report(kind, cell, results, args.reps)
        print(f"<!-- {kind} {cell}: {time.perf_counter() - t0:.0f} s -->")


if __name__ == "__main__":
    main()
