"""Always-valid A/B statistics: mergeable arm summaries, mixture SPRT, sequential SRM.

- :mod:`detectors.ab.arm`: one arm's metric as (count, sum, sum of squares, successes);
- :mod:`detectors.ab.mixture_sprt`: the Gaussian-mixture SPRT and its confidence sequence
  for the difference between two arms (two-sided and one-sided);
- :mod:`detectors.ab.srm`: the Dirichlet-multinomial Bayes factor for sample-ratio mismatch;
- :mod:`detectors.ab.experiment`: the decision (continue, promote, rollback, inconclusive);
- :mod:`detectors.ab.paired` and :mod:`detectors.ab.paired_error`: a shadow against the
  champion on the same requests (discordant pairs; paired absolute errors), on
  :mod:`detectors.ab.beta_binomial`'s exact confidence sequence for a Bernoulli mean;
- :mod:`detectors.ab.bivariate`, :mod:`detectors.ab.cuped`, :mod:`detectors.ab.ratio`:
  CUPED-adjusted and ratio (delta-method) metrics, as arm summaries the test takes.
"""
