"""What an inference worker does before its first request: check the binding, load models.

A binding that cannot be served stops the worker at start with a
:class:`~streams.errors.ConfigError` naming the setting, rather than a variant that serves
nothing mid-stream; every published model is loaded before the first request, so the first
batch does not wait for an artifact to be read, and runs a forward pass at each batch size
it may serve (powers of two up to ``max_batch``): torch's CPU kernels prepare themselves
per input shape, up to ~5 ms the first time a size is seen (``bench/produce_retries.py``
and docs/benchmarks.md, "A fresh worker").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np

from inference.cost_meter import CostMeter, EnergyCounter, cpu_clock_for
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec
from inference.predictor import Predictor
from inference.served_versions import ServedVersions
from streams.errors import ConfigError
from streams.settings import InferenceSettings

__all__ = ["batch_sizes", "check_binding", "cost_meter", "warm_inputs", "warm_start"]

log = logging.getLogger(__name__)


def check_binding(served: ServedVersions, variants: Iterable[str]) -> None:
    """Raise ConfigError, naming ``INFERWATCH_INFERENCE_VARIANT_VERSIONS``, on a binding
    of ``served`` that ``variants`` (the traffic split) and the registry cannot serve."""
    try:
        served.check_binding(variants)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def batch_sizes(max_batch: int) -> list[int]:
    """The batch sizes warmed: powers of two below ``max_batch``, and ``max_batch``.

    >>> batch_sizes(256), batch_sizes(100), batch_sizes(1)
    ([1, 2, 4, 8, 16, 32, 64, 128, 256], [1, 2, 4, 8, 16, 32, 64, 100], [1])
    """
    sizes = [1 << k for k in range(max_batch.bit_length()) if 1 << k < max_batch]
    return [*sizes, max_batch]


def warm_start(served: ServedVersions, settings: InferenceSettings) -> None:
    """Set torch's threads, check the binding, load every published model now and run
    each once at every batch size it may serve."""
    from inference.torch_predictor import use_cpu_threads  # torch only where served

    began = time.perf_counter()
    use_cpu_threads(settings.cpu_threads)
    check_binding(served, settings.split)
    served.warm_up(settings.split)
    loaded = time.perf_counter()
    sizes = batch_sizes(settings.max_batch)
    root = served.store.root
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        for variant in settings.split:
            predictor = served.predictor(folder.name, variant) if folder.is_dir() else None
            if predictor is not None:
                _warm(predictor, sizes)
    log.info("warm start: models loaded in %.2f s, forward passes at %d batch sizes in "
             "%.2f s", loaded - began, len(sizes), time.perf_counter() - loaded)


def warm_inputs(spec: ModelSpec, n: int) -> ModelInputs:
    """``n`` rows a model of ``spec`` takes: numeric zeros, each category's first code, and
    a short text (the shapes matter to the kernels, not the values)."""
    text = ["warm up"] * n if spec.text is not None else None
    return ModelInputs(np.zeros((n, len(spec.numeric)), np.float32),
                       np.zeros((n, len(spec.categorical)), np.int64), text)


def _warm(predictor: Predictor, sizes: list[int]) -> None:
    # a model that fails here fails on traffic too, where it is answered with errors and
    # counted; the warm-up only prepares kernels, so it never stops the worker
    try:
        for n in sizes:
            predictor.predict_batch(warm_inputs(predictor.spec, n))
    except Exception as exc:
        log.warning("warm start: %s %s failed a warm-up batch (%s: %s); it is served "
                    "cold", predictor.model, predictor.version, type(exc).__name__, exc)


def cost_meter(settings: InferenceSettings) -> CostMeter:
    """The meter of what each forward pass costs on the device the worker serves on: the
    CPU clock that sees ``cpu_threads`` torch threads, NVML energy on a GPU, RAPL on a CPU."""
    from inference.torch_predictor import select_device

    energy = EnergyCounter.for_device(select_device(settings.device))
    return CostMeter(cpu_clock=cpu_clock_for(settings.cpu_threads), energy=energy)
