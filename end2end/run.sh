#!/usr/bin/env bash
# Browser end-to-end tests of the dashboard against real agents on the real Docker engine.
#
#   AGENT_BIN=target/release/dockscope-agent end2end/run.sh
#   end2end/run.sh tests/what-happened.test.mjs     (only these specs, paths from end2end/)
#
# Installs playwright-core if missing (never a browser: Debian's /usr/bin/chromium is used),
# starts two agents on free loopback ports (one with --serve-ui), runs every spec with node's
# test runner, stops what it started and exits non-zero when a spec fails. Screenshots land in
# end2end/artifacts/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

AGENT_BIN=${AGENT_BIN:-target/release/dockscope-agent}
case "$AGENT_BIN" in /*) ;; *) AGENT_BIN="$root/$AGENT_BIN" ;; esac
export AGENT_BIN
export DOCKSCOPE_TEST_IMAGE=${DOCKSCOPE_TEST_IMAGE:-dockscope-test-busybox}
export E2E_ARTIFACTS="$here/artifacts"

log() { printf '[end2end] %s\n' "$*" >&2; }

[ -x "$AGENT_BIN" ] || { log "no agent binary at $AGENT_BIN (run scripts/build.sh)"; exit 1; }
[ -x /usr/bin/chromium ] || { log "/usr/bin/chromium is missing (apt-get install chromium)"; exit 1; }
docker info >/dev/null 2>&1 || { log "no Docker engine answers (scripts/docker-up.sh starts one)"; exit 1; }
docker image inspect "$DOCKSCOPE_TEST_IMAGE" >/dev/null 2>&1 \
  || { log "test image $DOCKSCOPE_TEST_IMAGE is missing (scripts/docker-up.sh builds it)"; exit 1; }

if [ ! -d "$here/node_modules/playwright-core" ]; then
  log "installing playwright-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  docker ps -aq --filter label=dockscope-e2e=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

start_agent() { # id port [args…]
  local id=$1 port=$2
  shift 2
  "$AGENT_BIN" --listen "127.0.0.1:$port" --agent-id "$id" "$@" \
    >"$E2E_ARTIFACTS/agent-$id.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    # An HTTP answer, not just a connect: a connect can reach itself when the kernel picks the
    # very port waited for as its source while nothing listens yet (curl then says 000).
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/healthz" || true)
    if [ -n "$code" ] && [ "$code" != 000 ]; then return 0; fi
    sleep 0.1
  done
  log "agent $id did not listen on $port; its log:"
  cat "$E2E_ARTIFACTS/agent-$id.log" >&2
  return 1
}

mkdir -p "$E2E_ARTIFACTS"
docker ps -aq --filter label=dockscope-e2e=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
AGENT_A_PORT=$(free_port)
AGENT_B_PORT=$(free_port)
export AGENT_A_PORT AGENT_B_PORT
start_agent e2e-a "$AGENT_A_PORT" --serve-ui
start_agent e2e-b "$AGENT_B_PORT"
log "agents: e2e-a (--serve-ui) on $AGENT_A_PORT, e2e-b on $AGENT_B_PORT"

cd "$here"
log "screenshots and agent logs go to $E2E_ARTIFACTS"
status=0
# engine-outage kills and restarts a private dockerd (heavy on a busy machine; never the shared
# engine), so it runs after every other spec, on its own.
specs=()
for spec in tests/*.test.mjs; do
  [ "$spec" = tests/engine-outage.test.mjs ] || specs+=("$spec")
done
outage=(tests/engine-outage.test.mjs)
if [ "$#" -gt 0 ]; then
  specs=("$@")
  outage=()
fi
# No single test may take 10 minutes (the slowest takes about one): a hang fails that test.
limit=--test-timeout=600000
node --test --test-concurrency=1 "$limit" --test-reporter=spec "${specs[@]}" || status=$?
if [ "${#outage[@]}" -gt 0 ]; then
  node --test "$limit" --test-reporter=spec "${outage[@]}" || status=$?
fi
# Each run ends with its "ℹ pass N" / "ℹ fail N" summary; this line totals the verdict.
log "end-to-end: $([ "$status" = 0 ] && echo 'all specs passed' || echo "FAILED (exit $status)")"
exit "$status"
