#!/usr/bin/env bash
# Produce retries, latency (first seconds against steady state) and the inference ratio
# of a base commit and of HEAD, alternated on one private broker so that both sides see
# the same load. Each side runs from a `git archive` of its commit, so edits to the
# working tree during the run change nothing.
# Usage: bench/retries_before_after.sh [BASE_REF=926acad] [REPS=2]
#   PIPELINE=0 leaves out the inference ratio (bench/pipeline.py --roles inference);
#   SECONDS_OF_TRAFFIC (default 40) and RATE (default 400) go to bench/produce_retries.py.
# (KAFKA_PORT/KAFKA_CONTROLLER_PORT/INFERWATCH_KAFKA_DIR as for bench/with_kafka.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_REF=${1:-926acad} REPS=${2:-2}
PYTHON=${PYTHON:-python3}
export PYTHONPATH=$PWD KAFKA_PORT=${KAFKA_PORT:-49192} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49193}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-ops}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
export INFERWATCH_INFERENCE_MODEL_DIR=${INFERWATCH_INFERENCE_MODEL_DIR:-$PWD/var/models}
WORK=$(mktemp -d /tmp/iw-before-after-XXXXXX)
trap 'bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
declare -A REF=([before]=$(git rev-parse --short "$BASE_REF") [after]=$(git rev-parse --short HEAD))
for side in before after; do
  mkdir -p "$WORK/$side" && git archive "${REF[$side]}" | tar -x -C "$WORK/$side"
done
bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
bash deploy/kafka/kafka.sh start
$PYTHON -m streams.cli train >/dev/null
for rep in $(seq "$REPS"); do
  for side in before after; do
    code=$WORK/$side
    echo "=== rep $rep, $side (${REF[$side]}) ==="
    $PYTHON -m bench.produce_retries --rate "${RATE:-400}" --seconds "${SECONDS_OF_TRAFFIC:-40}" \
      --worker-code "$code" 2>&1 | grep -v "Failed fetch offsets"
    if [[ ${PIPELINE:-1} == 1 ]]; then
      (cd "$code" && PYTHONPATH=$code $PYTHON -m bench.pipeline --n 50000 --roles inference 2>&1 |
        grep -v "^Got error produce response")
    fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
