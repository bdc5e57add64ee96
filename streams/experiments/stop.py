"""``inferwatch experiment stop NAME``: an operator rolls an experiment back by hand.

It writes a rollback decision for the experiment (``test="operator"``) to the
model-updates topic, as the decision step would: the inference role sends the challenger's
share to zero (kept in the registry), the sink stores the decision, and ``experiment
status`` shows the experiment as rolled back. No challenger window closes after that, so
the decision step judges it no more.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from streams.experiments.spec import ExperimentSpec
from streams.wire.events import ExperimentDecided

#: writes the rollback to the model-updates topic (the command line binds it to Kafka)
PublishDecided = Callable[[ExperimentDecided], Coroutine[Any, Any, None]]


def stop_decision(spec: ExperimentSpec, now: float) -> ExperimentDecided:
    """The rollback an operator's stop writes."""
    key = f"{spec.name}\x00operator-stop\x00{now!r}"
    return ExperimentDecided(
        id=hashlib.blake2b(key.encode(), digest_size=12).hexdigest(), experiment=spec.name,
        model=spec.model, champion=spec.champion, challenger=spec.challenger,
        action="rollback", metric="", test="operator", estimate=None, lower=None, upper=None,
        p_value=1.0, n_champion=0, n_challenger=0, srm_p_value=1.0,
        reason="stopped by an operator", ts=now)


def run(publish: PublishDecided, spec: ExperimentSpec, now: float) -> str:
    """``publish`` the rollback of ``spec`` (:func:`stop_decision`); what to print."""
    decision = stop_decision(spec, now)
    asyncio.run(publish(decision))
    return (f"experiment {spec.name}: rollback written; {spec.model}:{spec.challenger} gets "
            "no more traffic once the inference workers read it")
