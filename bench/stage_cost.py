"""CPU per event of each hot-path stage alone, without Kafka: where the pipeline's time goes.

Simulated requests (the same scenario as ``bench/pipeline.py``) go through the pure
stages in batches as the loops hand them over: the inference stage (decode, route,
micro-batch, torch, encode) and the packing of its outputs into record batches per
partition; the monitor stage on the predictions; the sink's rows and the ClickHouse
insert into an embedded chDB. Prints µs of CPU per event for each. Needs a trained
model (``python -m streams.cli train``).

Usage: PYTHONPATH=. python bench/stage_cost.py --n 50000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder

from inference.registry import ModelStore
from inference.routing import VariantRouter
from inference.served_versions import ServedVersions
from inference.torch_predictor import use_cpu_threads
from streams.kafka.record_writer import send_records
from streams.kafka.stage import Output
from streams.monitoring.monitor_stage import MonitorStage
from streams.serving.inference_stage import InferenceStage
from streams.serving.references import References
from streams.settings import ClickHouseSettings, InferenceSettings
from streams.simulation.simulator import Scenario, TrafficPlan
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import RowMapper
from streams.wire.codec import SourceRecord
from streams.wire.topics import Topics


class _Producer:
    """Just what send_records calls: real batch builders, no broker."""

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(1024 * 1024, 0, is_transactional=1)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(6))

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        batch.close()
        return None

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no record here is that large")


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def _records(topic: str, outputs: Sequence[Output]) -> list[SourceRecord]:
    return [SourceRecord(topic, i % 6, i // 6, o.key, o.value) for i, o in enumerate(outputs)]


def measure(n: int, model_dir: Path) -> dict[str, float]:
    """µs of CPU per event of each stage."""
    topics = Topics("b.")
    plan = TrafficPlan(Scenario(count=n, seed=11, run_id="bench"), topics, time.time)
    requests = [SourceRecord(topics.requests, i % 6, i // 6, k, v)
                for i, (_, k, v) in enumerate(plan.chunk(0, n))]
    use_cpu_threads(InferenceSettings().cpu_threads)
    served = ServedVersions(ModelStore(model_dir), "cpu", InferenceSettings().binding)
    inference = InferenceStage(topics=topics, predictors=served.predictor,
                               router=VariantRouter({"A": 1.0}), max_batch=256,
                               max_wait_ms=20.0, max_record_bytes=1 << 20)
    served.predictor("churn", "A")  # loaded before timing
    gc.collect()
    gc.freeze()  # as the worker does before its loops start
    outputs: list[Output] = []

    def infer() -> None:
        for i in range(0, n, 5000):  # the loop's getmany size
            inference.add(requests[i:i + 5000])
            outputs.extend(inference.flush(force=True) or [])

    cost = {"inference stage": _cpu(infer)}
    cost["record batches"] = _cpu(lambda: asyncio.run(send_records(_Producer(), outputs)))
    predictions = _records(topics.predictions, outputs)
    references = References(served)
    monitor = MonitorStage(topics=topics, references=references.reference, summary_size=2000,
                           summary_interval_s=1.0, max_record_bytes=1 << 20,
                           output_references=references.output_reference)

    def summarise() -> None:
        for i in range(0, n, 2000):
            monitor.add(predictions[i:i + 2000])
            monitor.flush(force=True)

    cost["monitor stage"] = _cpu(summarise)
    mapper = RowMapper(topics, 1 << 20)
    tables = []

    size = ClickHouseSettings().batch_max

    def rows() -> None:
        for i in range(0, n, size):
            tables.append(mapper.rows(topics.predictions, predictions[i:i + size])[0])

    cost["sink rows"] = _cpu(rows)
    with tempfile.TemporaryDirectory() as tmp:
        store = ClickHouseStore(f"chdb://{tmp}/chdb")
        store.apply_schema()
        cost["sink insert"] = _cpu(lambda: [
            store.insert_columns(t.table, t.columns, t.data, f"t{i}")
            for i, t in enumerate(tables)])
        store.close()
    return {stage: 1e6 * s / n for stage, s in cost.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--model-dir", type=Path, default=InferenceSettings().model_dir)
    args = ap.parse_args()
    cost = measure(args.n, args.model_dir)
    for stage, us in cost.items():
        print(f"{stage:<16} {us:6.2f} µs/event")
    print(f"{'total':<16} {sum(cost.values()):6.2f} µs/event")


if __name__ == "__main__":
    main()
