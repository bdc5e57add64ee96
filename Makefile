# inferwatch: `make demo` and `make test` work on a fresh machine; each sets itself up.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
CACHE ?= $(HOME)/.cache/inferwatch
VENV ?= $(CACHE)/venv
DEPS_HASH := $(shell cat pyproject.toml deploy/requirements.py | sha256sum | cut -c1-16)
STAMP := $(VENV)/.deps-$(DEPS_HASH)
PYTHON := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export PYTHONUNBUFFERED := 1

.PHONY: venv demo test unit lint bench kafka-start kafka-stop clean

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

test: venv
	PYTHON="$(PYTHON)" bash deploy/test.sh

unit: venv
	$(PYTHON) -m pytest -q -m "not kafka and not alertmanager" tests streams detectors inference retrain

lint: venv
	$(VENV)/bin/ruff check streams detectors inference retrain tests bench
	$(PYTHON) -m mypy

bench: venv
	PYTHON="$(PYTHON)" bash bench/run.sh

kafka-start:
	bash deploy/kafka/kafka.sh start

kafka-stop:
	bash deploy/kafka/kafka.sh stop

clean:
	bash deploy/kafka/kafka.sh clean || true
	rm -rf var
