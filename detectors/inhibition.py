"""Inhibition: an alert explained by an upstream fault of the same model is held.

An alert whose kind an :class:`InhibitRule` targets (drift, by default) is held while an
alert of a source kind (schema, consumer lag, data quality) is active for the same model,
or for every model (model ``*``: an undecodable record names no model).

Examples
--------
>>> from detectors.alert_signal import AlertSignal
>>> schema = AlertSignal("*", "schema", "firing")
>>> inhibited(AlertSignal("ranker", "psi", "firing", kind="drift"), DEFAULT_INHIBIT_RULES,
...           [schema])
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from detectors.alert_signal import AlertSignal

__all__ = ["DEFAULT_INHIBIT_RULES", "InhibitRule", "inhibited"]


@dataclass(frozen=True)
class InhibitRule:
    """Hold alerts of a ``targets`` kind while one of a ``sources`` kind is active (same model)."""

    sources: frozenset[str]
    targets: frozenset[str]


DEFAULT_INHIBIT_RULES: tuple[InhibitRule, ...] = (
    InhibitRule(sources=frozenset({"schema", "consumer_lag", "data_quality"}),
                targets=frozenset({"drift"})),
)


def inhibited(signal: AlertSignal, rules: Sequence[InhibitRule],
              others: Iterable[AlertSignal]) -> bool:
    """Whether a rule holds ``signal`` given the ``others`` alerts now active."""
    kind = signal.effective_kind
    sources = [o for o in others if o.model in (signal.model, "*")]
    return any(kind in rule.targets and any(o.effective_kind in rule.sources for o in sources)
               for rule in rules)
