#!/usr/bin/env bash
# Run every test: lint and render the Helm chart, start a private Kafka (and Alertmanager
# where installed), run pytest, stop what was started, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

export KAFKA_PORT=${KAFKA_PORT:-39092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-39093}
export INFERWATCH_KAFKA_DIR=${INFERWATCH_KAFKA_DIR:-$PWD/var/kafka-test}
export INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT

# the Helm chart: helm is built from the Go module proxy once (cached outside the checkout)
HELM=$(bash deploy/helm/helm.sh)
"$HELM" lint --strict deploy/helm/inferwatch
"$HELM" template inferwatch deploy/helm/inferwatch >/dev/null
echo "helm template: $("$HELM" template inferwatch deploy/helm/inferwatch | grep -c '^kind:') objects rendered"

# The secured broker and the cluster are started by their test fixtures
# (tests/integration/script_kafka.py); remove them too if pytest did not get to.
cleanup() {
  bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
  INFERWATCH_KAFKA_DIR=$PWD/var/kafka-test-secure bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
  INFERWATCH_KAFKA_DIR=$PWD/var/kafka-test-cluster KAFKA_NODES=3 bash deploy/kafka/kafka.sh clean >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup  # fresh brokers: no state from earlier runs
bash deploy/kafka/kafka.sh start

set +e
$PYTHON -m pytest -q -p no:cacheprovider --durations=12 tests streams detectors inference retrain "$@"
rc=$?
set -e
exit $rc
