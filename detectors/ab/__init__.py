"""Always-valid A/B statistics: mergeable arm summaries, mixture SPRT, sequential SRM.

- :mod:`detectors.ab.arm`: one arm's metric as (count, sum, sum of squares, successes);
- :mod:`detectors.ab.mixture_sprt`: the Gaussian-mixture SPRT and its confidence sequence
  for the difference between two arms (two-sided and one-sided);
- :mod:`detectors.ab.srm`: the Dirichlet-multinomial Bayes factor for sample-ratio mismatch;
- :mod:`detectors.ab.experiment`: the decision (continue, promote, rollback, inconclusive).
"""
