"""A user's regression model retrained through a user's trainer, on the real broker with a
real worker and a real retrain worker.

The price model of :mod:`tests.integration.test_regression_model` is published and served;
the world moves (true values up by 2.5, inputs as they were) and the worker pages with its
MAE against the reference. A retrain request for the drift's time span then reaches the
retrain worker, whose trainer is the user's (``INFERWATCH_RETRAIN_TRAINER``, a least-squares
fit, :func:`tests.integration.retrain_trainers.fits_a_linear_regression`): its examples are
the served predictions joined to their true values (target kind ``value``), its candidate
passes the paired t-test on absolute errors against the champion (checked against scipy's
``ttest_rel`` on the same holdout), becomes champion, and the traffic that follows is
served by it with an MAE back near the reference's.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import msgspec
import numpy as np
import pytest
from scipy import stats

from detectors.reference.regression import FILE_NAME, ErrorReference
from inference.registry import ModelStore
from retrain.retrain_job import CHAMPION
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import Outcome, Prediction, RetrainRequested
from streams.wire.topics import Topics
from tests.integration.conftest import RELAXED_LATENCY, Worker, consume
from tests.integration.conftest import alerts_of as _alerts
from tests.integration.conftest import kafka_of as _kafka
from tests.integration.test_regression_model import SHIFT, _publish, _send
from tests.integration.test_retraining import _start_retrain, _updates, _wait

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own

TRAINER = "tests.integration.retrain_trainers:fits_a_linear_regression"


async def _ask(kafka: KafkaSettings, data_from: float) -> None:
    producer = kafka_clients.producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(kafka.topic_prefix).retrain, encode(
            RetrainRequested(id="rt-price", model="price", reason="regression error",
                             evidence={"mae": 2.5}, data_from=data_from,
                             data_to=time.time(), requested_at=time.time())), key=b"price")
    finally:
        await producer.stop()


def _served_mae(kafka: KafkaSettings, total: int) -> dict[str, tuple[float, int]]:
    """Per version, the MAE of its served values on the requests sent after the first
    ``total`` (the post-drift traffic only: ids from ``price-{total}`` on)."""
    topics = Topics(kafka.topic_prefix)
    preds = [msgspec.json.decode(m.value, type=Prediction) for m in asyncio.run(consume(
        kafka.bootstrap, topics.predictions, until=lambda r: False, timeout=5))]
    truth = {o.request_id: o.value for o in (
        msgspec.json.decode(m.value, type=Outcome) for m in asyncio.run(consume(
            kafka.bootstrap, topics.outcomes, until=lambda r: False, timeout=5)))}
    errors: dict[str, list[float]] = {}
    for p in preds:
        if int(p.request_id.split("-")[1]) >= total and p.output.predicted is not None:
            errors.setdefault(p.model_version, []).append(
                abs(p.output.predicted - truth[p.request_id]))
    return {v: (float(np.mean(e)), len(e)) for v, e in errors.items()}


def test_a_user_trainer_retrains_a_biased_regression_that_passes_the_paired_test(
        worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "models"
    env.update(RELAXED_LATENCY)
    env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(root),
                "INFERWATCH_RETRAIN_TRAINER": TRAINER, "INFERWATCH_RETRAIN_MARGIN": "0.1",
                "INFERWATCH_RETRAIN_ALPHA": "0.01", "INFERWATCH_RETRAIN_MIN_EXAMPLES": "2000",
                "INFERWATCH_RETRAIN_LATENCY_TOLERANCE": "5.0",
                "INFERWATCH_RETRAIN_COST_TOLERANCE": "5.0"})
    _publish(env, tmp_path)
    reference = ErrorReference.load(root / "price" / "v1" / FILE_NAME)
    kafka = _kafka(env)
    worker.start()
    retrainer = Worker(env, tmp_path / "retrain.log")
    _start_retrain(retrainer)
    try:
        sent = asyncio.run(_send(kafka, [(3000, 0.0)]))
        drift_from = time.time()
        sent += asyncio.run(_send_more(kafka, sent, 4000))
        asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).alerts, timeout=90,
                            until=lambda r: any(b"regression_error" in m.value for m in r)))
        asyncio.run(_ask(kafka, drift_from))
        _wait("no promotion of the retrained price model", lambda: any(
            u.model == "price" and u.action == "promoted" for u in _updates(kafka)),
            retrainer, timeout=240)
        time.sleep(3.0)  # the worker's hot reload of the new champion
        after = asyncio.run(_send_more(kafka, sent, 3000))
        _wait("the new champion served nothing", lambda: _served_mae(kafka, sent).get(
            "v2", (0, 0))[1] >= after // 2, worker, timeout=120)
        served = _served_mae(kafka, 3000)  # every post-drift request, by the version serving
    finally:
        assert retrainer.stop() == 0, retrainer.tail()
        assert worker.stop() == 0, worker.tail()

    pages = [a for a in _alerts(kafka) if a.labels.get("detector") == "regression_error"
             and a.status == "firing"]
    assert pages and pages[0].evidence["mae"] == pytest.approx(SHIFT, rel=0.2)
    store = ModelStore(root)
    assert store.aliases("price")[CHAMPION] == "v2"
    record = json.loads((root / "price" / "v2" / "retrain.json").read_text())
    given = json.loads((tmp_path / "given.json").read_text())
    assert given["target_kind"] == "value" and record["passed"] and record["metric"] == "mae"
    # the paired test again, by scipy, on the holdout the trainer was told of
    champion_mae, candidate_mae, holdout_p = _holdout_test(store, tmp_path)
    assert given["holdout"] == record["n_holdout"]
    assert record["champion_mae"] == pytest.approx(champion_mae, rel=1e-5)
    assert record["candidate_mae"] == pytest.approx(candidate_mae, rel=1e-5)
    assert f"mae p {holdout_p:.3g}" in record["reason"], record["reason"]
    assert holdout_p < 0.01
    v1_mae, v1_n = served["v1"]
    v2_mae, v2_n = served["v2"]
    assert v1_mae == pytest.approx(SHIFT, rel=0.15) and v1_n >= 2000
    assert v2_mae < 0.5 * v1_mae and v2_mae == pytest.approx(reference.mae, rel=0.3)
    print(f"\nregression retrain: reference MAE {reference.mae:.4f}; paged with MAE "
          f"{pages[0].evidence['mae']}; retrain on {record['n_train']} + "
          f"{record['n_holdout']} examples: holdout MAE {candidate_mae:.4f} vs champion "
          f"{champion_mae:.4f} (scipy ttest_rel p {holdout_p:.3g}); "
          f"post-drift served MAE v1 {v1_mae:.4f} on {v1_n}, v2 {v2_mae:.4f} on {v2_n}")


async def _send_more(kafka: KafkaSettings, first: int, count: int) -> int:
    """``count`` more shifted requests, numbered from ``first``."""
    return await _send(kafka, [(count, SHIFT)], first=first)


def _holdout_test(store: ModelStore, tmp_path: Path) -> tuple[float, float, float]:
    """Both versions' MAE on the holdout the trainer was given (``holdout.npz``) and
    scipy's one-sided paired t-test p-value on their absolute errors."""
    held = np.load(tmp_path / "holdout.npz")
    x, y = held["x"], held["y"]
    old = store.load_predictor("price", "v1", device="cpu").predict_batch(x).values
    new = store.load_predictor("price", "v2", device="cpu").predict_batch(x).values
    assert old is not None and new is not None
    abs_old, abs_new = np.abs(old - y), np.abs(new - y)
    p = stats.ttest_rel(abs_old, abs_new, alternative="greater").pvalue
    return float(abs_old.mean()), float(abs_new.mean()), float(p)
