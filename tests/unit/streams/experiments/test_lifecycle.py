"""Start and stop hand their event to the publisher they are given (registry in tmp)."""

from __future__ import annotations

from pathlib import Path

from inference.registry import ModelStore
from streams.experiments.spec import ExperimentSpec
from streams.experiments.start import run as start
from streams.experiments.stop import run as stop
from streams.experiments.stop import stop_decision
from streams.wire.events import ExperimentDecided, ExperimentStarted

SPEC = ExperimentSpec("churn-v2", "churn", "A", "B", 0.25)


class Published:
    """A publisher that keeps what it is handed."""

    def __init__(self) -> None:
        self.events: list[ExperimentStarted | ExperimentDecided] = []

    async def __call__(self, event: ExperimentStarted | ExperimentDecided) -> None:
        self.events.append(event)


def test_a_start_writes_the_registry_then_publishes_its_announcement(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    (tmp_path / "src").mkdir()
    for version in ("v1", "v2"):
        store.publish("churn", version, tmp_path / "src")
    published = Published()
    said = start(published, store, SPEC, "v2", 7.0)
    (event,) = published.events
    assert event == ExperimentStarted(experiment="churn-v2", model="churn", champion="A",
                                      challenger="B", share=0.25, challenger_version="v2",
                                      ts=7.0)
    assert store.traffic("churn") == {"A": 0.75, "B": 0.25}
    assert store.aliases("churn")["challenger"] == "v2"
    assert said.startswith("experiment churn-v2 started on churn: A 75% / B (version v2) 25%")


def test_a_stop_publishes_the_operators_rollback() -> None:
    published = Published()
    said = stop(published, SPEC, 9.0)
    assert published.events == [stop_decision(SPEC, 9.0)]
    (decision,) = published.events
    assert isinstance(decision, ExperimentDecided)
    assert (decision.action, decision.test, decision.ts) == ("rollback", "operator", 9.0)
    assert said == ("experiment churn-v2: rollback written; churn:B gets no more traffic once "
                    "the inference workers read it")
