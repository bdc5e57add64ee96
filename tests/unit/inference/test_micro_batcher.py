"""The micro-batcher on a manual clock: size or age, whichever first; FIFO; deadlines."""

from __future__ import annotations

import pytest

from inference.micro_batcher import MicroBatcher


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_flushes_at_max_batch_before_the_wait(clock: ManualClock) -> None:
    mb: MicroBatcher[int] = MicroBatcher(max_batch=4, max_wait_ms=50, clock=clock)
    for i in range(3):
        mb.add(i)
        assert not mb.ready()
    mb.add(3)
    assert mb.ready() and mb.time_to_deadline() == 0.0
    assert [item for item, _ in mb.take()] == [0, 1, 2, 3]
    assert len(mb) == 0 and not mb.ready() and mb.time_to_deadline() is None


def test_flushes_at_max_wait_before_the_size(clock: ManualClock) -> None:
    mb: MicroBatcher[str] = MicroBatcher(max_batch=100, max_wait_ms=20, clock=clock)
    mb.add("a")
    clock.now += 0.005
    mb.add("b")
    assert mb.time_to_deadline() == pytest.approx(0.015)
    clock.now += 0.0149
    assert not mb.ready()
    clock.now += 0.0001
    assert mb.ready()
    assert mb.take() == [("a", 100.0), ("b", 100.005)]


def test_deadline_follows_the_new_oldest_item(clock: ManualClock) -> None:
    mb: MicroBatcher[int] = MicroBatcher(max_batch=2, max_wait_ms=10, clock=clock)
    mb.extend([1, 2], arrival=100.0)
    mb.add(3, arrival=100.004)
    assert mb.take() == [(1, 100.0), (2, 100.0)]
    assert mb.deadline() == pytest.approx(100.014)
    assert mb.time_to_deadline() == pytest.approx(0.014)
    clock.now = 100.020
    assert mb.ready() and mb.time_to_deadline() == 0.0


def test_fifo_across_many_takes(clock: ManualClock) -> None:
    mb: MicroBatcher[int] = MicroBatcher(max_batch=3, max_wait_ms=0, clock=clock)
    for i in range(10):
        clock.now += 0.001
        mb.add(i)
    got: list[int] = []
    while len(mb):
        assert mb.ready()
        batch = mb.take()
        assert len(batch) <= 3
        got += [item for item, _ in batch]
    assert got == list(range(10))


def test_zero_wait_is_ready_at_once(clock: ManualClock) -> None:
    mb: MicroBatcher[int] = MicroBatcher(max_batch=8, max_wait_ms=0, clock=clock)
    mb.add(1)
    assert mb.ready()


def test_arrival_stepping_back_waits_for_the_head_deadline(clock: ManualClock) -> None:
    mb: MicroBatcher[int] = MicroBatcher(max_batch=8, max_wait_ms=5, clock=clock)
    mb.add(1, arrival=10.0)
    mb.add(2, arrival=9.0)  # a wall clock stepped back
    assert mb.deadline() == pytest.approx(10.005)
    assert mb.take() == [(1, 10.0), (2, 9.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch": 0, "max_wait_ms": 1.0}, "max_batch must be an integer >= 1"),
        ({"max_batch": 2.5, "max_wait_ms": 1.0}, "max_batch must be an integer >= 1"),
        ({"max_batch": 1, "max_wait_ms": -1.0}, "max_wait_ms must be a finite number >= 0"),
        ({"max_batch": 1, "max_wait_ms": float("inf")}, "max_wait_ms must be a finite"),
    ],
)
def test_bad_parameters_name_the_valid_range(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MicroBatcher(clock=lambda: 0.0, **kwargs)
