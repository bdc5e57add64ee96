"""``inferwatch experiment status``: the fold of decisions and its lines (pure)."""

from __future__ import annotations

from streams.cli.experiment import latest, lines
from streams.wire.events import ExperimentDecided


def _d(action: str, ts: float, n: int, experiment: str = "churn-v2") -> ExperimentDecided:
    return ExperimentDecided(
        id=f"{experiment}{ts}", experiment=experiment, model="churn", champion="A",
        challenger="B", action=action, metric="label_error", test="mixture-sprt-two-sided",
        estimate=-0.04, lower=-0.06, upper=-0.02 if action != "continue" else 0.01,
        p_value=0.01, n_champion=n, n_challenger=n + 3, srm_p_value=0.7, reason="r", ts=ts)


def test_the_final_decision_wins_over_later_looks_and_each_experiment_has_one() -> None:
    folded = latest([_d("continue", 1.0, 100), _d("promote", 2.0, 200),
                     _d("continue", 3.0, 300), _d("continue", 5.0, 50, "fraud-v3"),
                     _d("continue", 4.0, 40, "fraud-v3")])
    assert {k: (v.action, v.n_champion) for k, v in folded.items()} == {
        "churn-v2": ("promote", 200), "fraud-v3": ("continue", 50)}
    text = lines(folded)
    assert text[0].startswith("experiment churn-v2: model churn, champion A, challenger B: "
                              "PROMOTE (r) at 1970-01-01 00:00:02Z")
    assert text[1] == ("  label_error: challenger - champion -0.0400 [-0.0600, -0.0200], "
                       "p 0.01 (mixture-sprt-two-sided)")
    assert text[2] == "  samples: A 200, B 203; sample-ratio p 0.7"
    assert lines({}) == ["no experiment has been judged yet (INFERWATCH_MONITOR_EXPERIMENTS)"]
