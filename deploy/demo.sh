#!/usr/bin/env bash
# The demo: Kafka, a worker, a minute of traffic with a drift and a latency regression,
# alerts printed as they fire, and a summary read back from ClickHouse. Cleans up after.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
IW="$PYTHON -m streams.cli"
RUN=var/demo
export KAFKA_PORT=${KAFKA_PORT:-9092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export INFERWATCH_KAFKA_DIR=$PWD/var/kafka
export INFERWATCH_INFERENCE_MODEL_DIR=$PWD/var/models
export INFERWATCH_CLICKHOUSE_PATH=$PWD/$RUN/chdb
# smaller windows than production so a one-minute demo shows a whole incident
export INFERWATCH_MONITOR_WINDOW_SIZE=${INFERWATCH_MONITOR_WINDOW_SIZE:-500}
export INFERWATCH_KAFKA_SESSION_TIMEOUT_MS=6000

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
rm -rf "$RUN" && mkdir -p "$RUN"
say "starting Kafka (pinned Apache Kafka, fetched with Maven on first use)"
bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
bash deploy/kafka/kafka.sh start
$IW topics
say "training the demo classifier (once)"
$IW train

say "starting a worker (inference, monitors, decisions, ClickHouse sink); log: $RUN/worker.log"
(cd "$RUN" && exec $IW worker) >"$RUN/worker.log" 2>&1 &
pids+=($!)
# ready when each loop's consumer group has handed it its partitions
for _ in $(seq 1 120); do
  n=$(grep -cE "^\+[-+]+ for group inferwatch\.(inference|monitor|decide|sink) *$" \
    "$RUN/worker.log" || true)
  [ "$n" -ge 4 ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -40 "$RUN/worker.log"; exit 1; }
  sleep 0.5
done

say "alerts and retrain requests, one line each, as they happen:"
$IW alerts --seconds 0 &
pids+=($!)
sleep 1

# 70 s at 400 requests/s: churn's input f2 drifts from 15 s on (region=eu only); the
# outside model 'ranker' (25% of traffic) slows down from 25 s to 45 s; the outside LLM
# 'assistant' (35%, prompts with their embeddings) gets a new topic of prompts from 45 s.
$IW simulate --count 28000 --rate 400 --seed 1 --run-id demo \
  --drift-at 6000 --drift-feature f2 --drift-shift 2.0 --drift-segment region=eu \
  --external-share 0.25 --latency-from 10000 --latency-to 18000 --outcome-share 0.3 \
  --llm-share 0.35 --topic-shift-at 18000
sleep 12  # let the last windows close and the sink drain

say "stopping the worker"
kill "${pids[1]}" 2>/dev/null || true
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
pids=()
say "summary"
$IW summary
$IW report --out "$RUN/report.html"  # the same run as one page of charts
