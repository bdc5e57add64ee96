"""When to ask for a retrain: on sustained evidence with new labels, once per incident,
never more than a budget, and every decision with its reason.

:meth:`RetrainPolicy.decide` judges a drifted window: a streak shorter than ``after`` is
a blip (nothing to decide, nothing said); otherwise the answer is a request, or a
suppression that says why: the incident was already served, the model's last request
was less than ``cooldown_s`` ago, its ``budget`` of requests per ``budget_period_s`` is
spent, or fewer than ``min_new_labels`` labels arrived since its last request (a retrain
learns from labels; without new ones it would learn nothing new).

Examples
--------
>>> policy = RetrainPolicy(after=3, cooldown_s=600)
>>> [policy.consider("churn", streak, incident_start=100.0, now=100.0 + streak)
...  for streak in (1, 2, 3, 4)][2].reason
'input drift sustained for 3 windows'
>>> policy.decide("churn", 5, incident_start=100.0, now=110.0).reason
'suppressed: this incident already asked for a retrain'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PolicyDecision", "RetrainDecision", "RetrainPolicy"]


@dataclass(frozen=True)
class RetrainDecision:
    """A retrain to request; ``id`` derives from the evidence, so a replay repeats it."""

    id: str
    model: str
    reason: str


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy decided on a sustained drift, and why; ``request`` when requested."""

    status: Literal["requested", "suppressed"]
    model: str
    reason: str
    request: RetrainDecision | None = None


class RetrainPolicy:
    """Request a retrain after ``after`` drifted windows, within a cooldown and a budget.

    Parameters
    ----------
    after
        Consecutive drifted windows before a retrain is worth asking for.
    cooldown_s
        At least this long between two requests of one model.
    min_new_labels
        Labels that must have arrived since the model's last request (0: none needed).
    budget, budget_period_s
        At most ``budget`` requests per model in any ``budget_period_s``.
    """

    def __init__(self, after: int = 3, cooldown_s: float = 3600.0, *, min_new_labels: int = 0,
                 budget: int = 3, budget_period_s: float = 86400.0) -> None:
        if after < 1:
            raise ValueError(f"after must be >= 1, got {after!r}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s!r}")
        if min_new_labels < 0:
            raise ValueError(f"min_new_labels must be >= 0, got {min_new_labels!r}")
        if budget < 1 or budget_period_s <= 0:
            raise ValueError(f"budget must be >= 1 and budget_period_s > 0, got {budget!r}, "
                             f"{budget_period_s!r}")
        self.after = after
        self.cooldown_s = cooldown_s
        self.min_new_labels = min_new_labels
        self.budget = budget
        self.budget_period_s = budget_period_s
        self._last: dict[str, tuple[float, float]] = {}  # model -> (incident start, time)
        self._labels: dict[str, int] = {}  # model -> labels since its last request
        self._spent: dict[str, list[float]] = {}  # model -> request times in the period
        self._told: dict[str, float] = {}  # model -> incident whose suppression was said

    def observe_labels(self, model: str, n: int) -> None:
        """``n`` more labels of ``model`` arrived (the outcome join's count)."""
        if n > 0:
            self._labels[model] = self._labels.get(model, 0) + n

    def decide(self, model: str, streak: int, *, incident_start: float, now: float,
               evidence: str = "input drift") -> PolicyDecision | None:
        """The decision on a streak of bad windows of ``evidence`` (what went bad, for the
        request's reason); None for a blip (shorter than ``after``)."""
        if streak < self.after:
            return None
        last = self._last.get(model)
        spent = [t for t in self._spent.get(model, []) if now - t < self.budget_period_s]
        self._spent[model] = spent
        labels = self._labels.get(model, 0)
        why = None
        if last is not None and last[0] == incident_start:
            why = "this incident already asked for a retrain"
        elif last is not None and now - last[1] < self.cooldown_s:
            why = (f"cooldown: the last request was {now - last[1]:.0f} s ago, "
                   f"{self.cooldown_s:.0f} s needed")
        elif len(spent) >= self.budget:
            why = (f"budget: {len(spent)} requests in the last {self.budget_period_s:.0f} s, "
                   f"at most {self.budget}")
        elif labels < self.min_new_labels:
            why = (f"labels: {labels} new since the last retrain, "
                   f"{self.min_new_labels} needed")
        if why is not None:
            return PolicyDecision("suppressed", model, f"suppressed: {why}")
        self._last[model] = (incident_start, now)
        self._labels[model] = 0
        spent.append(now)
        digest = hashlib.sha256(f"{model}|drift|{incident_start!r}".encode()).hexdigest()[:16]
        request = RetrainDecision(f"rt-{digest}", model,
                                  f"{evidence} sustained for {streak} windows")
        return PolicyDecision("requested", model, request.reason, request)

    def worth_telling(self, decision: PolicyDecision, incident_start: float) -> bool:
        """Whether to publish ``decision``: every request, and an incident's first
        suppression (it repeats each window while the drift lasts), except the one that
        says the incident's request was made."""
        if decision.status == "requested":
            return True
        if self._last.get(decision.model, (None,))[0] == incident_start or \
                self._told.get(decision.model) == incident_start:
            return False
        self._told[decision.model] = incident_start
        return True

    def consider(self, model: str, streak: int, *, incident_start: float,
                 now: float) -> RetrainDecision | None:
        """The retrain to request now, if any (see :meth:`decide` for the reasons)."""
        decision = self.decide(model, streak, incident_start=incident_start, now=now)
        return None if decision is None else decision.request

    def snapshot(self) -> dict[str, Any]:
        return {"last": {m: list(v) for m, v in self._last.items()}, "labels": dict(self._labels),
                "spent": {m: list(v) for m, v in self._spent.items()}, "told": dict(self._told)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if not isinstance(snapshot.get("last"), dict):  # saved before labels and budgets:
            # {model: [incident start, time]}
            snapshot = {"last": snapshot}
        self._last = {m: (float(v[0]), float(v[1])) for m, v in snapshot["last"].items()}
        self._labels = {m: int(n) for m, n in snapshot.get("labels", {}).items()}
        self._spent = {m: [float(t) for t in v] for m, v in snapshot.get("spent", {}).items()}
        self._told = {m: float(t) for m, t in snapshot.get("told", {}).items()}
