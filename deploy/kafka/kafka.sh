#!/usr/bin/env bash
# One-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1 for tests and local runs.
# Usage: kafka.sh fetch|start|stop|status|clean      (see README.md for the variables)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# pom.xml is the single place the version is pinned.
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${INFERWATCH_CACHE:-$HOME/.cache/inferwatch}/kafka-$VERSION"
LIBS="$CACHE/libs"
DATA="${INFERWATCH_KAFKA_DIR:-$REPO/var/kafka}"
PORT="${KAFKA_PORT:-9092}"
CTRL_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PIDFILE="$DATA/kafka.pid"
TIMEOUT="${KAFKA_START_TIMEOUT:-60}"

log() { echo "kafka.sh: $*" >&2; }
# Tools and broker log through the same config, into the data dir.
JAVA=(java -Dkafka.logs.dir="$DATA" -Dlog4j.configuration="file:$HERE/log4j.properties" -cp "$LIBS/*")

fetch() {
  # The stamp holds the pom's hash: re-runs skip Maven, and changing the pin refetches.
  local want; want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  [[ -f "$CACHE/.stamp" && "$(cat "$CACHE/.stamp")" == "$want" ]] && return 0
  log "fetching Kafka $VERSION jars into $LIBS"
  # Copy into a temp dir and swap it in, so an interrupted fetch never looks complete.
  rm -rf "$LIBS.tmp"
  # Maven's output only matters on failure (Debian's 3.8 prints colour codes even with -q).
  local out
  out="$(mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS.tmp" 2>&1)" ||
    { echo "$out" >&2; log "maven failed"; exit 1; }
  rm -rf "$LIBS" && mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$CACHE/.stamp"
}

pid() {
  # Only a live kafka.Kafka process counts: a stale pid file may name a reused pid.
  local p; p="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q 'kafka\.Kafka' && echo "$p"
}

answers() {
  # An ApiVersions v0 request (key 18, correlation id 1, null client id). The broker
  # accepts TCP connections before it serves requests; a reply means it is really up.
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3 &&
    [[ "$(head -c 4 <&3 | wc -c)" -eq 4 ]]' _ "$PORT" 2>/dev/null
}

tail_logs() {
  local f
  for f in "$DATA/server.log" "$DATA/kafka.out"; do  # kafka.out: JVM errors before logging starts
    [[ -s "$f" ]] && { log "--- tail of $f ---"; tail -n 40 "$f" >&2; }
  done
  return 0
}

write_props() {
  cat >"$DATA/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh on every start; edits here are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/data
num.partitions=6
auto.create.topics.enable=false
# One node: the internal topics cannot have more than one replica, or transactions
# and consumer-group commits fail. Fewer partitions make their first use quicker.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
# Tests start and restart consumer groups often; do not wait for more members.
group.initial.rebalance.delay.ms=0
# Accept records up to 16 MiB (the tests send 5 MB); a follower must fetch what a leader accepts.
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
EOF
}

start() {
  local p
  if p="$(pid)"; then log "already running (pid $p) on 127.0.0.1:$PORT"; return 0; fi
  # Otherwise the wait below would take another broker's answer for ours.
  if answers; then log "another Kafka already answers on 127.0.0.1:$PORT (set KAFKA_PORT)"; exit 1; fi
  fetch
  mkdir -p "$DATA/data"
  write_props
  # Format once; later starts reuse the storage, so topics and offsets survive restarts.
  if [[ ! -f "$DATA/data/meta.properties" ]]; then
    local id; id="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid)"
    "${JAVA[@]}" kafka.tools.StorageTool format -t "$id" -c "$DATA/server.properties" >/dev/null
  fi
  # setsid: the broker outlives this shell and a Ctrl-C in the terminal that started it.
  # shellcheck disable=SC2086
  setsid nohup "${JAVA[@]}" ${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} -XX:+UseG1GC -Djava.awt.headless=true \
    kafka.Kafka "$DATA/server.properties" >"$DATA/kafka.out" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! pid >/dev/null; then log "broker exited during startup"; tail_logs; rm -f "$PIDFILE"; exit 1; fi
    if ((SECONDS >= deadline)); then
      log "broker did not answer on 127.0.0.1:$PORT within ${TIMEOUT}s"
      tail_logs; stop; exit 1
    fi
    sleep 0.5
  done
  log "Kafka $VERSION up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), data in $DATA)"
}

stop() {
  local p
  if ! p="$(pid)"; then rm -f "$PIDFILE"; log "not running"; return 0; fi
  kill -TERM "$p"
  for _ in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$p" 2>/dev/null; then log "no exit after 30s, killing pid $p"; kill -KILL "$p"; fi
  rm -f "$PIDFILE"
  log "stopped (pid $p)"
}

status() {
  local p
  if p="$(pid)" && answers; then log "running (pid $p) on 127.0.0.1:$PORT"; return 0; fi
  log "not running or not answering on 127.0.0.1:$PORT"; return 1
}

clean() { stop; rm -rf "$DATA"; log "removed $DATA"; }

case "${1:-}" in
  fetch | start | stop | status | clean) "$1" ;;
  *) echo "usage: $0 fetch|start|stop|status|clean" >&2; exit 2 ;;
esac
