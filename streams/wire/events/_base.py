"""The base of every event, the value checks the schemas share, and the enumerations."""

from __future__ import annotations

import math
from typing import Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1

#: ``value``: a regression's true value (new in this release; a previous release
#: dead-letters it as invalid, as it would any kind it does not know)
OutcomeKind = Literal["label", "conversion", "feedback", "value"]
Decision = Literal["drift", "ok", "breach", "insufficient"]
AlertStatus = Literal["firing", "resolved"]
Severity = Literal["page", "ticket", "info"]


def require_finite(name: str, values: dict[str, float] | list[float]) -> None:
    items = values.items() if isinstance(values, dict) else enumerate(values)
    for key, value in items:
        if not math.isfinite(value):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {value!r}")


def check_name(field: str, name: str, *, empty: bool = False) -> None:
    # model and variant names key topics, state and metrics: printable, so that no name
    # can pass for another in a key (the decision state's own keys begin with NUL)
    if not name.isprintable() or not (name or empty):
        raise ValueError(f"{field} must be a non-empty printable name, got {name!r}"
                         if not empty else f"{field} must be printable, got {name!r}")


def check_embedding(embedding: list[float] | None) -> None:
    if embedding is None:
        return
    if not embedding:
        raise ValueError("embedding must not be empty (leave it out instead)")
    if not math.isfinite(sum(embedding)):
        require_finite("embedding", embedding)


class Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=False, gc=False):
    """Base of every event: carries the schema version the producer spoke."""

    schema_version: Literal[1] = SCHEMA_VERSION
