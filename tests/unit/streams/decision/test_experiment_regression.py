"""A/B on a regression: the join's absolute errors per arm are the experiment's continuous
primary metric; a challenger with lower absolute error is promoted, an equal one (A/A) is
not, and the arms' sums survive the state's snapshot."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from streams.decision.stage import DecisionStage
from streams.experiments.spec import PRIMARY
from streams.wire.codec import SourceRecord, encode
from streams.wire.events import ExperimentDecided
from tests.unit.streams.decision.test_experiment import TOPICS, Clock, _stage, _summary


def _run(stage: DecisionStage, clock: Clock, noise: dict[str, float], rounds: int,
         seed: int) -> tuple[list[ExperimentDecided], dict[str, np.ndarray]]:
    """Rounds of 200 predictions per arm, each with its value's error ~ N(0, noise)."""
    rng, offset, units = np.random.default_rng(seed), 0, 0
    errors: dict[str, list[np.ndarray]] = {"A": [], "B": []}
    decided = []
    for _ in range(rounds):
        records = []
        for variant in ("A", "B"):
            e = rng.normal(0, noise[variant], 200)
            errors[variant].append(e)
            monitor = _summary(variant, offset, clock.t + 0.5, n=200, slo_good=200, errors=0)
            monitor.unit_keys = list(range(units, units + 200))
            units += 200
            join = _summary(variant, offset + 1, clock.t + 0.5, n=0)
            join.valued, join.abs_error_sum = 200, float(np.abs(e).sum())
            join.squared_error_sum, join.error_sum = float((e ** 2).sum()), float(e.sum())
            records += [SourceRecord(TOPICS.summaries, 0, offset + i, b"churn", encode(s))
                        for i, s in enumerate((monitor, join))]
            offset += 2
        clock.t += 1.0
        stage.add(records)
        decided += [msgspec.json.decode(o.value, type=ExperimentDecided)
                    for o in stage.flush(force=False) or [] if o.topic == TOPICS.model_updates]
        if decided and decided[-1].action != "continue":
            break
    return decided, {v: np.concatenate(e) for v, e in errors.items()}


def test_a_challenger_with_lower_absolute_error_is_promoted() -> None:
    clock = Clock()
    stage = _stage(clock)
    decided, errors = _run(stage, clock, {"A": 1.0, "B": 0.7}, rounds=60, seed=1)
    assert decided[-1].action == "promote" and decided[-1].metric == PRIMARY
    test = stage._models["churn"].experiment
    assert test is not None and not test.primary_binary
    # the arms hold the absolute errors joined when the challenger's window closed
    arm, base = test.challenger[PRIMARY], test.champion[PRIMARY]
    seen = np.abs(errors["B"])[:arm.n]
    assert arm.n >= 200 and arm.mean == pytest.approx(seen.mean(), rel=1e-12)
    assert arm.variance == pytest.approx(seen.var(), rel=1e-9)
    # the estimate is the challenger's MAE minus the champion's (lower is better)
    expected = seen.mean() - np.abs(errors["A"])[:base.n].mean()
    assert decided[-1].estimate == pytest.approx(expected, rel=1e-6)


def test_an_equal_challenger_is_not_promoted_and_the_arms_restore() -> None:
    clock = Clock()
    stage = _stage(clock)
    decided, _ = _run(stage, clock, {"A": 1.0, "B": 1.0}, rounds=30, seed=2)
    assert all(d.action == "continue" for d in decided)
    saved = stage.records("churn")
    again = _stage(clock)
    again.adopt(saved, lambda m: True)
    test, back = stage._models["churn"].experiment, again._models["churn"].experiment
    assert test is not None and back is not None and not back.primary_binary
    assert back.snapshot() == test.snapshot()
