"""``inferwatch experiment start NAME``: an operator starts a champion/challenger experiment.

The experiment is written to the registry (:meth:`ModelStore.start_experiment`: its arms
and share, and the split they are served, replacing a rolled-back challenger's zero share);
with ``--challenger-version`` the registry's ``challenger`` alias moves to that version, so
a challenger variant bound to the alias (``INFERWATCH_INFERENCE_VARIANT_VERSIONS``, e.g.
``churn:B=challenger``, with ``B`` in ``INFERWATCH_INFERENCE_VARIANTS`` at share 0 until
started, e.g. ``A=1.0,B=0.0``) serves it. Then an :class:`~streams.wire.events.ExperimentStarted` on
the model-updates topic tells the running inference workers to read the model's split
(salted by the experiment's name) and bindings again; the decision step reads the
registry's experiment within a few seconds and judges it from its next windows. An
experiment named in ``INFERWATCH_MONITOR_EXPERIMENTS`` for the same model is replaced by
the started one. ``inferwatch experiment stop NAME`` rolls it back.

The retrain worker starts one the same way for each candidate that passed validation on a
model with an experiment (:func:`start_for_challenger`): the experiment ``MODEL-VERSION``,
with the arms and share of the model's experiment, so every retrained challenger is judged
on its own windows from its start, and a rollback of an earlier one (its zero share) does
not keep the next from being served.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from typing import Any

from inference.registry import ModelStore
from streams.experiments.spec import (
    ExperimentSpec,
    check,
    from_plain,
    parse_experiments,
    split_of,
    to_plain,
)
from streams.wire.events import ExperimentStarted

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

#: writes the announcement to the model-updates topic (the command line binds it to Kafka)
PublishStarted = Callable[[ExperimentStarted], Coroutine[Any, Any, None]]


def spec_from_args(name: str, model: str | None, champion: str, challenger: str,
                   share: float) -> ExperimentSpec:
    """The experiment the command line describes; a ValueError names what is wrong."""
    if not model:
        raise ValueError("--model is needed: the model whose traffic is split")
    check(name, champion, challenger, share)
    for field, value in (("name", name), ("--model", model), ("--champion", champion),
                         ("--challenger", challenger)):
        if not NAME.match(value):
            raise ValueError(f"{field} must be letters, digits, '.', '_' or '-', got {value!r}")
    return ExperimentSpec(name, model, champion, challenger, share)


def known_experiments(configured: str, store: ModelStore) -> dict[str, ExperimentSpec]:
    """Every experiment by name: the config's, and those started in the registry."""
    specs = {s.name: s for s in parse_experiments(configured)}
    for model in store.models():
        spec = from_plain(model, store.experiment(model))
        if spec is not None:
            specs[spec.name] = spec
    return specs


def start(store: ModelStore, spec: ExperimentSpec, challenger_version: str | None,
          now: float) -> ExperimentStarted:
    """Record ``spec`` in the registry; the event that announces it. A ValueError names
    what is wrong (an unknown version) before anything is written."""
    if challenger_version is not None:
        store.set_alias(spec.model, "challenger", challenger_version)
    store.start_experiment(spec.model, to_plain(spec), split_of(spec))
    return _announcement(spec, challenger_version, now)


def _announcement(spec: ExperimentSpec, challenger_version: str | None,
                  now: float) -> ExperimentStarted:
    return ExperimentStarted(experiment=spec.name, model=spec.model, champion=spec.champion,
                             challenger=spec.challenger, share=spec.share,
                             challenger_version=challenger_version, ts=now)


def experiment_of(configured: str, store: ModelStore, model: str) -> ExperimentSpec | None:
    """``model``'s experiment: the config's, else the one last started in the registry."""
    for spec in parse_experiments(configured):
        if spec.model == model:
            return spec
    return from_plain(model, store.experiment(model))


def start_for_challenger(store: ModelStore, template: ExperimentSpec, version: str,
                         now: float) -> ExperimentStarted | None:
    """Start the experiment of challenger ``version`` with ``template``'s arms and share,
    once; the event that announces it (again, for a replay), or None when the challenger
    alias has moved on to another version since (nothing to start)."""
    if store.aliases(template.model).get("challenger") != version:
        return None
    spec = ExperimentSpec(f"{template.model}-{version}", template.model, template.champion,
                          template.challenger, template.share)
    if store.experiment(spec.model).get("name") != spec.name:  # else started before: as is
        start(store, spec, None, now)  # the retrain moved the alias already
    return _announcement(spec, version, now)


def run(publish: PublishStarted, store: ModelStore, spec: ExperimentSpec,
        challenger_version: str | None, now: float) -> str:
    """Start ``spec`` (:func:`start`) and ``publish`` its announcement; what to print."""
    event = start(store, spec, challenger_version, now)
    asyncio.run(publish(event))
    serves = f" (version {challenger_version})" if challenger_version else ""
    return (f"experiment {spec.name} started on {spec.model}: {spec.champion} "
            f"{1 - spec.share:.0%} / {spec.challenger}{serves} {spec.share:.0%}, units assigned "
            f"by the hash of ({spec.name}, unit id) once the inference workers read it")
