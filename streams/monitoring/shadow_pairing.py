"""The shadow's side of the outcome join: each shadow output meets its request's label.

A shadow output (:class:`~streams.wire.events.ShadowPrediction`) carries its request's
answer, so one label judges both models: the pair is counted the moment the two meet,
whichever comes first (a shadow output waits for its label; a label that comes first waits
for its shadow output, once this partition has seen a shadow). The shadow-predictions
topic is keyed by request id with as many partitions as the outcomes, so partition ``i``
of each holds the same requests and a join partition sees both.

Each shadow output counts a shadowed request and, if the two labels differ, a
disagreement (the verdict before labels); each pair met counts a labelled request and who
alone was right. The counts since the last flush leave per (model, shadow version) as
:class:`~streams.wire.events.ShadowPairs`. Outputs whose answer or own score failed are
left out: they judge neither model.

What waits is held in memory, bounded (oldest first out): a crash loses the pairs waiting
then (their offsets are committed), which thins the sample at random and leaves the
verdict valid, but the labelled count is not exact through a crash (the answers' join is,
through its join-state topic).

Examples
--------
>>> from streams.wire.events import Latency, ModelOutput, Outcome, ShadowPrediction
>>> s = ShadowPrediction(request_id="r1", ts=1.0, model="churn", variant="shadow",
...     model_version="v2", output=ModelOutput(label=1, score=0.9),
...     latency=Latency(queue_s=0, inference_s=0, total_s=0), answer_label=0,
...     answer_version="v1")
>>> pairing = ShadowPairing()
>>> pairing.take([s], [Outcome(request_id="r1", ts=2.0, kind="label", value=1.0)])
>>> [(p.requests, p.disagreements, p.labelled, p.shadow_wins) for p in pairing.drain()]
[(1, 1, 1, 1)]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.wire.events import Outcome, ShadowPairs, ShadowPrediction

__all__ = ["ShadowPairing"]


@dataclass
class _Counts:
    answer_version: str
    requests: int = 0
    disagreements: int = 0
    labelled: int = 0
    shadow_wins: int = 0
    champion_wins: int = 0
    first_ts: float = float("inf")
    last_ts: float = float("-inf")


#: a shadow output waiting for its label: model, shadow version, answer version, the
#: answer's label, the shadow's label, its time
_Waiting = tuple[str, str, str, int, int, float]


class ShadowPairing:
    """Join shadow outputs to their labels and count the pairs per (model, version)."""

    def __init__(self, max_pending: int = 200_000) -> None:
        self.max_pending = max_pending
        self._shadows: OrderedDict[str, _Waiting] = OrderedDict()
        self._labels: OrderedDict[str, float] = OrderedDict()
        self._counts: dict[tuple[str, str], _Counts] = {}
        self._seen_shadow = False
        self.evicted = 0

    def take(self, shadows: Iterable[ShadowPrediction], outcomes: Iterable[Outcome]) -> None:
        """Count ``shadows`` (as they come) and the pairs they and ``outcomes`` complete."""
        for s in shadows:
            if s.error is None and s.answer_label >= 0:
                self._shadow(s)
        if not self._seen_shadow:
            return  # no shadow here yet: the answers' join is the only one to hold labels
        for o in outcomes:
            if o.kind == "label":
                self._label(o.request_id, o.value)

    def _shadow(self, s: ShadowPrediction) -> None:
        self._seen_shadow = True
        c = self._counts_of(s.model, s.model_version, s.answer_version, s.ts)
        c.requests += 1
        c.disagreements += int(s.answer_label != s.output.label)
        waiting = (s.model, s.model_version, s.answer_version, s.answer_label,
                   s.output.label, s.ts)
        label = self._labels.pop(s.request_id, None)
        if label is None:
            self._hold(self._shadows, s.request_id, waiting)
        else:
            self._pair(waiting, label)

    def _label(self, request_id: str, value: float) -> None:
        waiting = self._shadows.pop(request_id, None)
        if waiting is None:
            self._hold(self._labels, request_id, value)
        else:
            self._pair(waiting, value)

    def _pair(self, waiting: _Waiting, value: float) -> None:
        model, version, answer_version, answer, shadow, ts = waiting
        truth = round(value)
        c = self._counts_of(model, version, answer_version, ts)
        c.labelled += 1
        c.shadow_wins += int(shadow == truth and answer != truth)
        c.champion_wins += int(answer == truth and shadow != truth)

    def _counts_of(self, model: str, version: str, answer_version: str, ts: float) -> _Counts:
        c = self._counts.get((model, version))
        if c is None:
            c = self._counts[(model, version)] = _Counts(answer_version)
        c.answer_version = answer_version or c.answer_version
        c.first_ts, c.last_ts = min(c.first_ts, ts), max(c.last_ts, ts)
        return c

    def _hold(self, waiting: OrderedDict[str, Any], request_id: str, entry: Any) -> None:
        waiting[request_id] = entry
        while len(waiting) > self.max_pending:
            waiting.popitem(last=False)
            self.evicted += 1

    @property
    def active(self) -> bool:
        """Whether this partition has seen a shadow output (labels are held from then on)."""
        return self._seen_shadow

    @property
    def waiting(self) -> int:
        return len(self._shadows) + len(self._labels)

    def drain(self) -> list[ShadowPairs]:
        """The counts since the last drain, per (model, shadow version); then zero."""
        out = [ShadowPairs(model=model, version=version, answer_version=c.answer_version,
                           requests=c.requests, disagreements=c.disagreements,
                           labelled=c.labelled, shadow_wins=c.shadow_wins,
                           champion_wins=c.champion_wins, window_start=c.first_ts,
                           window_end=c.last_ts)
               for (model, version), c in self._counts.items()]
        self._counts.clear()
        return out
