"""Backtest speed: predictions per minute through the replay, on the demo's recorded traffic.

The demo's drift scenario (``deploy/rules/churn-drift-eu``: churn's ten features and three
segment labels per prediction, 30% of them labelled) is tiled ``--copies`` times, each
copy a fresh set of request ids 15 s of event time after the last, into one stream; the
replay (monitor summaries per partition, the outcome join, the decision step's windows,
detectors and alert book, the router's grouping) runs over it with the scenario's settings,
``--runs`` times. Only the replay is timed: reading the traffic from ClickHouse or the
topics is not. The figure is the median; the replay's incidents are printed as a check that
the work was done (the drift page opens in the first copy and stays open). Beside the
wall-clock rate, the rate per minute of the process's CPU time (what one core gives the
replay, whatever else the machine runs) and the load average.

Run::

    python -m bench.backtest --copies 60 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import msgspec

from streams.backtest import rule_tests
from streams.backtest.episodes import episodes
from streams.backtest.replay import Replay, model_references
from streams.backtest.replay_settings import worker_config
from streams.backtest.traffic import RecordedTraffic
from streams.wire.events import Outcome, Prediction
from streams.wire.topics import Topics

SCENARIO = Path(__file__).resolve().parents[1] / "deploy" / "rules" / "churn-drift-eu"


def tiled(copies: int, topics: Topics) -> RecordedTraffic:
    """The scenario's traffic ``copies`` times over, one copy after the other."""
    base = RecordedTraffic.read_jsonl(SCENARIO / rule_tests.TRAFFIC, topics)
    preds = [msgspec.json.decode(r.value or b"", type=Prediction) for _, r in base.records
             if r.topic == topics.predictions]
    outs = [msgspec.json.decode(r.value or b"", type=Outcome) for _, r in base.records
            if r.topic == topics.outcomes]
    span = base.records[-1][0] - base.records[0][0] + 1.0
    all_preds, all_outs = [], []
    for k in range(copies):
        shift = k * span
        all_preds.extend(msgspec.structs.replace(
            p, request_id=f"{k}-{p.request_id}", ts=p.ts + shift) for p in preds)
        all_outs.extend(msgspec.structs.replace(
            o, request_id=f"{k}-{o.request_id}", ts=o.ts + shift) for o in outs)
    return RecordedTraffic.from_events(all_preds, all_outs, topics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    spec = json.loads((SCENARIO / rule_tests.SCENARIO).read_text())
    cfg = worker_config({**spec["settings"], "INFERWATCH_INFERENCE_MODEL_DIR":
                         str(SCENARIO / rule_tests.REFERENCES)}, inherit=False)
    traffic = tiled(args.copies, Topics(cfg.kafka.topic_prefix))
    rates, cpu_rates, found = [], [], []
    for _ in range(args.runs):
        cpu = time.process_time()
        replayed = Replay(cfg, model_references(cfg)).run(traffic)
        cpu = time.process_time() - cpu
        rates.append(replayed.predictions / replayed.seconds * 60)
        cpu_rates.append(replayed.predictions / cpu * 60)
        found = episodes(replayed.alerts)
    print(json.dumps({
        "predictions": traffic.predictions, "records": len(traffic),
        "predictions_per_minute": round(statistics.median(rates)),
        "runs": [round(r) for r in rates],
        # per minute of the process's CPU time: what a core gives it, whatever else runs
        "predictions_per_cpu_minute": round(statistics.median(cpu_rates)),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "incidents": sorted({e.identity for e in found})}, indent=2))


if __name__ == "__main__":
    main()
