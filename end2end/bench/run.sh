#!/usr/bin/env bash
# Dashboard benchmark: three synthetic agents (100 containers each, 1 Hz) on free loopback
# ports, headless Debian chromium, results printed and written to docs/benchmarks.md.
#
#   end2end/bench/run.sh            # after scripts/build.sh
#   BENCH_SECONDS=60 end2end/bench/run.sh
#   end2end/bench/run.sh big        # one card of 10,000 containers (big-card.mjs)
#   end2end/bench/run.sh fleet 20   # the fleet view of 20 agents × 100 (fleet.mjs; BENCH_MINUTES)
#   end2end/bench/run.sh fleet-trace 20   # what that page's long tasks are (fleet-trace.mjs)
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

# start_agents CONTAINERS ID...: one synthetic agent per id on a free port (the first also
# serves the page), each waited for; their ports go into `ports`.
ports=()
start_agents() {
  local containers=$1 first=1 id port
  shift
  for id in "$@"; do
    port=$(free_port)
    extra=()
    [ "$first" = 1 ] && extra=(--serve-ui)
    first=0
    "$AGENT_BIN" --listen "127.0.0.1:$port" --agent-id "$id" --synthetic-containers "$containers" \
      "${extra[@]}" >"$logs/$id.log" 2>&1 &
    pids+=("$!")
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
  done
}

case "${1:-}" in
  big)
    start_agents "${BENCH_CONTAINERS:-10000}" synth-big
    BENCH_PORT=${ports[0]} node "$here/big-card.mjs"
    ;;
  fleet|fleet-trace)
    mapfile -t ids < <(seq -f 'fleet-%02g' 1 "${2:-20}")
    start_agents 100 "${ids[@]}"
    BENCH_PORTS=$(IFS=,; echo "${ports[*]}") node "$here/$1.mjs"
    ;;
  *)
    start_agents 100 synth-a synth-b synth-c
    BENCH_PORTS=$(IFS=,; echo "${ports[*]}") node "$here/bench.mjs"
    ;;
esac
