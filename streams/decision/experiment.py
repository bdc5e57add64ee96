"""The experiment adapter: champion against challenger, judged as the challenger's windows close.

Every summary of an experiment's two variants adds its counts to the experiment's arms
(:class:`~detectors.ab.experiment.ExperimentTest`, kept in the model's state): the outcome
join's labelled predictions and label errors (the primary metric, an error rate: lower is
better; for a regression, the joined values' absolute errors, a continuous metric, lower is
better too), the monitor's predictions that missed the latency SLO (``slow``) and that carried a
model error (``model_error``), both guardrails, and the units per arm for the sample-ratio
test (the units each summary saw first, less those already counted,
:mod:`streams.monitoring.unit_sighting`; aligned in time across the arms,
:mod:`streams.decision.aligned_counts`). Units, not predictions: assignment is sticky per
unit, so predictions per arm are overdispersed by heavy users and a healthy split would be
flagged. No per-event work: a summary adds a few integers and a set update.

When a window of the challenger closes, the experiment is judged once. Its decision goes to
the model-updates topic as an :class:`~streams.wire.events.ExperimentDecided` (``on_decision``),
where the serving side acts on it (a promote moves the registry's ``champion`` alias, a
rollback sends the challenger's share to zero). A final decision (promote, rollback,
inconclusive) ends the experiment: later windows are not judged again. A guardrail's
rollback and a sample-ratio mismatch are also verdicts for the model's alert book, so each
pages once, with the identity rules of every other incident.

A guardrail's page ends when the rollback has taken effect: the first window of the
champion that starts ``ROLLOUT_GRACE_S`` after the decision, with no request served to the
challenger after that grace since the champion's previous window, resolves it. While the
challenger is still served (the rollback did not reach the inference workers), it stays open.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

from detectors.ab.experiment import SRM_TEST, Decision, ExperimentTest
from streams.decision.config import DecisionConfig
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow
from streams.experiments.spec import (
    MODEL_ERROR,
    PRIMARY,
    SLOW,
    ExperimentSpec,
    StartedLookup,
    no_started,
    parse_experiments,
)
from streams.wire.events import ExperimentDecided, MonitorSummary

GUARDRAIL, SRM = "experiment_guardrail", "experiment_srm"
#: seconds (request time) for a rollback to reach every inference worker: requests the
#: challenger answered before that are in flight, not a failed rollback
ROLLOUT_GRACE_S = 10.0

DecisionCallback = Callable[[ExperimentDecided], None]


class ExperimentJudge:
    """Records experiment arms from summaries; judges each closed challenger window."""

    detector = "experiment"

    def __init__(self, config: DecisionConfig, on_decision: DecisionCallback,
                 started: StartedLookup = no_started) -> None:
        self.config = config
        self.specs = {s.model: s for s in parse_experiments(config.experiments)}
        self.started = started
        self.on_decision = on_decision

    def test(self, state: ModelState) -> ExperimentTest | None:
        """The model's experiment test (made on first use), None if it has no experiment."""
        spec = self.spec(state.model)
        return None if spec is None else state.experiment_test(spec)

    def spec(self, model: str) -> ExperimentSpec | None:
        """``model``'s experiment: one an operator started, else the config's."""
        return self.started(model) or self.specs.get(model)

    def record(self, summary: MonitorSummary, state: ModelState) -> None:
        """Add a summary's counts to its arm (if it is one of an experiment's arms)."""
        test = self.test(state)
        spec = self.spec(summary.model)
        if test is None or spec is None:
            return
        if state.experiment_final is not None:
            if state.experiment_final == "rollback" and summary.variant == spec.challenger \
                    and summary.n and summary.window_end > _effective(state):
                state.experiment_served_after = True
            return
        if summary.variant not in (spec.champion, spec.challenger):
            return
        challenger = summary.variant == spec.challenger
        arms = test.challenger if challenger else test.champion
        if summary.labelled:
            arms[PRIMARY].add(summary.labelled, summary.label_errors)
        if summary.valued:  # |e|^2 = e^2: the squared errors are the absolute errors' squares
            test.continuous_primary()
            arms[PRIMARY].add(summary.valued, summary.abs_error_sum, summary.squared_error_sum)
        if summary.n:
            arms[MODEL_ERROR].add(summary.n, summary.errors)
            if summary.slo_good is not None:
                arms[SLOW].add(summary.n, summary.n - summary.slo_good)
            # new units only (0 still tells the alignment that this arm reached window_end)
            new = state.experiment_units.new_units(summary.unit_keys)
            state.experiment_counts.add(int(challenger), new, start=summary.window_start,
                                        end=summary.window_end)

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        spec = self.spec(win.model)
        test = self.test(state)
        if spec is None or test is None:
            return []
        if state.experiment_final is not None:
            return self._rolled_back(spec, win, state)
        if win.variant != spec.challenger:
            return []
        test.srm.update(state.experiment_counts.release())
        d = test.decide()
        if d.action != "continue":
            state.experiment_final, state.experiment_final_at = d.action, win.window_end
        self.on_decision(_event(spec, d, win.window_end))
        evidence = _evidence(d)
        report = window_report(
            self.detector, win, n=d.n_champion + d.n_challenger, statistic=d.p_value,
            threshold=test.alpha, p_value=d.p_value, fired=d.action == "rollback",
            change="breach", evidence=evidence)
        guardrail = d.action == "rollback" and d.metric != PRIMARY
        return [Verdict(GUARDRAIL, report, guardrail, evidence,
                        target={"metric": d.metric} if guardrail else {}),
                Verdict(SRM, None, d.test == SRM_TEST, evidence)]

    @staticmethod
    def _rolled_back(spec: ExperimentSpec, win: DecisionWindow,
                     state: ModelState) -> list[Verdict]:
        """After a rollback, a champion window tells whether the challenger still serves:
        the guardrail's page stays open while it does and resolves once it does not."""
        if state.experiment_final != "rollback" or win.variant != spec.champion:
            return []
        served, state.experiment_served_after = state.experiment_served_after, False
        if not served and win.window_start <= _effective(state):
            return []  # this window began before the rollback could take effect
        evidence: Evidence = {
            "action": "rollback", "rolled_back": spec.challenger,
            "still_served": "yes" if served else "no",
            "reason": (f"{spec.challenger} is still served after the rollback" if served else
                       f"rollback in effect: {spec.challenger} gets no traffic")}
        return [Verdict(GUARDRAIL, None, served, evidence, variant=spec.challenger)]

    @staticmethod
    def describe(evidence: Evidence) -> str:
        if "rolled_back" in evidence:
            return f"experiment guardrail: {evidence.get('reason')}"
        if evidence.get("test") == SRM_TEST:
            return (f"{evidence.get('reason')} (units champion/challenger; "
                    f"p {evidence.get('srm_p_value')}): the router is broken")
        return (f"experiment {evidence.get('action')}: {evidence.get('metric')} challenger "
                f"minus champion {evidence.get('estimate')} "
                f"[{evidence.get('lower')}, {evidence.get('upper')}]; {evidence.get('reason')}")


def _effective(state: ModelState) -> float:
    """The request time from which a rollback must be in effect."""
    return (state.experiment_final_at or 0.0) + ROLLOUT_GRACE_S


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _evidence(d: Decision) -> Evidence:
    out: Evidence = {"action": d.action, "metric": d.metric, "test": d.test,
                     "reason": d.reason, "p_value": round(d.p_value, 8),
                     "srm_p_value": round(d.srm_p_value, 8),
                     "n_champion": float(d.n_champion), "n_challenger": float(d.n_challenger)}
    for name in ("estimate", "lower", "upper"):
        value = getattr(d, name)
        out[name] = round(value, 8) if math.isfinite(value) else str(value)
    return out


def _event(spec: ExperimentSpec, d: Decision, at: float) -> ExperimentDecided:
    # one look is one (experiment, samples per arm): a redelivered batch makes the same id
    key = f"{spec.name}\x00{d.n_champion}\x00{d.n_challenger}\x00{d.action}"
    return ExperimentDecided(
        id=hashlib.blake2b(key.encode(), digest_size=12).hexdigest(), experiment=spec.name,
        model=spec.model, champion=spec.champion, challenger=spec.challenger, action=d.action,
        metric=d.metric, test=d.test, estimate=_finite(d.estimate), lower=_finite(d.lower),
        upper=_finite(d.upper), p_value=d.p_value, n_champion=d.n_champion,
        n_challenger=d.n_challenger, srm_p_value=d.srm_p_value, reason=d.reason, ts=at)
