#!/usr/bin/env bash
# Produce retries, latency and the inference ratio of a base commit and of this checkout,
# alternated on one private broker so that both sides see the same load.
# Usage: bench/retries_before_after.sh [BASE_REF=926acad] [REPS=2]
# (KAFKA_PORT/KAFKA_CONTROLLER_PORT/INFERWATCH_KAFKA_DIR as for bench/with_kafka.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_REF=${1:-926acad} REPS=${2:-2}
PYTHON=${PYTHON:-python3}
export PYTHONPATH=$PWD KAFKA_PORT=${KAFKA_PORT:-49192} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49193}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-ops}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export INFERWATCH_INFERENCE_MODEL_DIR=${INFERWATCH_INFERENCE_MODEL_DIR:-$PWD/var/models}
BASE=$(mktemp -d /tmp/iw-base-XXXXXX)
trap 'bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true; rm -rf "$BASE"' EXIT
git archive "$BASE_REF" | tar -x -C "$BASE"
bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
bash deploy/kafka/kafka.sh start
$PYTHON -m streams.cli train >/dev/null
for rep in $(seq "$REPS"); do
  for side in before after; do
    code=$PWD; [[ $side == before ]] && code=$BASE
    echo "=== rep $rep, $side ($([[ $side == before ]] && echo "$BASE_REF" || git rev-parse --short HEAD)) ==="
    $PYTHON -m bench.produce_retries --rate 400 --seconds 40 --worker-code "$code" 2>&1 |
      grep -v "Failed fetch offsets"
    (cd "$code" && PYTHONPATH=$code $PYTHON -m bench.pipeline --n 50000 --roles inference)
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
