"""The shadow loop on the real broker: shadow outputs paired with their labels in the join,
judged in the decision step, decided, applied to the registry and stored.

The shadow is a copy of the answering version, so every labelled pair is concordant: the
test can never call it better or worse, and at the horizon (500 labelled pairs) the policy
rejects it. The ShadowDecided looks are on the model-updates topic, the final one ends
the shadow in the registry (its line in ``inferwatch models churn``) and is a row of
ClickHouse's shadow_decisions.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import msgspec

from inference.registry import ModelStore
from inference.shadow_binding import bind_shadow, shadow_record
from streams.cli.models import describe_model
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from streams.wire.codec import decode_model_update
from streams.wire.events import ShadowDecided
from streams.wire.topics import Topics
from tests.integration.conftest import Worker, consume

N = 3000
HORIZON = 500


def _looks(raw: list) -> list[ShadowDecided]:  # type: ignore[type-arg]
    updates = [decode_model_update(m.value) for m in raw]
    return [u for u in updates if isinstance(u, ShadowDecided)]


def test_a_shadow_equal_to_the_champion_is_rejected_at_the_horizon(
        worker: Worker, env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    shutil.copytree(model_dir, store.root)
    (v1,) = store.versions("churn")
    store.publish("churn", "v2", store.path_for("churn", v1))
    store.set_alias("churn", "champion", v1)
    bind_shadow(store, "churn", "v2")
    worker.env.update({"INFERWATCH_INFERENCE_MODEL_DIR": str(store.root),
                       "INFERWATCH_MONITOR_SHADOW_HORIZON": str(HORIZON)})
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    topics = Topics(kafka.topic_prefix)
    worker.start()
    asyncio.run(simulate(kafka, Scenario(count=N, rate=1500, seed=2, run_id="sv",
                                         outcome_share=1.0, outcome_lag=50)))
    raw = asyncio.run(consume(kafka.bootstrap, topics.model_updates, timeout=120,
                              until=lambda r: any(d.action != "continue" for d in _looks(r))))
    looks = _looks(raw)
    assert looks, worker.tail()
    final = [d for d in looks if d.action != "continue"]
    assert [d.action for d in final] == ["reject"], worker.tail()
    (decided,) = final
    assert (decided.model, decided.version, decided.answer_version) == ("churn", "v2", v1)
    assert decided.labelled >= HORIZON and decided.discordant == 0
    assert decided.disagreement == 0.0 and decided.requests >= decided.labelled
    assert "undecided at the horizon" in decided.reason
    assert all(d.action == "continue" for d in looks if d.ts < decided.ts)

    deadline = time.monotonic() + 30  # the inference worker applies it to the registry
    while "ended" not in shadow_record(store, "churn") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert str(shadow_record(store, "churn")["ended"]).startswith(f"rejected (v2 against {v1})")
    assert any(line.startswith("shadow: v2 ended: rejected") for line in
               describe_model(store, "churn"))
    assert store.aliases("churn")["champion"] == v1

    time.sleep(3)  # the sink drains, then stops
    assert worker.stop() == 0, worker.tail()
    clickhouse = ClickHouseStore(f"chdb://{Path(env['INFERWATCH_CLICKHOUSE_PATH'])}")
    try:
        rows = clickhouse.query("SELECT action, labelled FROM shadow_decisions FINAL "
                                "WHERE action != 'continue'")
        assert rows == [("reject", decided.labelled)]
    finally:
        clickhouse.close()
    assert msgspec.json.decode(msgspec.json.encode(decided), type=ShadowDecided) == decided
