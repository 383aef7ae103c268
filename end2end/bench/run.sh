#!/usr/bin/env bash
# Dashboard benchmark: three synthetic agents (100 containers each, 1 Hz) on free loopback
# ports, headless Debian chromium, results printed and written to docs/benchmarks.md.
#
#   end2end/bench/run.sh            # after scripts/build.sh
#   BENCH_SECONDS=60 end2end/bench/run.sh
#   end2end/bench/run.sh big        # one card of 10,000 containers (big-card.mjs)
#   end2end/bench/run.sh fleet 20   # the fleet view of 20 agents × 100 (fleet.mjs; BENCH_MINUTES)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(cd "$here/.." && pwd)
root=$(cd "$e2e/.." && pwd)
cd "$root"

AGENT_BIN=${AGENT_BIN:-target/release/dockscope-agent}
case "$AGENT_BIN" in /*) ;; *) AGENT_BIN="$root/$AGENT_BIN" ;; esac
[ -x "$AGENT_BIN" ] || { echo "no agent binary at $AGENT_BIN (run scripts/build.sh)" >&2; exit 1; }
if [ ! -d "$e2e/node_modules/playwright-core" ]; then
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

logs=$(mktemp -d)

if [ "${1:-}" = big ]; then
  port=$(free_port)
  "$AGENT_BIN" --listen "127.0.0.1:$port" --agent-id synth-big \
    --synthetic-containers "${BENCH_CONTAINERS:-10000}" --serve-ui >"$logs/synth-big.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  BENCH_PORT=$port node "$here/big-card.mjs"
  exit
fi

if [ "${1:-}" = fleet ]; then
  count=${2:-20}
  ports=()
  for i in $(seq 1 "$count"); do
    port=$(free_port)
    extra=()
    [ "$i" = 1 ] && extra=(--serve-ui)
    "$AGENT_BIN" --listen "127.0.0.1:$port" --agent-id "$(printf 'fleet-%02d' "$i")" \
      --synthetic-containers 100 "${extra[@]}" >"$logs/fleet-$i.log" 2>&1 &
    pids+=("$!")
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
  done
  BENCH_PORTS=$(IFS=,; echo "${ports[*]}") node "$here/fleet.mjs"
  exit
fi

ports=()
for id in synth-a synth-b synth-c; do
  port=$(free_port)
  extra=()
  [ "$id" = synth-a ] && extra=(--serve-ui)
  "$AGENT_BIN" --listen "127.0.0.1:$port" --agent-id "$id" --synthetic-containers 100 "${extra[@]}" \
    >"$logs/$id.log" 2>&1 &
  pids+=("$!")
  ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

BENCH_PORTS=$(IFS=,; echo "${ports[*]}") node "$here/bench.mjs"
