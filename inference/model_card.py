"""What the registry knows of a version: its content hash and its lineage.

A :class:`ModelCard` is written as ``card.json`` inside a version's folder when it is
published with a :class:`Lineage` (see :meth:`inference.registry.ModelStore.publish`):
the sha256 over the version's files, the version it was fine-tuned from, the range of
the data it learned from, its metrics, when it was made and the device it trained on.
The hash lets a loader tell a corrupt or altered artifact from the one that was
validated (:func:`content_hash` again, compared with the card's).

An :class:`AliasChange` records one move of an alias (``champion``, ``challenger``), with
the version it named before; the store keeps them in order, so the history of the
champion reads as a list.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "model.pt").write_bytes(b"weights")
>>> content_hash(folder) == content_hash(folder)
True
>>> card = ModelCard.of(folder, "churn", "v2", Lineage(parent="v1", device="cpu"), created_at=0.0)
>>> ModelCard.from_json(card.to_json()) == card, card.parent
(True, 'v1')
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

__all__ = ["CARD_FILE", "AliasChange", "Lineage", "ModelCard", "TrafficChange", "content_hash"]

#: the card's file name inside a version folder; it is not part of the content hash
CARD_FILE = "card.json"


def content_hash(folder: Path) -> str:
    """sha256 over the version's files (not its card), in path order: ``sha256:<hex>``.

    Each file contributes its relative path, its size and its bytes, so a renamed,
    truncated or edited file changes the hash.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == CARD_FILE:
            continue
        digest.update(f"{rel}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class Lineage:
    """Where a version comes from, as its trainer knows it.

    Attributes
    ----------
    parent
        The version it was fine-tuned from; None for one trained from scratch.
    data_range
        ``(first, last)`` times (epoch seconds) of the examples it learned from.
    metrics
        Named figures of the training run (validation accuracy, loss...).
    device
        Where it was trained: ``"cpu"``, ``"cuda"``.
    """

    parent: str | None = None
    data_range: tuple[float, float] | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    device: str | None = None

    def __post_init__(self) -> None:
        if self.data_range is not None:
            first, last = self.data_range
            if not (math.isfinite(first) and math.isfinite(last) and first <= last):
                raise ValueError(
                    f"Lineage.data_range must be (first, last) finite times with first <= "
                    f"last, got {self.data_range!r}"
                )
        for name, value in self.metrics.items():
            if not isinstance(value, int | float):
                raise ValueError(f"Lineage.metrics[{name!r}] must be a number, got {value!r}")


@dataclass(frozen=True)
class ModelCard:
    """A published version: its identity, content hash, lineage and creation time."""

    model: str
    version: str
    content_hash: str
    created_at: float
    lineage: Lineage = field(default_factory=Lineage)

    @property
    def parent(self) -> str | None:
        """The version this one was fine-tuned from."""
        return self.lineage.parent

    @classmethod
    def of(
        cls, folder: Path, model: str, version: str, lineage: Lineage, *, created_at: float
    ) -> ModelCard:
        """The card of the files in ``folder``, hashed now."""
        return cls(model, version, content_hash(folder), created_at, lineage)

    def to_json(self) -> str:
        """The card as one JSON object (``card.json``)."""
        body = asdict(self)
        body["lineage"]["metrics"] = dict(self.lineage.metrics)
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Read a card written by :meth:`to_json`."""
        body = json.loads(text)
        lineage = dict(body.pop("lineage"))
        if lineage.get("data_range") is not None:
            lineage["data_range"] = tuple(lineage["data_range"])
        return cls(**body, lineage=Lineage(**lineage))


class _HistoryLine:
    """A change kept as one JSON line of a history file (appended, read oldest first)."""

    def to_json(self) -> str:
        """One JSON line of the history."""
        return json.dumps(asdict(self), sort_keys=True)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Read a line written by :meth:`to_json`."""
        return cls(**json.loads(text))


@dataclass(frozen=True)
class AliasChange(_HistoryLine):
    """One move of an alias: at ``at`` it went from ``previous`` (None: new) to ``version``."""

    model: str
    alias: str
    version: str
    previous: str | None
    at: float
    reason: str = ""


@dataclass(frozen=True)
class TrafficChange(_HistoryLine):
    """One change of a model's traffic split: at ``at`` it became ``split`` (from
    ``previous``; empty: the configured split), and why (an experiment's start, its rollback)."""

    model: str
    split: dict[str, float]
    previous: dict[str, float]
    at: float
    reason: str = ""
