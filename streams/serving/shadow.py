"""Shadow scoring: a model's shadow version scores a share of its answered requests.

The inference stage answers a micro-batch first, then hands the answered requests here:
those of a model with a shadow (:func:`inference.shadow_binding.shadow_of`) that its share
picks (:func:`inference.routing.in_share` of the request id) are grouped per (model, shadow
version) and scored by the stage like any group, into the ``shadow-predictions`` topic
(variant ``shadow``), each output a :class:`~streams.wire.events.ShadowPrediction` that
carries its request's answer, so that a label judges both with no other join. The
answers' timestamps and latencies are taken before any shadow forward pass, so a shadow
never shows in what its users waited; its outputs go out in the same transaction as the
answers, so after a crash both are replayed or neither is, and the shadow's count stays
exact: one per picked request.

Why a topic of its own: every reader of the predictions topic (the monitor, the join, the
sink, the census, the health watch, outside consumers) counts one answer per request; a
shadow output there would need each of them to learn to skip it. On its own topic, keyed
by request id with as many partitions, it lands on the same partition number as its
answer, so the join reads both together.

Which shadow a model has is read from the registry once per model, again after each model
update the worker takes in (:attr:`ServedVersions.changes`): a request costs a dict
lookup, and a hash only on a model that has a shadow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from inference.predictor import Predictor
from inference.routing import in_share
from inference.served_versions import ServedVersions
from inference.shadow_binding import SHADOW, ShadowBinding, shadow_of
from streams.wire.events import InferenceRequest, Prediction, ShadowPrediction

__all__ = ["SHADOW", "ServedShadows", "ShadowLookup", "ShadowPlan", "shadow_groups",
           "with_answer"]


@dataclass(frozen=True)
class ShadowPlan:
    """What shadows a model: its shadow's predictor, and the binding (version, share)."""

    predictor: Predictor
    binding: ShadowBinding

    def picks(self, request_id: str) -> bool:
        """Whether the shadow scores request ``request_id``."""
        return in_share(request_id, self.binding.share, self.binding.salt)


#: the shadow of a model (None: the model has none)
ShadowLookup = Callable[[str], ShadowPlan | None]


class _Held(Protocol):
    @property
    def request(self) -> InferenceRequest: ...


Item = TypeVar("Item", bound=_Held)


def shadow_groups(items: Iterable[Item], shadows: ShadowLookup
                  ) -> dict[tuple[str, str], tuple[Predictor, list[Item]]]:
    """The ``items`` (answered requests) each shadow scores, per (model, shadow version).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> plan = ShadowPlan(NS(version="v2"), ShadowBinding("churn", "v2", 1.0))
    >>> items = [NS(request=NS(id=f"r{i}", model=m)) for i, m in enumerate(["churn", "ads"])]
    >>> groups = shadow_groups(items, {"churn": plan}.get)
    >>> [(key, [p.request.id for p in held]) for key, (_, held) in groups.items()]
    [(('churn', 'v2'), ['r0'])]
    """
    plans: dict[str, ShadowPlan | None] = {}
    groups: dict[tuple[str, str], tuple[Predictor, list[Item]]] = {}
    for item in items:
        model = item.request.model
        plan = plans[model] if model in plans else plans.setdefault(model, shadows(model))
        if plan is None or not plan.picks(item.request.id):
            continue
        key = (model, plan.binding.version)
        if key not in groups:
            groups[key] = (plan.predictor, [])
        groups[key][1].append(item)
    return groups


def with_answer(pred: Prediction, answers: Mapping[str, tuple[int, str]]) -> None:
    """Give a shadow's output its request's answer (label, version); -1 where the answer
    was an error."""
    assert isinstance(pred, ShadowPrediction)  # the shadow's lane makes no other kind
    pred.answer_label, pred.answer_version = answers.get(pred.request_id, (-1, ""))


class ServedShadows:
    """The shadow of each model a worker serves, read from its registry.

    Parameters
    ----------
    served
        The worker's served versions: it loads the shadow's predictor (variant
        ``shadow``, bound to the ``shadow`` alias) and counts the model updates taken in.
    default_share
        The share of a shadow whose version has none recorded.
    """

    def __init__(self, served: ServedVersions, default_share: float) -> None:
        self.served = served
        self.default_share = default_share
        self._plans: dict[str, ShadowPlan | None] = {}
        self._seen = served.changes

    def __call__(self, model: str) -> ShadowPlan | None:
        """``model``'s shadow plan; None when it has no shadow (or a share of 0)."""
        if self._seen != self.served.changes:
            self._plans.clear()
            self._seen = self.served.changes
        if model not in self._plans:
            self._plans[model] = self._read(model)
        return self._plans[model]

    def _read(self, model: str) -> ShadowPlan | None:
        binding = shadow_of(self.served.store, model, self.default_share)
        if binding is None:
            return None
        predictor = self.served.predictor(model, SHADOW)
        if predictor is None or predictor.version != binding.version:
            return None  # the alias moved between the two reads: the next update settles it
        return ShadowPlan(predictor, binding)
