"""What a prediction costs: the compute and energy of each forward pass, shared by its rows.

The process's own accounting, no estimate: :class:`CostMeter` reads a CPU clock around a
forward pass (``time.thread_time`` when torch computes on the calling thread alone, the
default of ``INFERWATCH_INFERENCE_CPU_THREADS=1``; ``time.process_time`` when it uses more
threads, which then also counts whatever other threads of the worker did meanwhile),
GPU seconds from CUDA events where the model runs on a GPU, and energy where the hardware
reports it: NVML's energy counter on a GPU, the RAPL package counters under
``/sys/class/powercap`` on a CPU. A counter that is absent or unreadable (containers,
virtual machines, no ``pynvml``) gives no energy figure, never a guessed one;
:attr:`EnergyCounter.source` says which counter is read, or why none is.

A batch's figures are divided evenly by its rows: a row of a 256-row batch costs 1/256
of the pass. :func:`per_thousand` turns summed shares back into figures per 1,000
predictions, and :func:`money_per_thousand` prices them by the hour.

Examples
--------
>>> ticks = iter([10.0, 10.5])
>>> meter = CostMeter(cpu_clock=lambda: next(ticks), energy=EnergyCounter.none("test"))
>>> with meter.measure(rows=100) as taken:
...     pass
>>> share = taken.per_row()
>>> share.cpu_s, share.gpu_s, share.energy_j
(0.005, None, None)
>>> per_thousand(n=100, cpu_s=0.5)
5.0
>>> round(money_per_thousand(cpu_s_per_1k=5.0, gpu_s_per_1k=None, cpu_hour=0.036,
...                          gpu_hour=2.5), 8)
5e-05
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BatchCost", "CostMeter", "EnergyCounter", "RowCost", "cpu_clock_for",
           "money_per_thousand", "per_thousand"]

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True, slots=True)
class RowCost:
    """One prediction's share of its batch's forward pass."""

    cpu_s: float
    """CPU seconds."""
    gpu_s: float | None = None
    """GPU seconds (CUDA events); None off a GPU."""
    energy_j: float | None = None
    """Joules; None where no energy counter is readable."""


@dataclass(slots=True)
class BatchCost:
    """The figures of one forward pass of ``rows`` rows, filled in when it ends."""

    rows: int
    cpu_s: float = 0.0
    gpu_s: float | None = None
    energy_j: float | None = None

    def per_row(self) -> RowCost:
        """Each row's even share of the pass."""
        n = max(self.rows, 1)
        return RowCost(self.cpu_s / n, None if self.gpu_s is None else self.gpu_s / n,
                       None if self.energy_j is None else self.energy_j / n)


def cpu_clock_for(threads: int) -> Callable[[], float]:
    """The CPU clock that sees all of a forward pass run on ``threads`` torch threads."""
    return time.thread_time if threads <= 1 else time.process_time


class EnergyCounter:
    """Cumulative energy counters in joules (RAPL domains, or a GPU's), or none, with
    their source. Each counter wraps on its own, at its own range."""

    def __init__(self, read: Callable[[], list[float]] | None, source: str,
                 wraps_j: list[float | None] | None = None) -> None:
        self._read = read
        self.source = source
        """Which counters are read ("rapl: intel-rapl:0", "nvml: GPU 0"), or why none is."""
        self._wraps = wraps_j

    @classmethod
    def none(cls, why: str) -> EnergyCounter:
        """No counter, and why."""
        return cls(None, f"none ({why})")

    @property
    def available(self) -> bool:
        return self._read is not None

    def read(self) -> list[float] | None:
        """Joules so far on each counter, or None without one."""
        return None if self._read is None else self._read()

    def spent(self, before: list[float] | None, after: list[float] | None) -> float | None:
        """Joules between two readings, each counter across at most one wrap."""
        if before is None or after is None:
            return None
        wraps = self._wraps or [None] * len(before)
        total = 0.0
        for b, a, wrap in zip(before, after, wraps, strict=True):
            total += a - b + (wrap if a < b and wrap else 0.0)
        return total

    @classmethod
    def rapl(cls, root: Path = POWERCAP) -> EnergyCounter:
        """The RAPL package domains under ``root``, if they are readable."""
        packages = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
        if not packages:
            return cls.none(f"no RAPL package domain under {root}")
        try:
            wraps: list[float | None] = [
                int((p / "max_energy_range_uj").read_text()) / 1e6 for p in packages]
            for p in packages:
                int((p / "energy_uj").read_text())
        except (OSError, ValueError) as exc:
            return cls.none(f"RAPL under {root} not readable: {type(exc).__name__}")

        def read() -> list[float]:
            return [int((p / "energy_uj").read_text()) / 1e6 for p in packages]
        return cls(read, "rapl: " + ",".join(p.name for p in packages), wraps)

    @classmethod
    def nvml(cls, index: int = 0) -> EnergyCounter:
        """NVML's total energy of GPU ``index`` (Volta and later), if pynvml can read it."""
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except Exception as exc:  # absent module, no driver, an older GPU: no figure
            return cls.none(f"NVML energy of GPU {index} not readable: {type(exc).__name__}")

        def read() -> list[float]:
            return [float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)) / 1e3]
        return cls(read, f"nvml: GPU {index}")

    @classmethod
    def for_device(cls, device: str) -> EnergyCounter:
        """NVML on a CUDA device, RAPL otherwise."""
        if device.startswith("cuda"):
            return cls.nvml(int(device.partition(":")[2] or 0))
        return cls.rapl()


class CostMeter:
    """Measures forward passes: CPU seconds, GPU seconds and energy of each.

    ``gpu_timer`` makes a started timer whose ``stop()`` returns the GPU seconds since it
    started (by default :func:`cuda_timer`, from CUDA events), used for passes on a GPU.
    """

    def __init__(self, *, cpu_clock: Callable[[], float] = time.thread_time,
                 energy: EnergyCounter | None = None,
                 gpu_timer: Callable[[], Any] | None = None) -> None:
        self.cpu_clock = cpu_clock
        self.energy = energy if energy is not None else EnergyCounter.rapl()
        self.gpu_timer = gpu_timer if gpu_timer is not None else cuda_timer

    @contextlib.contextmanager
    def measure(self, rows: int, *, gpu: bool = False) -> Iterator[BatchCost]:
        """Measure the block (one forward pass over ``rows`` rows, on a GPU if ``gpu``);
        the figures are set on the yielded :class:`BatchCost` when the block ends."""
        taken = BatchCost(rows)
        joules = self.energy.read()
        timer = self.gpu_timer() if gpu else None
        cpu = self.cpu_clock()
        try:
            yield taken
        finally:
            taken.cpu_s = self.cpu_clock() - cpu
            taken.gpu_s = timer.stop() if timer is not None else None
            taken.energy_j = self.energy.spent(joules, self.energy.read())


class _CudaTimer:
    """GPU seconds between two CUDA events on the current stream."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)
        self._start.record()

    def stop(self) -> float:
        self._end.record()
        self._end.synchronize()
        return float(self._start.elapsed_time(self._end)) / 1e3


def cuda_timer() -> _CudaTimer:
    """A started CUDA-event timer (torch imported here: only a GPU worker needs it)."""
    import torch

    return _CudaTimer(torch)


def per_thousand(n: int, cpu_s: float | None) -> float | None:
    """A sum of ``n`` predictions' shares, per 1,000 predictions (None for none)."""
    if cpu_s is None or n <= 0:
        return None
    return cpu_s * 1000.0 / n


def money_per_thousand(*, cpu_s_per_1k: float | None, gpu_s_per_1k: float | None,
                       cpu_hour: float, gpu_hour: float) -> float | None:
    """Money per 1,000 predictions at ``cpu_hour`` per CPU-hour and ``gpu_hour`` per
    GPU-hour (the currency of the prices); None without any figure."""
    if cpu_s_per_1k is None and gpu_s_per_1k is None:
        return None
    return ((cpu_s_per_1k or 0.0) * cpu_hour + (gpu_s_per_1k or 0.0) * gpu_hour) / 3600.0
