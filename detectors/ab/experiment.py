"""Champion against challenger: continue, promote, roll back, or inconclusive at the horizon.

Each look takes the arms' merged summaries and decides, in this order:

1. sample-ratio mismatch (:mod:`detectors.ab.srm`, level 0.001): the split is broken, so no
   metric can be trusted; nothing is promoted (the decision says ``srm``);
2. burn-in: no decision before ``min_units`` units per arm (and ``min_conversions``
   successes per arm of a binary primary metric);
3. guardrails, one-sided at ``alpha``: a challenger worse than the champion by more than a
   guardrail's margin (latency, error rate) is rolled back;
4. the primary metric, two-sided at ``alpha``: a challenger significantly better is
   promoted, one significantly worse rolled back;
5. past ``horizon`` units in all, inconclusive; otherwise continue.

The tests are the mixture SPRT of :mod:`detectors.ab.mixture_sprt`, valid however often
this is called. Each decision carries the estimate (challenger minus champion), its
interval, the samples per arm and the test's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from detectors.ab.arm import ArmSummary
from detectors.ab.mixture_sprt import (
    DEFAULT_TUNING_N,
    halfwidth,
    log_likelihood_ratio,
    log_likelihood_ratio_greater,
    lower_bound_greater,
    mixing_variance,
)
from detectors.ab.srm import DEFAULT_CONCENTRATION, SequentialSRM
from detectors.base import check_range

Action = Literal["continue", "promote", "rollback", "inconclusive"]
TWO_SIDED = "mixture-sprt-two-sided"
ONE_SIDED = "mixture-sprt-one-sided"
SRM_TEST = "dirichlet-multinomial-srm"


@dataclass(frozen=True)
class Guardrail:
    """A metric the challenger must not worsen: by more than ``margin`` in its units
    (``higher_is_worse``: latency, errors; else lower is worse)."""

    metric: str
    margin: float = 0.0
    binary: bool = False
    higher_is_worse: bool = True


@dataclass(frozen=True)
class Decision:
    """One look's decision, with what it rests on."""

    action: Action
    metric: str
    test: str
    estimate: float  # challenger minus champion, in the metric's units
    lower: float
    upper: float
    p_value: float
    n_champion: int
    n_challenger: int
    reason: str
    srm_p_value: float = 1.0


@dataclass
class ExperimentTest:
    """The always-valid test of one experiment: arms' summaries in, :class:`Decision` out.

    >>> import numpy as np
    >>> t = ExperimentTest("conversion", horizon=100_000)
    >>> rng = np.random.default_rng(0)
    >>> t.champion["conversion"].update_many(rng.random(4000) < 0.10)
    >>> t.challenger["conversion"].update_many(rng.random(4000) < 0.16)
    >>> t.srm.update([4000, 4000]); t.decide().action
    'promote'
    """

    primary: str
    primary_binary: bool = True
    #: the primary metric is an error rate (lower is better) rather than a conversion
    lower_is_better: bool = False
    guardrails: tuple[Guardrail, ...] = ()
    alpha: float = 0.05
    tuning_n: float = DEFAULT_TUNING_N
    min_units: int = 100
    min_conversions: int = 25
    horizon: int = 200_000
    srm_level: float = 0.001
    challenger_share: float = 0.5
    srm_concentration: float = DEFAULT_CONCENTRATION
    champion: dict[str, ArmSummary] = field(init=False)
    challenger: dict[str, ArmSummary] = field(init=False)
    srm: SequentialSRM = field(init=False)
    #: the always-valid p-value of each metric: the least seen so far
    p_values: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        check_range("alpha", self.alpha, 0.0, 0.5, low_open=True, high_open=True)
        check_range("challenger_share", self.challenger_share, 0.0, 1.0, low_open=True,
                    high_open=True)
        check_range("min_units", self.min_units, 2, float("inf"))
        kinds = {self.primary: self.primary_binary} | {g.metric: g.binary
                                                      for g in self.guardrails}
        self.champion = {m: ArmSummary(b) for m, b in kinds.items()}
        self.challenger = {m: ArmSummary(b) for m, b in kinds.items()}
        self.srm = SequentialSRM([1.0 - self.challenger_share, self.challenger_share],
                                 self.srm_level, self.srm_concentration)
        self.p_values = {m: 1.0 for m in kinds}

    def decide(self) -> Decision:
        """Judge the arms as they stand now."""
        a, b = self.champion[self.primary], self.challenger[self.primary]
        if self.srm.mismatch:
            c = self.srm.counts
            return self._decision("continue", self.primary, SRM_TEST, a, b,
                                  f"sample ratio mismatch: {c[0]:.0f}/{c[1]:.0f} units served; "
                                  "no decision is trusted until the router is fixed")
        if not self._burnt_in():
            return self._decision("continue", self.primary, TWO_SIDED, a, b, "burn-in")
        for g in self.guardrails:
            worse = self._guardrail_breached(g)
            if worse is not None:
                return worse
        d, v, n = self._difference(self.primary)
        if v > 0:
            tau2 = mixing_variance(v, n, self.alpha, self.tuning_n)
            p = self._remember(self.primary, math.exp(-log_likelihood_ratio(d, v, tau2)))
            if p <= self.alpha:
                better = d < 0 if self.lower_is_better else d > 0
                action: Action = "promote" if better else "rollback"
                return self._decision(action, self.primary, TWO_SIDED, a, b,
                                      f"{self.primary} {'better' if better else 'worse'}")
        if a.n + b.n >= self.horizon:
            return self._decision("inconclusive", self.primary, TWO_SIDED, a, b,
                                  f"no difference found in {self.horizon} units")
        return self._decision("continue", self.primary, TWO_SIDED, a, b, "no decision yet")

    def _burnt_in(self) -> bool:
        a, b = self.champion[self.primary], self.challenger[self.primary]
        if min(a.n, b.n) < self.min_units:
            return False
        return not self.primary_binary or min(a.successes, b.successes) >= self.min_conversions

    def _difference(self, metric: str) -> tuple[float, float, int]:
        a, b = self.champion[metric], self.challenger[metric]
        if min(a.n, b.n) == 0:
            return b.mean - a.mean, 0.0, a.n + b.n
        v = a.variance / a.n + b.variance / b.n
        if v == 0.0 and a.binary and a.mean != b.mean:
            # both arms all 0 or all 1 (no slow prediction in one, all slow in the other):
            # the plug-in variance is 0, so estimate each rate as (s + 1/2) / (n + 1)
            v = sum(p * (1 - p) / arm.n for arm in (a, b)
                    for p in [(arm.total + 0.5) / (arm.n + 1)])
        return b.mean - a.mean, v, a.n + b.n

    def _guardrail_breached(self, g: Guardrail) -> Decision | None:
        a, b = self.champion[g.metric], self.challenger[g.metric]
        if min(a.n, b.n) < self.min_units:
            return None
        d, v, n = self._difference(g.metric)
        if v <= 0:
            return None
        sign = 1.0 if g.higher_is_worse else -1.0  # the test is of "worse by > margin"
        tau2 = mixing_variance(v, n, self.alpha, self.tuning_n)
        p = self._remember(g.metric, math.exp(-float(
            log_likelihood_ratio_greater(sign * d, v, tau2, g.margin))))
        if p > self.alpha:
            return None
        lower = lower_bound_greater(sign * d, v, tau2, self.alpha)
        lo, hi = (lower, math.inf) if sign > 0 else (-math.inf, -lower)
        return Decision("rollback", g.metric, ONE_SIDED, d, lo, hi, p, a.n, b.n,
                        f"guardrail {g.metric}: challenger worse by more than {g.margin}",
                        self.srm.p_value)

    def _remember(self, metric: str, p: float) -> float:
        self.p_values[metric] = min(self.p_values[metric], min(p, 1.0))
        return self.p_values[metric]

    def _decision(self, action: Action, metric: str, test: str, a: ArmSummary, b: ArmSummary,
                  reason: str) -> Decision:
        d, v, n = self._difference(metric)
        if v > 0:
            w = float(halfwidth(v, mixing_variance(v, n, self.alpha, self.tuning_n), self.alpha))
            lo, hi = d - w, d + w
        else:
            lo, hi = -math.inf, math.inf
        p = self.srm.p_value if test == SRM_TEST else self.p_values[metric]
        return Decision(action, metric, test, d if v > 0 or n else math.nan, lo, hi, p, a.n,
                        b.n, reason, self.srm.p_value)

    def continuous_primary(self) -> None:
        """Make the primary metric continuous (a regression's absolute error), before any
        unit of it is counted; ValueError once one is."""
        if not self.primary_binary:
            return
        if self.champion[self.primary].n or self.challenger[self.primary].n:
            raise ValueError(f"{self.primary} already counts binary units")
        self.primary_binary = False
        self.champion[self.primary] = ArmSummary(False)
        self.challenger[self.primary] = ArmSummary(False)

    def snapshot(self) -> dict[str, Any]:
        return {"champion": {m: s.snapshot() for m, s in self.champion.items()},
                "challenger": {m: s.snapshot() for m, s in self.challenger.items()},
                "srm": self.srm.snapshot(), "p_values": dict(self.p_values)}

    def restore(self, snap: dict[str, Any]) -> None:
        if set(snap["champion"]) != set(self.champion):
            raise ValueError(f"snapshot has metrics {sorted(snap['champion'])}, "
                             f"not {sorted(self.champion)}")
        if not snap["champion"][self.primary]["binary"]:
            self.continuous_primary()
        for m in self.champion:
            self.champion[m].restore(snap["champion"][m])
            self.challenger[m].restore(snap["challenger"][m])
        self.srm.restore(snap["srm"])
        self.p_values = {m: float(p) for m, p in snap["p_values"].items()}
