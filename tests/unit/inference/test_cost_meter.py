"""The cost meter against forward passes that burn a known CPU time, and its counters.

A "model" whose forward pass spins until its thread has used ``BURN_S`` of CPU costs
``BURN_S / rows`` a prediction; the meter must report that, per 1,000 predictions, within
15% (the spin overshoots by one clock step at most; the meter's own reads add µs). The
reference clock is ``resource.getrusage(RUSAGE_THREAD)``, the kernel's own per-thread
accounting, independent of the clock the meter reads.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest

from inference.cost_meter import (
    CostMeter,
    EnergyCounter,
    cpu_clock_for,
    money_per_thousand,
    per_thousand,
)

BURN_S = 0.04
TOLERANCE = 0.15


def burn(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU (a sleep would use none)."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        x += 1


def rusage_thread_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("rows", [1, 16, 250])
def test_cpu_seconds_per_thousand_match_a_known_busy_loop(rows: int) -> None:
    meter = CostMeter(cpu_clock=cpu_clock_for(1), energy=EnergyCounter.none("test"))
    shares, kernel = [], []
    for _ in range(5):
        before = rusage_thread_s()
        with meter.measure(rows) as used:
            burn(BURN_S)
        kernel.append(rusage_thread_s() - before)
        shares.extend([used.per_row().cpu_s] * rows)
    reported = per_thousand(len(shares), sum(shares))
    expected = BURN_S / rows * 1000
    assert reported == pytest.approx(expected, rel=TOLERANCE)
    # the kernel's per-thread accounting saw the same (it ticks in ~4 ms jiffies)
    assert reported == pytest.approx(float(np.sum(kernel)) / (5 * rows) * 1000, rel=0.3)


def test_a_sleeping_forward_pass_costs_no_cpu() -> None:
    meter = CostMeter(energy=EnergyCounter.none("test"))
    with meter.measure(10) as used:
        time.sleep(0.05)
    assert used.cpu_s < 0.01  # waiting is latency, not cost


def test_energy_from_rapl_counters_across_a_wrap(tmp_path: Path) -> None:
    for name, uj in (("intel-rapl:0", 999_000_000), ("intel-rapl:1", 5_000_000)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "energy_uj").write_text(f"{uj}\n")
        (tmp_path / name / "max_energy_range_uj").write_text("1000000000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-domain (core) is inside its package
    counter = EnergyCounter.rapl(tmp_path)
    assert counter.available and counter.source == "rapl: intel-rapl:0,intel-rapl:1"
    before = counter.read()
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("2000000\n")  # wrapped at 1000 J
    # package 0: 999 J -> 1000 J (wrap) -> 2 J is 3 J; package 1 did not move
    assert counter.spent(before, counter.read()) == pytest.approx(3.0)
    meter = CostMeter(energy=counter)
    with meter.measure(4) as used:
        pass
    assert used.per_row().energy_j == 0.0


def test_no_readable_counter_gives_no_energy_and_says_why(tmp_path: Path) -> None:
    counter = EnergyCounter.rapl(tmp_path)
    assert not counter.available and counter.source.startswith("none (no RAPL")
    with CostMeter(energy=counter).measure(3) as used:
        pass
    assert used.per_row().energy_j is None
    (tmp_path / "intel-rapl:0").mkdir()
    assert "not readable" in EnergyCounter.rapl(tmp_path).source


def test_money_is_seconds_priced_by_the_hour() -> None:
    # 7.2 CPU-seconds per 1,000 at 0.05 an hour, 1.8 GPU-seconds at 3.00 an hour
    assert money_per_thousand(cpu_s_per_1k=7.2, gpu_s_per_1k=1.8, cpu_hour=0.05,
                              gpu_hour=3.0) == pytest.approx(7.2 * 0.05 / 3600 + 1.8 * 3 / 3600)
    assert money_per_thousand(cpu_s_per_1k=None, gpu_s_per_1k=None, cpu_hour=1,
                              gpu_hour=1) is None
    assert per_thousand(0, 1.0) is None
