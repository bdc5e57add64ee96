"""Alert rules as tests: recorded scenarios, each with the incidents it must produce.

A rule-test folder holds one folder per scenario:

- ``scenario.json``: what it is (``description``), the simulator scenario that recorded it
  (``simulate``: :class:`~streams.simulation.simulator.Scenario` fields, ``drift`` as
  :class:`~retrain.synthetic.Drift` fields) and the settings it runs with beyond the
  shipped defaults (``settings``: ``INFERWATCH_*`` values, as the demo sets them);
- ``traffic.jsonl.gz``: its predictions and outcomes (:mod:`streams.backtest.traffic`);
- ``references/<model>/``: the reference profiles its models are compared against;
- ``expected.json``: the incidents (alert episodes) it must produce.

:func:`check` replays each scenario with the shipped defaults, its own settings and the
changes asked for, and compares the incidents with the expected ones: an incident added,
silenced, or moved by more than one decision window is a failure. :func:`record`
re-records a scenario from its ``scenario.json`` with a model store's served version and
writes what the replay now gives as expected (read it before committing it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

from retrain.synthetic import Drift
from streams.backtest import recorder
from streams.backtest.episodes import Difference, Episode, compare, episodes
from streams.backtest.replay import Replay, model_references
from streams.backtest.replay_settings import worker_config
from streams.backtest.traffic import RecordedTraffic
from streams.errors import ConfigError
from streams.simulation.simulator import Scenario
from streams.wire.topics import Topics

SCENARIO, TRAFFIC, EXPECTED, REFERENCES = ("scenario.json", "traffic.jsonl.gz",
                                           "expected.json", "references")
#: the files of a served version that the monitors and the decision step read
REFERENCE_FILES = ("reference.json", "reference_output.json", "performance_reference.json")


class _Model(msgspec.Struct):
    model: str


@dataclass(frozen=True)
class RuleResult:
    """One scenario's check: the expected incidents against the replayed ones."""

    name: str
    description: str
    difference: Difference
    predictions: int
    seconds: float


def scenarios(root: Path) -> list[Path]:
    """The scenario folders under ``root`` (each with a ``scenario.json``), by name.

    The demo's scenarios are in a checkout (``deploy/rules``), not in the installed wheel
    (1.8 MB of recorded traffic): from anywhere else, ``--check`` needs their folder named.
    """
    if not root.is_dir():
        raise ConfigError(
            f"--check: {root} is not a folder here; the demo's rule-test scenarios are in "
            f"inferwatch's source (deploy/rules), not in the installed package: pass their "
            f"folder, inferwatch backtest --check PATH/TO/deploy/rules")
    found = sorted(p.parent for p in root.glob(f"*/{SCENARIO}"))
    if not found:
        raise ConfigError(f"{root}: no scenario folders (each holds a {SCENARIO})")
    return found


def check(root: Path, changes: Mapping[str, str] | None = None) -> list[RuleResult]:
    """Replay every scenario under ``root`` (with ``changes`` to the settings) and compare
    its incidents with those it must produce."""
    results = []
    for folder in scenarios(root):
        spec = _spec(folder)
        expected = [Episode(**e) for e in _json(folder / EXPECTED)["incidents"]]
        replayed, span = _replay(folder, spec, changes or {})
        got = episodes(replayed.alerts)
        results.append(RuleResult(folder.name, spec.get("description", ""),
                                  compare(expected, got, tolerance_s=span),
                                  replayed.predictions, replayed.seconds))
    return results


def record(folder: Path, model_dir: Path, *,
           progress: Callable[[int], None] | None = None) -> list[Episode]:
    """Re-record ``folder``'s scenario with ``model_dir``'s served version; write its
    traffic, references and the incidents the replay gives as expected (returned)."""
    spec = _spec(folder)
    cfg = worker_config({**spec.get("settings", {}),
                         "INFERWATCH_INFERENCE_MODEL_DIR": str(model_dir)}, inherit=False)
    traffic = recorder.record(scenario_of(spec["simulate"]), cfg, progress=progress)
    traffic.write_jsonl(folder / TRAFFIC)
    references = model_references(cfg)
    for model in sorted(_models(traffic)):
        source = references.served.unbound_folder(model)
        for name in REFERENCE_FILES:
            if (source / name).is_file():
                (folder / REFERENCES / model).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / name, folder / REFERENCES / model / name)
    replayed, _ = _replay(folder, spec, {})
    found = episodes(replayed.alerts)
    (folder / EXPECTED).write_text(json.dumps(
        {"incidents": [asdict(e) for e in found]}, indent=2, sort_keys=True) + "\n")
    return found


def scenario_of(simulate: Mapping[str, Any]) -> Scenario:
    """The simulator scenario a ``scenario.json``'s ``simulate`` object describes."""
    fields = dict(simulate)
    drift = fields.pop("drift", None)
    try:
        return Scenario(**fields, drift=Drift(**drift) if drift else None)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{SCENARIO}: simulate: {exc}") from None


def _replay(folder: Path, spec: Mapping[str, Any], changes: Mapping[str, str]
            ) -> tuple[Any, float]:
    """The replay of ``folder``'s traffic, and the tolerance of a comparison (one window's
    span of event time, at least one summary interval)."""
    cfg = worker_config({**spec.get("settings", {}), **changes,
                         "INFERWATCH_INFERENCE_MODEL_DIR": str(folder / REFERENCES)},
                        inherit=False)
    try:
        traffic = RecordedTraffic.read_jsonl(folder / TRAFFIC, Topics(cfg.kafka.topic_prefix))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{folder.name}: {exc}") from None
    replayed = Replay(cfg, model_references(cfg)).run(traffic)
    return replayed, max(replayed.window_span_s, cfg.monitor.summary_interval_s)


def _models(traffic: RecordedTraffic) -> set[str]:
    """The models the predictions of ``traffic`` name."""
    decode = msgspec.json.Decoder(_Model).decode
    return {decode(r.value or b"{}").model for _, r in traffic.records
            if r.topic == traffic.topics.predictions}


def _spec(folder: Path) -> dict[str, Any]:
    spec = _json(folder / SCENARIO)
    if "simulate" not in spec:
        raise ConfigError(f"{folder / SCENARIO}: needs a 'simulate' object")
    return spec


def _json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return value
