#!/usr/bin/env bash
# `make bench`: the pipeline benchmark (bench/pipeline.py) on a private Kafka of its own
# ports (49092; the operations benchmarks default to 49192, so both can run at once).
set -euo pipefail
cd "$(dirname "$0")/.."
export KAFKA_PORT=${KAFKA_PORT:-49092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49093}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-bench}
exec bash bench/with_kafka.sh bench.pipeline "$@"
