"""``inferwatch experiment start NAME --model M --shadow VERSION``: a version in shadow.

The registry's ``shadow`` alias moves to ``VERSION`` with its share
(:func:`inference.shadow_binding.bind_shadow`); the alias move is announced on the
model-updates topic like any other (:class:`~streams.wire.events.ModelVersionPublished`
with ``alias`` ``shadow``), so the running inference workers read the model's shadow again
and score the share of its requests the hash of their ids picks, from the next batch on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from inference.registry import ModelStore
from inference.shadow_binding import SHADOW, bind_shadow
from streams.wire.events import ModelVersionPublished

#: writes the announcement to the model-updates topic (the command line binds it to Kafka)
PublishMove = Callable[[ModelVersionPublished], Coroutine[Any, Any, None]]


def start_shadow(store: ModelStore, name: str, model: str, version: str,
                 share: float | None, now: float) -> ModelVersionPublished:
    """Put ``version`` of ``model`` in shadow at ``share`` (None: the workers' default);
    the event that announces it. A ValueError names what is wrong before anything is
    written."""
    previous = store.aliases(model).get(SHADOW, "")
    bind_shadow(store, model, version, share, reason=f"experiment {name}: shadow started")
    return ModelVersionPublished(
        model=model, version=version, artifact=str(store.path_for(model, version)),
        action="promoted", alias=SHADOW, previous=previous, ts=now,
        reason=f"experiment {name}: shadow at "
               f"{'the default share' if share is None else f'{share:.0%}'}")


def run(publish: PublishMove, store: ModelStore, name: str, model: str, version: str,
        share: float | None, now: float) -> str:
    """Start the shadow (:func:`start_shadow`) and ``publish`` its announcement; what to
    print."""
    event = start_shadow(store, name, model, version, share, now)
    asyncio.run(publish(event))
    at = "INFERWATCH_INFERENCE_SHADOW_SHARE" if share is None else f"{share:.0%}"
    return (f"experiment {name}: {model} {version} in shadow on {at} of the requests "
            f"(picked by the hash of the request id), scored after the answers into the "
            f"shadow-predictions topic once the inference workers read it")
