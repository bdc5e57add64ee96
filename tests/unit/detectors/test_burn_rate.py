"""Burn-rate alerting against timelines computed by hand (Google SRE workbook rules)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.burn_rate import DEFAULT_RULES, BurnRateMonitor, BurnRateRule
from detectors.slo import ErrorRateSLO, LatencySLO


class ManualClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


HISTORY = 360  # six good hours before every scenario, so the 6 h window starts full


def _run(bad_per_minute: list[int], per_minute: int = 100) -> tuple[list[str | None], list[float]]:
    """Severity and budget remaining after each scenario minute (index 0 = first bad minute)."""
    clock = ManualClock()
    mon = BurnRateMonitor(LatencySLO("latency", objective=0.99, threshold_s=0.2), clock=clock)
    for minute in range(HISTORY):
        clock.now = 60.0 * minute
        mon.record(per_minute, per_minute)
    severities: list[str | None] = []
    budgets: list[float] = []
    for m, bad in enumerate(bad_per_minute):
        clock.now = 60.0 * (HISTORY + m) + 30.0
        mon.record(per_minute - bad, per_minute)
        alert = mon.evaluate()
        severities.append(alert.severity)
        budgets.append(alert.budget_remaining)
    return severities, budgets


def _spans(severities: list[str | None]) -> list[tuple[str | None, int, int]]:
    """Run-length encode: (severity, first minute, last minute)."""
    spans: list[tuple[str | None, int, int]] = []
    for m, s in enumerate(severities):
        if spans and spans[-1][0] == s:
            spans[-1] = (s, spans[-1][1], m)
        else:
            spans.append((s, m, m))
    return spans


def test_fast_burn_pages_at_minute_43_and_resolves_at_61() -> None:
    """SLO 99% (budget 1%), 100 requests a minute, 6 good hours, then 20% bad for minutes 0-59.

    After bad minute m (m < 60), with m + 1 bad minutes so far:

    - 1 h burn = 20 (m+1) / 6000 / 0.01 = (m+1) / 3 >= 14.4  <=>  m >= 43;
      5 min burn = 20 from m = 4. So the first page is at m = 43.
    - 6 h burn = 20 (m+1) / 36000 / 0.01 = (m+1) / 18: >= 6 needs m >= 107, never reached.
    - ticket: 6 h burn >= 1 <=> m >= 17; 3 d burn (all data, 361 + m minutes)
      = 20 (m+1) / (361 + m) >= 1 <=> 19 m >= 341 <=> m >= 18. First ticket at m = 18.

    After the burn (m >= 60):

    - m = 60: 5 min holds 4 bad minutes, burn 80 / 500 / 0.01 = 16 >= 14.4: still paging.
    - m = 61: 3 bad minutes, burn 12 < 14.4: the page resolves (ticket remains).
    - 6 h burn = (419 - m) / 18 once m >= 360: >= 1 <=> m <= 401 (exactly 1 at 401);
      3 d burn = 1200 / (361 + m) >= 1 until m = 839. So the ticket resolves at m = 402.

    Budget over the 30 d period: at m = 0, 20 bad of 36100, allowed 361: 1 - 20/361;
    at m = 59, 1200 bad of 42000, allowed 420: 1 - 1200/420 (overspent).
    """
    severities, budgets = _run([20] * 60 + [0] * 350)
    assert _spans(severities) == [(None, 0, 17), ("ticket", 18, 42), ("page", 43, 60),
                                  ("ticket", 61, 401), (None, 402, 409)]
    assert budgets[59] == pytest.approx(1 - 1200 / 420)
    assert budgets[0] == pytest.approx(1 - 20 / 361)


def test_slow_burn_tickets_never_pages_and_resolves() -> None:
    """SLO 99%, 100 requests a minute, 6 good hours, then 2% bad (2x burn) for minutes 0-419.

    - 6 h burn = 2 (m+1) / 360 >= 1 <=> m >= 179; 3 d burn = 2 (m+1) / (361 + m) >= 1
      <=> m >= 359 (exactly 1 at 359). First ticket at m = 359.
    - 1 h and 30 min burns are 2 at most: below 14.4 and 6, so no page ever.
    - Budget at m = 359: 720 bad of 72000, allowed 720: exactly 0 left.
    - After the burn: 3 d burn = 840 / (361 + m) >= 1 <=> m <= 479 (6 h burn
      = 2 (779 - m) / 360 stays >= 1 until m = 599). The ticket resolves at m = 480.
    """
    severities, budgets = _run([2] * 420 + [0] * 70)
    assert _spans(severities) == [(None, 0, 358), ("ticket", 359, 479), (None, 480, 489)]
    assert budgets[359] == pytest.approx(0.0, abs=1e-12)
    assert budgets[358] > 0 > budgets[360]


def test_burn_rates_match_numpy_after_the_ring_wraps() -> None:
    rng = np.random.default_rng(4)
    clock = ManualClock()
    rule = BurnRateRule("ticket", long_window_s=600.0, short_window_s=120.0, burn_rate=1.0)
    mon = BurnRateMonitor(ErrorRateSLO("errors", objective=0.95), clock=clock, rules=[rule])
    totals = rng.integers(50, 150, size=400)  # minutes: past the 6 h of minute buckets
    bads = rng.binomial(totals, 0.07)
    for m, (total, bad) in enumerate(zip(totals, bads, strict=True)):
        clock.now = 60.0 * m + 5.0
        mon.record(int(total - bad), int(total))
        for window, n in ((600.0, 10), (120.0, 2)):
            expected = bads[max(0, m - n + 1): m + 1].sum() / totals[max(0, m - n + 1): m + 1].sum()
            assert mon.burn_rate(window) == pytest.approx(expected / 0.05, rel=1e-12)
    assert mon.evaluate().burn_rates[600.0] == pytest.approx(
        bads[-10:].sum() / totals[-10:].sum() / 0.05)
    # A record older than the ring is dropped and counted, not added to a live bucket.
    mon.record(0, 10, at=0.0)
    assert mon.late_dropped == 10
    assert mon.burn_rate(600.0) == pytest.approx(bads[-10:].sum() / totals[-10:].sum() / 0.05)


def test_empty_monitor_is_quiet() -> None:
    mon = BurnRateMonitor(LatencySLO("l"), clock=ManualClock(1e9))
    alert = mon.evaluate()
    assert (alert.severity, alert.firing, alert.budget_remaining) == (None, (), 1.0)
    assert set(alert.burn_rates) == {300.0, 1800.0, 3600.0, 21600.0, 259200.0}


def test_slo_count_good() -> None:
    lat = np.array([0.1, 0.2, 0.2000001, 0.5, 0.0])
    assert LatencySLO("l", threshold_s=0.2).count_good(lat) == (3, 5)
    assert ErrorRateSLO("e").count_good(np.array([True, False, False])) == (2, 3)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: LatencySLO("l", objective=1.0), r"objective must be in \(0, 1\)"),
    (lambda: LatencySLO("l", threshold_s=0.0), r"threshold_s must be in \(0, inf\)"),
    (lambda: ErrorRateSLO("e", period_s=-1.0), r"period_s must be in \(0, inf\)"),
    (lambda: BurnRateRule("page", 300.0, 3600.0, 14.4), "short_window_s < long_window_s"),
    (lambda: BurnRateRule("sms", 3600.0, 300.0, 14.4),  # type: ignore[arg-type]
     r"severity must be one of \['page'"),
    (lambda: BurnRateRule("page", 3600.0, 300.0, 0.0), r"burn_rate must be in \(0, inf\)"),
    (lambda: BurnRateMonitor(LatencySLO("l"), ManualClock(), bucket_s=7.0),
     r"bucket_s must divide an hour \(3600 s\)"),
    (lambda: BurnRateMonitor(LatencySLO("l"), ManualClock(), rules=[
        BurnRateRule("ticket", 7 * 3600.0 + 60.0, 3600.0, 1.0)]), r"multiple of 3600\.0 s"),
    (lambda: BurnRateMonitor(LatencySLO("l"), ManualClock(), rules=[]), "at least one"),
])
def test_bad_configuration_names_the_valid_values(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_record_rejects_impossible_counts() -> None:
    mon = BurnRateMonitor(LatencySLO("l"), ManualClock(), rules=DEFAULT_RULES)
    with pytest.raises(ValueError, match="0 <= good <= total"):
        mon.record(5, 3)


def test_a_fresh_monitor_waits_until_its_data_cover_the_short_window() -> None:
    """Cold start: every request too slow from the first minute. The page rule's short
    window is 5 min, so with 1-minute buckets the page comes with the 5th minute
    (covered = 4 * 60 + 60 = 300 s), not with the first; the ticket (short window 6 h)
    never within this hour, although every window burns 100x."""
    now = [0.0]
    mon = BurnRateMonitor(LatencySLO("p99<200ms", 0.99, 0.2), clock=lambda: now[0])
    severities = []
    for minute in range(60):
        now[0] = 60.0 * minute
        mon.record(0, 100)
        severities.append(mon.evaluate().severity)
    assert severities[:4] == [None] * 4
    assert severities[4:] == ["page"] * 56


def _random_hours(mon: BurnRateMonitor, clock: ManualClock, minutes: range,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One record a minute (0.1-0.8% bad); returns each minute's time, good and total."""
    at, good, total = [], [], []
    for m in minutes:
        clock.now = 60.0 * m + 30.0
        n = int(rng.integers(100, 1000))
        g = n - int(rng.binomial(n, rng.uniform(0.001, 0.008)))
        mon.record(g, n)
        at.append(clock.now), good.append(g), total.append(n)
    return np.array(at), np.array(good), np.array(total)


def test_windows_past_six_hours_count_whole_hours_and_shorter_ones_minutes() -> None:
    clock, rng = ManualClock(), np.random.default_rng(7)
    mon = BurnRateMonitor(ErrorRateSLO("e", objective=0.99), clock=clock)
    at, good, total = _random_hours(mon, clock, range(80 * 60 + 17), rng)
    hour, minute = np.floor(at / 3600), np.floor(at / 60)
    for window_s, unit, now in ((259_200.0, hour, clock.now // 3600),
                                (21_600.0, minute, clock.now // 60),
                                (300.0, minute, clock.now // 60)):
        k = window_s / (3600 if unit is hour else 60)
        inside = (unit > now - k) & (unit <= now)
        bad_share = 1 - good[inside].sum() / total[inside].sum()
        assert mon.burn_rate(window_s) == pytest.approx(bad_share / 0.01, rel=1e-12)


def test_a_monitor_restored_from_its_saved_parts_judges_as_the_original() -> None:
    clock, rng = ManualClock(), np.random.default_rng(8)
    mon = BurnRateMonitor(LatencySLO("l", objective=0.99), clock=clock)
    _random_hours(mon, clock, range(75 * 60 + 41), rng)
    mon.record(5, 10, at=60.0)  # late: past the minute buckets, kept in the hourly ones
    newest = mon.newest_hour()
    assert newest == (75 * 60 + 40) // 60
    back = BurnRateMonitor(LatencySLO("l", objective=0.99), clock=clock)
    back.restore_parts(mon.hours(), [(h, mon.hour(h)) for h in range(newest - 6, newest + 1)])
    assert back.late_dropped == mon.late_dropped == 10
    severities = set()
    for m in range(75 * 60 + 41, 77 * 60):  # and they go on alike
        assert back.evaluate() == mon.evaluate()
        severities.add(mon.evaluate().severity)
        clock.now = 60.0 * m + 30.0
        n = int(rng.integers(100, 1000))
        good = n - int(rng.binomial(n, 0.5 if m % 90 < 30 else 0.001))  # bursts that page
        mon.record(good, n)
        back.record(good, n)
    assert {None, "page"} <= severities  # the comparison went through pages and quiet
    assert back.hours() == mon.hours()
