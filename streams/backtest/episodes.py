"""Incidents as episodes (fired, then resolved), and the difference between two sets of them.

An episode is one firing of an alert identity (its fingerprint: model, variant, detector,
severity and what fired) and the resolve that closed it, if one came; a re-fire is the
next episode of the same identity. Two runs (the live alert log and a replay, or two
replays under different settings) are compared identity by identity, the k-th episode of
one with the k-th of the other: an episode only one run has is a page added or silenced;
one both have whose fire or resolve time differs by more than the tolerance moved.

Examples
--------
>>> fired = Alert(fingerprint="fp", status="firing", severity="page", starts_at=10.0,
...               labels={"model": "churn", "detector": "feature_drift"}, annotations={})
>>> resolved = Alert(fingerprint="fp", status="resolved", severity="page", starts_at=10.0,
...                  ends_at=30.0, labels=fired.labels, annotations={})
>>> [(e.fired_at, e.resolved_at) for e in episodes([fired, resolved])]
[(10.0, 30.0)]
>>> diff = compare(episodes([fired]), episodes([fired, resolved]), tolerance_s=1.0)
>>> len(diff.moved), diff.same
(1, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.wire.events import Alert

#: the labels that say what fired, beside the model, variant and detector
TARGET_LABELS = ("feature", "segment", "metric", "experiment")


@dataclass(frozen=True)
class Episode:
    """One firing of an alert identity and the resolve that closed it (None: still open)."""

    fingerprint: str
    model: str
    variant: str
    detector: str
    severity: str
    target: str
    fired_at: float
    resolved_at: float | None
    evidence: dict[str, float | str] = field(default_factory=dict, compare=False)

    @property
    def identity(self) -> str:
        """The identity as a reader names it: model/variant detector [what fired]."""
        return f"{self.model}/{self.variant} {self.detector} [{self.target}]"


def episodes(alerts: Iterable[Alert], detectors: frozenset[str] | None = None) -> list[Episode]:
    """The episodes of a stream of alert events, in the order they fired.

    ``detectors``, when given, keeps only the alerts of those detectors (a live log also
    holds the health loop's alerts, which no replay of predictions decides).
    """
    out: list[Episode] = []
    open_: dict[str, int] = {}
    for a in alerts:
        detector = a.labels.get("detector", "")
        if detectors is not None and detector not in detectors:
            continue
        if a.status == "firing" and a.fingerprint not in open_:
            target = " ".join(f"{k}={a.labels[k]}" for k in TARGET_LABELS if k in a.labels)
            open_[a.fingerprint] = len(out)
            out.append(Episode(a.fingerprint, a.labels.get("model", ""),
                               a.labels.get("variant", ""), detector, a.severity, target,
                               a.starts_at, None, dict(a.evidence)))
        elif a.status == "resolved" and a.fingerprint in open_:
            i = open_.pop(a.fingerprint)
            ended = a.ends_at if a.ends_at is not None else a.starts_at
            e = out[i]
            out[i] = Episode(e.fingerprint, e.model, e.variant, e.detector, e.severity,
                             e.target, e.fired_at, ended, e.evidence)
    return sorted(out, key=lambda e: e.fired_at)


@dataclass
class Difference:
    """How two runs' episodes differ: ``before`` is the reference (the live log, the
    expected incidents, the first settings), ``after`` the replay compared with it."""

    matched: list[tuple[Episode, Episode]] = field(default_factory=list)
    moved: list[tuple[Episode, Episode]] = field(default_factory=list)
    only_before: list[Episode] = field(default_factory=list)
    only_after: list[Episode] = field(default_factory=list)
    tolerance_s: float = 0.0

    @property
    def same(self) -> bool:
        """Whether every episode is in both runs, at times within the tolerance."""
        return not (self.moved or self.only_before or self.only_after)


def compare(before: list[Episode], after: list[Episode], *, tolerance_s: float) -> Difference:
    """Pair the episodes of two runs by identity (the k-th with the k-th) and say how
    they differ; times within ``tolerance_s`` of each other are the same."""
    diff = Difference(tolerance_s=tolerance_s)
    theirs: dict[str, list[Episode]] = {}
    for e in after:
        theirs.setdefault(e.fingerprint, []).append(e)
    for e in before:
        peers = theirs.get(e.fingerprint)
        if not peers:
            diff.only_before.append(e)
            continue
        peer = peers.pop(0)
        close = _close(e.fired_at, peer.fired_at, tolerance_s) and (
            (e.resolved_at is None and peer.resolved_at is None) or (
                e.resolved_at is not None and peer.resolved_at is not None
                and _close(e.resolved_at, peer.resolved_at, tolerance_s)))
        (diff.matched if close else diff.moved).append((e, peer))
    diff.only_after = sorted((e for peers in theirs.values() for e in peers),
                             key=lambda e: e.fired_at)
    return diff


def _close(a: float, b: float, tolerance_s: float) -> bool:
    return abs(a - b) <= tolerance_s
