"""Simulate options become a scenario: a preset, or each option on its Scenario field."""

from __future__ import annotations

from typing import Any

import pytest

from retrain.synthetic import Drift
from streams.simulation.scenarios import PRESETS, scenario_of, segment_of
from streams.simulation.simulator import RETRAINING_DRIFT, Scenario

#: ``inferwatch simulate``'s defaults, by their names
DEFAULTS: dict[str, Any] = dict(
    count=10000, rate=0.0, seed=0, run_id="sim", drift_at=None, drift_feature="f2",
    drift_shift=1.5, drift_scale=1.0, scenario=None, drift_segment=None, external_share=0.0,
    latency_from=None, latency_to=None, outcome_share=0.0, concept_drift_at=None,
    concept_flip=0.3, llm_share=0.0, topic_shift_at=None, topic_share=0.4,
    malformed_share=0.0, missing_feature=None, missing_share=0.0, challenger_share=0.0,
    challenger_lift=0.0, challenger_latency=0.0, experiment="ranker-exp")


def test_the_defaults_are_the_scenarios_own() -> None:
    assert scenario_of(DEFAULTS) == Scenario(count=10000)


def test_each_option_reaches_its_field_and_the_drift_is_built_from_its_four() -> None:
    options = {**DEFAULTS, "count": 500, "rate": 50.0, "seed": 3, "run_id": "r",
               "drift_at": 100, "drift_feature": "f3", "drift_shift": 2.0, "drift_scale": 1.5,
               "drift_segment": "region=eu", "external_share": 0.2, "latency_from": 10,
               "latency_to": 20, "outcome_share": 0.1, "concept_drift_at": 30,
               "concept_flip": 0.2, "llm_share": 0.3, "topic_shift_at": 40, "topic_share": 0.5,
               "malformed_share": 0.01, "missing_feature": "f1", "missing_share": 0.05,
               "challenger_share": 0.4, "challenger_lift": 0.1, "challenger_latency": 0.25,
               "experiment": "e", "command": "simulate", "handler": print}  # not the scenario's
    assert scenario_of(options) == Scenario(
        count=500, rate=50.0, seed=3, run_id="r", drift_at=100,
        drift=Drift("f3", 2.0, 1.5, segment={"region": "eu"}), external_share=0.2,
        latency_from=10, latency_to=20, outcome_share=0.1, concept_drift_at=30,
        concept_flip=0.2, llm_share=0.3, topic_shift_at=40, topic_share=0.5,
        malformed_share=0.01, missing_feature="f1", missing_share=0.05, challenger_share=0.4,
        challenger_lift=0.1, challenger_latency_s=0.25, experiment="e")


def test_without_drift_at_the_drift_options_are_not_used() -> None:
    assert scenario_of({**DEFAULTS, "drift_feature": "f3", "drift_segment": "region=eu"}
                       ).drift is None


def test_the_retraining_preset_labels_half_unless_told_and_keeps_its_own_drift() -> None:
    base = {**DEFAULTS, "scenario": "retraining", "count": 900, "seed": 2, "run_id": "p"}
    assert "retraining" in PRESETS
    assert scenario_of(base) == Scenario.retraining(900, seed=2, run_id="p")
    s = scenario_of({**base, "drift_at": 50, "outcome_share": 0.2, "external_share": 0.5})
    assert (s.drift_at, s.outcome_share, s.drift, s.external_share) == (
        50, 0.2, RETRAINING_DRIFT, 0.0)
    assert scenario_of(base).drift_at == 300  # a third of the count


@pytest.mark.parametrize(("change", "named"), [
    ({"drift_at": 10, "drift_feature": "nope"}, "Drift.feature"),
    ({"drift_at": 10, "drift_segment": "region=mars"}, "Drift.segment"),
    ({"external_share": 1.5}, "external_share"),
    ({"scenario": "chaos"}, "scenario must be one of"),
])
def test_a_wrong_option_is_a_value_error_that_names_it(change: dict[str, Any],
                                                       named: str) -> None:
    with pytest.raises(ValueError, match=named):
        scenario_of({**DEFAULTS, **change})


def test_a_segment_is_key_equals_value() -> None:
    assert segment_of("region=eu") == {"region": "eu"}
    assert segment_of("tier=") == {"tier": ""}
    assert segment_of(None) is None and segment_of("") is None
