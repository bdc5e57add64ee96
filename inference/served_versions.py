"""What a worker serves: a predictor per (model, variant), from the registry.

Each version loads by its spec, whatever its artifact kind
(:meth:`~inference.registry.ModelStore.load_predictor`, through
:func:`inference.loaders.load_version`).

Each variant is served the registry version its binding names
(:class:`~inference.version_binding.VersionBinding`, ``INFERWATCH_INFERENCE_VARIANT_VERSIONS``;
unbound variants serve the ``champion`` alias where the model has one, else the latest).
Loaded predictors are shared by (model, version), so two variants on one version hold one
copy. A model update re-resolves that model's variants: one bound to an alias moves to the
version the alias names now, one bound to a version name stays. The new version is loaded
before anything is switched to it: an artifact that is missing, corrupt or does not fit
leaves the variant on the version it served (:class:`LoadFailure`, for an alert), and the
version a variant leaves stays loaded, ready for a rollback; older ones are dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from inference.predictor import Predictor
from inference.registry import ModelStore
from inference.shadow_binding import SHADOW
from inference.version_binding import LATEST, VersionBinding

if TYPE_CHECKING:
    from inference.quantize import Precision

__all__ = ["BINDING_SETTING", "CHALLENGER", "CHAMPION", "LoadFailure", "ServedVersions"]

log = logging.getLogger(__name__)

#: The setting the binding comes from, named in the errors about it.
BINDING_SETTING = "INFERWATCH_INFERENCE_VARIANT_VERSIONS"
#: the alias unbound variants follow once a model has it
CHAMPION = "champion"
#: the alias ``inferwatch experiment start --challenger-version`` moves
CHALLENGER = "challenger"


@dataclass(frozen=True)
class LoadFailure:
    """A version a variant should move to could not be loaded; it serves ``kept``."""

    model: str
    variant: str
    version: str
    kept: str
    error: str
    at: float = field(default_factory=time.time)


class ServedVersions:
    """The predictor each variant of each model is served, loaded from the model store.

    Parameters
    ----------
    store
        The registry the versions come from.
    device
        The torch device to serve on (None: cuda if present, else cpu).
    binding
        The version reference of each (model, variant).
    precision, tolerance
        The serving precision, and the most holdout accuracy a reduced one may lose
        (:func:`inference.quantize.reduce_precision`); a version refused serves at full.
    """

    def __init__(self, store: ModelStore, device: str | None,
                 binding: VersionBinding | None = None, precision: Precision = "full",
                 tolerance: float = 0.01) -> None:
        self.store = store
        self.precision: Precision = precision
        self.tolerance = tolerance
        self.device = device
        self.binding = binding if binding is not None else VersionBinding()
        #: how many model updates were taken in (:meth:`invalidate`): what follows the
        #: served versions (their reference profiles) reads again when it changes
        self.changes = 0
        self._serving: dict[tuple[str, str], str] = {}  # (model, variant) -> version
        self._loaded: dict[tuple[str, str], Predictor] = {}  # (model, version) -> predictor
        self._failed: dict[tuple[str, str], LoadFailure] = {}  # (model, variant) -> open
        self._recovered: list[LoadFailure] = []

    def check_binding(self, variants: Iterable[str]) -> None:
        """Raise ValueError, naming the setting, on a binding that cannot be served.

        Each bound variant must be one of ``variants`` (the traffic split) and each bound
        reference must name a published version of its model, but for the ``challenger``
        alias, which an experiment's start may set later.
        """
        known = sorted(variants)
        for model, variant, ref in self.binding:
            where = f"{BINDING_SETTING}: {model}:{variant}={ref}"
            if variant not in known and variant != SHADOW:
                raise ValueError(f"{where}: no variant {variant!r} in the traffic split "
                                 f"(INFERWATCH_INFERENCE_VARIANTS has {known})")
            try:
                found = self.store.resolve(model, ref)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if found is None and (ref == CHALLENGER or variant == SHADOW):
                # moved by `inferwatch experiment start --challenger-version`; until then
                # the variant has no version and must get no traffic
                log.info("%s: no version yet; served once an experiment names one", where)
                continue
            if found is None:
                published = self.store.versions(model)
                raise ValueError(
                    f"{where}: {model!r} has no version {ref!r} in {self.store.root} "
                    f"(published: {', '.join(published) or 'none'}); bind a published "
                    "version or 'latest'")

    def warm_up(self, variants: Iterable[str]) -> None:
        """Load every published model for each of ``variants`` now, before any request."""
        root = self.store.root
        names = list(variants)
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and not folder.name.startswith("."):
                for variant in names:
                    self.predictor(folder.name, variant)

    def predictor(self, model: str, variant: str) -> Predictor | None:
        """The predictor serving ``variant`` of ``model``; None when none is published."""
        version = self._serving.get((model, variant))
        if version is None:
            version = self.store.resolve(model, self.ref(model, variant))
            if version is None:
                return None
            self._serving[(model, variant)] = version
        return self._load(model, version)

    def preload(self, model: str, variants: Iterable[str]) -> list[str]:
        """Load now the version each of ``variants`` of ``model`` is to serve, ahead of the
        move (:meth:`invalidate`), and return the versions loaded.

        Meant for a worker thread: a large artifact takes seconds to read, and the event
        loop goes on serving the current versions meanwhile; the move then finds the new
        version in memory. A version that fails to load is left to :meth:`invalidate`,
        which tries it again, keeps the variant where it is and reports the failure.
        """
        done = []
        for variant in variants:
            try:
                found = self.store.resolve(model, self.ref(model, variant))
                if found is not None and (model, found) not in self._loaded:
                    self._load(model, found)
                    done.append(found)
            except Exception:  # reported by invalidate, which tries again
                continue
        return done

    def serving(self, model: str) -> dict[str, str]:
        """The version each variant of ``model`` met so far is served."""
        return {v: ver for (m, v), ver in self._serving.items() if m == model}

    def ref(self, model: str, variant: str) -> str:
        """The reference ``variant`` of ``model`` follows: its binding, else ``champion``
        where the model has that alias, else the binding's default (``latest``); the
        ``shadow`` variant follows the ``shadow`` alias only."""
        bound = self.binding.refs.get((model, variant))
        if bound is not None:
            return bound
        if variant == SHADOW:  # a shadow is what its alias names, never a default
            return SHADOW
        if self.binding.default == LATEST and CHAMPION in self.store.aliases(model):
            return CHAMPION
        return self.binding.default

    def unbound_folder(self, model: str) -> Path:
        """The folder of the version unbound variants of ``model`` serve (the model's own
        folder for an outside model, one with no version)."""
        version = self.store.resolve(model, self.ref(model, "")) if self.store.latest(
            model) is not None else None
        return self.store.root / model if version is None else self.store.path_for(
            model, version)

    def invalidate(self, model: str) -> list[LoadFailure]:
        """``model`` changed in the registry: move its variants to the versions their
        references name now, each only once that version is loaded.

        Returns the moves that failed (the variant stays on its version).
        """
        failures: list[LoadFailure] = []
        left: set[str] = set()
        for variant, old in list(self.serving(model).items()):
            found = self.store.resolve(model, self.ref(model, variant))
            if found is None:
                continue
            if found == old:
                self._settled(model, variant, old)  # its reference came back to what serves
                continue
            try:
                self._check_fits(self._load(model, found), self._loaded.get((model, old)))
            except Exception as exc:  # a bad artifact must not stop serving: keep the old
                self._loaded.pop((model, found), None)
                log.error("cannot load %s %s for variant %s, still serving %s: %s", model,
                          found, variant, old, exc)
                failures.append(self._hold_open(
                    LoadFailure(model, variant, found, old, f"{type(exc).__name__}: {exc}")))
                continue
            self._serving[(model, variant)] = found
            self._settled(model, variant, found)
            left.add(old)
        # kept: what serves, what was left (a rollback's target), and what the bound
        # references name now (a challenger preloaded before it gets its first request)
        wanted = {self.store.resolve(model, ref) for m, _, ref in self.binding if m == model}
        kept = set(self.serving(model).values()) | left | (wanted - {None})
        for key in [k for k in self._loaded if k[0] == model and k[1] not in kept]:
            del self._loaded[key]
        self.changes += 1
        return failures

    def _hold_open(self, failure: LoadFailure) -> LoadFailure:
        """Hold ``failure`` open for its variant, from its first time, until it settles."""
        key = (failure.model, failure.variant)
        earlier = self._failed.get(key)
        if earlier is None or earlier.version != failure.version:
            if earlier is not None:
                self._recovered.append(earlier)  # superseded by another version
            self._failed[key] = failure  # kept from its first failure
        return failure

    def _settled(self, model: str, variant: str, serving: str) -> None:
        """``variant`` waits for no version that failed to load any more."""
        earlier = self._failed.pop((model, variant), None)
        if earlier is not None:
            self._recovered.append(LoadFailure(earlier.model, variant, earlier.version,
                                               serving, earlier.error, earlier.at))

    def take_recovered(self) -> list[LoadFailure]:
        """The load failures that are over since the last call (each with ``kept`` set to
        what its variant serves now): the resolves of their ``model_load`` tickets."""
        done, self._recovered = self._recovered, []
        return done

    def loaded(self, model: str) -> list[str]:
        """The versions of ``model`` held in memory (served, or kept for a rollback)."""
        return sorted(v for m, v in self._loaded if m == model)

    @staticmethod
    def _check_fits(new: Predictor, old: Predictor | None) -> None:
        """A new version must read the inputs the requests carry for the old one."""
        if old is None:
            return
        if set(new.features) != set(old.features):
            raise ValueError(f"incompatible artifact: {new.model} {new.version} reads "
                             f"features {list(new.features)}, the served {old.version} reads "
                             f"{list(old.features)}")
        inputs = [(set(p.spec.categorical_names), p.spec.text is not None) for p in (new, old)]
        if inputs[0] != inputs[1]:
            raise ValueError(f"incompatible artifact: {new.model} {new.version} reads "
                             f"categorical {sorted(inputs[0][0])} and text: {inputs[0][1]}, "
                             f"the served {old.version} reads categorical "
                             f"{sorted(inputs[1][0])} and text: {inputs[1][1]}")

    def _load(self, model: str, version: str) -> Predictor:
        key = (model, version)
        if key not in self._loaded:
            self._loaded[key] = self._at_precision(
                self.store.load_predictor(model, version, device=self.device))
            log.info("serving %r", self._loaded[key])
        return self._loaded[key]

    def _at_precision(self, predictor: Predictor) -> Predictor:
        """``predictor`` at the configured precision, if its holdout check passes."""
        # imported here: torch loads only in workers that serve models
        from inference.quantize import PrecisionRefused, load_holdout, reduce_precision
        from inference.torch_predictor import TorchPredictor

        if self.precision == "full":
            return predictor
        if not isinstance(predictor, TorchPredictor):
            log.warning("%s %s is kind %s: a reduced precision is the mlp kind's only; "
                        "serving it at full precision", predictor.model, predictor.version,
                        predictor.spec.kind)
            return predictor
        try:
            features, labels = load_holdout(self.store.path_for(predictor.model,
                                                                predictor.version))
            reduced, check = reduce_precision(predictor, self.precision, features, labels,
                                              self.tolerance)
        except (FileNotFoundError, PrecisionRefused) as exc:
            log.error("%s; serving %s %s at full precision", exc, predictor.model,
                      predictor.version)
            return predictor
        log.info("%s %s at %s: holdout accuracy %.4f (full %.4f)", predictor.model,
                 predictor.version, self.precision, check.accuracy, check.full_accuracy)
        return reduced
