"""The SLO burn-rate adapters: latency and model-error budgets, per (model, variant).

The multi-window rules of :mod:`detectors.burn_rate` carry their own hysteresis (the
short window), so their verdicts bypass the alert rule's streaks. Each severity (page,
ticket) fires and clears on its own. The report's statistic is the burn rate over the
fastest page rule's long window, its threshold that rule's burn rate.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.burn_rate import DEFAULT_RULES, BurnRateAlert
from streams.decision.slo_tracker import ERROR_BURN, SLO_BURN, SloTracker, burn_evidence
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow

#: the rule whose burn rate a report shows: the fastest page (1 h at 14.4x by default)
FAST_PAGE = min((r for r in DEFAULT_RULES if r.severity == "page"),
                key=lambda r: r.long_window_s)

#: (model, variant, slo name, budget remaining) for the metrics gauge
BudgetCallback = Callable[[str, str, str, float], None]


class BurnJudge:
    """One SLO's burn rates as page and ticket verdicts."""

    def __init__(self, detector: str, kind: str,
                 evaluate: Callable[[str, str], BurnRateAlert | None], objective: float,
                 on_budget: BudgetCallback | None = None) -> None:
        self.detector = detector
        self.kind = kind
        self.evaluate = evaluate
        self.objective = objective
        self.on_budget = on_budget

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        burn = self.evaluate(win.model, win.variant)
        if burn is None:
            return []
        if self.on_budget is not None:
            self.on_budget(win.model, win.variant, burn.slo, burn.budget_remaining)
        evidence = {**burn_evidence(burn), "severity": burn.severity or "none",
                    "objective": self.objective}
        report = window_report(
            self.detector, win, n=win.n,
            statistic=burn.burn_rates.get(FAST_PAGE.long_window_s, 0.0),
            threshold=FAST_PAGE.burn_rate, fired=bool(burn.severity), change="breach",
            evidence=evidence)
        firing = {rule.severity for rule in burn.firing}
        # one report, two alert keys: each severity's rules fire and clear on their own
        return [Verdict(self.detector, report, "page" in firing, evidence, severity="page"),
                Verdict(self.detector, None, "ticket" in firing, evidence, severity="ticket")]

    def describe(self, evidence: Evidence) -> str:
        return (f"{self.kind} SLO {evidence.get('slo')} burning: 1h x{evidence.get('burn_1h')}, "
                f"6h x{evidence.get('burn_6h')}, budget left {evidence.get('budget_remaining')}")


def latency_burn(tracker: SloTracker, on_budget: BudgetCallback | None = None) -> BurnJudge:
    """The latency SLO's budget: the share of predictions over the SLO threshold."""
    return BurnJudge(SLO_BURN, "latency", tracker.evaluate, tracker.slo.objective, on_budget)


def error_burn(tracker: SloTracker, on_budget: BudgetCallback | None = None) -> BurnJudge:
    """The error SLO's budget: the share of predictions that carry a model error."""
    return BurnJudge(ERROR_BURN, "error", tracker.evaluate_errors, tracker.error_slo.objective,
                     on_budget)
