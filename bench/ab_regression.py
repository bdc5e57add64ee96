"""A/A on a regression: type-I error of the always-valid test and of a t-test at every look.

Two equal regressions serve a 50/50 split; the experiment's primary metric is each unit's
absolute error (``|N(0, sigma)|`` in both arms, the folded normal of an unbiased model),
summed per arm as the outcome join sums them. At every look (``--every`` units per arm,
``--looks`` looks) two tests judge the same sums:

- ``always-valid``: :class:`detectors.ab.experiment.ExperimentTest` with a continuous
  primary (:meth:`~detectors.ab.experiment.ExperimentTest.continuous_primary`), lower
  absolute error better, its defaults (mixture SPRT, alpha 0.05, burn-in 100 units per
  arm, the SRM check); a false decision is any promote or rollback;
- ``t-test``: Welch's two-sided t-test at 0.05 on the same sums re-run at every look after
  the same burn-in (:func:`scipy.stats.ttest_ind_from_stats`), the fixed-horizon test read
  as if each look were the last; a false decision is any p <= 0.05.

The type-I error is the share of replicates with any false decision, with its 95%
Clopper-Pearson interval.

Run::

    python -m bench.ab_regression --reps 10000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np
from scipy import stats

from detectors.ab.experiment import ExperimentTest

ALPHA, MIN_UNITS = 0.05, 100


def look_sums(rng: np.random.Generator, reps: int, every: int, looks: int, sigma: float
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per arm, the cumulative (sum, sum of squares) of absolute errors at each look:
    arrays of shape ``(reps, looks)``, champion first then challenger."""
    for _ in range(2):
        e = np.abs(rng.normal(0.0, sigma, (reps, looks, every)))
        yield np.cumsum(e.sum(axis=2), axis=1), np.cumsum((e * e).sum(axis=2), axis=1)


def always_valid_decides(sums: list[tuple[np.ndarray, np.ndarray]], every: int) -> np.ndarray:
    """Per replicate, whether the experiment test promoted or rolled back at any look."""
    (sa, qa), (sb, qb) = sums
    reps, looks = sa.shape
    decided = np.zeros(reps, dtype=bool)
    for r in range(reps):
        test = ExperimentTest("abs_error", lower_is_better=True, horizon=10 * every * looks)
        test.continuous_primary()
        a, b = test.champion["abs_error"], test.challenger["abs_error"]
        for k in range(looks):
            prev_a = (sa[r, k - 1], qa[r, k - 1]) if k else (0.0, 0.0)
            prev_b = (sb[r, k - 1], qb[r, k - 1]) if k else (0.0, 0.0)
            a.add(every, sa[r, k] - prev_a[0], qa[r, k] - prev_a[1])
            b.add(every, sb[r, k] - prev_b[0], qb[r, k] - prev_b[1])
            test.srm.update([every, every])
            if test.decide().action in ("promote", "rollback"):
                decided[r] = True
                break
    return decided


def t_test_decides(sums: list[tuple[np.ndarray, np.ndarray]], every: int) -> np.ndarray:
    """Per replicate, whether Welch's t-test at every look (after burn-in) rejected."""
    (sa, qa), (sb, qb) = sums
    n = every * np.arange(1, sa.shape[1] + 1)
    mean_a, mean_b = sa / n, sb / n
    # sample standard deviations (denominator n - 1) from the sums
    sd_a = np.sqrt(np.maximum(qa - n * mean_a ** 2, 0.0) / (n - 1))
    sd_b = np.sqrt(np.maximum(qb - n * mean_b ** 2, 0.0) / (n - 1))
    p = stats.ttest_ind_from_stats(mean_a, sd_a, n, mean_b, sd_b, n, equal_var=False).pvalue
    return ((p <= ALPHA) & (n >= MIN_UNITS)).any(axis=1)


def _share_ci(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=50, help="units per arm between looks")
    ap.add_argument("--looks", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    valid, naive = [], []
    t_valid = t_naive = 0.0
    for start in range(0, args.reps, args.chunk):
        sums = list(look_sums(rng, min(args.chunk, args.reps - start), args.every,
                              args.looks, args.sigma))
        t0 = time.perf_counter()
        valid.append(always_valid_decides(sums, args.every))
        t1 = time.perf_counter()
        naive.append(t_test_decides(sums, args.every))
        t_valid, t_naive = t_valid + t1 - t0, t_naive + time.perf_counter() - t1
    reps = args.reps
    print(f"A/A on absolute error |N(0, {args.sigma:g})|: {reps} replicates, {args.looks} "
          f"looks every {args.every} units per arm (to {args.looks * args.every} per arm), "
          f"alpha {ALPHA}, burn-in {MIN_UNITS} units per arm\n")
    print("| test | false decisions (type-I error, 95% CI) | seconds |\n|---|---|---|")
    print(f"| always-valid (ExperimentTest, continuous arms) | "
          f"{_share_ci(int(np.concatenate(valid).sum()), reps)} | {t_valid:.0f} |")
    print(f"| Welch t-test at every look | "
          f"{_share_ci(int(np.concatenate(naive).sum()), reps)} | {t_naive:.1f} |")


if __name__ == "__main__":
    main()
