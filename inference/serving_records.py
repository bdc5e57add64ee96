"""How a model's published versions are served: aliases, traffic split, experiment, history.

Versions never change once published; what moves is beside them, in small JSON files in
the model's folder, each replaced atomically (a reader sees the old file or the new):
the aliases an experiment moves (``champion``, ``challenger``), the traffic split that
overrides the configured one (a rolled-back challenger gets 0), and the experiment an
operator started (``inferwatch experiment start``). Every move of an alias and every
change of the split is appended to the model's history, one JSON line each, oldest
first, with the time, what it was before and why.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "churn" / "v1").mkdir(parents=True); (root / "churn" / "v2").mkdir()
>>> records = ServingRecords(root, clock=lambda: 100.0)
>>> records.set_traffic("churn", {"A": 0.9, "B": 0.1}, reason="canary")
>>> records.set_traffic("churn", {"A": 1.0, "B": 0.0}, reason="rollback")
>>> records.traffic("churn"), [c.reason for c in records.traffic_history("churn")]
({'A': 1.0, 'B': 0.0}, ['canary', 'rollback'])
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from inference.model_card import AliasChange, TrafficChange
from inference.store_layout import StoreLayout, check_name
from inference.version_binding import LATEST

__all__ = ["ServingRecords"]

_Change = TypeVar("_Change", AliasChange, TrafficChange)
#: per model: the aliases an experiment moves (``champion``), its traffic override, and
#: the experiment an operator started (``inferwatch experiment start``)
ALIASES_FILE, TRAFFIC_FILE = ".aliases.json", ".traffic.json"
EXPERIMENT_FILE = ".experiment.json"
#: per model: every alias move, one JSON line each, oldest first
HISTORY_FILE = ".alias-history.jsonl"
TRAFFIC_HISTORY_FILE = ".traffic-history.jsonl"


def _history(path: Path, read: Callable[[str], _Change]) -> list[_Change]:
    """The changes of a history file, oldest first ([] when it does not exist); a line that
    is not one raises ValueError naming the file and the line."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    changes = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            changes.append(read(line))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} line {number} is not a history entry ({exc}): "
                             f"{line[:120]!r}") from None
    return changes


class ServingRecords(StoreLayout):
    """The aliases, traffic split and experiment of each model in a store, and their history.

    Parameters
    ----------
    root
        The store's folder.
    clock
        Wall clock in epoch seconds, for the time of each recorded change.
    """

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(root)
        self.clock = clock

    def aliases(self, model: str) -> dict[str, str]:
        """``model``'s aliases (``champion``, ``challenger``...) and the versions they name."""
        return {k: str(v) for k, v in self._read(model, ALIASES_FILE).items()}

    def set_alias(self, model: str, alias: str, version: str, *, reason: str = "") -> None:
        """Point ``alias`` at the published ``version`` (atomically; readers see old or new).

        A move is appended to the alias history with the time, the previous version and
        ``reason``; pointing an alias where it already points changes and records nothing.
        """
        check_name("alias", alias)
        if alias == LATEST or alias in self.versions(model):
            raise ValueError(f"alias {alias!r} would hide a version name or 'latest'")
        if version not in self.versions(model):
            raise ValueError(f"{model} has no published version {version!r} to alias")
        current = self.aliases(model)
        previous = current.get(alias)
        if previous == version:
            return
        self._write(model, ALIASES_FILE, {**current, alias: version})
        self._append(model, HISTORY_FILE,
                     AliasChange(model, alias, version, previous, self.clock(), reason))

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasChange]:
        """Every move of ``model``'s aliases (or of ``alias`` only), oldest first."""
        changes = _history(self.root / check_name("model", model) / HISTORY_FILE,
                           AliasChange.from_json)
        return [c for c in changes if alias is None or c.alias == alias]

    def traffic(self, model: str) -> dict[str, float]:
        """The traffic split that overrides the configured one for ``model`` (empty: none)."""
        return {k: float(v) for k, v in self._read(model, TRAFFIC_FILE).items()}  # type: ignore[arg-type]

    def set_traffic(self, model: str, split: dict[str, float], *, reason: str = "") -> None:
        """Override the traffic split of ``model`` (a rolled-back challenger gets 0).

        A change is appended to the traffic history with the time, the previous split and
        ``reason``; setting the split it already has changes and records nothing.
        """
        if abs(sum(split.values()) - 1.0) > 1e-9 or min(split.values(), default=-1) < 0:
            raise ValueError(f"a traffic split needs shares >= 0 summing to 1, got {split}")
        previous = self.traffic(model)
        if previous == split:
            return
        self._write(model, TRAFFIC_FILE, split)
        self._append(model, TRAFFIC_HISTORY_FILE,
                     TrafficChange(model, dict(split), previous, self.clock(), reason))

    def traffic_history(self, model: str) -> list[TrafficChange]:
        """Every change of ``model``'s traffic split, oldest first."""
        return _history(self.root / check_name("model", model) / TRAFFIC_HISTORY_FILE,
                        TrafficChange.from_json)

    def experiment(self, model: str) -> dict[str, object]:
        """The experiment started on ``model`` (name, champion, challenger, share); empty: none."""
        return self._read(model, EXPERIMENT_FILE)

    def start_experiment(self, model: str, spec: Mapping[str, object],
                         split: dict[str, float]) -> None:
        """Record an experiment started on ``model`` and the split it serves (replacing
        any earlier experiment's, and a rolled-back challenger's zero share)."""
        self.set_traffic(model, split, reason=f"experiment {spec.get('name')} started")
        self._write(model, EXPERIMENT_FILE, spec)

    def _read(self, model: str, name: str) -> dict[str, object]:
        path = self.root / check_name("model", model) / name
        try:
            found = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        if not isinstance(found, dict):
            raise ValueError(f"{path} must hold a JSON object, got {found!r}")
        return found

    def _write(self, model: str, name: str, content: Mapping[str, object]) -> None:
        folder = self.root / check_name("model", model)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "w") as f:
            json.dump(content, f, sort_keys=True)
        os.replace(tmp, folder / name)

    def _append(self, model: str, name: str, change: AliasChange | TrafficChange) -> None:
        with (self.root / model / name).open("a") as f:
            f.write(change.to_json() + "\n")
