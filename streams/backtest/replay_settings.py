"""The settings a replay runs with: the worker's, read from an environment, with changes.

A backtest of live traffic starts from the process's ``INFERWATCH_*`` environment (what
the worker ran with); a rule test starts from the defaults as shipped, so that a change to
a default shows. On top come a settings file (``KEY=VALUE`` lines, ``#`` comments) and
``--set KEY=VALUE`` changes. A key is a settings variable, with or without its
``INFERWATCH_`` prefix, or a monitor setting's bare name (``drift_min_psi`` is
``INFERWATCH_MONITOR_DRIFT_MIN_PSI``); an unknown one is a ConfigError naming it.

Examples
--------
>>> variable("drift_min_psi"), variable("ALERTING_GROUP_WAIT_S")
('INFERWATCH_MONITOR_DRIFT_MIN_PSI', 'INFERWATCH_ALERTING_GROUP_WAIT_S')
>>> worker_config({"drift_min_psi": "0.3"}, inherit=False).monitor.drift_min_psi
0.3
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from streams.errors import ConfigError
from streams.settings import (
    AlertingSettings,
    ClickHouseSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
    RetrainSettings,
    WorkerConfig,
    load,
    variables,
)

PREFIX = "INFERWATCH_"


def variable(key: str) -> str:
    """The settings variable ``key`` names; a ConfigError if it names none."""
    known = variables()
    name = key.strip().upper()
    for candidate in (name, PREFIX + name, f"{PREFIX}MONITOR_{name}"):
        if candidate in known:
            return candidate
    raise ConfigError(f"{key!r} names no setting (see `inferwatch doctor` or "
                      "docs/ARCHITECTURE.md for the INFERWATCH_* variables)")


def changes(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` texts as settings variables and their values."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set needs KEY=VALUE, got {pair!r}")
        out[variable(key)] = value.strip()
    return out


def read_file(path: Path) -> dict[str, str]:
    """A settings file's ``KEY=VALUE`` lines (blank lines and ``#`` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"settings file {path}: {exc.strerror or exc}") from None
    pairs = [line.strip().removeprefix("export ") for line in lines
             if line.strip() and not line.lstrip().startswith("#")]
    try:
        return changes(pairs)
    except ConfigError as exc:
        raise ConfigError(f"settings file {path}: {exc}") from None


def worker_config(values: Mapping[str, str], *, inherit: bool) -> WorkerConfig:
    """The worker's settings with ``values`` (keys as :func:`variable` reads them) applied:
    over the process's environment (``inherit``) or over the defaults as shipped."""
    base = dict(os.environ) if inherit else {k: v for k, v in os.environ.items()
                                             if not k.startswith(PREFIX)}
    env = {**base, **{variable(k): v for k, v in values.items()}}
    with _environment(env):
        return WorkerConfig(
            kafka=load(KafkaSettings), inference=load(InferenceSettings),
            monitor=load(MonitorSettings), clickhouse=load(ClickHouseSettings),
            alerting=load(AlertingSettings), retrain=load(RetrainSettings))


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """Read settings from ``env``: the process's environment is put back after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
