"""The references the monitors compare against, those of the version a model serves.

A model's input profile, category profile (its categorical inputs' reference counts),
output profile and calibration (the accuracy estimated before labels arrive) are those of
the version its unbound variants serve
(:meth:`~inference.served_versions.ServedVersions.unbound_folder`); its embedding reference
is the file the operator gives beside the model. Each is read once and cached; all are
read again together after a model update moved what serves.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from detectors.embedding_sample import project
from detectors.reference import embedding as embedding_reference
from detectors.reference.categories import FILE_NAME as CATEGORIES_FILE
from detectors.reference.categories import CategoryProfile
from detectors.reference.importance import ReferenceImportance
from detectors.reference.performance import FILE_NAME as PERFORMANCE_FILE
from detectors.reference.performance import PerformanceReference
from detectors.reference.profile import OUTPUT_REFERENCE, ReferenceProfile
from detectors.reference.regression import FILE_NAME as ERRORS_FILE
from detectors.reference.regression import ErrorReference
from inference.served_versions import ServedVersions
from streams.errors import ConfigError

__all__ = ["References"]

#: how many models' references each cache holds
CACHED_MODELS = 256


class References:
    """The reference profiles of the models ``served`` serves, cached until they move.

    Parameters
    ----------
    served
        What the worker serves; a change of it (:attr:`ServedVersions.changes`) clears
        every cache here at the next lookup.
    """

    def __init__(self, served: ServedVersions) -> None:
        self.served = served
        self._seen = served.changes
        self._input = lru_cache(maxsize=CACHED_MODELS)(self._load_input)
        self._output = lru_cache(maxsize=CACHED_MODELS)(self._load_output)
        self._embedding = lru_cache(maxsize=CACHED_MODELS)(self._load_embedding)
        self._performance = lru_cache(maxsize=CACHED_MODELS)(self._load_performance)
        self._categories = lru_cache(maxsize=CACHED_MODELS)(self._load_categories)
        self._importance = lru_cache(maxsize=CACHED_MODELS)(self._load_importance)
        self._errors = lru_cache(maxsize=CACHED_MODELS)(self._load_errors)

    def reference(self, model: str) -> ReferenceProfile | None:
        """The input profile ``model``'s features are compared against (None: none)."""
        self._follow()
        return self._input(model)

    def output_reference(self, model: str) -> ReferenceProfile | None:
        """The output profile ``model``'s predictions are compared against (None: none)."""
        self._follow()
        return self._output(model)

    def embedding_reference(self, model: str) -> np.ndarray | None:
        """The embeddings of ``model``'s reference file, projected as the monitors project
        (None without one)."""
        self._follow()
        return self._embedding(model)

    def performance_reference(self, model: str) -> PerformanceReference | None:
        """The served version's calibration and reference accuracy (None without one: a
        model trained before they were saved, or an outside model that gives none)."""
        self._follow()
        return self._performance(model)

    def category_reference(self, model: str) -> CategoryProfile | None:
        """The category profile ``model``'s categorical inputs are compared against
        (``reference_categories.json`` of the served version; None without one)."""
        self._follow()
        return self._categories(model)

    def importance(self, model: str) -> ReferenceImportance | None:
        """The served version's permutation importance per feature (None: none saved)."""
        self._follow()
        return self._importance(model)

    def error_reference(self, model: str) -> ErrorReference | None:
        """A regression's errors on the served version's holdout (None: none saved)."""
        self._follow()
        return self._errors(model)

    def clear(self) -> None:
        """Forget every cached reference: each is read again at its next lookup."""
        for cache in (self._input, self._output, self._embedding, self._performance,
                      self._categories, self._importance, self._errors):
            cache.cache_clear()

    def check_embedding_references(self) -> list[str]:
        """Load (and cache) every embedding reference file now; ConfigError on a bad one.

        Returns the models that have one.
        """
        root = self.served.store.root
        files = sorted(root.glob(f"*/{embedding_reference.FILE_NAME}")) if root.is_dir() else []
        for path in files:
            try:
                self.embedding_reference(path.parent.name)
            except ValueError as exc:
                raise ConfigError(f"embedding reference: {exc}") from None
        return [path.parent.name for path in files]

    def _follow(self) -> None:
        """Clear the caches if a model update came in since they were filled."""
        if self.served.changes != self._seen:
            self._seen = self.served.changes
            self.clear()

    def _load_input(self, model: str) -> ReferenceProfile | None:
        return self._profile(model, "reference.json")

    def _load_output(self, model: str) -> ReferenceProfile | None:
        return self._profile(model, OUTPUT_REFERENCE)

    def _load_performance(self, model: str) -> PerformanceReference | None:
        path = self.served.unbound_folder(model) / PERFORMANCE_FILE
        return PerformanceReference.load(path) if path.exists() else None

    def _load_categories(self, model: str) -> CategoryProfile | None:
        path = self.served.unbound_folder(model) / CATEGORIES_FILE
        return CategoryProfile.load(path) if path.exists() else None

    def _load_errors(self, model: str) -> ErrorReference | None:
        path = self.served.unbound_folder(model) / ERRORS_FILE
        return ErrorReference.load(path) if path.exists() else None

    def _load_importance(self, model: str) -> ReferenceImportance | None:
        return ReferenceImportance.load(self.served.unbound_folder(model))

    def _load_embedding(self, model: str) -> np.ndarray | None:
        path = self.served.store.root / model / embedding_reference.FILE_NAME
        return project(embedding_reference.load(path)) if path.exists() else None

    def _profile(self, model: str, name: str) -> ReferenceProfile | None:
        """A served model's profile is that of the version unbound variants serve; an
        outside model (one with no version) may give one at ``<model_dir>/<model>/<name>``."""
        path: Path = self.served.unbound_folder(model) / name
        return ReferenceProfile.load(path) if path.exists() else None
