"""Streaming change detectors with river's contract, batch paths and snapshots.

``ADWIN``, ``PageHinkley`` and ``KSWIN`` watch a real-valued stream; ``DDM`` and
``EDDM`` watch a model's 0/1 errors on labelled outcomes; ``CUSUM`` is the two-sided
tabular CUSUM and ``BernoulliCUSUM`` its log-likelihood-ratio form for 0/1 errors. Each
``update_many`` returns the positions where it fired and equals the loop of ``update``.
"""

from detectors.change.adwin import ADWIN
from detectors.change.base import ChangeDetector
from detectors.change.bernoulli_cusum import BernoulliCUSUM
from detectors.change.cusum import CUSUM
from detectors.change.ddm import DDM
from detectors.change.eddm import EDDM
from detectors.change.kswin import KSWIN
from detectors.change.page_hinkley import PageHinkley

__all__ = ["ADWIN", "CUSUM", "DDM", "EDDM", "KSWIN", "BernoulliCUSUM", "ChangeDetector",
           "PageHinkley"]
