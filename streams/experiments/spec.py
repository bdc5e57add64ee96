"""Which experiments the decision step judges: ``INFERWATCH_MONITOR_EXPERIMENTS``.

``NAME=MODEL:CHAMPION:CHALLENGER:SHARE`` comma-separated, e.g. ``churn-v2=churn:A:B:0.5``:
the experiment ``churn-v2`` tests variant ``B`` of ``churn`` (served ``SHARE`` of the units,
the challenger) against variant ``A`` (the champion). Each variant is served the registry
version its binding names (``INFERWATCH_INFERENCE_VARIANT_VERSIONS``, best bound to the
aliases ``champion`` and ``challenger`` so that a promote moves what is served); units are
assigned by the sticky hash of (experiment, unit id) (``INFERWATCH_INFERENCE_EXPERIMENT``
salts the router).

Examples
--------
>>> parse_experiments("churn-v2=churn:A:B:0.5")
(ExperimentSpec(name='churn-v2', model='churn', champion='A', challenger='B', share=0.5),)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: the metrics of an experiment: the primary (label errors of the outcome join) and the
#: guardrails (predictions over the latency SLO threshold, predictions with a model error)
PRIMARY, SLOW, MODEL_ERROR = "label_error", "slow", "model_error"


@dataclass(frozen=True)
class ExperimentSpec:
    """One champion/challenger experiment of one model."""

    name: str
    model: str
    champion: str
    challenger: str
    share: float  # the challenger's configured share of the units


#: the experiment an operator started on a model (the registry's), None if none
StartedLookup = Callable[[str], ExperimentSpec | None]


def no_started(model: str) -> ExperimentSpec | None:
    """No experiment is ever started by an operator (the config's only)."""
    return None


def parse_experiments(text: str) -> tuple[ExperimentSpec, ...]:
    """Read the setting; a ValueError names the part that is wrong."""
    specs: list[ExperimentSpec] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, rest = part.partition("=")
        fields = [f.strip() for f in rest.split(":")]
        if not eq or not name.strip() or len(fields) != 4 or not all(fields):
            raise ValueError(f"expected NAME=MODEL:CHAMPION:CHALLENGER:SHARE "
                             f"(e.g. 'churn-v2=churn:A:B:0.5'), got {part!r}")
        model, champion, challenger, share_text = fields
        try:
            share = float(share_text)
        except ValueError:
            raise ValueError(f"{part!r}: SHARE must be a number, got {share_text!r}") from None
        check(part, champion, challenger, share)
        if any(s.name == name.strip() for s in specs):
            raise ValueError(f"experiment {name.strip()!r} is named twice")
        if any(s.model == model for s in specs):
            raise ValueError(f"{part!r}: model {model!r} already has an experiment")
        specs.append(ExperimentSpec(name.strip(), model, champion, challenger, share))
    return tuple(specs)


def check(what: str, champion: str, challenger: str, share: float) -> None:
    """A ValueError naming ``what`` if the arms or the share cannot make an experiment."""
    if not (math.isfinite(share) and 0.0 < share < 1.0):
        raise ValueError(f"{what!r}: SHARE must be in (0, 1), got {share}")
    if champion == challenger:
        raise ValueError(f"{what!r}: champion and challenger must differ")


def to_plain(spec: ExperimentSpec) -> dict[str, object]:
    """What the registry keeps of an experiment started on its model."""
    return {"name": spec.name, "champion": spec.champion, "challenger": spec.challenger,
            "share": spec.share}


def from_plain(model: str, plain: Mapping[str, object]) -> ExperimentSpec | None:
    """The experiment the registry holds for ``model`` (None: none, or unreadable)."""
    try:
        spec = ExperimentSpec(str(plain["name"]), model, str(plain["champion"]),
                              str(plain["challenger"]), float(plain["share"]))  # type: ignore[arg-type]
        check(spec.name, spec.champion, spec.challenger, spec.share)
    except (KeyError, TypeError, ValueError):
        return None
    return spec


def split_of(spec: ExperimentSpec) -> dict[str, float]:
    """The traffic split of an experiment's two arms."""
    return {spec.champion: 1.0 - spec.share, spec.challenger: spec.share}
