"""Where model versions live on disk: ``root/<model>/<version>/`` (``model.pt`` and more).

A version is published once and never changed: :meth:`ModelStore.publish` copies the
files into a hidden staging folder beside the target and renames it into place, so a
reader sees either no version or all of it. "Latest" is the highest version in natural
order (``v2`` < ``v10``); :meth:`ModelStore.resolve` turns a reference (a version name or
the alias ``latest``) into the version it names.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> src = root / "build"; src.mkdir(); _ = (src / "model.pt").write_bytes(b"weights")
>>> store = ModelStore(root / "models")
>>> store.latest("churn") is None
True
>>> _ = store.publish("churn", "v2", src); _ = store.publish("churn", "v10", src)
>>> store.versions("churn"), store.latest("churn")
(['v2', 'v10'], 'v10')
>>> store.resolve("churn", "latest"), store.resolve("churn", "v2"), store.resolve("churn", "v3")
('v10', 'v2', None)

A version published with its :class:`~inference.model_card.Lineage` gets a
``card.json`` (content hash, parent, data range, metrics, creation time, device), and
every alias move is appended to the model's alias history:

>>> card = store.publish("churn", "v11", src, lineage=Lineage(parent="v10", device="cpu"))
>>> store.card("churn", "v11").parent, store.verify("churn", "v11").content_hash[:7]
('v10', 'sha256:')
>>> store.set_alias("churn", "champion", "v10"); store.set_alias("churn", "champion", "v11")
>>> [(c.previous, c.version) for c in store.alias_history("churn")]
[(None, 'v10'), ('v10', 'v11')]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from inference.model_card import (
    CARD_FILE,
    AliasChange,
    Lineage,
    ModelCard,
    TrafficChange,
    content_hash,
)
from inference.version_binding import LATEST

if TYPE_CHECKING:
    from inference.torch_predictor import TorchPredictor

__all__ = ["ModelStore"]

_Change = TypeVar("_Change", AliasChange, TrafficChange)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: per model: the aliases an experiment moves (``champion``), its traffic override, and
#: the experiment an operator started (``inferwatch experiment start``)
ALIASES_FILE, TRAFFIC_FILE = ".aliases.json", ".traffic.json"
EXPERIMENT_FILE = ".experiment.json"
#: per model: every alias move, one JSON line each, oldest first
HISTORY_FILE = ".alias-history.jsonl"
TRAFFIC_HISTORY_FILE = ".traffic-history.jsonl"


def _check_name(field: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{field} must be letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit, got {value!r}"
        )
    return value


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


def _natural_key(version: str) -> list[tuple[int, int | str]]:
    return [
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", version)
        if part
    ]


class ModelStore:
    """A folder of published model versions.

    Parameters
    ----------
    root
        The store's folder; created on the first publish.
    clock
        Wall clock in epoch seconds, for cards' creation times and alias moves.
    """

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.clock = clock

    def path_for(self, model: str, version: str) -> Path:
        """The folder of ``model``'s ``version`` (it may not exist)."""
        return self.root / _check_name("model", model) / _check_name("version", version)

    def versions(self, model: str) -> list[str]:
        """Published versions of ``model``, oldest first in natural order."""
        folder = self.root / _check_name("model", model)
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name)]
        return sorted(names, key=_natural_key)

    def latest(self, model: str) -> str | None:
        """The highest published version of ``model``, or None if there is none."""
        found = self.versions(model)
        return found[-1] if found else None

    def resolve(self, model: str, ref: str) -> str | None:
        """The published version that ``ref`` names: ``latest``, a version name, or an alias.

        None when there is no such version (or, for ``latest``, no version at all).
        """
        if ref == LATEST:
            return self.latest(model)
        published = self.versions(model)
        if ref in published:
            return ref
        aliased = self.aliases(model).get(ref)
        return aliased if aliased in published else None

    def aliases(self, model: str) -> dict[str, str]:
        """``model``'s aliases (``champion``, ``challenger``...) and the versions they name."""
        return {k: str(v) for k, v in self._read(model, ALIASES_FILE).items()}

    def set_alias(self, model: str, alias: str, version: str, *, reason: str = "") -> None:
        """Point ``alias`` at the published ``version`` (atomically; readers see old or new).

        A move is appended to the alias history with the time, the previous version and
        ``reason``; pointing an alias where it already points changes and records nothing.
        """
        _check_name("alias", alias)
        if alias == LATEST or alias in self.versions(model):
            raise ValueError(f"alias {alias!r} would hide a version name or 'latest'")
        if version not in self.versions(model):
            raise ValueError(f"{model} has no published version {version!r} to alias")
        current = self.aliases(model)
        previous = current.get(alias)
        if previous == version:
            return
        self._write(model, ALIASES_FILE, {**current, alias: version})
        change = AliasChange(model, alias, version, previous, self.clock(), reason)
        with (self.root / model / HISTORY_FILE).open("a") as f:
            f.write(change.to_json() + "\n")

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasChange]:
        """Every move of ``model``'s aliases (or of ``alias`` only), oldest first."""
        changes = _history(self.root / _check_name("model", model) / HISTORY_FILE,
                           AliasChange.from_json)
        return [c for c in changes if alias is None or c.alias == alias]

    def card(self, model: str, version: str) -> ModelCard | None:
        """The card of ``model``'s ``version``; None if it was published without one."""
        path = self.path_for(model, version) / CARD_FILE
        try:
            return ModelCard.from_json(path.read_text())
        except FileNotFoundError:
            return None

    def verify(self, model: str, version: str) -> ModelCard:
        """The version's card, after checking that its files still hash to the card's hash.

        Raises FileNotFoundError when the version has no card, and ValueError naming both
        hashes when a file was changed, added or removed since it was published.
        """
        card = self.card(model, version)
        if card is None:
            raise FileNotFoundError(f"{model} {version} has no {CARD_FILE} to verify against")
        found = content_hash(self.path_for(model, version))
        if found != card.content_hash:
            raise ValueError(
                f"{model} {version} is corrupt: its files hash to {found}, but it was published "
                f"as {card.content_hash}; publish it again as a new version"
            )
        return card

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
        change = TrafficChange(model, dict(split), previous, self.clock(), reason)
        with (self.root / model / TRAFFIC_HISTORY_FILE).open("a") as f:
            f.write(change.to_json() + "\n")

    def traffic_history(self, model: str) -> list[TrafficChange]:
        """Every change of ``model``'s traffic split, oldest first."""
        return _history(self.root / _check_name("model", model) / TRAFFIC_HISTORY_FILE,
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

    def models(self) -> list[str]:
        """The models that have a folder in the store."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def _read(self, model: str, name: str) -> dict[str, object]:
        path = self.root / _check_name("model", model) / name
        try:
            found = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        if not isinstance(found, dict):
            raise ValueError(f"{path} must hold a JSON object, got {found!r}")
        return found

    def _write(self, model: str, name: str, content: Mapping[str, object]) -> None:
        folder = self.root / _check_name("model", model)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "w") as f:
            json.dump(content, f, sort_keys=True)
        os.replace(tmp, folder / name)

    def publish(
        self, model: str, version: str, src_dir: Path, *, lineage: Lineage | None = None
    ) -> Path:
        """Copy ``src_dir``'s files in as ``model``'s ``version``, atomically; returns its path.

        With ``lineage``, the version also gets its :class:`ModelCard` (``card.json``),
        hashed over the copied files before they become visible.
        Raises FileExistsError if that version exists: versions are immutable, publish a
        new one instead.
        """
        target = self.path_for(model, version)
        src_dir = Path(src_dir)
        if not src_dir.is_dir():
            raise FileNotFoundError(f"cannot publish {model} {version}: {src_dir} is not a folder")
        if target.exists():
            raise FileExistsError(
                f"{model} {version} is already published at {target}; publish a new version"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}."))
        try:
            shutil.copytree(src_dir, staging, dirs_exist_ok=True)
            if lineage is not None:
                card = ModelCard.of(staging, model, version, lineage, created_at=self.clock())
                (staging / CARD_FILE).write_text(card.to_json())
            staging.rename(target)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError) and target.exists():
                raise FileExistsError(
                    f"{model} {version} was published meanwhile at {target}; publish a new version"
                ) from exc
            raise
        return target

    def load_predictor(
        self, model: str, version: str | None = None, device: str | None = None
    ) -> TorchPredictor:
        """Load ``model``'s ``version`` (default: the latest) as a TorchPredictor.

        The predictor's ``version`` is the registry's name of the folder it came from,
        whatever name the artifact was built under. A version with a card is checked
        against its content hash first (:meth:`verify`): a corrupt one raises ValueError.
        """
        version = version if version is not None else self.latest(model)
        if version is None:
            raise FileNotFoundError(f"no published version of model {model!r} under {self.root}")
        path = self.path_for(model, version) / "model.pt"
        if not path.is_file():
            raise FileNotFoundError(f"{model} {version} has no model.pt at {path}")
        if (path.parent / CARD_FILE).is_file():
            self.verify(model, version)
        from inference.torch_predictor import TorchPredictor

        predictor = TorchPredictor.load(path, device)
        predictor.version = version
        return predictor
