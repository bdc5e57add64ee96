"""Multi-window, multi-burn-rate alerting on an SLO (Google SRE workbook).

An SLO (:mod:`detectors.slo`) says which share of events must be good over a period;
its error budget is the allowed bad share, ``1 - objective``. The *burn rate* over a
window is the window's bad share divided by that budget (1x spends the budget exactly
over the period). A rule fires when
the burn rate is at least its threshold over both its long window (significance) and its
short window (so it resets soon after the burn stops). The workbook's rules:

====== ============ ============ =========
sev    long window  short window burn rate
====== ============ ============ =========
page   1 h          5 min        14.4
page   6 h          30 min       6
ticket 3 d          6 h          1
====== ============ ============ =========

Counts are kept in per-minute buckets of (good, total) in a ring of the last 6 hours, for
the windows up to 6 h, and in hourly buckets over the SLO period (and the longest window),
for the longer windows and the budget remaining: bounded memory, whatever the traffic. The
window of length ``W`` at time ``t`` holds the bucket of ``t`` and the ``W / bucket - 1``
buckets before it. The clock is injected.

A monitor's counts can be saved as a few small parts and restored, so that a restarted
process resumes its windows instead of starting them empty: :meth:`BurnRateMonitor.hour`
(the minute buckets of one hour and that hour's total), :meth:`BurnRateMonitor.hours`
(the hourly buckets), and :meth:`BurnRateMonitor.restore`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from detectors.slo import ErrorRateSLO, LatencySLO, error_budget

__all__ = ["DEFAULT_RULES", "BurnRateAlert", "BurnRateMonitor", "BurnRateRule"]

_DAY = 86_400.0
_HOUR = 3600.0
#: windows up to this long are read from the minute buckets, longer ones from the hourly
MINUTE_HORIZON_S = 6 * _HOUR


@dataclass(frozen=True)
class BurnRateRule:
    """Fire at ``severity`` when both windows burn at least ``burn_rate`` times the budget."""

    severity: Literal["page", "ticket"]
    long_window_s: float
    short_window_s: float
    burn_rate: float

    def __post_init__(self) -> None:
        if self.severity not in ("page", "ticket"):
            raise ValueError(f"severity must be one of ['page', 'ticket'], got {self.severity!r}")
        if not 0 < self.short_window_s < self.long_window_s:
            raise ValueError("windows must satisfy 0 < short_window_s < long_window_s, got "
                             f"{self.short_window_s!r} and {self.long_window_s!r}")
        if not self.burn_rate > 0:
            raise ValueError(f"burn_rate must be in (0, inf), got {self.burn_rate!r}")


DEFAULT_RULES: tuple[BurnRateRule, ...] = (
    BurnRateRule("page", 3600.0, 300.0, 14.4),
    BurnRateRule("page", 6 * 3600.0, 1800.0, 6.0),
    BurnRateRule("ticket", 3 * _DAY, 6 * 3600.0, 1.0),
)


@dataclass(frozen=True)
class BurnRateAlert:
    """One evaluation: the highest firing severity (None: nothing fires) and its numbers."""

    slo: str
    at: float
    severity: Literal["page", "ticket"] | None
    #: the rules that fire, in the configured order
    firing: tuple[BurnRateRule, ...]
    #: burn rate per window length in seconds
    burn_rates: dict[float, float] = field(default_factory=dict)
    #: share of the period's error budget left: 1 untouched, 0 spent, negative overspent
    budget_remaining: float = 1.0


_EMPTY = int(np.iinfo(np.int64).min)  # the index of a bucket that holds nothing yet


class _BucketRing:
    """(good, total) per time bucket, for the last ``n`` buckets."""

    def __init__(self, bucket_s: float, n: int) -> None:
        self.bucket_s = bucket_s
        self.index = np.full(n, _EMPTY, dtype=np.int64)
        self.good = np.zeros(n, dtype=np.int64)
        self.total = np.zeros(n, dtype=np.int64)

    def add(self, at: float, good: int, total: int) -> bool:
        b = math.floor(at / self.bucket_s)
        slot = b % self.index.size
        if self.index[slot] > b:  # older than the ring holds
            return False
        if self.index[slot] != b:
            self.index[slot], self.good[slot], self.total[slot] = b, 0, 0
        self.good[slot] += good
        self.total[slot] += total
        return True

    def window(self, now: float, window_s: float) -> tuple[int, int]:
        b = math.floor(now / self.bucket_s)
        k = round(window_s / self.bucket_s)
        mask = (self.index > b - k) & (self.index <= b)
        return int(self.good[mask].sum()), int(self.total[mask].sum())

    def rows(self, lo: int = _EMPTY + 1, hi: int = np.iinfo(np.int64).max) -> list[list[int]]:
        """``[bucket, good, total]`` of the buckets held in ``[lo, hi]``, oldest first."""
        held = np.flatnonzero((self.index >= lo) & (self.index <= hi) & (self.total > 0))
        held = held[np.argsort(self.index[held])]
        return [[int(self.index[i]), int(self.good[i]), int(self.total[i])] for i in held]

    def put(self, rows: Iterable[Sequence[int]]) -> None:
        """Set buckets from :meth:`rows` (a bucket already held is replaced)."""
        for b, good, total in rows:
            slot = b % self.index.size
            if self.index[slot] <= b:
                self.index[slot], self.good[slot], self.total[slot] = b, good, total


class BurnRateMonitor:
    """Streaming multi-window burn-rate alerting for one SLO (of one model, segment).

    Parameters
    ----------
    slo
        The objective watched.
    clock
        Returns the current time in epoch seconds.
    rules
        Burn-rate rules; the workbook's by default.
    bucket_s
        Bucket width of the alerting windows, seconds; every window must be a multiple.

    Examples
    --------
    After six good hours, a total outage (every request too slow) pages once 14.4 / 100
    of the hour has burnt: the 1 h burn rate after ``m`` bad minutes is ``100 * m / 60``,
    at least 14.4 from ``m = 9`` (the 6 h rule needs ``100 * m / 360 >= 6``, ``m = 22``).

    >>> now = [0.0]
    >>> mon = BurnRateMonitor(LatencySLO("p99<200ms", 0.99, 0.2), clock=lambda: now[0])
    >>> for minute in range(360):  # six good hours first
    ...     now[0] = 60.0 * minute
    ...     mon.record(100, 100)
    >>> first_page = None
    >>> for minute in range(360, 380):
    ...     now[0] = 60.0 * minute
    ...     mon.record(0, 100)
    ...     if mon.evaluate().severity == "page" and first_page is None:
    ...         first_page = minute - 360 + 1
    >>> first_page
    9
    """

    def __init__(self, slo: LatencySLO | ErrorRateSLO, clock: Callable[[], float],
                 rules: Sequence[BurnRateRule] = DEFAULT_RULES, bucket_s: float = 60.0) -> None:
        if not 0 < bucket_s <= _HOUR or not math.isclose(_HOUR / bucket_s, round(_HOUR / bucket_s)):
            raise ValueError(f"bucket_s must divide an hour (3600 s), got {bucket_s!r}")
        if not rules:
            raise ValueError("rules must hold at least one BurnRateRule")
        for rule in rules:
            for w in (rule.long_window_s, rule.short_window_s):
                step = bucket_s if w <= MINUTE_HORIZON_S else _HOUR
                if not math.isclose(w / step, round(w / step)):
                    raise ValueError(f"window {w!r} s must be a multiple of {step!r} s "
                                     f"(bucket_s up to {MINUTE_HORIZON_S:g} s, an hour beyond)")
        self.slo = slo
        self.clock = clock
        self.rules = tuple(rules)
        self.bucket_s = bucket_s
        self._windows = sorted({w for r in self.rules for w in (r.long_window_s, r.short_window_s)})
        self._minutes = _BucketRing(bucket_s, round(MINUTE_HORIZON_S / bucket_s))
        hours = max([slo.period_s, *self._windows])
        self._hours = _BucketRing(_HOUR, max(1, math.ceil(hours / _HOUR)))
        self.late_dropped = 0
        self._first: float | None = None

    def record(self, good: int, total: int, at: float | None = None) -> None:
        """Count ``total`` events of which ``good`` met the objective, at ``at`` (default now).

        Events older than the minute buckets (6 h) count for the hourly ones only, and in
        ``late_dropped``; events older than the hourly buckets count in ``late_dropped``.
        """
        if not 0 <= good <= total:
            raise ValueError(f"need 0 <= good <= total, got good={good!r}, total={total!r}")
        ts = self.clock() if at is None else at
        if total and (self._first is None or ts < self._first):
            self._first = ts
        if not self._minutes.add(ts, good, total):
            self.late_dropped += total
        self._hours.add(ts, good, total)

    def burn_rate(self, window_s: float) -> float:
        """Bad share over the last ``window_s`` seconds divided by the budget; 0 if no events."""
        return self._burn(*self._window(self.clock(), window_s))

    def _window(self, now: float, window_s: float) -> tuple[int, int]:
        ring = self._minutes if window_s <= MINUTE_HORIZON_S else self._hours
        return ring.window(now, window_s)

    # -- saving and restoring ----------------------------------------------------------
    def newest_hour(self) -> int | None:
        """The hour (``floor(t / 3600)``) of the newest event counted; None before any."""
        newest = int(self._hours.index.max())
        return None if newest == _EMPTY else newest

    def hour(self, hour: int) -> dict[str, Any]:
        """The counts of one hour (``floor(t / 3600)``): its minute buckets and its total."""
        per_hour = round(_HOUR / self.bucket_s)
        [total] = self._hours.rows(hour, hour) or [[hour, 0, 0]]
        return {"minutes": self._minutes.rows(hour * per_hour, (hour + 1) * per_hour - 1),
                "total": total[1:]}

    def hours(self) -> dict[str, Any]:
        """The hourly buckets, the first event's time and the late count."""
        return {"hours": self._hours.rows(), "first": self._first,
                "late_dropped": self.late_dropped}

    def snapshot(self) -> dict[str, Any]:
        """All the counts: the hourly buckets and the minute buckets of every hour held."""
        newest = self.newest_hour()
        held = [] if newest is None else range(newest - self._minutes.index.size // round(
            _HOUR / self.bucket_s), newest + 1)
        return {**self.hours(), "minutes": [[h, self.hour(h)] for h in held
                                            if self.hour(h)["minutes"]]}

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Resume from :meth:`snapshot`'s output."""
        self.restore_parts(snapshot, [(int(h), part) for h, part in snapshot["minutes"]])

    def restore_parts(self, hours: dict[str, Any] | None,
                      hour_parts: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Resume from :meth:`hours` and the :meth:`hour` of each of some hours: an hour's
        own part, saved later than the hourly buckets, overrides their count of it."""
        if hours is not None:
            self._hours.put(hours["hours"])
            self._first, self.late_dropped = hours["first"], hours["late_dropped"]
        for hour, part in hour_parts:
            self._minutes.put(part["minutes"])
            self._hours.put([[hour, *part["total"]]])

    def _burn(self, good: int, total: int) -> float:
        if total == 0:
            return 0.0
        return (total - good) / total / error_budget(self.slo.objective)

    def budget_remaining(self) -> float:
        """Share of the period's error budget not yet spent (negative when overspent)."""
        good, total = self._hours.window(self.clock(), self._hours.index.size * 3600.0)
        if total == 0:
            return 1.0
        return 1.0 - (total - good) / (error_budget(self.slo.objective) * total)

    def evaluate(self) -> BurnRateAlert:
        """Evaluate every rule now; the result names the highest firing severity."""
        now = self.clock()
        rates = {w: self._burn(*self._window(now, w)) for w in self._windows}
        # A rule speaks only once the data cover its short window: a fresh monitor's
        # "hour" or "three days" would otherwise be its first minute, and a worker start
        # (or a backlog drained at start) would page.
        covered = 0.0 if self._first is None else now - self._first + self.bucket_s
        firing = tuple(r for r in self.rules
                       if covered >= r.short_window_s
                       and rates[r.long_window_s] >= r.burn_rate
                       and rates[r.short_window_s] >= r.burn_rate)
        severities = {r.severity for r in firing}
        severity: Literal["page", "ticket"] | None = (
            "page" if "page" in severities else "ticket" if severities else None)
        return BurnRateAlert(slo=self.slo.name, at=now, severity=severity, firing=firing,
                             burn_rates=rates, budget_remaining=self.budget_remaining())
