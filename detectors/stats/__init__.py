"""Window tests against a reference: KS, Wasserstein, chi-square, Jensen-Shannon, PSI, MMD.

Each statistic is a pure function checked against scipy; ``windows`` keeps sliding or
tumbling windows sorted or counted as values arrive; ``window_test`` binds a feature's
reference to a window and a test.
"""

from detectors.stats.chi_square import chi_square_goodness_of_fit, chi_square_homogeneity
from detectors.stats.jensen_shannon import jensen_shannon
from detectors.stats.ks import ks_p_value, ks_statistic
from detectors.stats.mmd import MMDResult, mmd_test
from detectors.stats.psi import bin_counts, psi, quantile_edges
from detectors.stats.wasserstein import wasserstein
from detectors.stats.window_test import (
    CategoricalWindowTest,
    NumericWindowTest,
    WindowTestResult,
)
from detectors.stats.windows import CountWindow, SortedWindow

__all__ = [
    "CategoricalWindowTest", "CountWindow", "MMDResult", "NumericWindowTest", "SortedWindow",
    "WindowTestResult", "bin_counts", "chi_square_goodness_of_fit", "chi_square_homogeneity",
    "jensen_shannon", "ks_p_value", "ks_statistic", "mmd_test", "psi", "quantile_edges",
    "wasserstein",
]
