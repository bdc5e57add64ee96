"""The experiment an operator started on a model, as the decision step looks it up.

``inferwatch experiment start`` (and the retrain worker, for each challenger) writes the
experiment to the registry; the decision step judges it from its next windows. It asks
for every window, so the registry is read again only every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from inference.registry import ModelStore
from streams.experiments.spec import ExperimentSpec, from_plain

__all__ = ["STARTED_TTL_S", "StartedExperiments"]

log = logging.getLogger(__name__)

#: how often (seconds) the decision step reads a model's started experiment again
STARTED_TTL_S = 2.0


class StartedExperiments:
    """Each model's started experiment, read from the registry at most every ``ttl_s``.

    A :data:`~streams.experiments.spec.StartedLookup`: call it with a model's name.

    Parameters
    ----------
    store
        The registry the experiments are started in.
    ttl_s
        How long (seconds) a read stays good.
    clock
        Monotonic seconds.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> now = [0.0]
    >>> store = ModelStore(pathlib.Path(tempfile.mkdtemp()))
    >>> started = StartedExperiments(store, clock=lambda: now[0])
    >>> started("churn") is None
    True
    >>> store.start_experiment("churn", {"name": "churn-v2", "champion": "A",
    ...                                  "challenger": "B", "share": 0.5}, {"A": .5, "B": .5})
    >>> started("churn") is None  # read 0 s ago: not read again yet
    True
    >>> now[0] = 2.5
    >>> started("churn").name
    'churn-v2'
    """

    def __init__(self, store: ModelStore, ttl_s: float = STARTED_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._read: dict[str, tuple[float, ExperimentSpec | None]] = {}  # model -> (at, spec)

    def __call__(self, model: str) -> ExperimentSpec | None:
        """The experiment an operator started on ``model`` (None: none, or unreadable)."""
        now = self.clock()
        found = self._read.get(model)
        if found is None or now - found[0] > self.ttl_s:
            try:
                plain = self.store.experiment(model)
            except (OSError, ValueError) as exc:
                log.error("experiment of %s unreadable in the registry: %s", model, exc)
                plain = {}
            found = self._read[model] = (now, from_plain(model, plain) if plain else None)
        return found[1]
