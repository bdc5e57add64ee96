"""The transactional batch loop, run against an in-memory consumer and producer.

What the loop promises: a batch's outputs and its offsets go in one transaction, the
offsets after the outputs are acknowledged; a failed write aborts and commits nothing; a stage still
filling its micro-batch commits nothing; a revocation writes what is pending before the
partitions go; no record is staged before the new partitions' state is loaded; the poll
waits no longer than the stage allows; dead letters are counted by reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streams.kafka import clients as kafka_clients
from streams.kafka.batch_loop import TransactionalLoop
from streams.kafka.stage import Output, dead_letter_outputs
from streams.settings import KafkaSettings
from streams.telemetry.ops_metrics import OpsMetrics
from streams.telemetry.readiness import LoopProgress
from streams.wire.codec import RawRecord, Rejected, SourceRecord
from streams.wire.dead_letter import H_KIND, H_OFFSET

SETTINGS = KafkaSettings(topic_prefix="t.", worker_id="w7")
DEAD = "t.dead-letter"
TP0, TP1 = TopicPartition("t.in", 0), TopicPartition("t.in", 1)


def records(tp: TopicPartition, *offsets: int, value: bytes = b"ok") -> list[SourceRecord]:
    return [SourceRecord(tp.topic, tp.partition, o, b"k%d" % o, value) for o in offsets]


class EchoStage:
    """Each record out to ``t.out``; a record valued ``bad`` is dead-lettered instead.

    ``hold`` keeps the micro-batch filling until a forced flush.
    """

    def __init__(self, *, hold: bool = False, waits: Sequence[float | None] = (None,),
                 log: list[Any] | None = None) -> None:
        self.hold = hold
        self.waits = list(waits)
        self.log = log if log is not None else []
        self.pending: list[RawRecord] = []

    def add(self, records: Sequence[RawRecord]) -> None:
        self.log.append(("add", [r.offset for r in records]))
        self.pending.extend(records)

    def wait_s(self) -> float | None:
        return self.waits.pop(0) if len(self.waits) > 1 else self.waits[0]

    def flush(self, *, force: bool) -> list[Output] | None:
        if self.hold and not force:
            return None
        bad = [Rejected(r, "not_json", "expected a JSON object") for r in self.pending
               if r.value == b"bad"]
        out = [Output("t.out", r.key, r.value) for r in self.pending if r.value != b"bad"]
        self.pending = []
        return out + dead_letter_outputs(DEAD, bad)


class FakeConsumer:
    """Hands out scripted polls, then sets ``stop``; a poll may be a coroutine to run first."""

    def __init__(self, polls: list[Any], stop: asyncio.Event, *,
                 assign_in_background: bool = False) -> None:
        self.polls = polls
        self.stop_event = stop
        self.assign_in_background = assign_in_background
        self.getmany_calls: list[tuple[int, int]] = []
        self.high: dict[TopicPartition, int] = {}
        self.stopped = False

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.topics, self.listener = topics, listener

    async def start(self) -> None:
        assigning = self.listener.on_partitions_assigned([TP0, TP1])
        if self.assign_in_background:  # aiokafka joins the group while fetching goes on
            self._assigning = asyncio.ensure_future(assigning)
        else:
            await assigning

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
        self.getmany_calls.append((timeout_ms, max_records))
        if not self.polls:
            self.stop_event.set()
            return {}
        poll = self.polls.pop(0)
        return await poll(self.listener) if callable(poll) else poll

    async def stop(self) -> None:
        self.stopped = True

    def assignment(self) -> set[TopicPartition]:
        return {TP0, TP1}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high.get(tp)


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, list]] = []

    def append(self, *, timestamp: None, key: bytes | None, value: bytes | None,
               headers: list) -> object:
        self.records.append((key, value, headers))
        return object()


class FakeProducer:
    """Logs transactions, sends and offsets in order; ``fail`` makes every send raise.

    A send returns its delivery future; ``acked_later`` acknowledges each one a loop
    turn later, as a broker would, and logs the acknowledgement."""

    def __init__(self, log: list[Any], *, fail: bool = False, acked_later: bool = False) -> None:
        self.log = log
        self.fail = fail
        self.acked_later = acked_later
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.log.append("begin")
        try:
            yield
        except BaseException:
            self.log.append("abort")
            raise
        self.log.append("commit")

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int
                         ) -> asyncio.Future[None]:
        if self.fail:
            raise KafkaError("broker went away")
        self.log.append(("send", topic, batch.records))
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.acked_later:
            delivered.set_result(None)
            return delivered

        def ack() -> None:
            self.log.append(("acked", topic))
            delivered.set_result(None)
        asyncio.get_running_loop().call_soon(ack)
        return delivered

    async def send_offsets_to_transaction(self, offsets: dict, group_id: str) -> None:
        self.log.append(("offsets", group_id, dict(offsets)))


class Harness:
    """A loop wired to the fakes, with everything they saw."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, polls: list[Any], *,
                 stage: EchoStage | None = None, fail: bool = False, acked_later: bool = False,
                 assign_in_background: bool = False, **loop_args: Any) -> None:
        self.stop = asyncio.Event()
        self.log: list[Any] = []
        self.stage = stage if stage is not None else EchoStage(log=self.log)
        self.stage.log = self.log
        self.consumer = FakeConsumer(polls, self.stop, assign_in_background=assign_in_background)
        self.producer = FakeProducer(self.log, fail=fail, acked_later=acked_later)
        self.made: dict[str, Any] = {}

        def consumer(settings: KafkaSettings, group_id: str) -> FakeConsumer:
            self.made["group_id"] = group_id
            return self.consumer

        def producer(settings: KafkaSettings, transactional_id: str | None = None
                     ) -> FakeProducer:
            self.made["transactional_id"] = transactional_id
            return self.producer

        monkeypatch.setattr(kafka_clients, "consumer", consumer)
        monkeypatch.setattr(kafka_clients, "producer", producer)
        self.loop = TransactionalLoop(name="monitor", settings=SETTINGS, topics=["t.in"],
                                      stage=self.stage, **loop_args)

    async def run(self) -> None:
        await asyncio.wait_for(self.loop.run(self.stop), timeout=5)

    def transactions(self) -> list[list[Any]]:
        """What each transaction held, from after its begin to its commit or abort."""
        out: list[list[Any]] = []
        open_ = False
        for entry in self.log:
            if entry == "begin":
                out.append([])
            elif open_:
                out[-1].append(entry)
            open_ = entry not in ("commit", "abort") and (open_ or entry == "begin")
        return out


async def test_outputs_then_offsets_in_one_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    progress = LoopProgress("monitor", clock=lambda: now[0])
    h = Harness(monkeypatch, [{TP0: records(TP0, 3, 4), TP1: records(TP1, 9)}],
                progress=progress)
    await h.run()

    assert h.made == {"group_id": "t.monitor", "transactional_id": "t.monitor-w7"}
    assert h.transactions() == [[
        ("send", "t.out", [(b"k3", b"ok", []), (b"k4", b"ok", []), (b"k9", b"ok", [])]),
        ("offsets", "t.monitor", {TP0: 5, TP1: 10}),  # the next offset to read, per partition
        "commit",
    ]]
    assert (h.loop.records_in, h.loop.records_out) == (3, 3)
    assert progress.partitions == 2 and progress.committed_at == 100.0
    assert h.consumer.stopped and h.producer.stopped


async def test_offsets_go_only_once_the_outputs_are_acknowledged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a TxnOffsetCommit in flight beside the Produce makes a Kafka 3.6+ broker fail the
    # Produce's transaction check (NOT_ENOUGH_REPLICAS, a retry 100 ms later)
    h = Harness(monkeypatch, [{TP0: records(TP0, 3), TP1: records(TP1, 9)}], acked_later=True)
    await h.run()
    assert h.transactions() == [[
        ("send", "t.out", [(b"k3", b"ok", []), (b"k9", b"ok", [])]), ("acked", "t.out"),
        ("offsets", "t.monitor", {TP0: 4, TP1: 10}), "commit"]]


async def test_a_failed_write_aborts_and_commits_no_offset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, [{TP0: records(TP0, 0, 1)}], fail=True)
    with pytest.raises(KafkaError, match="broker went away"):
        await h.run()
    assert h.log == [("add", [0, 1]), "begin", "abort"]
    assert h.consumer.stopped and h.producer.stopped  # the clients close on the way out


async def test_a_filling_micro_batch_commits_only_when_flushed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    progress = LoopProgress("monitor", clock=lambda: 0.0)
    h = Harness(monkeypatch, [{TP0: records(TP0, 0, 1)}, {TP0: records(TP0, 2)}],
                stage=EchoStage(hold=True), progress=progress)
    monkeypatch.setattr(progress, "committed", lambda: h.log.append("all committed"))
    await h.run()
    # nothing was committed, nor claimed to be, while the stage held its batch; the stop
    # forced one flush of both polls
    assert h.log == [("add", [0, 1]), ("add", [2]), "begin",
                     ("send", "t.out", [(b"k0", b"ok", []), (b"k1", b"ok", []),
                                        (b"k2", b"ok", [])]),
                     ("offsets", "t.monitor", {TP0: 3}), "commit"]


async def test_a_revocation_writes_what_is_pending_before_the_partitions_go(
        monkeypatch: pytest.MonkeyPatch) -> None:
    progress = LoopProgress("monitor", clock=lambda: 0.0)

    async def rebalance(listener: Any) -> dict:
        h.log.append("revoking")
        await listener.on_partitions_revoked([TP0, TP1])
        h.log.append("revoked")
        assert progress.partitions is None  # not ready in the middle of a rebalance
        await listener.on_partitions_assigned([TP1])
        return {}

    h = Harness(monkeypatch, [{TP0: records(TP0, 7)}, rebalance], stage=EchoStage(hold=True),
                progress=progress)
    await h.run()
    assert h.log == [("add", [7]), "revoking", "begin", ("send", "t.out", [(b"k7", b"ok", [])]),
                     ("offsets", "t.monitor", {TP0: 8}), "commit", "revoked"]
    assert progress.partitions == 1


async def test_no_record_is_staged_before_the_state_of_new_partitions_is_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def load(parts: set[TopicPartition]) -> None:
        await asyncio.sleep(0.05)  # the state store answers while records already arrived
        h.log.append(("loaded", sorted(tp.partition for tp in parts)))

    h = Harness(monkeypatch, [{TP0: records(TP0, 0)}], on_assigned=load,
                assign_in_background=True)
    await h.run()
    assert h.log[:2] == [("loaded", [0, 1]), ("add", [0])]


async def test_a_failed_state_load_stops_the_loop_naming_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def load(parts: set[TopicPartition]) -> None:
        raise OSError("state topic unreadable")

    h = Harness(monkeypatch, [{TP0: records(TP0, 0)}], on_assigned=load)
    with pytest.raises(RuntimeError, match=r"^monitor: loading the state") as err:
        await h.run()
    assert isinstance(err.value.__cause__, OSError)
    assert h.log == []  # nothing staged, nothing written


async def test_the_poll_waits_no_longer_than_the_stage_allows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stage = EchoStage(waits=[None, 0.05, 5.0, -1.0, None])
    h = Harness(monkeypatch, [{}, {}, {}, {}], stage=stage, idle_wait_s=0.2, max_records=64)
    await h.run()
    # idle: idle_wait_s; a micro-batch due sooner: its wait; never past idle, never negative
    assert h.consumer.getmany_calls == [(200, 64), (50, 64), (200, 64), (0, 64), (200, 64)]
    assert h.log == []  # no record, no transaction


async def test_dead_letters_are_counted_by_reason_and_keep_their_offset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = OpsMetrics()
    polls = [{TP0: records(TP0, 0) + records(TP0, 1, 2, value=b"bad")},
             {TP1: records(TP1, 5, value=b"bad")}]
    h = Harness(monkeypatch, polls, metrics=metrics)
    await h.run()
    dead = [rec for entry in h.log if entry[0] == "send" and entry[1] == DEAD
            for rec in entry[2]]
    assert [dict(headers)[H_OFFSET] for _, _, headers in dead] == [b"1", b"2", b"5"]
    assert {dict(headers)[H_KIND] for _, _, headers in dead} == {b"not_json"}
    sample = metrics.registry.get_sample_value
    assert sample("inferwatch_dead_letters_total", {"reason": "not_json"}) == 3
    assert sample("inferwatch_dead_letters_total", {"reason": "unknown"}) is None  # t.out's
    assert sample("inferwatch_events_processed_total", {"stage": "monitor"}) == 4


async def test_lag_is_the_highwater_past_what_was_consumed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = OpsMetrics()
    h = Harness(monkeypatch, [{TP0: records(TP0, 10, 11)}], metrics=metrics)
    h.consumer.high = {TP0: 20, TP1: 4}  # TP1: nothing consumed yet, so no lag is claimed
    await h.run()
    lag = "inferwatch_consumer_lag_records"
    assert metrics.registry.get_sample_value(lag, {"topic": "t.in", "partition": "0"}) == 8
    assert metrics.registry.get_sample_value(lag, {"topic": "t.in", "partition": "1"}) is None
