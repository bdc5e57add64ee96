"""The outcome join: predictions meet their late labels; error counts go to the decisions.

Predictions and outcomes are keyed by request id and co-partitioned, so each partition
joins on its own: a prediction waits (bounded, oldest evicted first) for its label, and
an outcome that arrives first waits for its prediction. Each join counts one labelled
prediction, an error when the label differs; a regression's prediction (one that carries
a value) joins an outcome of kind ``value`` instead, and adds its absolute, squared and
signed errors to sums. The counts per (model, variant) leave as a
:class:`~streams.wire.events.MonitorSummary` with ``n = 0`` every ``interval_s``.

What waits is also written to the compacted ``join-state`` topic, keyed by request id
like the topics it joins (so partition ``i`` of it holds partition ``i``'s), in the same
transaction as the batch's summaries and offsets: a record when a prediction or a label
starts waiting, a tombstone when it is joined or evicted (nothing for one that joined
within its batch). A worker that is assigned partitions, at start or on a rebalance,
drops what it no longer owns and restores what waits in the partitions it gains
(:meth:`JoinStage.adopt`), so a crash or a rebalance loses no waiting prediction.

A shadow version's outputs (the shadow-predictions topic) are joined to the same labels
by :class:`~streams.monitoring.shadow_pairing.ShadowPairing`, whose counts leave on the
shadow-pairs topic with each flush.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from detectors.regression_error import RegressionErrors
from streams.kafka.stage import Output
from streams.monitoring.class_confusion import ClassConfusion
from streams.monitoring.shadow_pairing import ShadowPairing
from streams.wire.codec import BatchDecoder, Decoded, RawRecord, encode
from streams.wire.events import MonitorSummary, Outcome, Prediction, ShadowPrediction
from streams.wire.topics import Topics

#: the outcome kinds the join takes: a class label, or a regression's true value
JOINED: Final = ("label", "value")


@dataclass
class _Counts:
    labelled: int = 0
    errors: int = 0
    values: RegressionErrors = field(default_factory=RegressionErrors)
    first_ts: float = float("inf")
    last_ts: float = float("-inf")


class JoinStage:
    """Join predictions to their label (or value) outcomes and count the errors."""

    def __init__(self, *, topics: Topics, max_record_bytes: int, max_pending: int = 200_000,
                 interval_s: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.topics = topics
        self.max_pending = max_pending
        self.interval_s = interval_s
        self.clock = clock
        self._predictions_topic = topics.predictions
        self._pred = BatchDecoder(Prediction, max_record_bytes=max_record_bytes)
        self._out = BatchDecoder(Outcome, max_record_bytes=max_record_bytes)
        self._shadow_topic = topics.shadow_predictions
        self._shadow = BatchDecoder(ShadowPrediction, max_record_bytes=max_record_bytes)
        self.pairing = ShadowPairing(max_pending)
        # request id -> (model, variant, label, ts, value or None)
        self._waiting_predictions: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
        # request id -> (outcome kind, its value)
        self._waiting_labels: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._counts: dict[tuple[str, str], _Counts] = {}
        self.classes = ClassConfusion()  # a multi-class model's confusion counts
        # join-state records of this batch by request id (None: a tombstone), and the ids
        # that began waiting in it (not written yet, so leaving needs no tombstone)
        self._changes: dict[str, bytes | None] = {}
        self._new: set[str] = set()
        self._opened: float | None = None
        self.evicted = 0
        self.undecodable = 0  # dead-lettered by the monitor (predictions) and sink (outcomes)

    def add(self, records: Sequence[RawRecord]) -> None:
        preds = [r for r in records if r.topic == self._predictions_topic]
        shadows = [r for r in records if r.topic == self._shadow_topic]
        outs = [r for r in records if r.topic != self._predictions_topic
                and r.topic != self._shadow_topic]
        decoded_outs = self._out.decode(outs)
        self.take(self._pred.decode(preds), decoded_outs)
        if shadows or self.pairing.active:
            decoded_shadows = self._shadow.decode(shadows)
            self.undecodable += len(decoded_shadows.rejected)
            self.pairing.take(decoded_shadows.events, decoded_outs.events)

    def take(self, decoded_preds: Decoded[Prediction], decoded_outs: Decoded[Outcome]) -> None:
        """Add predictions and outcomes already decoded (a backtest decodes each once for
        every stage)."""
        self.undecodable += len(decoded_preds.rejected) + len(decoded_outs.rejected)
        for p in decoded_preds.events:
            if p.error is None:
                self._prediction(p)
        for o in decoded_outs.events:
            if o.kind in JOINED:
                self._label(o)
        if self._opened is None:
            self._opened = self.clock()

    def _prediction(self, p: Prediction) -> None:
        entry = (p.model, p.variant, p.output.label, p.ts, p.output.predicted)
        self.classes.observe(p.model, len(p.output.probabilities))
        outcome = self._waiting_labels.pop(p.request_id, None)
        if outcome is not None:
            self._left(p.request_id)
            self._count(entry, *outcome)
            return
        # a classifier's record is written as the previous release wrote it (4 fields)
        record = entry if entry[4] is not None else entry[:4]
        self._wait(self._waiting_predictions, p.request_id, entry, {"p": record})

    def _label(self, o: Outcome) -> None:
        waiting = self._waiting_predictions.pop(o.request_id, None)
        if waiting is not None:
            self._left(o.request_id)
            self._count(waiting, o.kind, o.value)
            return
        record = {"l": o.value} if o.kind == "label" else {"v": o.value}
        self._wait(self._waiting_labels, o.request_id, (o.kind, o.value), record)

    def _wait(self, waiting: OrderedDict[str, Any], request_id: str, entry: Any,
              record: dict[str, Any]) -> None:
        if request_id not in waiting:
            self._new.add(request_id)
        waiting[request_id] = entry
        self._changes[request_id] = msgspec.json.encode(record)
        self._bound(waiting)

    def _left(self, request_id: str) -> None:
        """``request_id`` stopped waiting: tombstone its record, if it was ever written."""
        if request_id in self._new:
            self._new.discard(request_id)
            del self._changes[request_id]
        else:
            self._changes[request_id] = None

    def _count(self, prediction: tuple[Any, ...], kind: str, truth: float) -> None:
        """Count a joined pair: a label against a classifier's label, a value against a
        regression's value (a kind the prediction does not answer is dropped)."""
        model, variant, predicted, ts, value = prediction
        if (kind == "value") != (value is not None):
            return
        c = self._counts.setdefault((model, variant), _Counts())
        if value is not None:
            error = value - truth
            c.values.add(1, abs(error), error * error, error)
        else:
            c.labelled += 1
            c.errors += int(predicted != round(truth))
            self.classes.count(model, variant, predicted, truth)
        c.first_ts, c.last_ts = min(c.first_ts, ts), max(c.last_ts, ts)

    def _bound(self, waiting: OrderedDict[str, Any]) -> None:
        while len(waiting) > self.max_pending:
            self._left(waiting.popitem(last=False)[0])
            self.evicted += 1

    def adopt(self, saved: Mapping[bytes, bytes], owns: Callable[[str], bool]) -> int:
        """Hold exactly what waits in the partitions this worker ``owns`` (by request id)
        after an assignment: drop the rest (written out when its partitions were revoked)
        and restore, from ``saved`` (the join-state topic), what is not held yet. Returns
        the number restored."""
        for waiting in (self._waiting_predictions, self._waiting_labels):
            for request_id in [r for r in waiting if not owns(r)]:
                del waiting[request_id]
        restored: list[tuple[float, str, dict[str, Any]]] = []
        for key, raw in saved.items():
            request_id = key.decode("utf-8", "replace")
            if (owns(request_id) and request_id not in self._waiting_predictions
                    and request_id not in self._waiting_labels):
                record = msgspec.json.decode(raw)
                restored.append((record["p"][3] if "p" in record else 0.0, request_id, record))
        for _, request_id, record in sorted(restored):  # oldest first: evicted first
            if "p" in record:
                # a previous release's record has no value: it was a classifier's
                self._waiting_predictions[request_id] = (*record["p"], None)[:5]
            else:
                self._waiting_labels[request_id] = (
                    ("label", record["l"]) if "l" in record else ("value", record["v"]))
        return len(restored)

    @property
    def waiting(self) -> int:
        return len(self._waiting_predictions) + len(self._waiting_labels)

    def wait_s(self) -> float | None:
        if self._opened is None:
            return None
        return max(self._opened + self.interval_s - self.clock(), 0.0)

    def flush(self, *, force: bool) -> list[Output] | None:
        if not force and self.wait_s() != 0.0:
            return None
        outputs = [
            Output(self.topics.summaries, model.encode(), encode(MonitorSummary(
                model=model, variant=variant, partition=-1, first_offset=-1, last_offset=-1,
                window_start=c.first_ts, window_end=c.last_ts, n=0, histograms={},
                latency={}, labelled=c.labelled, label_errors=c.errors, valued=c.values.n,
                abs_error_sum=c.values.abs_sum, squared_error_sum=c.values.squared_sum,
                error_sum=c.values.signed_sum,
                confusion=_unset(self.classes.take(model, variant)))))
            for (model, variant), c in self._counts.items()]
        outputs.extend(Output(self.topics.join_state, request_id.encode(), record)
                       for request_id, record in self._changes.items())
        outputs.extend(Output(self.topics.shadow_pairs, pairs.model.encode(), encode(pairs))
                       for pairs in self.pairing.drain())
        self._counts.clear()
        self._changes, self._new = {}, set()
        self._opened = None
        return outputs


def _unset(confusion: list[list[int]] | None) -> list[list[int]] | msgspec.UnsetType:
    """A binary classifier's (or a regression's) summary leaves the matrix out."""
    return msgspec.UNSET if confusion is None else confusion
