#!/usr/bin/env bash
# Makes sure a Docker engine answers on the local socket and the test image exists.
# Idempotent: installs docker.io/busybox-static only when missing, starts dockerd only when
# `docker info` fails, builds the image only when absent. Never pulls from a registry.
# With DOCKER_HOST naming another engine (scripts/private-dockerd.sh does this), it only builds
# the image there and never starts a daemon.
set -euo pipefail

IMAGE=${DOCKSCOPE_TEST_IMAGE:-dockscope-test-busybox}

log() { printf '[docker-up] %s\n' "$*" >&2; }

case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
  *)
    docker info >/dev/null 2>&1 || { log "no engine answers at DOCKER_HOST=$DOCKER_HOST"; exit 1; }
    other_engine=1
    ;;
esac

if [ -z "${other_engine:-}" ] && { ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ]; }; then
  log "installing docker.io and busybox-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
fi

if [ -z "${other_engine:-}" ] && ! docker info >/dev/null 2>&1; then
  # A killed dockerd takes its containerd with it, and both stay zombies until init reaps
  # them; meanwhile their pid files point at "existing" processes and a new dockerd refuses to
  # start ("pid file found") or waits on the dead containerd's socket. Let the reaper finish,
  # then drop each pid file unless the live process it names still runs. Only these two files
  # count: private engines (scripts/private-dockerd.sh) may run dockerds of their own.
  running() { # pid file
    local pid
    pid=$(tr -dc '0-9' 2>/dev/null <"$1") && [ -n "$pid" ] || return 1
    ps -o stat= -p "$pid" 2>/dev/null | grep -qv '^Z'
  }
  for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    for _ in $(seq 1 20); do
      pid=$(tr -dc '0-9' 2>/dev/null <"$pidfile") && [ -n "$pid" ] || break
      ps -o stat= -p "$pid" 2>/dev/null | grep -q '^Z' || break
      sleep 0.5
    done
    running "$pidfile" || rm -f "$pidfile"
  done
  # On a cold machine dockerd can give up on its own containerd ("timeout waiting for
  # containerd to start": it waits 10 s, and a first start with a cold disk takes longer);
  # the second attempt finds containerd's files cached. Three attempts at most.
  for attempt in 1 2 3; do
    log "starting dockerd, attempt $attempt (log: /tmp/dockerd.log)"
    nohup dockerd >>/tmp/dockerd.log 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 120); do
      docker info >/dev/null 2>&1 && break 2
      kill -0 "$dockerd_pid" 2>/dev/null || break # exited: no point waiting
      sleep 0.5
    done
    kill -0 "$dockerd_pid" 2>/dev/null && break # running but slow: waiting longer won't help
    wait "$dockerd_pid" 2>/dev/null || true
    rm -f /var/run/docker.pid
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /tmp/dockerd.log"; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "building $IMAGE from /bin/busybox (FROM scratch)"
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
CMD ["/bin/sh"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" >/dev/null 2>&1 || DOCKER_BUILDKIT=0 docker build -t "$IMAGE" "$ctx"
  rm -rf "$ctx"
fi
log "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), image $IMAGE ready"
