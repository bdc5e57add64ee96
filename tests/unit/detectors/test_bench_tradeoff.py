"""The trade-off bench's choice of our threshold at matched false alarms."""

from __future__ import annotations

import math

from bench.drift import summary
from bench.drift_tradeoff import matched

NAN = math.nan


def _row(fa: int, delay: float, charged: float) -> dict[str, float]:
    return {"fa": fa, "delay": delay, "charged": charged}


def test_every_threshold_within_the_false_alarm_budget_is_a_candidate() -> None:
    # a gradual stream's false alarms are U-shaped in h: early alarms at low h, late
    # ones at high h; the choice must not stop at the first threshold over the budget
    curve = {8.0: _row(90, 60.0, 200.0), 10.0: _row(40, 80.0, 170.0),
             12.0: _row(30, 110.0, 160.0), 14.0: _row(55, 130.0, 180.0)}
    assert matched(curve, 50, "delay") == 10.0
    assert matched(curve, 50, "charged") == 12.0
    assert matched(curve, 29, "delay") is None


def test_a_threshold_that_detects_nothing_is_not_chosen_by_its_delay() -> None:
    curve = {9.0: _row(5, NAN, 250.0), 11.0: _row(5, 140.0, 200.0)}
    assert matched(curve, 10, "delay") == 11.0


def test_ties_go_to_the_higher_threshold() -> None:
    curve = {9.0: _row(5, 100.0, 150.0), 11.0: _row(3, 100.0, 150.0)}
    assert matched(curve, 10, "delay") == 11.0


def test_summary_averages_delays_over_seeds_that_detected() -> None:
    scores = [{"tp": 2, "fp": 3, "delay": 10.0, "charged": 130.0, "f1": 0.4},
              {"tp": 0, "fp": 1, "delay": NAN, "charged": 250.0, "f1": 0.0}]
    row = summary(scores, stable=99_000)
    assert row["delay"] == 10.0
    assert row["charged"] == 190.0
    assert row["detected"] == 2 and row["fa"] == 4 and row["missed"] == 3.0
    assert row["fa_rate"] == 2 / 99_000 * 1e5
