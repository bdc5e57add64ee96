#!/usr/bin/env bash
# Apache Kafka (KRaft, broker and controller in each JVM) on 127.0.0.1 for tests and local
# runs: one node by default, a three-node cluster with KAFKA_NODES=3, and a SASL_SSL
# listener (SCRAM-SHA-512, test certificates, ACLs) with KAFKA_SECURITY=sasl_ssl.
# Usage: kafka.sh fetch|start|stop|status|clean|kill NODE   (see README.md for the variables)
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
NODES="${KAFKA_NODES:-1}"
SECURITY="${KAFKA_SECURITY:-plaintext}"
ACL_PREFIX="${KAFKA_ACL_TOPIC_PREFIX:-inferwatch.}"
TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
TLS="$DATA/tls"
USERS="$DATA/users"

log() { echo "kafka.sh: $*" >&2; }
[[ "$NODES" == 1 || "$NODES" == 3 ]] || { log "KAFKA_NODES must be 1 or 3, got '$NODES'"; exit 2; }
[[ "$SECURITY" == plaintext || "$SECURITY" == sasl_ssl ]] ||
  { log "KAFKA_SECURITY must be plaintext or sasl_ssl, got '$SECURITY'"; exit 2; }

# Node N (1-based) listens on PORT + 100*(N-1) and CTRL_PORT + 100*(N-1). One node keeps
# its files in DATA itself, as before; a cluster gives each node DATA/nodeN.
port_of() { echo $((PORT + 100 * ($1 - 1))); }
ctrl_of() { echo $((CTRL_PORT + 100 * ($1 - 1))); }
dir_of() { if ((NODES == 1)); then echo "$DATA"; else echo "$DATA/node$1"; fi; }
# Tools and brokers log through the same config, each into its node's dir.
jvm() { JVM=(java -Dkafka.logs.dir="$1" -Dlog4j.configuration="file:$HERE/log4j.properties" -cp "$LIBS/*"); }
java_in() { local JVM; jvm "$1"; shift; "${JVM[@]}" "$@"; }

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
  local p; p="$(cat "$(dir_of "$1")/kafka.pid" 2>/dev/null)" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q 'kafka\.Kafka' && echo "$p"
}

# An ApiVersions v0 request (key 18, correlation id 1, null client id). The broker
# accepts TCP connections before it serves requests; a reply means it is really up.
# Kafka answers ApiVersions before SASL authentication, so the probe works on SASL_SSL too.
PROBE='\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff'
answers() {
  local port; port="$(port_of "$1")"
  if [[ "$SECURITY" == sasl_ssl ]]; then
    [[ "$(printf "$PROBE" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" \
      -CAfile "$TLS/ca.pem" -verify_return_error 2>/dev/null | head -c 4 | wc -c)" -eq 4 ]]
  else
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 &&
      [[ "$(head -c 4 <&3 | wc -c)" -eq 4 ]]' _ "$port" "$PROBE" 2>/dev/null
  fi
}

tail_logs() {
  local f
  for f in "$(dir_of "$1")/server.log" "$(dir_of "$1")/kafka.out"; do  # kafka.out: JVM errors before logging starts
    [[ -s "$f" ]] && { log "--- tail of $f ---"; tail -n 40 "$f" >&2; }
  done
  return 0
}

voters() {
  local n out=""
  for n in $(seq "$NODES"); do out+="${out:+,}$n@127.0.0.1:$(ctrl_of "$n")"; done
  echo "$out"
}

make_tls() {
  # A CA and a broker certificate for 127.0.0.1 (aiokafka checks the host name against
  # the SAN). Made once per data dir; clients trust tls/ca.pem.
  [[ -f "$TLS/broker.pem" ]] && return 0
  mkdir -p "$TLS" && chmod 700 "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=inferwatch test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$TLS/broker.key" -out "$TLS/broker.csr" 2>/dev/null
  openssl x509 -req -in "$TLS/broker.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 30 -out "$TLS/broker.crt" \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n') 2>/dev/null
  # Kafka's PEM key store: the (PKCS#8) key, then the certificate chain.
  cat "$TLS/broker.key" "$TLS/broker.crt" "$TLS/ca.pem" >"$TLS/broker.pem"
}

make_users() {
  # SCRAM users, with random passwords readable only by this user: admin (the super user
  # brokers and workers use) and requests (allowed only to produce to the requests topic).
  [[ -f "$USERS/admin" ]] && return 0
  mkdir -p "$USERS" && chmod 700 "$USERS"
  local u
  for u in admin requests; do (umask 077; openssl rand -hex 16 >"$USERS/$u"); done
}

write_props() {
  local n=$1 dir port ctrl
  dir="$(dir_of "$n")"; port="$(port_of "$n")"; ctrl="$(ctrl_of "$n")"
  local rf=1 isr=1
  ((NODES == 3)) && rf=3 isr=2
  (umask 077; cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh on every start; edits here are lost.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
controller.listener.names=CONTROLLER
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
# Internal topics: one replica on one node (or transactions and group commits fail);
# on three nodes, three replicas and two in sync. Fewer partitions: quicker first use.
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=6
default.replication.factor=$rf
min.insync.replicas=$isr
# Tests start and restart consumer groups often; do not wait for more members.
group.initial.rebalance.delay.ms=0
# Accept records up to 16 MiB (the tests send 5 MB); a follower must fetch what a leader accepts.
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
EOF
  if [[ "$SECURITY" == sasl_ssl ]]; then
    cat >>"$dir/server.properties" <<EOF
# Clients and brokers: SASL_SSL with SCRAM-SHA-512. The controller listener stays
# plaintext on loopback: SCRAM between KRaft controllers is unsupported (KAFKA-15513).
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=SASL_SSL://127.0.0.1:$port
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$USERS/admin")";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
# ACLs decide; nothing is allowed without one. Brokers reach the controllers as
# ANONYMOUS over the loopback-only controller listener, so that principal is a super user
# too: never expose the controller port.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
EOF
  else
    cat >>"$dir/server.properties" <<EOF
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
  fi
  )
}

format() {
  # Format once; later starts reuse the storage, so topics and offsets survive restarts.
  # Every node of a cluster is formatted with the same cluster id, in parallel.
  local n pids=() id scram=()
  [[ -f "$DATA/cluster.id" ]] || java_in "$DATA" kafka.tools.StorageTool random-uuid >"$DATA/cluster.id"
  id="$(cat "$DATA/cluster.id")"
  if [[ "$SECURITY" == sasl_ssl ]]; then
    local u
    for u in admin requests; do scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$USERS/$u")]"); done
  fi
  for n in $(seq "$NODES"); do
    [[ -f "$(dir_of "$n")/data/meta.properties" ]] && continue
    java_in "$(dir_of "$n")" kafka.tools.StorageTool format -t "$id" \
      -c "$(dir_of "$n")/server.properties" "${scram[@]}" >/dev/null &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n"; done
}

acls() {
  # The 'requests' principal may only produce to the requests topic of ACL_PREFIX.
  local conf="$DATA/admin-client.properties"
  (umask 077; cat >"$conf" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$USERS/admin")";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
EOF
  )
  java_in "$DATA" kafka.admin.AclCommand --bootstrap-server "127.0.0.1:$PORT" --command-config "$conf" \
    --add --allow-principal User:requests --operation Write --operation Describe \
    --topic "${ACL_PREFIX}requests" >/dev/null
}

start_node() {
  local n=$1 dir p
  dir="$(dir_of "$n")"
  if p="$(pid "$n")"; then log "node $n already running (pid $p) on 127.0.0.1:$(port_of "$n")"; return 0; fi
  # Otherwise the wait below would take another broker's answer for ours.
  if answers "$n"; then log "another Kafka already answers on 127.0.0.1:$(port_of "$n") (set KAFKA_PORT)"; exit 1; fi
  # setsid: the broker outlives this shell and a Ctrl-C in the terminal that started it.
  local JVM; jvm "$dir"
  # shellcheck disable=SC2086
  setsid nohup "${JVM[@]}" ${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} -XX:+UseG1GC -Djava.awt.headless=true kafka.Kafka "$dir/server.properties" >"$dir/kafka.out" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
}

wait_node() {
  local n=$1 deadline=$((SECONDS + TIMEOUT))
  until answers "$n"; do
    if ! pid "$n" >/dev/null; then log "node $n exited during startup"; tail_logs "$n"; stop; exit 1; fi
    if ((SECONDS >= deadline)); then
      log "node $n did not answer on 127.0.0.1:$(port_of "$n") within ${TIMEOUT}s"
      tail_logs "$n"; stop; exit 1
    fi
    sleep 0.5
  done
}

start() {
  local n fresh=0
  fetch
  for n in $(seq "$NODES"); do mkdir -p "$(dir_of "$n")/data"; done
  [[ -f "$(dir_of 1)/data/meta.properties" ]] || fresh=1
  if [[ "$SECURITY" == sasl_ssl ]]; then make_tls; make_users; fi
  for n in $(seq "$NODES"); do write_props "$n"; done
  format
  for n in $(seq "$NODES"); do start_node "$n"; done
  for n in $(seq "$NODES"); do wait_node "$n"; done
  if [[ "$SECURITY" == sasl_ssl && $fresh == 1 ]]; then acls; fi
  local where; where="$(for n in $(seq "$NODES"); do printf '127.0.0.1:%s ' "$(port_of "$n")"; done)"
  log "Kafka $VERSION up on ${where% } ($SECURITY, $NODES node(s), data in $DATA)"
}

stop_node() {
  local n=$1 p
  if ! p="$(pid "$n")"; then rm -f "$(dir_of "$n")/kafka.pid"; return 0; fi
  kill -TERM "$p"
  for _ in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$p" 2>/dev/null; then log "node $n: no exit after 30s, killing pid $p"; kill -KILL "$p"; fi
  rm -f "$(dir_of "$n")/kafka.pid"
  log "node $n stopped (pid $p)"
}

stop() {
  # All nodes at once: one by one, the last ones wait for a quorum that is leaving.
  local n pids=()
  for n in $(seq "$NODES"); do stop_node "$n" & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n"; done
}

kill_node() {
  # SIGKILL one node, as a crash would (fault tests).
  local n=${1:?usage: kafka.sh kill NODE} p
  p="$(pid "$n")" || { log "node $n is not running"; exit 1; }
  kill -KILL "$p"
  log "node $n killed (pid $p)"
}

status() {
  local n rc=0 p
  for n in $(seq "$NODES"); do
    if p="$(pid "$n")" && answers "$n"; then log "node $n running (pid $p) on 127.0.0.1:$(port_of "$n")"
    else log "node $n not running or not answering on 127.0.0.1:$(port_of "$n")"; rc=1; fi
  done
  return $rc
}

clean() { stop; rm -rf "$DATA"; log "removed $DATA"; }

case "${1:-}" in
  fetch | start | stop | status | clean) "$1" ;;
  kill) kill_node "${2:-}" ;;
  *) echo "usage: $0 fetch|start|stop|status|clean|kill NODE" >&2; exit 2 ;;
esac
