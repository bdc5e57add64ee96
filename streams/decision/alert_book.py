"""One model's alerts: hysteresis per (variant, detector, severity), and each incident's
identity, decided once when it fires and carried by its resolve.

The identity is :func:`~detectors.fingerprint.incident_id` of the model, variant,
detector, severity and the verdict's target (for drift: the feature and segment that
fired). It and the labels built from it are kept while the incident is open (and saved
with the decision state), so the resolve, even one decided by another worker after a
restart, carries exactly the firing's fingerprint and labels, with the evidence now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from detectors.alert_rule import AlertRule, RuleState
from detectors.fingerprint import incident_id
from streams.decision.verdict import Evidence, Verdict, target_key
from streams.decision.window import GLOBAL
from streams.wire.events import Alert


@dataclass
class OpenAlert:
    """The identity of a firing incident."""

    fingerprint: str
    labels: dict[str, str]
    starts_at: float


class AlertBook:
    """Turn one model's verdicts into alert events with a stable identity.

    Parameters
    ----------
    fire_after, resolve_after
        Consecutive bad (good) windows before an alert fires (resolves). Burn-rate
        verdicts skip this: their rules' short windows are their hysteresis.
    """

    def __init__(self, fire_after: int, resolve_after: int) -> None:
        self.rule = AlertRule(fire_after, resolve_after)
        self.burn_rule = AlertRule(fire_after=1, resolve_after=1)
        self.open: dict[str, OpenAlert] = {}

    @staticmethod
    def key(variant: str, detector: str, severity: str) -> str:
        return f"{variant}\x1f{detector}\x1f{severity}"

    def state(self, variant: str, detector: str, severity: str = "page") -> RuleState:
        """The hysteresis state of one alert key."""
        return self.rule.state(self.key(variant, detector, severity))

    def observe(self, model: str, variant: str, verdict: Verdict, *, now: float,
                describe: Callable[[Evidence], str], dashboard: str,
                hysteresis: bool = True) -> Alert | None:
        """Record a verdict with a ``bad`` flag; return the alert event it causes."""
        assert verdict.bad is not None
        key = self.key(variant, verdict.detector, verdict.severity)
        rule = self.rule if hysteresis else self.burn_rule
        change = rule.observe(key, verdict.bad, now=now)
        if change is None:
            return None
        if change.status == "firing":
            target = {"segment": GLOBAL, **verdict.target}
            fp = incident_id(model, variant, verdict.detector, verdict.severity, target)
            labels = {"alertname": verdict.detector, "model": model, "variant": variant,
                      "detector": verdict.detector, "severity": verdict.severity, **target}
            opened = self.open[key] = OpenAlert(fp, labels, change.starts_at)
            evidence = {**target, **verdict.evidence}
        else:
            known = self.open.pop(key, None)
            opened = known or _unknown(model, variant, verdict, change.starts_at)
            target = {k: opened.labels[k] for k in ("feature", "segment") if k in opened.labels}
            now_there = verdict.now.get(target_key(target))
            evidence = {**target, **(now_there if now_there is not None else verdict.evidence)}
        what = describe(evidence)
        return Alert(
            fingerprint=opened.fingerprint, status=change.status, severity=verdict.severity,
            labels=dict(opened.labels),
            annotations={"summary": f"{model}/{variant} {what}",
                         "description": ", ".join(f"{k}={v}" for k, v in evidence.items()),
                         "dashboard": f"{dashboard}?var-model={model}"},
            starts_at=change.starts_at, ends_at=change.ends_at, evidence=evidence)

    def snapshot(self) -> dict[str, Any]:
        return {"rule": self.rule.snapshot(), "burn_rule": self.burn_rule.snapshot(),
                "open": {k: asdict(v) for k, v in self.open.items()}}

    def restore(self, snap: dict[str, Any]) -> None:
        self.rule.restore(snap["rule"])
        self.burn_rule.restore(snap["burn_rule"])
        self.open = {k: OpenAlert(**v) for k, v in snap["open"].items()}


def _unknown(model: str, variant: str, verdict: Verdict, starts_at: float) -> OpenAlert:
    """The identity of a resolve whose firing this book never saw (a state from before
    identities were saved): the detector's own, with no target."""
    target = {"segment": GLOBAL}
    return OpenAlert(incident_id(model, variant, verdict.detector, verdict.severity, target),
                     {"alertname": verdict.detector, "model": model, "variant": variant,
                      "detector": verdict.detector, "severity": verdict.severity, **target},
                     starts_at)
