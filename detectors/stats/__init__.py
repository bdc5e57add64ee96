"""Two-sample statistics of a window against a reference, each checked against scipy.

PSI and the chi-square goodness of fit judge the pipeline's binned feature drift; MMD
its embedding drift; KS is the batch peer's test in ``bench/batch_peer.py``.
"""

from detectors.stats.chi_square import chi_square_goodness_of_fit
from detectors.stats.ks import ks_p_value, ks_statistic
from detectors.stats.mmd import MMDResult, mmd_test
from detectors.stats.psi import psi, shares

__all__ = ["MMDResult", "chi_square_goodness_of_fit", "ks_p_value", "ks_statistic", "mmd_test",
           "psi", "shares"]
