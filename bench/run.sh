#!/usr/bin/env bash
# Run the benchmarks that need a broker: start a private Kafka, run, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export KAFKA_PORT=${KAFKA_PORT:-49092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49093}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-bench}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export INFERWATCH_INFERENCE_MODEL_DIR=${INFERWATCH_INFERENCE_MODEL_DIR:-$PWD/var/models}
trap 'bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true' EXIT
bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
bash deploy/kafka/kafka.sh start
$PYTHON -m streams.cli train >/dev/null
$PYTHON bench/pipeline.py "$@"
