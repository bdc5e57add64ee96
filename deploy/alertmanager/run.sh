#!/usr/bin/env bash
# Start or stop Debian's prometheus-alertmanager on 127.0.0.1 with inferwatch's config.
#
#   RECEIVER_URL=http://127.0.0.1:8080/hook deploy/alertmanager/run.sh start
#   deploy/alertmanager/run.sh stop
#
# Environment: RECEIVER_URL (start only, required), AM_PORT (default 9193),
# AM_BIN (default /usr/bin/prometheus-alertmanager), AM_DIR (state: rendered config,
# storage, pid file and log; default ${TMPDIR:-/tmp}/inferwatch-alertmanager-$AM_PORT).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${AM_PORT:-9193}"
bin="${AM_BIN:-/usr/bin/prometheus-alertmanager}"
dir="${AM_DIR:-${TMPDIR:-/tmp}/inferwatch-alertmanager-$port}"
pidfile="$dir/alertmanager.pid"

ready() {
  python3 - "$port" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/-/ready", timeout=1) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start() {
  : "${RECEIVER_URL:?set RECEIVER_URL to the webhook receiver, e.g. http://127.0.0.1:8080/hook}"
  [[ -x "$bin" ]] || { echo "run.sh: $bin not found: apt-get install prometheus-alertmanager" >&2; exit 2; }
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "run.sh: already running (pid $(cat "$pidfile")); run.sh stop first" >&2; exit 1
  fi
  mkdir -p "$dir/data"
  # '|' cannot appear in a URL we accept, so it is a safe sed delimiter.
  [[ "$RECEIVER_URL" != *"|"* ]] || { echo "run.sh: RECEIVER_URL must not contain '|'" >&2; exit 2; }
  url="${RECEIVER_URL//&/\\&}"  # '&' means "the match" in a sed replacement
  sed "s|\${RECEIVER_URL}|$url|g" "$here/alertmanager.yml.tmpl" > "$dir/alertmanager.yml"
  "$bin" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address="" \
    --log.level=info > "$dir/alertmanager.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 100); do
    if ready; then echo "alertmanager ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"; return 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "run.sh: alertmanager exited; its log:" >&2; cat "$dir/alertmanager.log" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "run.sh: alertmanager not ready after 20 s; its log:" >&2
  cat "$dir/alertmanager.log" >&2
  stop; exit 1
}

stop() {
  [[ -f "$pidfile" ]] || { echo "run.sh: not running (no $pidfile)"; return 0; }
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -rf "$dir"
  echo "alertmanager stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
