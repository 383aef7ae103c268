#!/usr/bin/env bash
# Dockscope on this machine in one command: builds what is missing, then starts the agent with
# the dashboard (in a container, on 127.0.0.1, no token) beside a small demo workload
# (deploy/compose/docker-compose.demo.yml), and prints the URL.
#   scripts/demo.sh          start (or update) the demo
#   scripts/demo.sh down     stop it and remove its containers and network
# Environment: DOCKSCOPE_DEMO_PORT (host port, default 8080), DOCKSCOPE_DEMO_PROJECT (compose
# project name, default dockscope-demo). Idempotent: each build step runs only when its output
# is missing or older than its sources, and nothing is pulled (both images are FROM scratch).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

PORT=${DOCKSCOPE_DEMO_PORT:-8080}
PROJECT=${DOCKSCOPE_DEMO_PROJECT:-dockscope-demo}
FILE=deploy/compose/docker-compose.demo.yml
STATIC=target/x86_64-unknown-linux-musl/release/dockscope-agent
BUNDLE=crates/dashboard/dist/index.html

log() { printf '[demo] %s\n' "$*" >&2; }
case "$PORT" in '' | *[!0-9]*) log "DOCKSCOPE_DEMO_PORT=$PORT is not a port number"; exit 1 ;; esac
export DOCKSCOPE_DEMO_PORT=$PORT
compose() { docker-compose -p "$PROJECT" -f "$FILE" "$@"; }

if ! command -v docker-compose >/dev/null; then
  log "apt-get install docker-compose"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

case "${1:-up}" in
  up) ;;
  down)
    compose down --remove-orphans --timeout 5
    log "stopped (project $PROJECT)"
    exit 0
    ;;
  *) log "usage: scripts/demo.sh [up|down]"; exit 1 ;;
esac

# Whether any file under the given paths is newer than $1 (or $1 is missing). Tests, benches,
# examples and trunk's output (dist/) are not sources.
stale() { # output path…
  local out=$1
  shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -type f -newer "$out" -not -path '*/dist/*' -not -path '*/tests/*' \
    -not -path '*/benches/*' -not -path '*/examples/*' -print -quit 2>/dev/null)" ]
}

if ! command -v trunk >/dev/null || ! command -v wasm-bindgen >/dev/null \
  || ! command -v musl-gcc >/dev/null || [ ! -x /bin/busybox ]; then
  scripts/setup.sh --build
fi
scripts/docker-up.sh
if stale "$BUNDLE" crates/dashboard crates/protocol Cargo.lock Cargo.toml; then
  log "dashboard bundle missing or older than its sources: scripts/build.sh"
  scripts/build.sh
fi
if [ "$BUNDLE" -nt "$STATIC" ] || stale "$STATIC" crates/agent crates/protocol Cargo.lock Cargo.toml; then
  log "static agent missing or older than its sources: scripts/build-static.sh"
  scripts/build-static.sh
fi
# The workload image's build context gets busybox from Debian's busybox-static.
# (RUN /bin/busybox in the image needs the execute bit, so it is set even on an equal copy.)
cmp -s /bin/busybox deploy/compose/demo/busybox || cp /bin/busybox deploy/compose/demo/busybox
chmod 755 deploy/compose/demo/busybox

DOCKER_GID=$(stat -c %g /var/run/docker.sock)
export DOCKER_GID
log "docker-compose up (project $PROJECT, $FILE)"
# One build per image (the workload services share theirs); Docker's cache makes a warm one
# instant. The legacy builder's deprecation notice is noise here.
compose build -q dockscope-agent web 2>&1 | { grep -v -e DEPRECATED -e buildx -e '^$' || true; } >&2
if ! compose up -d --remove-orphans; then
  log "docker-compose up failed; if port $PORT is taken: DOCKSCOPE_DEMO_PORT=9090 scripts/demo.sh"
  exit 1
fi

# Up once the agent serves its page through the published port.
answers() { # the status line of GET / on the published port
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 \
    && timeout 2 head -n 1 <&3) 2>/dev/null | grep -q '^HTTP/1\.[01] 200'
}
ready=
for _ in $(seq 1 150); do
  if answers; then ready=1; break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  log "the agent did not answer on 127.0.0.1:$PORT within 30 s; its log:"
  compose logs --tail 30 dockscope-agent >&2
  exit 1
fi
compose ps >&2
stop=
[ "$PROJECT" = dockscope-demo ] || stop="DOCKSCOPE_DEMO_PROJECT=$PROJECT "
cat <<EOF

Dockscope demo: open http://127.0.0.1:$PORT/
  agent "demo" (no token, loopback only) and its workload: web, client, flapping-health,
  restarter, cruncher (containers ${PROJECT}_*)
  stop it: ${stop}scripts/demo.sh down
EOF
