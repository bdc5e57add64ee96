"""What an experiment's decision changes in what is served.

- ``promote``: the registry's ``champion`` alias moves to the version the challenger is
  served, so every variant bound to ``champion`` serves it from the next request on;
- ``rollback``: the challenger's share of the traffic goes to zero (its units go to the
  champion), kept in the registry (:meth:`ModelStore.set_traffic`) so that a restarted
  worker does not send traffic to it again;
- ``continue`` and ``inconclusive`` change nothing.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp()); src = root / "b"; src.mkdir()
>>> store = ModelStore(root / "models")
>>> for v in ("v1", "v2"): _ = store.publish("churn", v, src)
>>> act = ExperimentActuator(store, {"A": 0.5, "B": 0.5}, salt="churn-v2")
>>> act.apply("churn", "rollback", "A", "B", challenger_version="v2")
{'A': 1.0, 'B': 0.0}
>>> {act.router("churn").assign(f"user-{i}") for i in range(100)}
{'A'}
>>> act.apply("churn", "promote", "A", "B", challenger_version="v2")
>>> store.resolve("churn", "champion")
'v2'
"""

from __future__ import annotations

from collections.abc import Mapping

from inference.registry import ModelStore
from inference.routing import VariantRouter

__all__ = ["CHAMPION", "ExperimentActuator"]

#: the alias a promote moves
CHAMPION = "champion"


class ExperimentActuator:
    """Applies experiment decisions to the registry (aliases and traffic overrides)."""

    def __init__(self, store: ModelStore, split: Mapping[str, float], salt: str = "") -> None:
        self.store = store
        self.split = dict(split)
        self.salt = salt
        self._routers: dict[str, VariantRouter] = {}

    def router(self, model: str) -> VariantRouter:
        """The router of ``model``'s units: the sticky hash of (experiment, unit id) over
        its split (an override read once, until :meth:`apply` or :meth:`forget` changes
        it). An experiment started on the model (:meth:`ModelStore.start_experiment`)
        salts the hash with its name."""
        found = self._routers.get(model)
        if found is None:
            started = self.store.experiment(model).get("name")
            salt = started if isinstance(started, str) and started else self.salt
            found = self._routers[model] = VariantRouter(self.split_for(model), salt)
        return found

    def forget(self, model: str) -> None:
        """Read ``model``'s split and experiment from the registry again on next use."""
        self._routers.pop(model, None)

    def split_for(self, model: str) -> dict[str, float]:
        """The traffic split ``model`` is served: its override if it has one, else the config's."""
        return self.store.traffic(model) or dict(self.split)

    def apply(self, model: str, action: str, champion: str, challenger: str, *,
              challenger_version: str | None, reason: str = "") -> dict[str, float] | None:
        """Act on one decision; returns the model's new traffic split if it changed."""
        if action == "promote":
            if challenger_version is None:
                raise ValueError(f"cannot promote {model}:{challenger}: it serves no version")
            self.store.set_alias(model, CHAMPION, challenger_version, reason=reason)
            return None
        if action != "rollback":
            return None
        split = self.split_for(model)
        if split.get(challenger, 0.0) == 0.0:
            return None  # already rolled back (a redelivered decision)
        split[champion] = split.get(champion, 0.0) + split[challenger]
        split[challenger] = 0.0
        self.store.set_traffic(model, split, reason=reason)
        self._routers.pop(model, None)
        return split
