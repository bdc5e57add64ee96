"""The inference stage: requests in, one Prediction per request out.

Requests are decoded in bulk, routed to a variant by their A/B unit, gathered by a
:class:`~inference.micro_batcher.MicroBatcher` (flush at ``max_batch`` or
``max_wait_ms``), scored a model batch at a time, and turned into Prediction records
with the latency parts: queue (request time to batch start), inference (the forward
pass), total (request time to publication). Invalid requests become dead letters.

A batch holding several (model, variant) groups scores the cheapest first (its expected
forward time: a running mean of seconds per row, times its rows): shortest job first
gives the least mean wait, and a slow model or challenger keeps its cost to its own
requests instead of adding it to every other group's latency. An experiment's latency
guardrail then compares what each arm costs its users, not the order they were served in.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from inference.cost_meter import CostMeter
from inference.micro_batcher import MicroBatcher
from inference.predictor import Predictor
from inference.routing import VariantRouter
from streams.kafka.stage import Output, dead_letter_outputs
from streams.wire.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.wire.events import Cost, InferenceRequest, Latency, ModelOutput, Prediction
from streams.wire.feature_rows import feature_rows
from streams.wire.topics import Topics

log = logging.getLogger(__name__)

#: Looks up the predictor serving (model, variant); None when no such model is deployed.
PredictorLookup = Callable[[str, str], Predictor | None]
#: weight of the newest batch in a group's running cost per row
COST_WEIGHT = 0.3


class _Answered(Prediction):
    """A Prediction made of checked parts (a decoded request, the model's output, our
    clock), so its checks are not run again: ~1.2 µs a prediction. Encodes as one."""

    def __post_init__(self) -> None:
        pass


class _Pending(NamedTuple):
    request: InferenceRequest
    source: RawRecord
    variant: str


class InferenceStage:
    """Batch requests, score them, and emit predictions and dead letters."""

    def __init__(self, *, topics: Topics, predictors: PredictorLookup, router: VariantRouter,
                 max_batch: int, max_wait_ms: float, max_record_bytes: int,
                 clock: Callable[[], float] = time.time,
                 routers: Callable[[str], VariantRouter] | None = None,
                 meter: CostMeter | None = None) -> None:
        self.topics = topics
        self.meter = meter if meter is not None else CostMeter()
        self._predictions = topics.predictions
        self.predictors = predictors
        self.router = router
        # per model, when experiments change a model's split (a rolled-back challenger)
        self.routers = routers
        self.clock = clock
        self._decoder = BatchDecoder(InferenceRequest, max_record_bytes=max_record_bytes)
        self._batcher: MicroBatcher[_Pending] = MicroBatcher(max_batch, max_wait_ms, clock)
        self._max_batch = max_batch
        self._rejected: list[Rejected] = []
        #: (model, variant) -> running mean of forward seconds per row
        self._row_cost: dict[tuple[str, str], float] = {}

    def add(self, records: Sequence[RawRecord]) -> None:
        decoded = self._decoder.decode(records)
        self._rejected.extend(decoded.rejected)
        now = self.clock()
        for req, src in zip(decoded.events, decoded.sources, strict=True):
            router = self.router if self.routers is None else self.routers(req.model)
            variant = router.assign(req.unit_id or req.id)
            self._batcher.add(_Pending(req, src, variant), now)

    def wait_s(self) -> float | None:
        if self._rejected and not len(self._batcher):
            return 0.0
        return self._batcher.time_to_deadline()

    def flush(self, *, force: bool) -> list[Output] | None:
        if not (force or self._batcher.ready() or (self._rejected and not len(self._batcher))):
            return None
        outputs: list[Output] = []
        while len(self._batcher):
            outputs.extend(self._score([p for p, _ in self._batcher.take()]))
        outputs.extend(self._dead_letters())
        return outputs

    def _score(self, batch: list[_Pending]) -> list[Output]:
        groups: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
        for p in batch:
            groups[(p.request.model, p.variant)].append(p)
        outputs: list[Output] = []
        cost = self._row_cost
        for (model, variant), items in sorted(
                groups.items(), key=lambda g: cost.get(g[0], 0.0) * len(g[1])):
            predictor = self.predictors(model, variant)
            if predictor is None:
                self._reject(items, "unknown_model", f"no model named {model!r} is deployed")
                continue
            names = list(predictor.features)
            rows, ok = _feature_matrix(items, names)
            if len(ok) < len(items):
                kept = {id(p) for p in ok}
                bad = [p for p in items if id(p) not in kept]
                self._reject(bad, "invalid", f"model {model!r} needs features {names}")
            if ok:
                outputs.extend(self._predict(predictor, variant, ok, rows))
        return outputs

    def _predict(self, predictor: Predictor, variant: str, items: list[_Pending],
                 rows: np.ndarray) -> list[Output]:
        start = self.clock()
        try:
            with self.meter.measure(len(items), gpu=predictor.device.startswith("cuda")) as used:
                result = predictor.predict_batch(rows)
        except Exception as exc:  # a model failure answers the batch with errors, loses nothing
            log.exception("model %s %s failed on a batch of %d", predictor.model,
                          predictor.version, len(items))
            return self._failed(predictor, variant, items, start, f"{type(exc).__name__}: {exc}")
        published = self.clock()
        key, per_row = (predictor.model, variant), result.inference_s / len(items)
        seen = self._row_cost.get(key)
        self._row_cost[key] = per_row if seen is None else seen + COST_WEIGHT * (per_row - seen)
        topic, n = self._predictions, len(items)
        device, version = predictor.device, predictor.version
        share = used.per_row()
        cost = Cost(cpu_s=share.cpu_s, gpu_s=share.gpu_s, energy_j=share.energy_j)
        labels, scores = result.labels.tolist(), result.scores.tolist()
        probabilities = result.probabilities.tolist()
        outputs = []
        for i, p in enumerate(items):
            req = p.request
            pred = _Answered(
                request_id=req.id, ts=published, model=req.model, variant=variant,
                model_version=version,
                output=ModelOutput(label=labels[i], score=scores[i],
                                   probabilities=probabilities[i]),
                latency=Latency(queue_s=max(start - req.ts, 0.0), inference_s=result.inference_s,
                                total_s=max(published - req.ts, 0.0)), cost=cost,
                batch_size=n, device=device, features=req.features,
                segment=req.segment, unit_id=req.unit_id, embedding=req.embedding)
            outputs.append(Output(topic, p.source.key, encode(pred)))
        return outputs

    def _failed(self, predictor: Predictor, variant: str, items: list[_Pending], start: float,
                error: str) -> list[Output]:
        published = self.clock()
        outputs = []
        for p in items:
            req = p.request
            pred = Prediction(
                request_id=req.id, ts=published, model=req.model, variant=variant,
                model_version=predictor.version, output=ModelOutput(label=-1, score=0.0),
                latency=Latency(queue_s=max(start - req.ts, 0.0), inference_s=published - start,
                                total_s=max(published - req.ts, 0.0)),
                batch_size=len(items), device=predictor.device, features=req.features,
                segment=req.segment, unit_id=req.unit_id, embedding=req.embedding,
                error=error[:500])
            outputs.append(Output(self._predictions, p.source.key, encode(pred)))
        return outputs

    def _reject(self, items: list[_Pending], kind: str, reason: str) -> None:
        self._rejected.extend(Rejected(p.source, kind, reason) for p in items)

    def _dead_letters(self) -> list[Output]:
        outs = dead_letter_outputs(self.topics.dead_letter, self._rejected)
        self._rejected.clear()
        return outs


def _feature_matrix(items: list[_Pending], names: list[str]) -> tuple[np.ndarray, list[_Pending]]:
    """Rows in the model's feature order; requests missing a feature are left out."""
    rows = feature_rows(names, [p.request.features for p in items], np.float32)
    complete = ~np.isnan(rows).any(axis=1)
    if complete.all():
        return rows, items
    return rows[complete], [p for p, ok in zip(items, complete.tolist(), strict=True) if ok]
