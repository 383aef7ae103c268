#!/usr/bin/env bash
# Makes sure a Docker engine answers on the local socket and the test image exists.
# Idempotent: installs docker.io/busybox-static only when missing, starts dockerd only when
# `docker info` fails, builds the image only when absent. Never pulls from a registry.
set -euo pipefail

IMAGE=${DOCKSCOPE_TEST_IMAGE:-dockscope-test-busybox}

log() { printf '[docker-up] %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ]; then
  log "installing docker.io and busybox-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /tmp/dockerd.log)"
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
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
