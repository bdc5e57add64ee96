"""The health loop's own logic, on in-memory Kafka clients and an injected wall clock.

Its judgement is :class:`HealthWatch`'s (tested in ``test_watch``); here: which partitions
it reads, how it turns offsets into volumes and lags, how it picks up after a restart
(alerts reopened, dead letters re-read from the window's start), that it judges once per
interval while counting every dead letter in between, that a broker hiccup skips one
evaluation, and that alerts go out keyed by their fingerprint.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, OffsetAndTimestamp

from detectors.sustained import key_of
from streams.health import loop as health_loop
from streams.health.loop import HealthLoop, _per_topic
from streams.health.watch import CONSUMER_LAG, identity
from streams.kafka import clients as kafka_clients
from streams.settings import HealthSettings, KafkaSettings
from streams.wire.codec import encode
from streams.wire.dead_letter import H_KIND, H_TOPIC
from streams.wire.events import Alert
from streams.wire.topics import Topics

KAFKA = KafkaSettings(topic_prefix="p.")
TOPICS = Topics("p.")
NOW = 50_000.0


def tps(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(count)]


class FakeConsumer:
    """A group-less reader: scripted polls, end offsets and offsets by time."""

    def __init__(self, polls: list[dict], stop: asyncio.Event) -> None:
        self.polls, self.stop_event = polls, stop
        self.ends: dict[TopicPartition, int] = {}
        self.at_time: dict[TopicPartition, int] = {}
        self.assigned: list[TopicPartition] = []
        self.seeks: dict[TopicPartition, int] = {}
        self.timeouts: list[int] = []
        self.times_asked: set[int] = set()
        self.end_offsets_calls = 0
        self.hiccups = 0
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    def assign(self, parts: list[TopicPartition]) -> None:
        self.assigned = list(parts)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    async def getmany(self, *, timeout_ms: int) -> dict:
        self.timeouts.append(timeout_ms)
        await asyncio.sleep(0)
        if not self.polls:
            self.stop_event.set()
            return {}
        return self.polls.pop(0)

    async def end_offsets(self, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.end_offsets_calls += 1
        if self.hiccups:
            self.hiccups -= 1
            raise KafkaConnectionError("broker went away")
        return {tp: self.ends.get(tp, 0) for tp in parts}

    async def offsets_for_times(self, times: dict[TopicPartition, int]
                                ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        self.times_asked |= set(times.values())
        return {tp: (OffsetAndTimestamp(self.at_time[tp], ms) if tp in self.at_time else None)
                for tp, ms in times.items()}


class FakeAdmin:
    def __init__(self, offsets: dict[str, dict[TopicPartition, int]]) -> None:
        self.offsets = offsets
        self.closed = False

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True

    async def list_consumer_groups(self) -> list[tuple[str, str]]:
        return [(group, "consumer") for group in self.offsets]

    async def list_consumer_group_offsets(self, group: str
                                          ) -> dict[TopicPartition, OffsetAndMetadata]:
        return {tp: OffsetAndMetadata(o, "") for tp, o in self.offsets[group].items()}


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes) -> None:
        self.sent.append((topic, key, value))


class Harness:
    """A health loop on the fakes, its wall clock at ``NOW``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, polls: list[dict] | None = None,
                 groups: dict[str, dict[TopicPartition, int]] | None = None,
                 saved_alerts: list[bytes] = (), **settings: Any) -> None:
        self.stop = asyncio.Event()
        self.consumer = FakeConsumer(polls or [], self.stop)
        self.admin = FakeAdmin(groups or {})
        self.producer = FakeProducer()

        async def read_latest(settings: KafkaSettings, topic: str, partitions: int
                              ) -> dict[bytes, bytes]:
            assert (topic, partitions) == ("p.alerts", 1)
            return {b"k%d" % i: raw for i, raw in enumerate(saved_alerts)}

        monkeypatch.setattr(health_loop, "read_latest", read_latest)
        monkeypatch.setattr(kafka_clients, "reader", lambda s: self.consumer)
        monkeypatch.setattr(kafka_clients, "admin", lambda s: self.admin)
        monkeypatch.setattr(kafka_clients, "producer", lambda s: self.producer)
        self.loop = HealthLoop(kafka=KAFKA, settings=HealthSettings(**settings),
                               clock=lambda: NOW)

    async def run(self) -> None:
        await asyncio.wait_for(self.loop.run(self.stop), timeout=5)


def test_volumes_are_the_end_offsets_summed_per_topic() -> None:
    offsets = {TopicPartition("a", 0): 5, TopicPartition("a", 1): 7, TopicPartition("b", 0): 2}
    assert _per_topic(offsets) == {"a": 12, "b": 2}


def test_our_topics_are_read_in_all_their_partitions_a_foreign_one_in_one() -> None:
    loop = HealthLoop(kafka=KAFKA, settings=HealthSettings())
    parts = loop._partitions([TOPICS.outcomes, TOPICS.alerts, "someone.elses"])
    assert parts == (tps("p.outcomes", TOPICS.partitions("outcomes")) + tps("p.alerts", 1)
                     + tps("someone.elses", 1))


async def test_offsets_at_a_time_are_the_first_written_then_else_the_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch)
    a0, a1 = tps("p.outcomes", 2)
    h.consumer.at_time = {a0: 40}
    h.consumer.ends = {a0: 90, a1: 17}
    assert await h.loop._offsets_at(h.consumer, [a0, a1], 1234.5678) == {a0: 40, a1: 17}
    assert h.consumer.times_asked == {1_234_567}  # milliseconds, as Kafka stores them


async def test_lag_sums_partitions_per_group_and_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    o0, o1 = tps("p.outcomes", 2)
    (q0,) = tps("p.predictions", 1)
    groups = {"p.monitor": {o0: 10, o1: 50, q0: -1},  # -1: nothing committed there yet
              "p.sink": {o0: 100},  # ahead of the end offset read a moment earlier: 0
              "p.idle": {q0: -1},  # nothing committed anywhere: not reported
              "other.app": {o0: 0}}  # not one of ours
    h = Harness(monkeypatch, groups=groups)
    h.consumer.ends = {o0: 30, o1: 80, q0: 500}
    lags = await h.loop._lags(h.consumer, h.admin)
    assert lags == {("p.monitor", "p.outcomes"): 20 + 30, ("p.sink", "p.outcomes"): 0}


async def test_lag_of_only_the_groups_named_when_some_are(
        monkeypatch: pytest.MonkeyPatch) -> None:
    (o0,) = tps("p.outcomes", 1)
    h = Harness(monkeypatch, groups={"p.monitor": {o0: 1}, "other.app": {o0: 2}},
                lag_groups="other.app")
    h.consumer.ends = {o0: 10}
    assert await h.loop._lags(h.consumer, h.admin) == {("other.app", "p.outcomes"): 8}


def _lag_alert(status: str, starts_at: float) -> Alert:
    fp, labels = identity(CONSUMER_LAG, ("p.sink", "p.outcomes"))
    return Alert(fingerprint=fp, status=status, severity="page", labels=labels,
                 annotations={"summary": "lagging"}, starts_at=starts_at,
                 ends_at=None if status == "firing" else starts_at + 1)


async def test_a_restart_reopens_firing_alerts_and_rereads_the_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    firing = _lag_alert("firing", 100.0)
    h = Harness(monkeypatch, saved_alerts=[encode(_lag_alert("resolved", 10.0)), b"{not json",
                                           encode(firing)],
                dead_letter_window_s=30.0)
    dead = tps("p.dead-letter", TOPICS.partitions("dead-letter"))
    h.consumer.at_time = {dead[0]: 12}
    h.consumer.ends = {dead[1]: 4, dead[2]: 9}
    await h.loop._resume(h.consumer)
    key = key_of(("p.sink", "p.outcomes"))
    assert h.loop.watch.lag.condition.firing == [key]  # the resolved one stays closed
    assert h.loop.watch.lag.condition.starts_at(key) == 100.0
    assert h.consumer.assigned == dead
    assert h.consumer.seeks == {dead[0]: 12, dead[1]: 4, dead[2]: 9}
    assert h.consumer.times_asked == {int((NOW - 30.0) * 1000)}


async def test_it_judges_once_per_interval_and_counts_every_dead_letter_between(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def dead(offset: int, ts_ms: int) -> ConsumerRecord:
        headers = ((H_TOPIC, b"p.outcomes"), (H_KIND, b"malformed"))
        return ConsumerRecord("p.dead-letter", 0, offset, ts_ms, 0, None, b"{", None, 0, 0,
                              headers)

    (d0,) = tps("p.dead-letter", 1)
    h = Harness(monkeypatch, polls=[{d0: [dead(0, 1_000)]}, {d0: [dead(1, 2_500)]}, {}],
                interval_s=1000.0)
    seen: list[tuple[list, bytes | None, float]] = []
    monkeypatch.setattr(h.loop.watch, "dead_letters", lambda records: seen.extend(records))
    await h.run()
    # every poll's dead letters are counted, stamped in seconds
    assert seen == [
        ([(H_TOPIC, b"p.outcomes"), (H_KIND, b"malformed")], b"{", 1.0),
        ([(H_TOPIC, b"p.outcomes"), (H_KIND, b"malformed")], b"{", 2.5)]
    # judged at the first poll only: then each poll waits out the rest of the interval
    assert h.consumer.timeouts[0] == 0
    assert all(999_000 < t <= 1_000_000 for t in h.consumer.timeouts[1:])
    assert len(h.consumer.timeouts) == 4
    assert h.consumer.end_offsets_calls == 2 + 1  # _resume's two, one evaluation's
    assert h.consumer.stopped and h.admin.closed and h.producer.stopped


async def test_a_broker_hiccup_skips_one_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    (o0,) = tps("p.outcomes", 1)
    h = Harness(monkeypatch, polls=[{}], groups={"p.sink": {o0: 0}}, interval_s=1e-9,
                lag_max=5, lag_fire_after_s=0.0)
    h.consumer.ends = {o0: 100}
    monkeypatch.setattr(h.loop, "_resume", _nothing)
    h.consumer.hiccups = 1
    await h.run()
    # the first evaluation failed and was skipped; the second fired the lag alert
    assert [msgspec.json.decode(v, type=Alert).status for _, _, v in h.producer.sent] == [
        "firing"]


async def _nothing(consumer: object) -> None:
    return None


async def test_alerts_go_to_the_alerts_topic_keyed_by_fingerprint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    (o0,) = tps("p.outcomes", 1)
    h = Harness(monkeypatch, groups={"p.sink": {o0: 0}}, lag_max=5, lag_fire_after_s=0.0)
    h.consumer.ends = {o0: 100}
    await h.run()
    ((topic, key, value),) = h.producer.sent
    alert = msgspec.json.decode(value, type=Alert)
    assert (topic, key) == ("p.alerts", alert.fingerprint.encode())
    assert alert.fingerprint == identity(CONSUMER_LAG, ("p.sink", "p.outcomes"))[0]
    assert (alert.status, alert.starts_at, alert.evidence["lag"]) == ("firing", NOW, 100.0)
