#!/usr/bin/env bash
# Run one benchmark with a private Kafka: start it, train the model, run, stop.
# Usage: bench/with_kafka.sh bench.micro_batching [ARGS...]   (a module, run with -m)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# ports of its own, so that `make bench` (bench/run.sh) can run beside it
export KAFKA_PORT=${KAFKA_PORT:-49192} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49193}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-ops}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export INFERWATCH_INFERENCE_MODEL_DIR=${INFERWATCH_INFERENCE_MODEL_DIR:-$PWD/var/models}
trap 'bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true' EXIT
bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
bash deploy/kafka/kafka.sh start
$PYTHON -m streams.cli train >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
$PYTHON -m "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
