#!/usr/bin/env bash
# Run the unit tests (no Kafka, no Alertmanager) on every other Python that
# pyproject.toml's requires-python admits: 3.12 and 3.13 by default (3.11 runs in
# `make test`). Each version gets a virtual environment of its own outside the
# checkout, keyed by the dependency list like the main one, so a re-run reuses it.
#
#   PYTHONS="3.12 3.13" CACHE=~/.cache/inferwatch DEPS_HASH=... bash deploy/unit_pythons.sh [PATHS]
#
# PATHS (default: every unit test and doctest) narrow the run, e.g. to one test file.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONS=${PYTHONS:-3.12 3.13}
CACHE=${CACHE:-$HOME/.cache/inferwatch}
DEPS_HASH=${DEPS_HASH:-$(python3 deploy/requirements.py dev mlflow | sha256sum | cut -c1-16)}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(tests streams detectors inference retrain)

# python3.X on PATH, else pyenv's install of it (pyenv's shims refuse versions that
# are installed but not selected)
interpreter() {
  if command -v "python$1" >/dev/null 2>&1 && "python$1" -c '' 2>/dev/null; then
    command -v "python$1"; return
  fi
  local found
  found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" 2>/dev/null \
          | sort -V | tail -1)
  [ -n "$found" ] || { echo "python$1 is needed (e.g. pyenv install $1)" >&2; return 1; }
  echo "$found"
}

venv_for() {
  local v=$1 venv=$CACHE/venv-py$1 py start
  if [ ! -e "$venv/.deps-$DEPS_HASH" ]; then
    py=$(interpreter "$v")
    start=$(date +%s)
    test -x "$venv/bin/python" || "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$py" deploy/requirements.py dev > "$venv/requirements.txt"
    # no byte-compiling at install: most of torch's files are never imported by the tests
    "$venv/bin/pip" install -q --no-compile -r "$venv/requirements.txt"
    rm -f "$venv"/.deps-* && touch "$venv/.deps-$DEPS_HASH"
    echo "unit-pythons: venv for $v made in $(( $(date +%s) - start )) s"
  fi
}

# the venvs are made side by side too: on a fresh machine each is mostly a download
made=()
for v in $PYTHONS; do venv_for "$v" & made+=($!); done
for pid in "${made[@]}"; do wait "$pid"; done

# The versions' runs go side by side: each is one process on one core, and the machine
# has two; their outputs are printed whole, one after the other, once both have ended.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for v in $PYTHONS; do
  ( start=$(date +%s)
    rc=0
    "$CACHE/venv-py$v/bin/python" -m pytest -q -p no:cacheprovider \
      -m "not kafka and not alertmanager" "${paths[@]}" || rc=$?
    echo "unit-pythons: Python $v unit tests took $(( $(date +%s) - start )) s"
    exit $rc ) > "$logs/$v.log" 2>&1 &
  pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || rc=1
done
for v in $PYTHONS; do cat "$logs/$v.log"; done
exit $rc
