"""The readiness rule, on a manual clock: loops hold partitions and keep committing."""

from __future__ import annotations

import pytest

from streams.telemetry.readiness import Readiness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_not_ready_until_every_loop_has_its_assignment(clock: Clock) -> None:
    r = Readiness(max_commit_age_s=30, clock=clock)
    inference, sink = r.loop("inference"), r.loop("sink")
    assert r.verdict().ready is False
    inference.assigned(3)
    v = r.verdict()
    assert (v.ready, v.reason) == (False, "sink: no partition assignment yet")
    sink.assigned(4)
    v = r.verdict()
    assert (v.ready, v.reason) == (True, "ready: inference holds 3, sink holds 4")


def test_a_loop_with_no_partitions_is_a_standby_but_a_worker_with_none_is_not_ready(
        clock: Clock) -> None:
    r = Readiness(max_commit_age_s=30, clock=clock)
    monitor, decide = r.loop("monitor"), r.loop("decide")
    monitor.assigned(0)
    decide.assigned(0)
    v = r.verdict()
    assert (v.ready, v.reason) == (False, "holds no partitions: more workers than partitions")
    monitor.assigned(2)  # decide stays a standby: its topic has fewer partitions than workers
    assert r.verdict().ready is True
    clock.now += 3600  # a standby never commits; it must not make the worker unready
    monitor.committed()
    assert r.verdict().ready is True


def test_commit_age_limit_is_inclusive_and_a_commit_restores_readiness(clock: Clock) -> None:
    r = Readiness(max_commit_age_s=30, clock=clock)
    monitor = r.loop("monitor")
    monitor.assigned(6)
    clock.now += 30.0
    assert r.verdict().ready is True  # exactly at the limit is still recent
    clock.now += 0.5
    v = r.verdict()
    assert (v.ready, v.reason) == (False, "monitor: last commit 30s ago (limit 30s)")
    clock.now += 45
    assert r.verdict().reason == "monitor: last commit 76s ago (limit 30s)"
    monitor.committed()
    assert r.verdict().ready is True


def test_a_rebalance_makes_the_worker_unready_until_the_new_assignment(clock: Clock) -> None:
    r = Readiness(max_commit_age_s=10, clock=clock)
    join = r.loop("join")
    join.assigned(6)
    clock.now += 8
    join.revoked()
    assert r.verdict().reason == "join: no partition assignment yet"
    clock.now += 20  # a rebalance that took long: the fresh assignment counts as committed
    join.assigned(3)
    v = r.verdict()
    assert (v.ready, v.reason) == (True, "ready: join holds 3")
    clock.now += 10.01
    assert r.verdict().ready is False


def test_the_first_stale_loop_is_named(clock: Clock) -> None:
    r = Readiness(max_commit_age_s=5, clock=clock)
    a, b = r.loop("inference"), r.loop("sink")
    a.assigned(1)
    b.assigned(1)
    clock.now += 6
    a.committed()
    assert r.verdict().reason == "sink: last commit 6s ago (limit 5s)"
    assert r.loop("sink") is b  # asking again returns the same loop, not a second one


def test_no_loops_is_ready_and_bad_limits_are_refused(clock: Clock) -> None:
    assert Readiness(max_commit_age_s=1, clock=clock).verdict().ready is True
    with pytest.raises(ValueError, match="max_commit_age_s must be > 0"):
        Readiness(max_commit_age_s=0)
    with pytest.raises(ValueError, match="partitions must be >= 0"):
        Readiness(max_commit_age_s=1).loop("x").assigned(-1)
