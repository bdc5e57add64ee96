"""The retraining loop on the real broker: drift → one request → a validated version →
served without losing or doubling a request; a worse candidate, a corrupt artifact, a
candidate that passes validation but is too slow in serving (rolled back by its
experiment) and a kill -9 mid-training each end where they should."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import msgspec
import numpy as np

from inference.registry import ModelStore
from retrain.candidate import TrainedCandidate, fine_tuned, warm_start
from retrain.examples import LabelledExamples
from retrain.holdout_gate import HoldoutGate, PairedGate
from retrain.retrain_job import CHALLENGER, CHAMPION, RetrainJob
from retrain.synthetic import FEATURES, FeatureGenerator
from retrain.validation import ValidationPolicy
from streams.decision.experiment import ROLLOUT_GRACE_S
from streams.experiments.start import experiment_of
from streams.kafka import clients as kafka_clients
from streams.retraining.labelled_examples import topic_source
from streams.retraining.worker import RetrainWorker
from streams.settings import KafkaSettings, RetrainSettings
from streams.simulation.simulator import RETRAINING_DRIFT, Scenario, simulate
from streams.wire.codec import encode
from streams.wire.events import (
    Alert,
    ExperimentDecided,
    Latency,
    ModelOutput,
    ModelVersionPublished,
    Outcome,
    Prediction,
    RetrainRequested,
)
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, Worker, consume, kafka_of

RETRAIN_ENV = {"INFERWATCH_RETRAIN_MIN_EXAMPLES": "1500", "INFERWATCH_RETRAIN_MAX_EPOCHS": "10",
               "INFERWATCH_RETRAIN_LABEL_WAIT_S": "120", "INFERWATCH_RETRAIN_MARGIN": "0.01"}


def _store(model_dir: Path, tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    store.publish("churn", "v1", model_dir / "churn" / "v1")
    return store


def _read(kafka: KafkaSettings, role: str, timeout: float = 3.0) -> list[bytes]:
    topic = Topics(kafka.topic_prefix).name(role)
    return [m.value for m in asyncio.run(consume(kafka.bootstrap, topic,
                                                 until=lambda r: False, timeout=timeout))]


def _updates(kafka: KafkaSettings) -> list[ModelVersionPublished]:
    return [msgspec.json.decode(v, type=ModelVersionPublished)
            for v in _read(kafka, "model-updates") if b'"event":"experiment_' not in v]


def _wait(what: str, check: object, worker: Worker | None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}:\n{worker.tail() if worker else ''}"
        time.sleep(1.0)


def _served_accuracy(kafka: KafkaSettings, ids: set[str]) -> dict[str, tuple[float, int]]:
    """Per version that answered: accuracy on the labelled requests among ``ids``."""
    preds = [msgspec.json.decode(v, type=Prediction) for v in _read(kafka, "predictions")]
    truth = {o.request_id: int(o.value) for o in (
        msgspec.json.decode(v, type=Outcome) for v in _read(kafka, "outcomes"))}
    hits: dict[str, list[bool]] = {}
    for p in preds:
        if p.request_id in ids and p.request_id in truth:
            hits.setdefault(p.model_version, []).append(p.output.label == truth[p.request_id])
    return {v: (float(np.mean(h)), len(h)) for v, h in hits.items()}


def test_drift_gives_one_retrain_whose_version_serves_with_no_request_lost_or_doubled(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    """Slow by design (about 50 s): 12,000 labelled requests at 1,500/s so that the drift is
    sustained and the retrain has its examples, a real fine-tune and validation, a hot
    reload, then 6,000 more requests to show the new version answering every one of them.
    """
    store = _store(model_dir, tmp_path)
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root), **RELAXED_LATENCY,
                **RETRAIN_ENV})
    kafka = kafka_of(env)
    worker.start(roles="inference,monitor,join,decide,retrain")
    pre = Scenario.retraining(12000, rate=1500, seed=11, run_id="pre", drift_at=3000,
                              outcome_share=0.6)
    asyncio.run(simulate(kafka, pre))
    _wait("no version was promoted", lambda: any(
        u.action == "promoted" for u in _updates(kafka)), worker)
    _wait("the agents did not switch", lambda: "variants now served {'A': 'v2'}"
          in worker.log.read_text(), worker, timeout=30)

    _check_one_retrain_promoted_v2(kafka, store)

    post = Scenario(count=6000, rate=1500, seed=12, run_id="post", drift_at=0,
                    drift=RETRAINING_DRIFT, outcome_share=1.0)
    asyncio.run(simulate(kafka, post))
    expected = {f"pre-{i:09d}" for i in range(pre.count)} | {
        f"post-{i:09d}" for i in range(post.count)}
    got = asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).predictions,
                              until=lambda r: len(r) >= len(expected), timeout=120))
    ids = [msgspec.json.decode(m.value, type=Prediction).request_id for m in got]
    time.sleep(2)  # anything more (a double) would arrive now
    ids += [msgspec.json.decode(v, type=Prediction).request_id
            for v in _read(kafka, "predictions")][len(ids):]
    assert sorted(ids) == sorted(expected), worker.tail()  # each request answered once

    drifted = {f"pre-{i:09d}" for i in range(3000, pre.count)} | {
        f"post-{i:09d}" for i in range(post.count)}
    acc = _served_accuracy(kafka, drifted)
    print(f"post-drift accuracy by version (accuracy, labelled): {acc}")
    assert acc["v2"][1] > 4000 and acc["v1"][1] > 2000
    assert acc["v2"][0] - acc["v1"][0] > 0.03, acc

    _check_a_corrupt_champion_is_ticketed_until_the_alias_moves_back(
        kafka, store, worker, tmp_path, answered=len(expected))
    assert worker.stop() == 0, worker.tail()


def _check_one_retrain_promoted_v2(kafka: KafkaSettings, store: ModelStore) -> None:
    """One retrain request; v2 published from it, validated, and promoted to champion."""
    requests = [msgspec.json.decode(v, type=RetrainRequested) for v in _read(kafka, "retrain")]
    assert len(requests) == 1 and requests[0].evidence, requests
    published, promoted = _updates(kafka)
    assert (published.action, published.version, published.parent, published.passed) == (
        "published", "v2", "v1", True)
    assert published.retrain_id == requests[0].id and published.checks[0].passed
    assert published.metrics["candidate_accuracy"] > published.metrics["champion_accuracy"]
    assert (promoted.action, promoted.alias, promoted.version, promoted.previous) == (
        "promoted", CHAMPION, "v2", "v1")
    assert store.aliases("churn") == {CHAMPION: "v2"}


def _check_a_corrupt_champion_is_ticketed_until_the_alias_moves_back(
        kafka: KafkaSettings, store: ModelStore, worker: Worker, tmp_path: Path, *,
        answered: int) -> None:
    """A corrupt artifact made champion: a clear error, a ticket, serving goes on on v2;
    the alias moved back ends the ticket with the identity it fired with."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pt").write_bytes(b"\x80\x04 truncated, not a torch file")
    store.publish("churn", "v3", bad)
    store.set_alias("churn", CHAMPION, "v3")
    asyncio.run(_announce(kafka, ModelVersionPublished(
        model="churn", version="v3", artifact=str(store.path_for("churn", "v3")),
        action="promoted", alias=CHAMPION, previous="v2")))
    _wait("no load failure logged", lambda: "cannot load churn v3 for variant A, still "
          "serving v2" in worker.log.read_text(), worker, timeout=60)
    alerts = [msgspec.json.decode(v, type=Alert) for v in _read(kafka, "alerts")]
    load_alerts = [a for a in alerts if a.labels.get("detector") == "model_load"]
    assert len(load_alerts) == 1 and load_alerts[0].labels["version"] == "v3"
    asyncio.run(simulate(kafka, Scenario(count=500, seed=13, run_id="after-bad")))
    later = asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).predictions,
                                until=lambda r: len(r) >= answered + 500, timeout=60))
    versions = {msgspec.json.decode(m.value, type=Prediction).model_version
                for m in later[answered:]}
    assert versions == {"v2"}
    # the operator moves the alias back: the variant waits for v3 no more, and the ticket
    # ends with the identity it fired with
    store.set_alias("churn", CHAMPION, "v2")
    asyncio.run(_announce(kafka, ModelVersionPublished(
        model="churn", version="v2", artifact=str(store.path_for("churn", "v2")),
        action="rolled_back", alias=CHAMPION, previous="v3")))

    def load_alerts_now() -> list[Alert]:
        return [a for a in (msgspec.json.decode(v, type=Alert) for v in _read(kafka, "alerts"))
                if a.labels.get("detector") == "model_load"]
    _wait("the model_load ticket did not resolve",
          lambda: len(load_alerts_now()) == 2, worker, timeout=60)
    fired, resolved = load_alerts_now()
    assert (fired.status, resolved.status) == ("firing", "resolved")
    assert resolved.fingerprint == fired.fingerprint and resolved.labels == fired.labels


async def _announce(kafka: KafkaSettings, update: ModelVersionPublished) -> None:
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(kafka.topic_prefix).model_updates, encode(update),
                                     key=update.model.encode())
    finally:
        await producer.stop()


async def _labelled_traffic(kafka: KafkaSettings, n: int, seed: int) -> RetrainRequested:
    """``n`` drifted predictions of churn v1 with their labels, then a retrain request."""
    topics = Topics(kafka.topic_prefix)
    batch = FeatureGenerator(seed).sample(n, drift=RETRAINING_DRIFT)
    producer = kafka_clients.producer(kafka)
    await producer.start()
    now = time.time()
    try:
        for i in range(n):
            rid = f"lab-{i:06d}"
            pred = Prediction(request_id=rid, ts=now + i * 1e-3, model="churn", variant="A",
                              model_version="v1", output=ModelOutput(label=0, score=0.1),
                              latency=Latency(queue_s=0, inference_s=0, total_s=0),
                              features=dict(zip(FEATURES, batch.features[i].tolist(),
                                                strict=True)))
            await producer.send(topics.predictions, encode(pred), key=rid.encode())
            await producer.send(topics.outcomes, encode(Outcome(
                request_id=rid, ts=now, kind="label", value=float(batch.labels[i]))),
                key=rid.encode())
        req = RetrainRequested(id=f"rt-{seed}", model="churn", reason="test",
                               evidence={"psi": 1.0}, data_from=now - 1, data_to=now + n,
                               requested_at=now)
        await producer.send_and_wait(topics.retrain, encode(req), key=b"churn")
    finally:
        await producer.stop()
    return req


def test_a_worse_candidate_is_rejected_by_validation_and_the_champion_alias_stays(
        env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    kafka = kafka_of(env)
    store = _store(model_dir, tmp_path)
    asyncio.run(kafka_clients.create_topics(kafka))
    req = asyncio.run(_labelled_traffic(kafka, 2000, seed=21))

    def sabotaged(champion: Path, train: LabelledExamples, out: Path, **kw: object
                  ) -> TrainedCandidate:
        flipped = LabelledExamples(train.ts, train.features, 1 - train.labels, train.names)
        return warm_start(champion, flipped, out, **kw)  # type: ignore[arg-type]

    settings = RetrainSettings(min_examples=1500, max_epochs=5, label_wait_s=30, margin=0.01)
    job = RetrainJob(store, HoldoutGate(settings.margin), trainer=sabotaged,
                     max_epochs=settings.max_epochs)
    worker = RetrainWorker(kafka=kafka, settings=settings, store=store, job=job,
                           examples=topic_source(kafka))

    asyncio.run(_run_until_done(worker, timeout=120))
    updates = _updates(kafka)
    assert [(u.action, u.version, u.passed, u.retrain_id) for u in updates] == [
        ("published", "v2", False, req.id)]
    check = updates[0].checks[0]
    assert check.check == "accuracy_gain" and check.value < 0 and not check.passed
    assert store.aliases("churn") == {CHAMPION: "v1"}


def _start_retrain(worker: Worker) -> None:
    """Start a worker of the retrain role only; wait until it reads the retrain topic."""
    before = worker.log.read_text().count(READING) if worker.log.exists() else 0
    worker.start(roles="retrain")
    _wait("the retrain worker did not start", lambda: worker.log.read_text().count(
        READING) > before, worker, timeout=90)


READING = "retrain worker reading"


def test_kill9_of_the_retrain_worker_mid_training_gives_one_version(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    """Slow by design (about 30 s): the kill must land mid-training, so a real fine-tune runs
    until killed; the restarted worker then trains again to the end and publishes once.
    """
    store = _store(model_dir, tmp_path)
    kafka = kafka_of(env)
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root), **RETRAIN_ENV,
                "INFERWATCH_RETRAIN_MAX_EPOCHS": "1000",
                "INFERWATCH_RETRAIN_PATIENCE": "1000"})  # trains until killed
    asyncio.run(kafka_clients.create_topics(kafka))
    req = asyncio.run(_labelled_traffic(kafka, 2500, seed=31))
    _start_retrain(worker)
    _wait("training did not start", lambda: f"retrain {req.id}: retrain churn" in
          worker.log.read_text(), worker, timeout=90)
    worker.kill9()
    assert store.versions("churn") == ["v1"]  # killed mid-training: nothing published

    worker.env["INFERWATCH_RETRAIN_MAX_EPOCHS"] = "5"
    _start_retrain(worker)
    _wait("the retried request published nothing", lambda: any(
        u.action == "published" for u in _updates(kafka)), worker, timeout=120)
    time.sleep(2.0)
    assert worker.stop() == 0, worker.tail()
    _start_retrain(worker)  # its offset was committed: nothing is done again
    time.sleep(5.0)
    assert worker.stop() == 0, worker.tail()
    published = [u for u in _updates(kafka) if u.action == "published"]
    assert [(u.version, u.retrain_id) for u in published] == [("v2", req.id)]
    assert store.versions("churn") == ["v1", "v2"]


def test_a_request_for_a_model_with_no_champion_is_dead_lettered_with_the_reason(
        env: dict[str, str], tmp_path: Path) -> None:
    kafka = kafka_of(env)
    topics = Topics(kafka.topic_prefix)
    store = ModelStore(tmp_path / "models")  # nothing published
    asyncio.run(kafka_clients.create_topics(kafka))
    settings = RetrainSettings(min_examples=20, label_wait_s=0)
    worker = RetrainWorker(kafka=kafka, settings=settings, store=store,
                           job=RetrainJob(store, HoldoutGate(0.01)),
                           examples=topic_source(kafka))

    async def run() -> list:  # type: ignore[type-arg]
        await _announce_request(kafka, RetrainRequested(
            id="rt-none", model="fraud", reason="test", evidence={}, data_from=0.0,
            data_to=1.0, requested_at=1.0))
        stop = asyncio.Event()
        task = asyncio.ensure_future(worker.run(stop))
        dead = await consume(kafka, topics.dead_letter, until=lambda r: len(r) >= 1,
                             timeout=60)
        stop.set()
        await task
        return dead
    dead = asyncio.run(run())
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["inferwatch.error.kind"] == b"retrain_failed"
    assert b"no published version of 'fraud'" in headers["inferwatch.error"]
    assert _updates(kafka) == [] and store.versions("fraud") == []


async def _announce_request(kafka: KafkaSettings, req: RetrainRequested) -> None:
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(kafka.topic_prefix).retrain, encode(req),
                                     key=req.model.encode())
    finally:
        await producer.stop()



#: identity layers that make a candidate slow without changing one answer (~25 µs each;
#: torch's load_state_dict takes time quadratic in the layers of one Sequential)
SLOW_LAYERS = 2000


def _slowed(artifact_dir: Path, extra: int) -> None:
    """Rewrite ``artifact_dir``'s network with ``extra`` identity layers (``Linear`` with
    weight I and bias 0, then ReLU) after its last hidden layer: the inputs of that layer
    are ReLU outputs (>= 0), so every answer is bit for bit the same, only slower."""
    import torch
    path = artifact_dir / "model.pt"
    blob = torch.load(path, weights_only=True)
    meta, state = dict(blob["metadata"]), dict(blob["state_dict"])
    hidden, width = list(meta["hidden"]), meta["hidden"][-1]
    out_w = state.pop(f"layers.{2 * len(hidden)}.weight")
    out_b = state.pop(f"layers.{2 * len(hidden)}.bias")
    for i in range(len(hidden), len(hidden) + extra):
        state[f"layers.{2 * i}.weight"] = torch.eye(width)
        state[f"layers.{2 * i}.bias"] = torch.zeros(width)
    last = 2 * (len(hidden) + extra)
    state[f"layers.{last}.weight"], state[f"layers.{last}.bias"] = out_w, out_b
    torch.save({**blob, "metadata": {**meta, "hidden": hidden + [width] * extra},
                "state_dict": state}, path)


def _forward_s(artifact_dir: Path, rows: int) -> float:
    """Median seconds of one forward pass of ``rows`` rows of the artifact's network."""
    from inference.torch_predictor import TorchPredictor, use_cpu_threads
    use_cpu_threads(1)  # as the worker serves it
    predictor = TorchPredictor.load(artifact_dir, "cpu")
    x = np.zeros((rows, len(predictor.features)))
    times = []
    for _ in range(7):
        start = time.perf_counter()
        predictor.predict_batch(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def test_a_candidate_that_passes_validation_but_is_slow_in_serving_is_rolled_back(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    """Slow by design (about 60 s): a real fine-tune of a candidate made 2,000 layers deeper,
    5,000 labelled requests at 1,000/s before it, then enough live windows for the latency
    guardrail to decide and for the page it sends to resolve.
    """
    store = _store(model_dir, tmp_path)
    store.set_alias("churn", CHAMPION, "v1")
    probe = tmp_path / "probe"
    shutil.copytree(model_dir / "churn" / "v1", probe)
    _slowed(probe, SLOW_LAYERS)
    slow_s = _forward_s(probe, rows=40)  # what a slow batch costs here, now
    # The SLO threshold: the slow forward pass. The challenger's requests all wait for it
    # and for their batch to fill; the champion's (scored first in each batch) wait for
    # their batch only, and sometimes for the slow pass of the batch before
    experiments = "churn-exp=churn:A:B:0.5"
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root), **RELAXED_LATENCY,
                **RETRAIN_ENV,
                "INFERWATCH_MONITOR_SLO_THRESHOLD_S": f"{slow_s:.4f}",
                "INFERWATCH_INFERENCE_MAX_WAIT_MS": "5",
                "INFERWATCH_INFERENCE_VARIANTS": "A=1.0,B=0.0",  # B: once it has a version
                "INFERWATCH_INFERENCE_VARIANT_VERSIONS": "churn:B=challenger",
                "INFERWATCH_MONITOR_EXPERIMENTS": experiments,
                "INFERWATCH_MONITOR_WINDOW_SIZE": "200",
                "INFERWATCH_MONITOR_SUMMARY_INTERVAL_S": "0.5"})
    kafka = kafka_of(env)
    worker.start(roles="inference,monitor,join,decide")
    pre = Scenario.retraining(5000, rate=1000, seed=41, run_id="pre", drift_at=0,
                              outcome_share=1.0)
    asyncio.run(simulate(kafka, pre))
    retrainer = _slow_candidate_retrainer(kafka, store, experiments)
    # the drift of the first traffic is evidence: the decision step requests one retrain
    _wait("no retrain was requested", lambda: _read(kafka, "retrain"), worker, timeout=90)
    asyncio.run(_run_until_done(retrainer))
    _check_v2_passed_slow_and_serves_as_the_challenger(kafka, store, worker)

    during = Scenario(count=8000, rate=500, seed=42, run_id="during", drift_at=0,
                      drift=RETRAINING_DRIFT, outcome_share=1.0)
    asyncio.run(simulate(kafka, during))
    _check_the_guardrail_rolled_v2_back(kafka, store, worker)

    time.sleep(ROLLOUT_GRACE_S)
    after = Scenario(count=3000, rate=1000, seed=43, run_id="after", drift_at=0,
                     drift=RETRAINING_DRIFT, outcome_share=1.0)
    asyncio.run(simulate(kafka, after))

    def guardrail(records: list) -> list[Alert]:  # type: ignore[type-arg]
        return [a for a in (msgspec.json.decode(r.value, type=Alert) for r in records)
                if a.labels.get("detector") == "experiment_guardrail"]
    pages = guardrail(asyncio.run(consume(
        kafka, Topics(kafka.topic_prefix).alerts, timeout=60,
        until=lambda rs: any(a.status == "resolved" for a in guardrail(rs)))))
    assert [a.status for a in pages] == ["firing", "resolved"], worker.tail()
    assert pages[0].fingerprint == pages[1].fingerprint
    served = {msgspec.json.decode(v, type=Prediction).model_version for v in
              _read(kafka, "predictions") if b'"after-' in v}
    assert served == {"v1"}  # the slow version answers nothing after its rollback
    assert worker.stop() == 0, worker.tail()


def _slow_candidate_retrainer(kafka: KafkaSettings, store: ModelStore, experiments: str
                              ) -> RetrainWorker:
    """A retrain worker whose trainer fine-tunes, then makes the candidate slow; the user's
    validation allows a slower, costlier model (say it is served on faster machines)."""

    def slow_trainer(champion: Path, train: LabelledExamples, out: Path, **kw: object
                     ) -> TrainedCandidate:
        trained = fine_tuned(champion, train, out, **kw)  # type: ignore[arg-type]
        _slowed(out, SLOW_LAYERS)
        return trained

    settings = RetrainSettings(min_examples=1500, max_epochs=10, label_wait_s=60, margin=0.01)
    gate = PairedGate(ValidationPolicy(margin=0.01, latency_tolerance=1000.0),
                      cost_tolerance=1000.0)
    job = RetrainJob(store, gate, trainer=slow_trainer, max_epochs=settings.max_epochs,
                     alias=CHALLENGER)
    return RetrainWorker(kafka=kafka, settings=settings, store=store, job=job,
                         examples=topic_source(kafka),
                         experiments=lambda m: experiment_of(experiments, store, m))


def _check_v2_passed_slow_and_serves_as_the_challenger(
        kafka: KafkaSettings, store: ModelStore, worker: Worker) -> None:
    """v2 passed validation though much slower, became challenger with an experiment of
    its own, and the agents serve it as B."""
    published = [u for u in _updates(kafka) if u.action == "published"]
    assert [(u.version, u.passed) for u in published] == [("v2", True)], published
    latency = next(c for c in published[0].checks if c.check == "latency")
    assert latency.value > 3 and latency.passed  # much slower, within the user's tolerance
    assert store.aliases("churn") == {CHAMPION: "v1", CHALLENGER: "v2"}
    assert store.experiment("churn")["name"] == "churn-v2"
    _wait("the agents did not serve v2 as B", lambda: "churn-v2 started on churn"
          in worker.log.read_text(), worker, timeout=60)


def _check_the_guardrail_rolled_v2_back(kafka: KafkaSettings, store: ModelStore,
                                        worker: Worker) -> None:
    """The experiment's one final decision is the latency guardrail's rollback; the
    registry's split follows, the champion alias never moved, and the registry's history
    shows how the challenger came and went."""
    topic = Topics(kafka.topic_prefix).model_updates

    def decided(records: list) -> list[ExperimentDecided]:  # type: ignore[type-arg]
        return [msgspec.json.decode(r.value, type=ExperimentDecided) for r in records
                if b'"experiment_decided"' in r.value and b'"churn-v2"' in r.value]
    final = [d for d in decided(asyncio.run(consume(
        kafka, topic, until=lambda rs: any(d.action != "continue" for d in decided(rs)),
        timeout=120))) if d.action != "continue"]
    assert [(d.action, d.metric, d.challenger) for d in final] == [
        ("rollback", "slow", "B")], worker.tail()
    _wait("the rollback did not reach the registry", lambda: store.traffic("churn") == {
        "A": 1.0, "B": 0.0}, worker, timeout=60)
    assert store.aliases("churn") == {CHAMPION: "v1", CHALLENGER: "v2"}
    history = [(c.alias, c.version, c.reason) for c in store.alias_history("churn")]
    assert [(a, v) for a, v, _ in history] == [(CHAMPION, "v1"), (CHALLENGER, "v2")]
    request = msgspec.json.decode(_read(kafka, "retrain")[0], type=RetrainRequested)
    assert history[1][2].startswith(f"retrain {request.id}")
    traffic = [(c.split, c.reason) for c in store.traffic_history("churn")]
    assert [split for split, _ in traffic] == [{"A": 0.5, "B": 0.5}, {"A": 1.0, "B": 0.0}]
    assert traffic[0][1] == "experiment churn-v2 started"
    assert traffic[1][1].startswith("experiment churn-v2 rollback on slow (B v2)"), traffic



async def _run_until_done(worker: RetrainWorker, timeout: float = 180) -> None:
    """Run an in-process retrain worker until it has done a request (or ``timeout``)."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(worker.run(stop))
    deadline = time.monotonic() + timeout
    while not worker.done and time.monotonic() < deadline and not task.done():
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # its events and its commit
    stop.set()
    await task
