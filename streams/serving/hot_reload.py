"""Hot reload: what a worker does with each event on the model-updates topic.

- a version published or an alias moved (:class:`~streams.wire.events.ModelVersionPublished`):
  the new version is read in a thread while serving goes on, then the model's variants
  move to it; a version that cannot be loaded fires a ``model_load`` ticket
  (:mod:`streams.serving.model_load_alert`) and the variant stays where it is;
- an experiment started (:class:`~streams.wire.events.ExperimentStarted`): the model's
  split and bindings are read again from the registry;
- an experiment decided (:class:`~streams.wire.events.ExperimentDecided`): a promote or a
  rollback is applied to what this worker serves
  (:class:`~inference.experiment_actuator.ExperimentActuator`);
- a shadow decided (:class:`~streams.wire.events.ShadowDecided`): a final verdict is
  applied to the registry (:mod:`streams.serving.shadow_decision`) and the model read again.

After each event, the tickets of the load failures that are over resolve. A worker that
serves no model (no ``inference`` role) only moves its references
(:class:`~streams.serving.references.References` follows the served versions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec

from inference.experiment_actuator import ExperimentActuator
from inference.served_versions import ServedVersions
from streams.serving.model_load_alert import load_failure_alert, load_recovered_alert
from streams.serving.shadow_decision import apply_shadow_decision
from streams.wire.codec import decode_model_update
from streams.wire.events import (
    Alert,
    ExperimentDecided,
    ExperimentStarted,
    ModelUpdate,
    ModelVersionPublished,
    ShadowDecided,
)

__all__ = ["HotReload"]

log = logging.getLogger(__name__)



class HotReload:
    """Acts on model updates for one worker, and says which ``model_load`` tickets to send.

    Parameters
    ----------
    served
        What the worker serves.
    actuator
        Where the traffic split and experiment decisions are applied.
    serves
        Whether this worker serves models (its ``inference`` role): only then are new
        versions preloaded and experiment decisions applied.
    clock
        Wall-clock seconds, the end of a resolved ticket.
    """

    def __init__(self, served: ServedVersions, actuator: ExperimentActuator, *,
                 serves: bool, clock: Callable[[], float] = time.time,
                 experiments: str = "") -> None:
        self.served = served
        #: the configured experiments (a promoted shadow's challenger runs in its model's)
        self.experiments = experiments
        self.actuator = actuator
        self.serves = serves
        self.clock = clock

    async def take(self, raw: bytes) -> list[Alert]:
        """Act on one model update (its bytes as on the topic); return the tickets it fires
        or resolves, in the order to send them."""
        update = _decode_update(raw)
        if self.serves and isinstance(update, ModelVersionPublished | ExperimentStarted):
            # read a new version in a thread: serving goes on while a large one loads
            variants = set(self.actuator.split) | set(self.actuator.split_for(update.model))
            await asyncio.to_thread(self.served.preload, update.model, sorted(variants))
        tickets: list[Alert] = []
        if isinstance(update, ExperimentDecided):
            if self.serves:
                _act(update, self.served, self.actuator)
        elif isinstance(update, ExperimentStarted):
            self.actuator.forget(update.model)
            self.served.invalidate(update.model)  # a version that fails to load is logged
            log.warning("experiment %s started on %s: split %s, variants now served %s",
                        update.experiment, update.model, self.actuator.split_for(update.model),
                        self.served.serving(update.model))
        elif isinstance(update, ShadowDecided):
            if self.serves and update.action != "continue":
                apply_shadow_decision(update, self.served.store,
                                      configured_experiments=self.experiments)
                self.actuator.forget(update.model)
                self.served.invalidate(update.model)
        elif update is not None:
            failures = self.served.invalidate(update.model)
            log.info("model %s %s %s; variants now served %s", update.model, update.version,
                     update.action, self.served.serving(update.model))
            tickets += [load_failure_alert(failure, update) for failure in failures]
        tickets += [load_recovered_alert(over, now=self.clock())
                    for over in self.served.take_recovered()]
        return tickets


def _decode_update(raw: bytes) -> ModelUpdate | None:
    try:
        return decode_model_update(raw)
    except msgspec.MsgspecError:
        log.error("undecodable model update skipped: %r", raw[:200])
        return None


def _act(decision: ExperimentDecided, served: ServedVersions,
         actuator: ExperimentActuator) -> None:
    """Apply a final experiment decision to what this worker serves."""
    if decision.action not in ("promote", "rollback"):
        return
    model, challenger = decision.model, decision.challenger
    version = served.serving(model).get(challenger) or served.store.resolve(
        model, served.binding.ref(model, challenger))
    try:
        split = actuator.apply(
            model, decision.action, decision.champion, challenger, challenger_version=version,
            reason=f"experiment {decision.experiment} {decision.action} on {decision.metric} "
                   f"({challenger} {version}): {decision.reason}")
    except (OSError, ValueError) as exc:
        log.error("experiment %s: %s not applied: %s", decision.experiment, decision.action, exc)
        return
    served.invalidate(model)
    log.warning("experiment %s: %s (%s); %s now served %s, split %s", decision.experiment,
                decision.action, decision.reason, model, served.serving(model),
                split or actuator.split_for(model))
