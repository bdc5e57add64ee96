"""The scenario a simulate run sends: a named preset, or one set option by option.

The options are those of ``inferwatch simulate``, by their names on the command line
(``--drift-at`` is ``drift_at``): a :class:`~streams.simulation.simulator.Scenario` field of
the same name takes each one as given; the drift is built from ``drift_feature``,
``drift_shift``, ``drift_scale`` and ``drift_segment`` (``KEY=VALUE``) when ``drift_at`` is
set, and ``challenger_latency`` is the challenger's extra seconds.

Examples
--------
>>> options = dict(count=900, rate=0.0, seed=0, run_id="sim", drift_at=None,
...                outcome_share=0.0, scenario="retraining")
>>> s = scenario_of(options)
>>> s.drift_at, s.drift.feature, s.outcome_share
(300, 'f7', 0.5)
>>> segment_of("region=eu")
{'region': 'eu'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from retrain.synthetic import Drift
from streams.simulation.simulator import Scenario

#: the named scenarios (``--scenario``)
PRESETS = ("retraining",)
#: the Scenario fields an option sets under the name it has
_AS_GIVEN = frozenset(f.name for f in fields(Scenario)) - {"drift", "challenger_latency_s"}


def segment_of(text: str | None) -> dict[str, str] | None:
    """The segment ``KEY=VALUE`` names (None: every row drifts)."""
    if not text:
        return None
    key, _, value = text.partition("=")
    return {key: value}


def scenario_of(options: Mapping[str, Any]) -> Scenario:
    """The scenario ``options`` describe; a ValueError names the option that is wrong."""
    drift = (Drift(options["drift_feature"], options["drift_shift"], options["drift_scale"],
                   segment=segment_of(options["drift_segment"]))
             if options["drift_at"] is not None else None)
    preset = options.get("scenario")
    if preset == "retraining":
        return Scenario.retraining(
            options["count"], rate=options["rate"], seed=options["seed"],
            run_id=options["run_id"], drift_at=options["drift_at"],
            outcome_share=options["outcome_share"] or 0.5)
    if preset is not None:
        raise ValueError(f"scenario must be one of {PRESETS}, got {preset!r}")
    given = {name: value for name, value in options.items() if name in _AS_GIVEN}
    return Scenario(**given, drift=drift,
                    challenger_latency_s=options.get("challenger_latency", 0.0))
