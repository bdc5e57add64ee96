"""The inference stage: requests in, one Prediction per request out.

Requests are decoded in bulk, routed to a variant by their A/B unit, gathered by a
:class:`~inference.micro_batcher.MicroBatcher` (flush at ``max_batch`` or
``max_wait_ms``), scored a model batch at a time, and turned into Prediction records
with the latency parts: queue (request time to batch start), inference (the forward
pass), total (request time to publication). Invalid requests become dead letters.

A batch is scored per (model, version): variants bound to one version share its forward
pass. A predictor with a spec (every version the model store loads) takes its inputs
encoded by the spec (:mod:`streams.serving.request_inputs`: numeric, categorical and
text); a request the spec cannot take (an input missing with no default, a category
outside the vocabulary with no default) is answered with an error (label -1, counted
against the error SLO like a model failure), never dropped and never a silent zero. A
predictor with no spec (a test double over numeric rows) takes the feature matrix, and a
request lacking a feature is a dead letter. The model's embedding of each input (a
transformers model's) is carried on its prediction, so embedding drift watches it.

A batch holding several (model, version) groups scores the cheapest first (its expected
forward time: a running mean of seconds per row, times its rows): shortest job first
gives the least mean wait, and a slow model or challenger keeps its cost to its own
requests instead of adding it to every other group's latency. An experiment's latency
guardrail then compares what each arm costs its users, not the order they were served in.

A model's shadow version (:mod:`streams.serving.shadow`) scores its share of the batch's
answered requests after every answer of the batch is made, into the shadow-predictions
topic, in the same transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import msgspec
import numpy as np

from inference.cost_meter import CostMeter
from inference.micro_batcher import MicroBatcher
from inference.model_inputs import ModelInputs
from inference.predictor import Predictor
from inference.routing import VariantRouter
from streams.kafka.stage import Output, dead_letter_outputs
from streams.serving.request_inputs import encode_batch
from streams.serving.shadow import SHADOW, ShadowLookup, shadow_groups, with_answer
from streams.wire.codec import BatchDecoder, RawRecord, Rejected, encode
from streams.wire.events import (
    Cost,
    InferenceRequest,
    Latency,
    ModelOutput,
    Prediction,
    ShadowPrediction,
)
from streams.wire.feature_rows import feature_rows
from streams.wire.topics import Topics

log = logging.getLogger(__name__)

#: Looks up the predictor serving (model, variant); None when no such model is deployed.
PredictorLookup = Callable[[str, str], Predictor | None]
#: weight of the newest batch in a group's running cost per row
COST_WEIGHT = 0.3
#: (model, version): what one forward pass serves
Group = tuple[str, str]


class _Answered(Prediction):
    """A Prediction made of checked parts (a decoded request, the model's output, our
    clock), so its checks are not run again: ~1.2 µs a prediction. Encodes as one."""

    def __post_init__(self) -> None:
        pass


class _Pending(NamedTuple):
    request: InferenceRequest
    source: RawRecord
    variant: str


class _Lane(NamedTuple):
    """Where a group's outputs go: the answers (variant: the request's) or the shadow's
    (each with its request's answer), and the kinds of prediction made and failed."""

    topic: str
    made: type[Prediction]
    failed: type[Prediction]
    variant: str | None = None
    answers: bool = True


class InferenceStage:
    """Batch requests, score them, and emit predictions and dead letters."""

    def __init__(self, *, topics: Topics, predictors: PredictorLookup, router: VariantRouter,
                 max_batch: int, max_wait_ms: float, max_record_bytes: int,
                 clock: Callable[[], float] = time.time,
                 routers: Callable[[str], VariantRouter] | None = None,
                 meter: CostMeter | None = None,
                 shadows: ShadowLookup | None = None) -> None:
        self.topics = topics
        self.meter = meter if meter is not None else CostMeter()
        self._answers = _Lane(topics.predictions, _Answered, Prediction)
        self._shadow = _Lane(topics.shadow_predictions, ShadowPrediction, ShadowPrediction,
                             SHADOW, answers=False)
        #: each model's shadow (None: no shadow scoring at all)
        self.shadows = shadows
        #: of the batch's requests a shadow scores: the answer's (label, version)
        self._shadowed: dict[str, tuple[int, str]] = {}
        self.predictors = predictors
        self.router = router
        # per model, when experiments change a model's split (a rolled-back challenger)
        self.routers = routers
        self.clock = clock
        self._decoder = BatchDecoder(InferenceRequest, max_record_bytes=max_record_bytes)
        self._batcher: MicroBatcher[_Pending] = MicroBatcher(max_batch, max_wait_ms, clock)
        self._max_batch = max_batch
        self._rejected: list[Rejected] = []
        #: (model, version) -> running mean of forward seconds per row
        self._row_cost: dict[Group, float] = {}

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
        outputs: list[Output] = []
        groups = self._groups(batch)
        shadowed = {} if self.shadows is None else shadow_groups(
            (p for _, items in groups.values() for p in items), self.shadows)
        self._shadowed = {p.request.id: (-1, "") for _, items in shadowed.values()
                          for p in items}
        self._run(groups, self._answers, outputs)
        if shadowed:  # after every answer is made: no answer waits on a shadow's forward pass
            self._run(shadowed, self._shadow, outputs)
            self._shadowed = {}
        return outputs

    def _run(self, groups: dict[Group, tuple[Predictor, list[_Pending]]], lane: _Lane,
             outputs: list[Output]) -> None:
        """Score ``groups``, the cheapest first, into ``outputs`` along ``lane``."""
        cost = self._row_cost
        for key in sorted(groups, key=lambda g: cost.get(g, 0.0) * len(groups[g][1])):
            predictor, items = groups[key]
            inputs, ok = self._inputs(predictor, items, outputs, lane)
            if ok:
                outputs.extend(self._predict(predictor, ok, inputs, lane))

    def _groups(self, batch: list[_Pending]) -> dict[Group, tuple[Predictor, list[_Pending]]]:
        """The requests by the (model, version) that scores them, with its predictor;
        requests of a model not deployed are rejected."""
        lookup: dict[tuple[str, str], Predictor | None] = {}
        groups: dict[Group, tuple[Predictor, list[_Pending]]] = {}
        for p in batch:
            at = (p.request.model, p.variant)
            predictor = lookup[at] if at in lookup else lookup.setdefault(
                at, self.predictors(*at))
            if predictor is None:
                self._reject([p], "unknown_model", f"no model named {at[0]!r} is deployed")
                continue
            group = groups.get((at[0], predictor.version))
            if group is None:
                group = groups[(at[0], predictor.version)] = (predictor, [])
            group[1].append(p)
        return groups

    def _inputs(self, predictor: Predictor, items: list[_Pending], outputs: list[Output],
                lane: _Lane) -> tuple[ModelInputs | np.ndarray, list[_Pending]]:
        """The model inputs of ``items`` and the requests they are of; a request the spec
        cannot take is answered with its reason (into ``outputs``), one the numeric rows
        of a predictor with no spec cannot is a dead letter (a shadow's: an error output,
        the request being answered already)."""
        spec = getattr(predictor, "spec", None)
        if spec is None:
            names = list(predictor.features)
            rows, ok = _feature_matrix(items, names)
            if len(ok) < len(items):
                kept = {id(p) for p in ok}
                bad = [p for p in items if id(p) not in kept]
                reason = f"model {predictor.model!r} needs features {names}"
                if lane.answers:
                    self._reject(bad, "invalid", reason)
                else:
                    outputs.extend(self._failed(predictor, bad, self.clock(), [reason], lane))
            return rows, ok
        encoded = encode_batch(spec, [p.request for p in items])
        if encoded.errors:
            refused = [items[i] for i in encoded.errors]
            reasons = [f"invalid input: {why}" for why in encoded.errors.values()]
            outputs.extend(self._failed(predictor, refused, self.clock(), reasons, lane))
            return encoded.inputs, [items[i] for i in encoded.kept.tolist()]
        return encoded.inputs, items

    def _predict(self, predictor: Predictor, items: list[_Pending],
                 inputs: ModelInputs | np.ndarray, lane: _Lane) -> list[Output]:
        start = self.clock()
        try:
            with self.meter.measure(len(items), gpu=predictor.device.startswith("cuda")) as used:
                result = predictor.predict_batch(inputs)
        except Exception as exc:  # a model failure answers the batch with errors, loses nothing
            log.exception("model %s %s failed on a batch of %d", predictor.model,
                          predictor.version, len(items))
            return self._failed(predictor, items, start, [f"{type(exc).__name__}: {exc}"], lane)
        published = self.clock()
        key, per_row = (predictor.model, predictor.version), result.inference_s / len(items)
        seen = self._row_cost.get(key)
        self._row_cost[key] = per_row if seen is None else seen + COST_WEIGHT * (per_row - seen)
        topic, n = lane.topic, len(items)
        device, version = predictor.device, predictor.version
        share = used.per_row()
        cost = Cost(cpu_s=share.cpu_s, gpu_s=share.gpu_s, energy_j=share.energy_j)
        labels, scores = result.labels.tolist(), result.scores.tolist()
        probabilities = result.probabilities.tolist()
        values = ([msgspec.UNSET] * n if result.values is None
                  else result.values.tolist())
        embeddings = (result.embeddings.tolist() if result.embeddings is not None
                      else [p.request.embedding for p in items])
        shadowed = self._shadowed
        if shadowed and lane.answers:
            for i, p in enumerate(items):
                if p.request.id in shadowed:
                    shadowed[p.request.id] = (labels[i], version)
        outputs = []
        for i, p in enumerate(items):
            req = p.request
            pred = lane.made(
                request_id=req.id, ts=published, model=req.model,
                variant=lane.variant or p.variant, model_version=version,
                output=ModelOutput(label=labels[i], score=scores[i],
                                   probabilities=probabilities[i], value=values[i]),
                latency=Latency(queue_s=max(start - req.ts, 0.0), inference_s=result.inference_s,
                                total_s=max(published - req.ts, 0.0)), cost=cost,
                batch_size=n, device=device, features=req.features,
                segment=req.segment, unit_id=req.unit_id, embedding=embeddings[i],
                categorical=req.categorical)
            if not lane.answers:
                with_answer(pred, self._shadowed)
            outputs.append(Output(topic, p.source.key, encode(pred)))
        return outputs

    def _failed(self, predictor: Predictor, items: list[_Pending], start: float,
                errors: list[str], lane: _Lane) -> list[Output]:
        """Error answers (label -1) to ``items``: one error for all, or one each."""
        published = self.clock()
        outputs = []
        for p, error in zip(items, errors * len(items) if len(errors) == 1 else errors,
                            strict=True):
            req = p.request
            pred = lane.failed(
                request_id=req.id, ts=published, model=req.model,
                variant=lane.variant or p.variant, model_version=predictor.version,
                output=ModelOutput(label=-1, score=0.0),
                latency=Latency(queue_s=max(start - req.ts, 0.0), inference_s=published - start,
                                total_s=max(published - req.ts, 0.0)),
                batch_size=len(items), device=predictor.device, features=req.features,
                segment=req.segment, unit_id=req.unit_id, embedding=req.embedding,
                error=error[:500], categorical=req.categorical)
            if not lane.answers:
                with_answer(pred, self._shadowed)
            outputs.append(Output(lane.topic, p.source.key, encode(pred)))
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
