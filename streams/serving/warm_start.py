"""What an inference worker does before its first request: check the binding, load models.

A binding that cannot be served stops the worker at start with a
:class:`~streams.errors.ConfigError` naming the setting, rather than a variant that serves
nothing mid-stream; every published model is loaded before the first request, so the first
batch does not wait for an artifact to be read.
"""

from __future__ import annotations

from collections.abc import Iterable

from inference.cost_meter import CostMeter, EnergyCounter, cpu_clock_for
from inference.served_versions import ServedVersions
from streams.errors import ConfigError
from streams.settings import InferenceSettings

__all__ = ["check_binding", "cost_meter", "warm_start"]


def check_binding(served: ServedVersions, variants: Iterable[str]) -> None:
    """Raise ConfigError, naming ``INFERWATCH_INFERENCE_VARIANT_VERSIONS``, on a binding
    of ``served`` that ``variants`` (the traffic split) and the registry cannot serve."""
    try:
        served.check_binding(variants)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def warm_start(served: ServedVersions, settings: InferenceSettings) -> None:
    """Set torch's threads, check the binding and load every published model now."""
    from inference.torch_predictor import use_cpu_threads  # torch only where served

    use_cpu_threads(settings.cpu_threads)
    check_binding(served, settings.split)
    served.warm_up(settings.split)


def cost_meter(settings: InferenceSettings) -> CostMeter:
    """The meter of what each forward pass costs on the device the worker serves on: the
    CPU clock that sees ``cpu_threads`` torch threads, NVML energy on a GPU, RAPL on a CPU."""
    from inference.torch_predictor import select_device

    energy = EnergyCounter.for_device(select_device(settings.device))
    return CostMeter(cpu_clock=cpu_clock_for(settings.cpu_threads), energy=energy)
