"""Realistic traffic with scheduled incidents, for demos, tests and benchmarks.

Requests for the served model ("churn") come from the project's generative model
(several features, segments, A/B units); an input drift starts at a chosen request
index. An outside model server ("ranker") publishes its predictions directly, with a
latency regression over a chosen index range. Another ("assistant", a small LLM served
elsewhere) answers prompts and publishes its predictions with each prompt's embedding;
from a chosen index a new topic takes a share of the prompts. A share of requests gets
its true label as an outcome, a fixed number of requests later; from a chosen index a
share of those labels flip (concept drift: the world changed, the inputs did not).
Faulty producers: a share of the requests can be malformed (not JSON: they end in the
dead-letter topic), and a feature can go missing from a share of the requests and of the
outside server's predictions.

The ranker can run a champion/challenger experiment: with ``challenger_share`` > 0 each
of its units is assigned by the sticky hash of (``experiment``, unit id), as the inference
worker assigns them; variant B (the challenger) mispredicts ``1 - challenger_lift`` times
as often as A (whose error rate is ``ranker_error``) and answers ``challenger_latency_s``
slower. The ranker's predictions then get their true labels as outcomes too.
:meth:`Scenario.retraining` is the retraining loop's scenario: the inputs drift so that
the served model's accuracy drops, and labels flow.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inference.routing import VariantRouter
from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from retrain.synthetic_prompts import PromptTopics
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import InferenceRequest, Latency, ModelOutput, Outcome, Prediction
from streams.wire.topics import Topics

_CHUNK = 500
#: the covariate shift of the retraining scenario (see :meth:`Scenario.retraining`)
RETRAINING_DRIFT = Drift("f7", 0.0, scale=3.0)


@dataclass(frozen=True)
class Scenario:
    """What to send: how much, how fast, and which incidents when (by request index)."""

    count: int
    rate: float = 0.0
    model: str = "churn"
    seed: int = 0
    run_id: str = "sim"
    drift_at: int | None = None
    drift: Drift | None = None
    external_share: float = 0.0
    latency_from: int | None = None
    latency_to: int | None = None
    outcome_share: float = 0.0
    outcome_lag: int = 200
    concept_drift_at: int | None = None
    concept_flip: float = 0.3
    llm_share: float = 0.0
    topic_shift_at: int | None = None
    topic_share: float = 0.4
    malformed_share: float = 0.0
    missing_feature: str | None = None
    missing_share: float = 0.0
    #: how many distinct A/B units (users) the requests come from
    units: int = 10_000
    challenger_share: float = 0.0
    challenger_lift: float = 0.0
    challenger_latency_s: float = 0.0
    ranker_error: float = 0.2
    experiment: str = "ranker-exp"

    @classmethod
    def retraining(cls, count: int, *, rate: float = 0.0, seed: int = 0, run_id: str = "sim",
                   drift_at: int | None = None, outcome_share: float = 0.5) -> Scenario:
        """Drift that hurts: the signed balance ``f7`` spreads three times as wide from
        ``drift_at`` (default: a third of the way), where the served model extrapolates
        (its accuracy falls from about 0.89 to 0.83); ``outcome_share`` of the requests
        get their true label."""
        return cls(count=count, rate=rate, seed=seed, run_id=run_id,
                   drift_at=count // 3 if drift_at is None else drift_at,
                   drift=RETRAINING_DRIFT, outcome_share=outcome_share)

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {self.units}")
        if self.count < 0 or self.rate < 0:
            raise ValueError(f"count and rate must be >= 0, got {self.count}, {self.rate}")
        if self.external_share + self.llm_share > 1:
            raise ValueError("external_share + llm_share must be <= 1, got "
                             f"{self.external_share} + {self.llm_share}")
        if self.challenger_latency_s < 0 or not -1 <= self.challenger_lift <= 1:
            raise ValueError("challenger_latency_s must be >= 0 and challenger_lift in "
                             f"[-1, 1], got {self.challenger_latency_s}, "
                             f"{self.challenger_lift}")
        for name in ("external_share", "outcome_share", "concept_flip", "llm_share",
                     "topic_share", "malformed_share", "missing_share", "challenger_share",
                     "ranker_error"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.missing_feature is not None and self.missing_feature not in FEATURES:
            raise ValueError(f"missing_feature must be one of {FEATURES}, "
                             f"got {self.missing_feature!r}")
        if self.drift_at is not None and self.drift is None:
            raise ValueError("drift_at needs a drift (feature, shift)")


@dataclass
class SimulationResult:
    """What was sent."""

    requests: int = 0
    malformed: int = 0
    external_predictions: int = 0
    llm_predictions: int = 0
    topic_shift_ts: float | None = None
    outcomes: int = 0
    drift_started_ts: float | None = None
    seconds: float = 0.0


class TrafficPlan:
    """Pure: the records of each chunk of a scenario, in order."""

    def __init__(self, scenario: Scenario, topics: Topics, clock: Callable[[], float]) -> None:
        self.s = scenario
        self.topics = topics
        self.clock = clock
        self._gen = FeatureGenerator(scenario.seed)
        self._rng = np.random.default_rng(scenario.seed + 1)
        # the assistant's traffic has generators of its own, so adding it leaves the rest
        # of a seeded scenario as it was
        self._llm_rng = np.random.default_rng(scenario.seed + 2)
        self._prompts = PromptTopics(scenario.seed + 3)
        self._faults = np.random.default_rng(scenario.seed + 4)
        self._labels: deque[tuple[int, str, int]] = deque()
        self.result = SimulationResult()
        # the ranker's experiment has a generator of its own too
        self._ab_rng = np.random.default_rng(scenario.seed + 5)
        self._ab_router = VariantRouter(
            {"A": 1.0 - scenario.challenger_share, "B": scenario.challenger_share},
            salt=scenario.experiment) if scenario.challenger_share else None

    def chunk(self, start: int, stop: int) -> list[tuple[str, bytes, bytes]]:
        """(topic, key, value) records for request indices [start, stop)."""
        s, out = self.s, []
        cut = stop if s.drift_at is None else min(max(s.drift_at, start), stop)
        parts = [(start, cut, None), (cut, stop, s.drift)]
        for lo, hi, drift in parts:
            if hi <= lo:
                continue
            if drift is not None and self.result.drift_started_ts is None:
                self.result.drift_started_ts = self.clock()
            batch = self._gen.sample(hi - lo, drift=drift)
            external = self._rng.random(hi - lo) < s.external_share
            llm = (self._llm_rng.random(hi - lo) < s.llm_share / (1 - s.external_share)
                   if s.llm_share else np.zeros(hi - lo, dtype=bool)) & ~external
            for j in range(hi - lo):
                i, now = lo + j, self.clock()
                rid = f"{s.run_id}-{i:09d}"
                if llm[j]:
                    out.append(self._assistant(i, rid, now))
                    continue
                features = dict(zip(FEATURES, batch.features[j].tolist(), strict=True))
                if s.missing_feature and self._faults.random() < s.missing_share:
                    del features[s.missing_feature]
                unit = f"u{int(self._rng.integers(0, s.units))}"
                if external[j]:
                    out.append(self._external(i, rid, now, features, batch.segments[j], unit))
                    continue
                req = InferenceRequest(id=rid, ts=now, model=s.model, features=features,
                                       unit_id=unit, segment=batch.segments[j])
                if s.malformed_share and self._faults.random() < s.malformed_share:
                    # what a broken producer sends: cut short, not JSON
                    out.append((self.topics.requests, rid.encode(), encode(req)[:-7]))
                    self.result.malformed += 1
                    continue
                out.append((self.topics.requests, rid.encode(), encode(req)))
                self.result.requests += 1
                if self._rng.random() < s.outcome_share:
                    self._labels.append((i, rid, self._true_label(i, int(batch.labels[j]))))
        out.extend(self._due_outcomes(stop))
        return out

    def _true_label(self, i: int, label: int) -> int:
        """The label the world reports; after a concept drift, a share of them flip."""
        s = self.s
        drifted = s.concept_drift_at is not None and i >= s.concept_drift_at
        return 1 - label if drifted and self._rng.random() < s.concept_flip else label

    def _external(self, i: int, rid: str, now: float, features: dict[str, float],
                  segment: dict[str, str], unit: str) -> tuple[str, bytes, bytes]:
        s = self.s
        slow = (s.latency_from is not None and i >= s.latency_from
                and (s.latency_to is None or i < s.latency_to))
        median = 0.4 if slow else 0.04
        total = float(self._rng.lognormal(np.log(median), 0.3))
        score = float(self._rng.random())
        variant = "A" if self._ab_router is None else self._ab_router.assign(unit)
        if self._ab_router is not None:
            self._ranker_outcome(i, rid, int(score > 0.5), variant)
            if variant == "B":
                total += s.challenger_latency_s
        pred = Prediction(
            request_id=rid, ts=now, model="ranker", variant=variant,
            model_version="ext-2" if variant == "B" else "ext-1",
            output=ModelOutput(label=int(score > 0.5), score=score),
            latency=Latency(queue_s=total * 0.1, inference_s=total * 0.9, total_s=total),
            features=features, segment=segment, unit_id=unit)
        self.result.external_predictions += 1
        return (self.topics.predictions, rid.encode(), encode(pred))

    def _ranker_outcome(self, i: int, rid: str, label: int, variant: str) -> None:
        """The true label of a ranker prediction in the experiment: wrong at its variant's
        error rate (the challenger's lowered by the lift)."""
        s, rng = self.s, self._ab_rng
        error = s.ranker_error * ((1.0 - s.challenger_lift) if variant == "B" else 1.0)
        wrong = rng.random() < error
        if rng.random() < s.outcome_share:
            self._labels.append((i, rid, 1 - label if wrong else label))

    def _assistant(self, i: int, rid: str, now: float) -> tuple[str, bytes, bytes]:
        """The outside assistant's answer to one prompt, with the prompt's embedding."""
        s, rng = self.s, self._llm_rng
        shifted = s.topic_shift_at is not None and i >= s.topic_shift_at
        if shifted and self.result.topic_shift_ts is None:
            self.result.topic_shift_ts = now
        embedding = self._prompts.sample(1, s.topic_share if shifted else 0.0)[0]
        ttft = float(rng.lognormal(np.log(0.03), 0.3))
        total = ttft + float(rng.lognormal(np.log(0.04), 0.3))
        score = float(rng.beta(8, 2))  # the answer's self-rated confidence
        pred = Prediction(
            request_id=rid, ts=now, model="assistant", variant="A", model_version="ext-llm-1",
            output=ModelOutput(label=int(score > 0.5), score=score),
            latency=Latency(queue_s=0.002, inference_s=total - 0.002, total_s=total,
                            ttft_s=ttft),
            unit_id=f"u{int(rng.integers(0, 10_000))}",
            embedding=np.round(embedding, 5).tolist())
        self.result.llm_predictions += 1
        return (self.topics.predictions, rid.encode(), encode(pred))

    def _due_outcomes(self, upto: int) -> list[tuple[str, bytes, bytes]]:
        out = []
        final = upto >= self.s.count
        while self._labels and (final or self._labels[0][0] + self.s.outcome_lag < upto):
            _, rid, label = self._labels.popleft()
            outcome = Outcome(request_id=rid, ts=self.clock(), kind="label", value=float(label))
            out.append((self.topics.outcomes, rid.encode(), encode(outcome)))
            self.result.outcomes += 1
        return out


async def simulate(settings: KafkaSettings, scenario: Scenario,
                   clock: Callable[[], float] = time.time,
                   progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Produce ``scenario`` to the broker, paced at ``scenario.rate`` (0 = flat out);
    ``progress`` hears the count of requests sent after each chunk."""
    plan = TrafficPlan(scenario, Topics(settings.topic_prefix), clock)
    producer = kafka_clients.producer(settings)
    await producer.start()
    started = time.monotonic()
    step = _CHUNK if scenario.rate == 0 else max(1, min(_CHUNK, int(scenario.rate / 20)))
    futures: list[asyncio.Future[object]] = []
    try:
        for start in range(0, scenario.count, step):
            stop = min(start + step, scenario.count)
            futures = [await producer.send(t, v, key=k) for t, k, v in plan.chunk(start, stop)]
            if scenario.rate > 0:
                ahead = stop / scenario.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if futures:
                await futures[-1]
            if progress is not None:
                progress(stop)
        await producer.flush()
        for future in futures:
            await future
    finally:
        await producer.stop()
    plan.result.seconds = time.monotonic() - started
    return plan.result
