"""The contract every change detector of ``detectors.change`` keeps.

Detectors are discovered from the package's modules, so a new one cannot be left out:
the batch path equals the loop, snapshots resume, reset works, bad hyper-parameters
raise a ValueError naming the valid values, and state stays bounded on 10^6 values.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from typing import Any

import numpy as np
import pytest

import detectors.change
from detectors.change.base import ChangeDetector


def _discover() -> list[type[ChangeDetector]]:
    found: dict[str, type[ChangeDetector]] = {}
    for info in pkgutil.iter_modules(detectors.change.__path__):
        module = importlib.import_module(f"detectors.change.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ChangeDetector) and cls is not ChangeDetector:
                found[cls.__name__] = cls
    return [found[k] for k in sorted(found)]


DETECTORS = _discover()


def _stream(cls: type[ChangeDetector], seed: int, n: int) -> np.ndarray:
    """Piecewise-stationary values with a few changes, in the detector's input kind."""
    rng = np.random.default_rng(seed)
    pieces = 4
    if cls.input_kind == "binary":
        rate = np.repeat(rng.uniform(0.05, 0.6, pieces), n // pieces)
        return (rng.random(n) < rate).astype(float)
    mean = np.repeat(rng.normal(0.0, 2.0, pieces), n // pieces)
    return rng.normal(mean, 1.0)


def _loop(det: ChangeDetector, values: np.ndarray) -> list[int]:
    hits = []
    for i, x in enumerate(values.tolist()):
        assert det.update(x) is None
        if det.drift_detected:
            hits.append(i)
    return hits


def _same(a: Any, b: Any) -> bool:
    """Exact equality of snapshots, arrays and NaNs included."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) or type(a).__name__ == "deque":
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return bool(np.isnan(b))
    if hasattr(a, "getstate"):
        return bool(a.getstate() == b.getstate())
    return bool(a == b)


def _length(cls: type[ChangeDetector]) -> int:
    return 3_000 if cls.__name__ == "KSWIN" else 20_000


def test_every_detector_is_discovered() -> None:
    names = {cls.__name__ for cls in DETECTORS}
    assert {"ADWIN", "CUSUM", "DDM", "EDDM", "KSWIN", "PageHinkley"} <= names


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("seed", [0, 1])
def test_update_many_equals_loop(cls: type[ChangeDetector], seed: int) -> None:
    values = _stream(cls, seed, _length(cls))
    looped, batched = cls(), cls()
    expected = _loop(looped, values)
    got: list[int] = []
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(values.size, 5, replace=False))
    for offset, part in zip(np.r_[0, cuts], np.split(values, cuts), strict=True):
        got.extend((batched.update_many(part) + offset).tolist())
    assert expected, "the stream should make the detector fire"
    assert got == expected
    assert _same(batched.snapshot(), looped.snapshot())
    assert batched.drift_detected == looped.drift_detected


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_snapshot_restore_resumes(cls: type[ChangeDetector]) -> None:
    values = _stream(cls, 2, _length(cls))
    half = values.size // 2
    straight = cls()
    expected = straight.update_many(values)
    first = cls()
    before = first.update_many(values[:half])
    snap = pickle.loads(pickle.dumps(first.snapshot()))
    resumed = cls(**snap["params"])
    resumed.restore(snap)
    after = resumed.update_many(values[half:]) + half
    assert np.concatenate([before, after]).tolist() == expected.tolist()
    assert _same(resumed.snapshot(), straight.snapshot())


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_reset_returns_to_fresh_state(cls: type[ChangeDetector]) -> None:
    det = cls()
    det.update_many(_stream(cls, 3, _length(cls) // 2))
    det._reset()
    assert not det.drift_detected
    assert _same(det.snapshot(), cls().snapshot())


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_hyper_parameters_are_stored_unchanged(cls: type[ChangeDetector]) -> None:
    det = cls()
    params = det._get_params()
    assert _same(cls(**params)._get_params(), params)
    assert repr(det).startswith(f"{cls.__name__}(")


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_invalid_hyper_parameters_name_valid_values(cls: type[ChangeDetector]) -> None:
    cases = cls._invalid_params()
    assert cases
    for params in cases:
        with pytest.raises(ValueError) as err:
            cls(**params)
        message = str(err.value)
        assert any(name in message for name in params), message
        assert any(word in message for word in ("must be", "one of")), message


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_state_stays_bounded_on_a_million_values(cls: type[ChangeDetector]) -> None:
    n = 10**6
    rng = np.random.default_rng(4)
    if cls.input_kind == "binary":
        values = (rng.random(n) < 0.1).astype(float)
    else:
        values = rng.normal(size=n)
    det = cls()
    sizes = []
    for part in np.array_split(values, 10):
        det.update_many(part)
        sizes.append(len(pickle.dumps(det.snapshot())))
    assert max(sizes) < 16 * 1024, sizes
    assert sizes[-1] <= 2 * sizes[0] + 1024, sizes
