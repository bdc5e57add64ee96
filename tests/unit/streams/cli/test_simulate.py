"""``inferwatch simulate``: every option it declares reaches the scenario it runs."""

from __future__ import annotations

import pytest

from streams.cli.main import parser
from streams.simulation.scenarios import scenario_of
from streams.simulation.simulator import Scenario

#: the drift options matter only with a drift: the baseline has one
BASE = ["simulate", "--drift-at", "5"]
#: one non-default value per option
CHANGES = [
    ["--count", "11"], ["--rate", "5"], ["--seed", "1"], ["--run-id", "x"],
    ["--drift-at", "6"], ["--drift-feature", "f3"], ["--drift-shift", "2"],
    ["--drift-scale", "2"], ["--drift-segment", "region=eu"], ["--scenario", "retraining"],
    ["--external-share", "0.5"], ["--latency-from", "3"], ["--latency-to", "4"],
    ["--outcome-share", "0.5"], ["--concept-drift-at", "3"], ["--concept-flip", "0.5"],
    ["--llm-share", "0.4"], ["--topic-shift-at", "3"], ["--topic-share", "0.5"],
    ["--malformed-share", "0.5"], ["--missing-feature", "f1"], ["--missing-share", "0.5"],
    ["--challenger-share", "0.5"], ["--challenger-lift", "0.5"],
    ["--challenger-latency", "0.5"], ["--experiment", "x"]]


def _scenario(argv: list[str]) -> Scenario:
    return scenario_of(vars(parser().parse_args(argv)))


def test_every_option_is_listed_here() -> None:
    declared = set(vars(parser().parse_args(["simulate"]))) - {"command", "handler"}
    assert {option.removeprefix("--").replace("-", "_") for option, _ in CHANGES} == declared


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_each_option_changes_the_scenario(change: list[str]) -> None:
    assert _scenario([*BASE, *change]) != _scenario(BASE)


def test_no_option_runs_the_scenarios_defaults() -> None:
    assert _scenario(["simulate"]) == Scenario(count=10000)
