"""What a shadow's final verdict changes in the registry, applied by the inference workers.

- ``promote_champion``: the ``champion`` alias moves to the shadow's version;
- ``promote_challenger``: the ``challenger`` alias moves to it and, where the model has an
  experiment (configured or started), the experiment ``MODEL-VERSION`` starts with its
  arms and share (:func:`streams.experiments.start.start_for_challenger`), a live
  experiment of its own;
- ``reject``: nothing moves.

Each final verdict ends the shadow (its share recorded as 0, with the verdict as the
reason, which ``inferwatch models MODEL`` prints). Every inference worker applies it; the
registry's writes are idempotent (an alias already there is not moved again, an ended
shadow is not ended again), so the first worker's write stands and the others' change
nothing. ``continue`` changes nothing.
"""

from __future__ import annotations

import logging

from inference.registry import ModelStore
from inference.shadow_binding import end_shadow, shadow_record
from streams.experiments.start import experiment_of, start_for_challenger
from streams.wire.events import ExperimentStarted, ShadowDecided

__all__ = ["apply_shadow_decision", "shadow_reason"]

log = logging.getLogger(__name__)

_DONE = {"promote_champion": "promoted to champion", "promote_challenger":
         "promoted to challenger", "reject": "rejected"}


def shadow_reason(decision: ShadowDecided) -> str:
    """The line a final verdict leaves in the registry."""
    return (f"{_DONE[decision.action]} ({decision.version} against "
            f"{decision.answer_version or 'the answers'}): {decision.reason}")


def apply_shadow_decision(decision: ShadowDecided, store: ModelStore, *,
                          configured_experiments: str = "") -> ExperimentStarted | None:
    """Apply a final verdict to ``store``; the experiment it started, if any.

    A verdict on a version that no longer shadows (the alias moved on, or the shadow is
    ended already) changes nothing.
    """
    if decision.action == "continue":
        return None
    held = shadow_record(store, decision.model)
    if held.get("version") != decision.version or "ended" in held:
        return None
    reason = shadow_reason(decision)
    started = None
    if decision.action == "promote_champion":
        store.set_alias(decision.model, "champion", decision.version, reason=reason)
    elif decision.action == "promote_challenger":
        store.set_alias(decision.model, "challenger", decision.version, reason=reason)
        template = experiment_of(configured_experiments, store, decision.model)
        if template is None:
            log.warning("%s %s promoted to challenger, but %s has no experiment to run it in "
                        "(INFERWATCH_MONITOR_EXPERIMENTS or `inferwatch experiment start`)",
                        decision.model, decision.version, decision.model)
        else:
            started = start_for_challenger(store, template, decision.version, decision.ts)
    end_shadow(store, decision.model, reason=reason)
    log.warning("shadow %s %s: %s", decision.model, decision.version, reason)
    return started

