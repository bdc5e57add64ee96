"""On the real broker: champion/challenger experiments decided on the stream.

The outside ranker runs an experiment (``streams.simulation.simulator``: units assigned by
the sticky hash of (experiment, unit id), true labels as outcomes); the worker's monitor,
outcome join and decision step judge it, and its inference role acts on the decision. A truly better
challenger is promoted, and the registry's ``champion`` alias moves to its version; a
slower one is rolled back by the latency guardrail, pages once, and its share goes to
zero in the registry (the page ends once B gets no more traffic); a 52/48 split
configured as 50/50 is flagged by the sample-ratio test. Decisions land in ClickHouse
once. The inference worker's assignment stays on the sticky hash across a kill -9 and a
second worker joining its group.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import msgspec

from inference.registry import ModelStore
from streams.decision.experiment import ROLLOUT_GRACE_S
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.events import Alert, ExperimentDecided
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume


def _setup(env: dict[str, str], tmp_path: Path, model_dir: Path) -> tuple[KafkaSettings,
                                                                             ModelStore]:
    """The ranker published as v1 (champion) and v2 (challenger) in this test's store."""
    root = tmp_path / "models"
    shutil.copytree(model_dir, root)
    store = ModelStore(root)
    for version in ("v1", "v2"):
        store.publish("ranker", version, model_dir / "churn" / "v1")
    store.set_alias("ranker", "champion", "v1")
    env.update({
        "INFERWATCH_INFERENCE_MODEL_DIR": str(root),
        "INFERWATCH_INFERENCE_VARIANTS": "A=0.5,B=0.5",
        "INFERWATCH_INFERENCE_VARIANT_VERSIONS": "ranker:A=champion,ranker:B=v2",
        "INFERWATCH_INFERENCE_EXPERIMENT": "ranker-exp",
        "INFERWATCH_MONITOR_EXPERIMENTS": "ranker-exp=ranker:A:B:0.5",
        "INFERWATCH_MONITOR_WINDOW_SIZE": "500",
        "INFERWATCH_MONITOR_SUMMARY_INTERVAL_S": "0.5",
    })
    return KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                         topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"]), store


def _decisions(kafka: KafkaSettings, final: bool = True) -> list[ExperimentDecided]:
    topic = Topics(kafka.topic_prefix).model_updates

    def decoded(records: list) -> list[ExperimentDecided]:  # type: ignore[type-arg]
        return [msgspec.json.decode(r.value, type=ExperimentDecided) for r in records
                if b'"experiment_decided"' in r.value]

    def done(records: list) -> bool:  # type: ignore[type-arg]
        return any(d.action != "continue" or not final for d in decoded(records))

    return decoded(asyncio.run(consume(kafka, topic, until=done, timeout=120)))


def _wait(check: object, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def _has(detector: str) -> object:
    def found(records: list) -> bool:  # type: ignore[type-arg]
        return any(msgspec.json.decode(r.value, type=Alert).labels.get("detector") == detector
                   for r in records)
    return found


def _stored(tmp_path: Path) -> list[tuple[str, str]]:
    store = ClickHouseStore(f"chdb://{tmp_path / 'chdb'}")
    try:
        rows = store.query("SELECT id, action FROM experiment_decisions FINAL "
                           "WHERE action != 'continue'")
    finally:
        store.close()
    return [(str(a), str(b)) for a, b in rows]


def test_a_better_challenger_is_promoted_and_the_champion_alias_moves(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    kafka, store = _setup(env, tmp_path, model_dir)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(
        count=8000, rate=1500, seed=61, run_id="better", external_share=1.0,
        outcome_share=1.0, challenger_share=0.5, challenger_lift=0.5, ranker_error=0.2,
        experiment="ranker-exp")))
    final = [d for d in _decisions(kafka) if d.action != "continue"]
    assert [(d.action, d.metric) for d in final] == [("promote", "label_error")], worker.tail()
    d = final[0]
    assert d.upper is not None and d.upper < 0 and d.n_champion >= 100
    assert d.srm_p_value > 0.001  # a healthy 50/50 split is not flagged
    assert _wait(lambda: store.aliases("ranker").get("champion") == "v2"), worker.tail()
    assert store.traffic("ranker") == {}
    worker.kill9()  # the decision is in ClickHouse once, whatever the sink had committed
    worker.start()
    time.sleep(5)
    assert worker.stop() == 0, worker.tail()
    assert _stored(tmp_path) == [(d.id, "promote")]


def test_a_slower_challenger_is_rolled_back_by_the_latency_guardrail(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    """Slow by design (about 30 s): 9,000 outside predictions at 1,500/s for the guardrail's
    windows, and two quiet waits (5 s, then the rollout grace) to show that the page does not
    repeat and that B gets no more traffic.
    """
    kafka, store = _setup(env, tmp_path, model_dir)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(
        count=6000, rate=1500, seed=62, run_id="slower", external_share=1.0,
        outcome_share=1.0, challenger_share=0.5, challenger_latency_s=0.3,
        ranker_error=0.2, experiment="ranker-exp")))
    final = [d for d in _decisions(kafka) if d.action != "continue"]
    assert [(d.action, d.metric, d.test) for d in final] == [
        ("rollback", "slow", "mixture-sprt-one-sided")], worker.tail()
    assert _wait(lambda: store.traffic("ranker") == {"A": 1.0, "B": 0.0}), worker.tail()
    time.sleep(5)  # later windows: the page must not repeat
    alerts = [msgspec.json.decode(r.value, type=Alert) for r in asyncio.run(consume(
        kafka, Topics(kafka.topic_prefix).alerts, until=_has("experiment_guardrail"),
        timeout=30))]
    pages = [a for a in alerts if a.labels.get("detector") == "experiment_guardrail"]
    assert [(a.status, a.labels.get("metric")) for a in pages] == [("firing", "slow")]
    # the outside ranker stops sending traffic to B (its share is zero now): once the
    # champion's windows show it, the page ends with the identity it fired with
    time.sleep(ROLLOUT_GRACE_S)
    asyncio.run(simulate(kafka, Scenario(
        count=3000, rate=1500, seed=63, run_id="slower-after", external_share=1.0,
        outcome_share=1.0, ranker_error=0.2)))

    def resolved(records: list) -> bool:  # type: ignore[type-arg]
        return any(b'"resolved"' in r.value and b"experiment_guardrail" in r.value
                   for r in records)

    alerts = [msgspec.json.decode(r.value, type=Alert) for r in asyncio.run(consume(
        kafka, Topics(kafka.topic_prefix).alerts, until=resolved, timeout=60))]
    pages = [a for a in alerts if a.labels.get("detector") == "experiment_guardrail"]
    assert [a.status for a in pages] == ["firing", "resolved"], worker.tail()
    assert pages[1].fingerprint == pages[0].fingerprint
    assert worker.stop() == 0, worker.tail()


def test_a_52_48_router_bug_is_flagged_by_the_sample_ratio_test(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    kafka, _ = _setup(env, tmp_path, model_dir)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(  # served 52/48, configured 50/50
        count=40_000, rate=4000, seed=63, run_id="srm", external_share=1.0,
        outcome_share=0.2, challenger_share=0.48, ranker_error=0.2,
        experiment="ranker-exp", units=1_000_000)))  # the test counts units: ~39,000
    flagged = _has("experiment_srm")
    alerts = asyncio.run(consume(kafka, Topics(kafka.topic_prefix).alerts, until=flagged,
                                 timeout=120))
    assert flagged(alerts), worker.tail()
    assert worker.stop() == 0, worker.tail()


def test_assignment_stays_sticky_across_a_kill_9_and_a_second_worker(
        env: dict[str, str], tmp_path: Path) -> None:
    from inference.routing import VariantRouter
    from streams.wire.events import Prediction

    env.update({"INFERWATCH_INFERENCE_VARIANTS": "A=0.5,B=0.5",
                "INFERWATCH_INFERENCE_EXPERIMENT": "churn-v2"})
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    (tmp_path / "b").mkdir()
    a = Worker({**env, "INFERWATCH_KAFKA_WORKER_ID": "a"}, tmp_path / "a.log")
    b = Worker({**env, "INFERWATCH_KAFKA_WORKER_ID": "b",
                "INFERWATCH_TEST_DIR": str(tmp_path / "b")}, tmp_path / "b.log")
    try:
        a.start(roles="inference")
        asyncio.run(simulate(kafka, Scenario(count=3000, rate=2000, seed=71, run_id="one")))
        a.kill9()
        a.start(roles="inference")
        b.start(roles="inference")  # the group rebalances: partitions move between them
        asyncio.run(simulate(kafka, Scenario(count=3000, rate=2000, seed=72, run_id="two")))
        topic = Topics(kafka.topic_prefix).predictions
        preds = [msgspec.json.decode(r.value, type=Prediction) for r in asyncio.run(consume(
            kafka, topic, until=lambda rs: len(rs) >= 6000, timeout=120))]
        assert a.stop() == 0 and b.stop() == 0, a.tail() + b.tail()
    finally:
        for w in (a, b):
            if w.proc is not None and w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
    assert len({p.request_id for p in preds}) == 6000
    router = VariantRouter({"A": 0.5, "B": 0.5}, salt="churn-v2")
    assert all(p.variant == router.assign(p.unit_id) for p in preds)
    runs: dict[str, set[str]] = {}
    for p in preds:
        runs.setdefault(p.unit_id, set()).add(p.request_id.split("-")[0])
    assert sum(len(r) == 2 for r in runs.values()) > 200  # units seen before and after


def test_an_operator_stop_sends_the_challengers_share_to_zero(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    from streams.cli.experiment import latest
    from streams.cli.experiment import stop_on_kafka as stop
    from streams.experiments.spec import parse_experiments

    kafka, store = _setup(env, tmp_path, model_dir)
    worker.start(roles="inference")
    (spec,) = parse_experiments(env["INFERWATCH_MONITOR_EXPERIMENTS"])
    stop(kafka, spec, now=123.0)
    assert _wait(lambda: store.traffic("ranker") == {"A": 1.0, "B": 0.0}), worker.tail()
    (d,) = latest(_decisions(kafka)).values()
    assert (d.action, d.test, d.reason) == ("rollback", "operator", "stopped by an operator")
    assert worker.stop() == 0, worker.tail()


def test_an_experiment_started_on_a_running_worker_splits_its_traffic_and_is_judged(
        worker: Worker, env: dict[str, str], tmp_path: Path, model_dir: Path) -> None:
    from inference.routing import VariantRouter
    from streams.cli.experiment import start_on_kafka as start
    from streams.cli.experiment import stop_on_kafka as stop
    from streams.experiments.start import spec_from_args
    from streams.wire.events import Prediction

    root = tmp_path / "models"
    shutil.copytree(model_dir, root)
    store = ModelStore(root)
    store.publish("churn", "v2", model_dir / "churn" / "v1")
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(root),
                "INFERWATCH_INFERENCE_VARIANTS": "A=1.0,B=0.0",  # B: no traffic until started
                "INFERWATCH_INFERENCE_VARIANT_VERSIONS": "churn:A=v1,churn:B=challenger",
                "INFERWATCH_MONITOR_WINDOW_SIZE": "500",
                "INFERWATCH_MONITOR_SUMMARY_INTERVAL_S": "0.5"})
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=2000, rate=1500, seed=81, run_id="before")))
    predictions = Topics(kafka.topic_prefix).predictions
    asyncio.run(consume(kafka, predictions, until=lambda rs: len(rs) >= 2000, timeout=120))
    spec = spec_from_args("live-exp", "churn", "A", "B", 0.5)
    print(start(kafka, store, spec, "v2", time.time()))
    assert _wait(lambda: "experiment live-exp started on churn" in worker.log.read_text()), \
        worker.tail()
    asyncio.run(simulate(kafka, Scenario(count=6000, rate=1500, seed=82, run_id="after",
                                         outcome_share=1.0)))
    preds = [msgspec.json.decode(r.value, type=Prediction) for r in asyncio.run(consume(
        kafka, predictions, until=lambda rs: len(rs) >= 8000,
        timeout=120))]
    assert len({p.request_id for p in preds}) == 8000
    before = [p for p in preds if p.request_id.startswith("before")]
    after = [p for p in preds if p.request_id.startswith("after")]
    assert {(p.variant, p.model_version) for p in before} == {("A", "v1")}
    router = VariantRouter({"A": 0.5, "B": 0.5}, salt="live-exp")
    assert all(p.variant == router.assign(p.unit_id) for p in after)
    assert {(p.variant, p.model_version) for p in after} == {("A", "v1"), ("B", "v2")}
    looks = [d for d in _decisions(kafka, final=False) if d.experiment == "live-exp"]
    # judged as its windows close: the first looks may come before any label has joined
    assert looks and {d.model for d in looks} == {"churn"}, worker.tail()
    def labelled(records: list) -> bool:  # type: ignore[type-arg]
        return any(b'"live-exp"' in r.value and msgspec.json.decode(
            r.value, type=ExperimentDecided).n_challenger > 0 for r in records
            if b'"experiment_decided"' in r.value)

    assert labelled(asyncio.run(consume(kafka, Topics(kafka.topic_prefix).model_updates,
                                        until=labelled, timeout=90))), worker.tail()
    stop(kafka, spec, time.time())  # found in the registry, not in the config
    assert _wait(lambda: store.traffic("churn") == {"A": 1.0, "B": 0.0}), worker.tail()
    assert worker.stop() == 0, worker.tail()
