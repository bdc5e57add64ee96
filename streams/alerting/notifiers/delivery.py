"""The outbox: deliver every notification to every sink, once, without blocking the stream.

:meth:`Outbox.submit` only enqueues (it never awaits a sink). Each sink has its own lane,
a FIFO worker with a bounded in-memory queue, so a sink that is down delays nothing but
itself. A retriable failure (timeout, connection error, 429, 5xx) is retried forever
with exponential backoff and equal jitter drawn from a seeded generator; a rejection
(other 4xx) is recorded, not retried. Past ``max_queue`` a lane spills to a JSONL file
in ``spill_dir`` (re-read in order as the queue drains, and on start, so a restart
resumes); without ``spill_dir`` a full lane raises a retriable ``SinkError``, the signal
for the caller to pause its source rather than drop.

Idempotence: a ``(dedup_key, status)`` pair is accepted once (remembered in memory and,
with ``spill_dir``, on disk), so replays notify no one twice. A retry after a timeout
that hid a success resends the same key; the sinks carry it (``Idempotency-Key``,
PagerDuty's ``dedup_key``, Alertmanager's label set) so the receiver drops the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detectors.notification import Notification
from streams.alerting.notifiers.sink import Sink, notification_from_dict, notification_to_dict
from streams.errors import SinkError

__all__ = ["LaneStats", "Outbox"]

log = logging.getLogger(__name__)


@dataclass
class LaneStats:
    """Counters of one sink's lane."""

    delivered: int = 0
    retries: int = 0
    rejected: int = 0
    spilled: int = 0


@dataclass
class _Item:
    note: Notification
    attempts: int = 0
    next_at: float = float("-inf")


@dataclass
class _Lane:
    sink: Sink
    queue: deque[_Item] = field(default_factory=deque)
    spill: Path | None = None
    spilled: int = 0  # items waiting in the spill file
    stats: LaneStats = field(default_factory=LaneStats)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class Outbox:
    """Per-sink queues with retries, spill and idempotence; see the module docstring.

    Parameters
    ----------
    sinks
        Where every notification goes; names must be unique.
    max_queue
        In-memory items per sink before spilling (or refusing).
    spill_dir
        Folder of the overflow, rejected and accepted-key files; None keeps all in memory.
    base_delay_s, max_delay_s
        First retry delay and its cap; the n-th retry waits ``min(max, base * 2**(n-1))``
        times a factor drawn uniformly from [0.5, 1).
    rng
        Jitter source (seeded ``numpy.random.Generator``).
    clock, sleep
        Time source and async sleep, injected so tests run on a manual clock.
    remember
        How many accepted ``(dedup_key, status)`` pairs are remembered.
    on_outcome
        Called with (sink name, outcome) for each delivered, retry, rejected, spilled or
        duplicate; the worker counts them in its metrics.
    """

    def __init__(self, sinks: Sequence[Sink], *, max_queue: int = 1000,
                 spill_dir: Path | None = None, base_delay_s: float = 0.5,
                 max_delay_s: float = 60.0, rng: np.random.Generator | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 remember: int = 100_000,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        names = [s.name for s in sinks]
        if not sinks or len(set(names)) != len(names):
            raise ValueError(f"sinks must be a non-empty list with unique names, got {names}")
        if not (isinstance(max_queue, int) and max_queue >= 1):
            raise ValueError(f"max_queue must be an integer in [1, inf), got {max_queue!r}")
        if not 0 < base_delay_s <= max_delay_s:
            raise ValueError("delays must satisfy 0 < base_delay_s <= max_delay_s, got "
                             f"{base_delay_s!r} and {max_delay_s!r}")
        self.max_queue = max_queue
        self.spill_dir = spill_dir
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.clock = clock
        self.sleep = sleep
        self.remember = remember
        self.on_outcome = on_outcome
        self._lanes = {s.name: _Lane(s) for s in sinks}
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        if spill_dir is not None:
            spill_dir.mkdir(parents=True, exist_ok=True)
            for name, lane in self._lanes.items():
                lane.spill = spill_dir / f"{name}.outbox.jsonl"
                lane.spilled = _count_lines(lane.spill)
            accepted = _tail(spill_dir / "accepted.jsonl", remember)
            _rewrite(spill_dir / "accepted.jsonl", accepted)  # keeps the file bounded too
            for line in accepted:
                dedup_key, status = json.loads(line)
                self._seen[(dedup_key, status)] = None

    def stats(self) -> dict[str, LaneStats]:
        """Counters per sink name."""
        return {name: lane.stats for name, lane in self._lanes.items()}

    def pending(self) -> int:
        """Notifications not yet delivered, over all sinks (memory and spill)."""
        return sum(len(lane.queue) + lane.spilled for lane in self._lanes.values())

    # -- the caller's side ------------------------------------------------------------
    def submit(self, note: Notification) -> bool:
        """Enqueue ``note`` for every sink; False if this (dedup_key, status) was seen.

        Never awaits a sink. Raises a retriable ``SinkError`` when a lane is full and no
        ``spill_dir`` is set: pause the source and submit again later.
        """
        key = (note.dedup_key, note.status)
        if key in self._seen:
            self._emit("*", "duplicate")
            return False
        if self.spill_dir is None:
            full = [n for n, lane in self._lanes.items() if len(lane.queue) >= self.max_queue]
            if full:
                raise SinkError(f"outbox full for sink(s) {full} ({self.max_queue} queued): "
                                "pause the source, or set a spill_dir", retriable=True)
        self._seen[key] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        if self.spill_dir is not None:
            _append(self.spill_dir / "accepted.jsonl", list(key))
        for lane in self._lanes.values():
            if lane.spilled or len(lane.queue) >= self.max_queue:
                assert lane.spill is not None
                _append(lane.spill, notification_to_dict(note))
                lane.spilled += 1
                lane.stats.spilled += 1
                self._emit(lane.sink.name, "spilled")
            else:
                lane.queue.append(_Item(note))
            lane.idle.clear()
            lane.wake.set()
        return True

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Start one delivery worker per sink."""
        for lane in self._lanes.values():
            if lane.queue or lane.spilled:
                lane.wake.set()
            task = asyncio.create_task(self._run(lane), name=f"outbox-{lane.sink.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Stop the workers; with ``spill_dir``, undelivered items go back to the spill file."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for lane in self._lanes.values():
            if lane.spill is not None and lane.queue:
                rest = lane.spill.read_text().splitlines() if lane.spilled else []
                lines = [json.dumps(notification_to_dict(i.note)) for i in lane.queue] + rest
                _rewrite(lane.spill, lines)
                lane.spilled, lane.queue = len(lines), deque()

    async def __aenter__(self) -> Outbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def drain(self) -> None:
        """Wait until every sink got every notification submitted so far."""
        await asyncio.gather(*(lane.idle.wait() for lane in self._lanes.values()))

    # -- the worker -------------------------------------------------------------------
    async def _run(self, lane: _Lane) -> None:
        while True:
            if not lane.queue:
                self._refill(lane)
            if not lane.queue:
                lane.idle.set()
                lane.wake.clear()
                await lane.wake.wait()
                continue
            item = lane.queue[0]
            delay = item.next_at - self.clock()
            if delay > 0:
                await self.sleep(delay)
                continue
            await self._attempt(lane, item)

    async def _attempt(self, lane: _Lane, item: _Item) -> None:
        name = lane.sink.name
        try:
            await lane.sink.send(item.note)
        except SinkError as exc:
            if not exc.retriable:
                lane.queue.popleft()
                lane.stats.rejected += 1
                self._emit(name, "rejected")
                log.error("alert sink %s rejected %s: %s", name, item.note.dedup_key, exc)
                if self.spill_dir is not None:
                    _append(self.spill_dir / f"{name}.rejected.jsonl",
                            {"error": str(exc), "note": notification_to_dict(item.note)})
                return
            item.attempts += 1
            cap = min(self.max_delay_s, self.base_delay_s * 2.0 ** (item.attempts - 1))
            item.next_at = self.clock() + cap * (0.5 + 0.5 * float(self.rng.random()))
            lane.stats.retries += 1
            self._emit(name, "retry")
            log.warning("alert sink %s failed (attempt %d): %s", name, item.attempts, exc)
        else:
            lane.queue.popleft()
            lane.stats.delivered += 1
            self._emit(name, "delivered")

    def _refill(self, lane: _Lane) -> None:
        if not lane.spilled or lane.spill is None:
            return
        lines = lane.spill.read_text().splitlines()
        take, rest = lines[: self.max_queue], lines[self.max_queue:]
        lane.queue.extend(_Item(notification_from_dict(json.loads(s))) for s in take)
        _rewrite(lane.spill, rest)
        lane.spilled = len(rest)

    def _emit(self, sink: str, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(sink, outcome)


def _append(path: Path, obj: object) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _rewrite(path: Path, lines: list[str]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, path)


def _count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _tail(path: Path, n: int) -> list[str]:
    return path.read_text().splitlines()[-n:] if path.exists() else []
