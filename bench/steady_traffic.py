"""Requests at a steady rate, with a drift that can be switched on and off while it runs.

The operations benchmarks (detection latency, scale-out, soak) need traffic paced in
real time, stamped when it is sent, and a drift that a controller toggles: the
simulator's scenario fixes its one drift by request index, so it cannot serve 20 drifts
that each wait for the previous one to resolve. Records go out a batch per partition
(:func:`streams.kafka.record_writer.send_records`), so the producer costs a few µs per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import numpy as np

from retrain.synthetic import FEATURES, Drift, FeatureGenerator
from streams.kafka import clients as kafka_clients
from streams.kafka.record_writer import send_records
from streams.kafka.stage import Output
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import InferenceRequest, Outcome
from streams.wire.topics import Topics

#: sends per second; each sends rate / TICKS_PER_S requests
TICKS_PER_S = 50


class SteadyTraffic:
    """Send ``rate`` requests a second for model ``churn`` until stopped or ``limit`` sent.

    Parameters
    ----------
    kafka
        Where to send (the topic prefix names the requests topic).
    rate
        Requests per second (> 0).
    run_id
        Prefix of the request ids: ``{run_id}-{index:09d}``.
    seed
        Seed of the feature generator and the A/B units.
    limit
        Most requests to send; the loop ends by itself there.
    outcome_share
        Share of the requests whose true label is sent at once as an outcome (the join
        then lets their predictions go; unlabelled ones wait in it, bounded).
    texts
        When given, request ``i`` carries ``texts[i % len(texts)]`` as its text (for a
        model with a text input).
    """

    def __init__(self, kafka: KafkaSettings, rate: float, run_id: str, seed: int = 0,
                 limit: int = 10_000_000, outcome_share: float = 0.0,
                 texts: Sequence[str] | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        if not 0.0 <= outcome_share <= 1.0:
            raise ValueError(f"outcome_share must be in [0, 1], got {outcome_share!r}")
        self.outcome_share = outcome_share
        self.outcomes = Topics(kafka.topic_prefix).outcomes
        self.kafka = kafka
        self.rate = rate
        self.run_id = run_id
        self.limit = limit
        self.texts = list(texts) if texts else None
        self.topic = Topics(kafka.topic_prefix).requests
        self.sent = 0
        #: the drift applied to what is sent from now on (None: the training distribution)
        self.drift: Drift | None = None
        #: ticks that found the sender more than two ticks behind the rate
        self.late_ticks = 0
        self._gen = FeatureGenerator(seed)
        self._rng = np.random.default_rng(seed + 1)

    def _requests(self, n: int) -> list[Output]:
        batch = self._gen.sample(n, drift=self.drift)
        units = self._rng.integers(0, 10_000, n).tolist()
        rows = batch.features.tolist()
        labelled = (self._rng.random(n) < self.outcome_share).tolist()
        labels = batch.labels.tolist()
        out = []
        now = time.time()
        for j in range(n):
            rid = f"{self.run_id}-{self.sent + j:09d}"
            text = self.texts[(self.sent + j) % len(self.texts)] if self.texts else None
            req = InferenceRequest(id=rid, ts=now, model="churn",
                                   features=dict(zip(FEATURES, rows[j], strict=True)),
                                   unit_id=f"u{units[j]}", segment=batch.segments[j],
                                   text=text)
            out.append(Output(self.topic, rid.encode(), encode(req)))
            if labelled[j]:
                out.append(Output(self.outcomes, rid.encode(), encode(Outcome(
                    request_id=rid, ts=now, kind="label", value=float(labels[j])))))
        return out

    async def run(self, stop: asyncio.Event) -> None:
        """Send at the rate until ``stop`` is set or ``limit`` requests are out."""
        producer = kafka_clients.producer(self.kafka)
        await producer.start()
        try:
            started, tick = time.monotonic(), 1.0 / TICKS_PER_S
            while not stop.is_set() and self.sent < self.limit:
                due = min(int((time.monotonic() - started) * self.rate) + 1, self.limit)
                n = due - self.sent
                if n > 2 * self.rate * tick:
                    self.late_ticks += 1
                if n > 0:
                    futures = await send_records(producer, self._requests(n))
                    self.sent += n
                    if futures:
                        await futures[-1]
                await asyncio.sleep(tick)
            await producer.flush()
        finally:
            await producer.stop()
