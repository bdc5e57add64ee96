"""A backtest of live traffic on the real broker: the replay gives the incidents the live run
gave, and a stricter threshold replayed over the same traffic gives fewer, listed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

from retrain.synthetic import Drift
from streams.simulation.simulator import Scenario, simulate
from streams.wire.topics import Topics
from tests.integration.conftest import REPO, Worker, alerts_of, consume, kafka_of

# the demo's window; latency judged on the ranker's own (simulated) latencies, so the SLO
# budget, which would burn on a loaded CI box's serving latency, is set out of reach
SETTINGS = {"INFERWATCH_MONITOR_WINDOW_SIZE": "500",
            "INFERWATCH_MONITOR_SLO_THRESHOLD_S": "30"}
COUNTS = re.compile(r"^live: (\d+) incident\(s\), (\S+): (\d+); (\d+) the same, (\d+) moved, "
                    r"(\d+) only in live, (\d+) only in \2$", re.M)


def _live_run(worker: Worker, env: dict[str, str]) -> tuple[float, float]:
    """Send the scenario; stop the worker once its incidents are decided and stored."""
    kafka = kafka_of(env)
    worker.start()
    since = time.time()
    # churn's f3 drifts in region=apac from request 3000 (a page that stays open); the
    # ranker (half the traffic) answers ten times slower for requests 3000 to 6000 (a
    # ticket that fires and resolves)
    asyncio.run(simulate(kafka, Scenario(
        count=9000, rate=600, seed=41, run_id="bt", drift_at=3000,
        drift=Drift("f3", shift=2.5, segment={"region": "apac"}), external_share=0.5,
        latency_from=3000, latency_to=6000, outcome_share=0.3)))
    # until the ticket's own resolve: on a loaded machine it can come well after another
    # alert's
    asyncio.run(consume(kafka.bootstrap, Topics(kafka.topic_prefix).alerts, timeout=150,
                        until=lambda r: any(b'"resolved"' in m.value
                                            and b"latency_quantile" in m.value for m in r)))
    time.sleep(4)  # the sink writes what the last windows decided
    assert worker.stop() == 0, worker.tail()
    return since - 60, time.time() + 60


def _backtest(env: dict[str, str], since: float, until: float, *extra: str
              ) -> tuple[str, tuple[int, ...]]:
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli", "backtest", "--since", str(since),
         "--until", str(until), "--out", str(Path(env["INFERWATCH_TEST_DIR"]) / "bt.html"),
         *extra], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    counts = COUNTS.search(out.stdout)
    assert counts is not None, out.stdout
    return out.stdout, tuple(int(counts.group(i)) for i in (1, 3, 4, 5, 6, 7))


def test_replaying_the_stored_traffic_gives_the_live_incidents_and_a_stricter_psi_fewer(
        worker: Worker, env: dict[str, str]) -> None:
    env.update(SETTINGS)
    since, until = _live_run(worker, env)
    live = alerts_of(kafka_of(env))
    fired = {(a.labels["detector"], a.status) for a in live}
    assert {("feature_drift", "firing"), ("latency_quantile", "firing"),
            ("latency_quantile", "resolved")} <= fired, live

    text, (n_live, n_replay, same, moved, only_live, only_replay) = _backtest(
        env, since, until)
    # same identities, each fired and resolved within one window of the live times
    assert n_live >= 2 and n_replay == n_live and same == n_live, text
    assert (moved, only_live, only_replay) == (0, 0, 0), text
    assert "feature_drift [feature=f3 segment=region=apac]" in text, text
    assert "latency_quantile" in text and Path(env["INFERWATCH_TEST_DIR"], "bt.html").exists()

    stricter, (n_live2, n_strict, _, _, silenced, added) = _backtest(
        env, since, until, "--set", "drift_min_psi=50")
    assert n_live2 == n_live and n_strict < n_live and added == 0, stricter
    assert silenced >= 1, stricter
    listed = stricter.split("only in live (silenced in replay):")[1]
    assert "feature_drift [feature=f3 segment=region=apac]" in listed, stricter
    assert "latency_quantile" not in listed, stricter
