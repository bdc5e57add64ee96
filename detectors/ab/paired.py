"""A shadow against the champion on the same requests: the paired, always-valid verdict.

A shadow scores the requests the champion answers, so each label judges both models on the
same example. For a classifier only the *discordant* pairs carry evidence: the champion
right and the shadow wrong (``champion_wins``), or the reverse (``shadow_wins``). The
shadow's accuracy minus the champion's is ``P(shadow wins) - P(champion wins)``, so the two
are equally accurate exactly when the shadow wins half the discordant pairs. Given the
discordant pairs, which model wins each is a Bernoulli trial of mean ``q``; the test is the
beta-binomial confidence sequence for ``q`` (:mod:`detectors.ab.beta_binomial`, a
Beta(c/2, c/2) mixture with ``c = concentration``), exact at every look with no burn-in:
``P(ever deciding | q = 1/2) <= alpha`` (McNemar's test, made sequential). The default
``c = 20`` puts the prior's standard deviation of ``q`` at ``0.5 / sqrt(c + 1) = 0.11``: on
simulated shadows it decided ``q = 0.64`` in a median of 101 discordant pairs (against 141
at ``c = 100``) and ``q = 0.55`` in 754 (747 at ``c = 100``); the prior sets only the
speed, never the validity.

Assumption: the labelled pairs are independent draws from the traffic (the shadow's share is
chosen at random, labels arrive independently of which model was right). The evidence is
the same whatever the concordant pairs are, so a shadow that mostly agrees with the
champion is judged on far fewer labels than two independent arms need.

Before any label, the disagreement rate (the share of shadowed requests where the two
predicted labels differ) bounds how much the accuracies can differ: ``|accuracy
difference| <= disagreement rate``. It is reported with its own confidence sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from detectors.ab.beta_binomial import confidence_sequence, log_bayes_factor
from detectors.base import check_range

Outcome = Literal["better", "worse", "undecided"]
DISCORDANT_TEST = "beta-binomial-discordant-pairs"
#: the Beta(1/2, 1/2) (Jeffreys) mixture of the disagreement rate's confidence sequence
_JEFFREYS = 0.5


@dataclass(frozen=True)
class PairedVerdict:
    """One look's verdict on a shadow against the champion, with what it rests on."""

    outcome: Outcome
    test: str
    #: the tested quantity, higher when the shadow is better (its units depend on the test)
    estimate: float
    lower: float
    upper: float
    #: the value of ``estimate`` at which the two models are equal
    null: float
    #: the always-valid p-value of ``estimate == null``: the least seen over the looks
    p_value: float
    labelled: int
    #: the shadow's gain in the metric (accuracy, or absolute error saved), a point estimate
    effect: float
    reason: str


class Rate(NamedTuple):
    """A rate with its confidence sequence."""

    estimate: float
    lower: float
    upper: float
    n: int


class DiscordantPairs:
    """Mergeable counts of a shadow and the champion on the same requests.

    >>> p = DiscordantPairs()
    >>> p.observe_predictions([1, 0, 1, 1], [1, 1, 1, 0])
    >>> p.observe_labels([1, 0, 1, 1], [1, 1, 1, 0], truth=[1, 1, 0, 1])
    >>> p.requests, p.disagreements, p.labelled, p.shadow_wins, p.champion_wins
    (4, 2, 4, 1, 1)
    """

    _FIELDS = ("requests", "disagreements", "labelled", "shadow_wins", "champion_wins")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.requests = 0
        self.disagreements = 0
        self.labelled = 0
        self.shadow_wins = 0
        self.champion_wins = 0

    def observe_predictions(self, champion: Any, shadow: Any) -> None:
        """Count shadowed requests and those where the predicted labels differ."""
        a, b = _same_length(champion=champion, shadow=shadow)
        self.requests += a.size
        self.disagreements += int((a != b).sum())

    def observe_labels(self, champion: Any, shadow: Any, truth: Any) -> None:
        """Count labelled pairs and who was right where exactly one of them was."""
        a, b, y = _same_length(champion=champion, shadow=shadow, truth=truth)
        right_a, right_b = a == y, b == y
        self.labelled += y.size
        self.shadow_wins += int((right_b & ~right_a).sum())
        self.champion_wins += int((right_a & ~right_b).sum())

    @property
    def discordant(self) -> int:
        return self.shadow_wins + self.champion_wins

    def merge(self, other: DiscordantPairs) -> None:
        """Add another partition's counts of the same shadow."""
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._FIELDS}

    def restore(self, snap: dict[str, Any]) -> None:
        for name in self._FIELDS:
            setattr(self, name, int(snap[name]))


class PairedCorrectnessTest:
    """The always-valid paired test of a classifier shadow: discordant pairs.

    ``estimate`` is the share of discordant pairs the shadow wins (``null`` 1/2);
    ``effect`` is the shadow's accuracy minus the champion's on the labelled pairs.

    >>> t = PairedCorrectnessTest()
    >>> t.pairs.shadow_wins, t.pairs.champion_wins, t.pairs.labelled = 70, 30, 1000
    >>> v = t.decide(); v.outcome, round(v.estimate, 2), round(v.effect, 3)
    ('better', 0.7, 0.04)
    """

    def __init__(self, alpha: float = 0.05, concentration: float = 20.0) -> None:
        check_range("alpha", alpha, 0.0, 0.5, low_open=True, high_open=True)
        check_range("concentration", concentration, 0.0, float("inf"), low_open=True)
        self.alpha = alpha
        self.concentration = concentration
        self._reset()

    def _reset(self) -> None:
        self.pairs = DiscordantPairs()
        self.p_value = 1.0
        self.outcome: Outcome = "undecided"

    def decide(self) -> PairedVerdict:
        """Judge the pairs as they stand now (a look; call it as often as wanted)."""
        p = self.pairs
        half = self.concentration / 2.0
        k, n = p.shadow_wins, p.discordant
        log_bf = float(log_bayes_factor(k, n, 0.5, half, half))
        self.p_value = min(self.p_value, math.exp(-max(log_bf, 0.0)))
        lower, upper = confidence_sequence(k, n, half, half, self.alpha)
        estimate = k / n if n else 0.5
        effect = (k - p.champion_wins) / p.labelled if p.labelled else 0.0
        if self.outcome == "undecided" and self.p_value <= self.alpha:
            # the guarantee is of stopping at the first crossing: that verdict stands
            self.outcome = "better" if k > p.champion_wins else "worse"
        reason = (f"the shadow won {k} of {n} discordant pairs in {p.labelled} labels"
                  f" (always-valid p = {self.p_value:.3g})")
        return PairedVerdict(self.outcome, DISCORDANT_TEST, estimate, lower, upper, 0.5,
                             self.p_value, p.labelled, effect, reason)

    def disagreement(self) -> Rate:
        """The share of shadowed requests whose two predicted labels differ."""
        p = self.pairs
        lower, upper = confidence_sequence(p.disagreements, p.requests, _JEFFREYS, _JEFFREYS,
                                           self.alpha)
        rate = p.disagreements / p.requests if p.requests else math.nan
        return Rate(rate, lower, upper, p.requests)

    def snapshot(self) -> dict[str, Any]:
        return {"pairs": self.pairs.snapshot(), "p_value": self.p_value,
                "outcome": self.outcome}

    def restore(self, snap: dict[str, Any]) -> None:
        self.pairs.restore(snap["pairs"])
        self.p_value = float(snap["p_value"])
        self.outcome = checked_outcome(snap["outcome"])


def checked_outcome(value: Any) -> Outcome:
    """``value`` as an :data:`Outcome`, or a ValueError naming the valid ones."""
    if value == "better" or value == "worse" or value == "undecided":
        return value
    raise ValueError(f"outcome must be one of ['better', 'worse', 'undecided'], got {value!r}")


def _same_length(**columns: Any) -> list[np.ndarray]:
    """The columns as flat arrays, or a ValueError naming the one whose length differs."""
    arrays = {name: np.asarray(values).ravel() for name, values in columns.items()}
    first, size = next(iter(arrays)), next(iter(arrays.values())).size
    for name, a in arrays.items():
        if a.size != size:
            raise ValueError(f"{name} has {a.size} values but {first} has {size}")
    return list(arrays.values())
