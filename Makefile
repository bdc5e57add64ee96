# inferwatch: `make demo` and `make test` work on a fresh machine; each sets itself up.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
CACHE ?= $(HOME)/.cache/inferwatch
VENV ?= $(CACHE)/venv
# keyed by the dependency lists alone: a change to pyproject.toml's tool settings or entry
# points reinstalls nothing
DEPS_HASH := $(shell $(PY) deploy/requirements.py dev mlflow | sha256sum | cut -c1-16)
STAMP := $(VENV)/.deps-$(DEPS_HASH)
PYTHON := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export PYTHONUNBUFFERED := 1

.PHONY: venv demo test test-setup helm-bin kafka-jars test-mlflow unit unit-pythons lint helm bench bench-detectors bench-peer bench-ab bench-shadow bench-cbpe bench-dle \
	bench-ops bench-micro-batching bench-micro-batching-models bench-serving-overhead \
	bench-detection-latency bench-scale-out bench-soak \
	kafka-start kafka-stop clean

venv: $(STAMP)

# The venv lives outside the checkout and is keyed by the dependency list, so repeated
# runs (and CI's fresh clones) reuse it instead of downloading torch again.
$(STAMP):
	@test -n "$(PY)" || { echo "python3.11 is needed"; exit 1; }
	@test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(PY) deploy/requirements.py dev > $(CACHE)/requirements.txt
	$(VENV)/bin/pip install -q -r $(CACHE)/requirements.txt
	rm -f $(VENV)/.deps-* && touch $@

demo: venv
	PYTHON="$(PYTHON)" bash deploy/demo.sh

# What the tests need, fetched side by side on a fresh machine (each is cached outside the
# checkout, so a later run finds it done): the venvs, helm built from the Go module proxy,
# Kafka's jars from Maven Central.
test-setup:
	@start=$$(date +%s); $(MAKE) --no-print-directory -j4 venv $(MLFLOW_STAMP) helm-bin kafka-jars && \
	  echo "test-setup: took $$(( $$(date +%s) - start )) s"

helm-bin:
	@bash deploy/helm/helm.sh >/dev/null

kafka-jars:
	@bash deploy/kafka/kafka.sh fetch

# every test: the main suite on the broker it starts, then the MLflow registry's in its venv
test: test-setup
	@start=$$(date +%s); rc=0; PYTHON="$(PYTHON)" bash deploy/test.sh || rc=$$?; \
	  echo "test: the main suite took $$(( $$(date +%s) - start )) s"; exit $$rc
	$(MAKE) --no-print-directory test-mlflow

unit: venv
	$(PYTHON) -m pytest -q -m "not kafka and not alertmanager" tests streams detectors inference retrain

# The MLflow-backed registry against a real sqlite tracking store. mlflow 3.17 would
# downgrade pyarrow (26 -> 25) and python-dateutil (4 -> 2.9) in the main venv, so the
# extra gets a venv of its own, keyed by the dependency list like the main one.
MLFLOW_VENV ?= $(CACHE)/venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.deps-$(DEPS_HASH)
$(MLFLOW_STAMP):
	@test -x $(MLFLOW_VENV)/bin/python || $(PY) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q --upgrade pip
	$(PY) deploy/requirements.py dev mlflow > $(CACHE)/requirements-mlflow.txt
	$(MLFLOW_VENV)/bin/pip install -q -r $(CACHE)/requirements-mlflow.txt
	rm -f $(MLFLOW_VENV)/.deps-* && touch $@

test-mlflow: $(MLFLOW_STAMP)
	$(MLFLOW_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/mlflow_extra

# the unit tests on every other Python that requires-python admits, each in a venv of its
# own under $(CACHE), keyed by the dependency list like the main one
unit-pythons:
	CACHE="$(CACHE)" DEPS_HASH="$(DEPS_HASH)" bash deploy/unit_pythons.sh

lint: venv
	$(VENV)/bin/ruff check streams detectors inference retrain tests bench
	$(PYTHON) -m mypy
	$(VENV)/bin/hadolint Dockerfile

# helm, built once from the Go module proxy into $(CACHE)/bin; lint and render the chart
helm:
	HELM=$$(bash deploy/helm/helm.sh) && $$HELM lint --strict deploy/helm/inferwatch && \
	  $$HELM template inferwatch deploy/helm/inferwatch

bench: venv
	PYTHON="$(PYTHON)" bash bench/run.sh

# pure-code benchmarks, beside river and the ddsketch package
bench-detectors: venv
	$(PYTHON) -m bench.drift --seeds 30
	$(PYTHON) -m bench.drift_cost
	$(PYTHON) bench/latency_sketch.py --n 1000000 --seed 7

# the batch peer (Evidently) needs pandas 2, so it lives in a venv of its own
PEER_VENV ?= $(CACHE)/bench-venv
bench-peer: venv
	@test -x $(PEER_VENV)/bin/python || $(PY) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q numpy==2.4.6 scipy==1.17.1 pandas==2.3.3 evidently==0.7.23
	$(PYTHON) -m bench.batch_peer --rows 100000 --repeat 3 --seeds 10 --peer-python $(PEER_VENV)/bin/python

# A/B decisions beside a naive test and GrowthBook's engine; gbstats 0.8.0 pins numpy < 2
# and pandas < 2, so it lives in a venv of its own
AB_VENV ?= $(CACHE)/venv-gbstats
bench-ab: venv
	@test -x $(AB_VENV)/bin/python || $(PY) -m venv $(AB_VENV)
	$(AB_VENV)/bin/pip install -q gbstats==0.8.0
	$(PYTHON) -m bench.ab --reps 10000 --peer-python $(AB_VENV)/bin/python

# the shadow's paired verdict beside the unpaired A/B, CUPED beside GrowthBook's CUPED (in
# the same gbstats venv), and the coverage of ratio-metric intervals (issue 22)
bench-shadow: venv
	@test -x $(AB_VENV)/bin/python || $(PY) -m venv $(AB_VENV)
	$(AB_VENV)/bin/pip install -q gbstats==0.8.0
	$(PYTHON) -m bench.paired_shadow --reps 10000
	$(PYTHON) -m bench.cuped --reps 10000 --peer-python $(AB_VENV)/bin/python
	$(PYTHON) -m bench.ratio_coverage --reps 10000

# the operations figures (docs/benchmarks.md): each starts a private broker of its own on
# KAFKA_PORT (default 49192), trains the model if missing, runs, and stops the broker
OPS = PYTHON="$(PYTHON)" bash bench/with_kafka.sh
bench-micro-batching: venv
	$(OPS) bench.micro_batching --sizes 1,8,64,256,1024 --n 60000 --rate 1000 --seconds 10
# the compute-heavy models of issue 20 (bench/bench_models.py), best of 3 sweeps
bench-micro-batching-models: venv
	$(OPS) bench.micro_batching --model mlp-1024x6 --sizes 1,64,256 --n 1500 --rate 40 --seconds 4 --repeat 3
	$(OPS) bench.micro_batching --model tiny-bert --sizes 1,64,256 --n 1000 --rate 20 --seconds 4 --repeat 3
# per-request cost of TorchScript and torch.export against eager, through load_version
bench-serving-overhead: venv
	$(PYTHON) -m bench.serving_overhead --rounds 3
bench-detection-latency: venv
	$(OPS) bench.detection_latency --rate 2000 --drifts 20
bench-scale-out: venv
	$(OPS) bench.scale_out --n 400000 --rate 2000
bench-soak: venv
	$(OPS) bench.soak --minutes 10 --rate 500
bench-ops: bench-micro-batching bench-detection-latency bench-scale-out bench-soak

# accuracy estimated before labels beside NannyML's CBPE; nannyml 0.13.1 fails to import
# under pandas 3 and without statsmodels (which its plots import), so it lives in a venv of
# its own
CBPE_VENV ?= $(CACHE)/venv-nannyml
bench-cbpe: venv
	@test -x $(CBPE_VENV)/bin/python || $(PY) -m venv $(CBPE_VENV)
	$(CBPE_VENV)/bin/pip install -q nannyml==0.13.1 pandas==2.3.3 statsmodels==0.14.5
	$(PYTHON) -m bench.cbpe --seeds 20 --peer-python $(CBPE_VENV)/bin/python
	$(PYTHON) -m bench.cbpe_multiclass --seeds 10 --peer-python $(CBPE_VENV)/bin/python

# NannyML's DLE runs in the same venv as its CBPE
bench-dle: venv
	@test -x $(CBPE_VENV)/bin/python || $(PY) -m venv $(CBPE_VENV)
	$(CBPE_VENV)/bin/pip install -q nannyml==0.13.1 pandas==2.3.3 statsmodels==0.14.5
	$(PYTHON) -m bench.dle --seeds 10 --peer-python $(CBPE_VENV)/bin/python

kafka-start:
	bash deploy/kafka/kafka.sh start

kafka-stop:
	bash deploy/kafka/kafka.sh stop

clean:
	bash deploy/kafka/kafka.sh clean || true
	rm -rf var
