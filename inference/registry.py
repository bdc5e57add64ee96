"""Where model versions live on disk: ``root/<model>/<version>/`` (``model.json``, the
artifact it names, and more; ``model.pt`` alone in releases before specs).

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
``card.json`` (content hash, parent, data range, metrics, creation time, device). What a
version is served as (aliases, traffic split, experiment, and their history) is kept
beside the versions (:class:`~inference.serving_records.ServingRecords`):

>>> card = store.publish("churn", "v11", src, lineage=Lineage(parent="v10", device="cpu"))
>>> store.card("churn", "v11").parent, store.verify("churn", "v11").content_hash[:7]
('v10', 'sha256:')
>>> store.set_alias("churn", "champion", "v10"); store.set_alias("churn", "champion", "v11")
>>> [(c.previous, c.version) for c in store.alias_history("churn")]
[(None, 'v10'), ('v10', 'v11')]
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from inference.model_card import CARD_FILE, Lineage, ModelCard, content_hash
from inference.model_spec import SPEC_FILE
from inference.serving_records import ServingRecords
from inference.version_binding import LATEST

if TYPE_CHECKING:
    from inference.spec_predictor import SpecPredictor

__all__ = ["ModelStore"]


class ModelStore(ServingRecords):
    """A folder of published model versions, their cards, and how they are served.

    The folders and names are :class:`~inference.store_layout.StoreLayout`'s (``versions``,
    ``latest``, ``models``, ``path_for``); aliases, traffic and experiments are
    :class:`~inference.serving_records.ServingRecords`'.

    Parameters
    ----------
    root
        The store's folder; created on the first publish.
    clock
        Wall clock in epoch seconds, for cards' creation times and alias moves.
    """

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
    ) -> SpecPredictor:
        """Load ``model``'s ``version`` (default: the latest) by its spec
        (:func:`inference.loaders.load_version`).

        The predictor's ``version`` is the registry's name of the folder it came from,
        whatever name the artifact was built under. A version with a card is checked
        against its content hash first (:meth:`verify`): a corrupt one raises ValueError,
        as does an artifact that does not load (SpecError).
        """
        version = version if version is not None else self.latest(model)
        if version is None:
            raise FileNotFoundError(f"no published version of model {model!r} under {self.root}")
        folder = self.path_for(model, version)
        # imported here: torch loads only in processes that serve or train models
        from inference.loaders import LEGACY_ARTIFACT, load_version

        if not (folder / SPEC_FILE).is_file() and not (folder / LEGACY_ARTIFACT).is_file():
            raise FileNotFoundError(f"{model} {version} has no {LEGACY_ARTIFACT} at "
                                    f"{folder / LEGACY_ARTIFACT}, nor a {SPEC_FILE}")
        if (folder / CARD_FILE).is_file():
            self.verify(model, version)
        predictor = load_version(folder, device)
        predictor.version = version
        return predictor
