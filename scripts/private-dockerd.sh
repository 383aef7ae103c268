#!/usr/bin/env bash
# A private Docker engine for tests that take the engine away (engine_restart.rs,
# end2end/tests/engine-outage.test.mjs), so they never touch the engine everybody else uses at
# /var/run/docker.sock. Everything it owns lives under DIR: socket, data and exec roots, pid
# files, its own containerd and log; its containers run under the cgroup parent
# dockscope-private-<basename of DIR>, and it runs in a network namespace of its own (no bridge,
# no iptables rules; nothing it does to networking reaches the host's).
#
#   scripts/private-dockerd.sh start DIR  # start (or restart after `kill`) this engine, wait until it
#                                         # answers, build the test image in it if absent;
#                                         # prints its endpoint, unix://DIR/docker.sock
#   scripts/private-dockerd.sh kill DIR   # SIGKILL exactly this engine's dockerd (by the pid in
#                                         # DIR/docker.pid) and wait until it is gone
#   scripts/private-dockerd.sh stop DIR   # remove its containers, stop it, then clean up whatever
#                                         # is left (shims, container processes, cgroups, mounts)
#                                         # and DIR itself; safe in any state, also after `kill`
#
# Only processes whose command line names DIR are ever signalled. DIR must be an absolute path
# short enough for the sockets under it (at most 40 characters, e.g. /tmp/ds-12345).
# PRIVATE_DOCKERD_WAIT bounds how long `start` waits for the engine (default 180 s: dockerd stops
# the containers a killed engine left behind before it answers, 10 s or more on a busy machine).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[private-dockerd] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ $# -eq 2 ] || die "usage: $0 start|kill|stop DIR"
action=$1
dir=${2%/}
case "$dir" in /*) ;; *) die "DIR must be absolute: $dir" ;; esac
[ "${#dir}" -le 40 ] || die "DIR is too long for the sockets under it (${#dir} > 40): $dir"
sock="$dir/docker.sock"
endpoint="unix://$sock"
cgroup_parent="dockscope-private-$(basename "$dir")"

# Running and not a zombie (a killed dockerd and its containerd linger as zombies until init
# reaps them; their pid files then name a "live" process).
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $s != Z* ]]; }
# The process runs with DIR on its command line: ours, not somebody else's engine.
owned() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$dir/"; }
pid_in() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }
wait_gone() { # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do alive "$1" || return 0; sleep 0.1; done
  return 1
}
answers() { timeout 10 docker -H "$endpoint" info >/dev/null 2>&1; }

# Signals the process named by pid file $1 with $2 if it is alive and ours; waits up to $3 s.
signal_pidfile() {
  local pid
  pid=$(pid_in "$1") || return 0
  [ -n "$pid" ] && alive "$pid" && owned "$pid" || return 0
  kill "-$2" "$pid" 2>/dev/null || true
  wait_gone "$pid" "$3"
}

start() {
  mkdir -p "$dir"
  local pid
  if pid=$(pid_in "$dir/docker.pid") && [ -n "$pid" ] && alive "$pid" && owned "$pid"; then
    log "dockerd $pid already runs in $dir"
  else
    # Left over from a killed engine: its containerd (dead with it, or still shutting down)
    # and both pid files, which would make the new dockerd refuse to start or wait on a dead
    # containerd's socket.
    signal_pidfile "$dir/exec/containerd/containerd.pid" KILL 10 || die "old containerd does not exit"
    rm -f "$dir/docker.pid" "$dir/exec/containerd/containerd.pid"
    # Its own network namespace: with the default bridge disabled, dockerd deletes any
    # `docker0` it finds, which in the host namespace is the shared engine's bridge. The unix
    # socket is a file, so it is reached from the host namespace all the same.
    nohup unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
      dockerd --host "$endpoint" --data-root "$dir/data" --exec-root "$dir/exec" \
      --pidfile "$dir/docker.pid" --bridge none --iptables=false --ip6tables=false --ip-masq=false \
      --cgroup-parent "$cgroup_parent" >>"$dir/dockerd.log" 2>&1 &
    pid=$!
    log "dockerd $pid starting in $dir (log: $dir/dockerd.log)"
  fi
  local wait=${PRIVATE_DOCKERD_WAIT:-180} i
  for ((i = 0; i < wait * 2; i++)); do
    answers && break
    alive "$pid" || { tail -20 "$dir/dockerd.log" >&2; die "dockerd $pid exited"; }
    sleep 0.5
  done
  answers || { tail -20 "$dir/dockerd.log" >&2; die "dockerd $pid did not answer within $wait s"; }
  DOCKER_HOST=$endpoint bash "$here/docker-up.sh"
  echo "$endpoint"
}

kill_engine() {
  local pid
  pid=$(pid_in "$dir/docker.pid") || die "no pid file in $dir: is the engine running?"
  alive "$pid" && owned "$pid" || die "dockerd $pid (from $dir/docker.pid) is not running"
  kill -KILL "$pid"
  wait_gone "$pid" 10 || die "dockerd $pid survived SIGKILL"
  # Its containerd goes with it (parent-death signal); wait so a restart finds it gone.
  signal_pidfile "$dir/exec/containerd/containerd.pid" KILL 10 || true
  log "killed dockerd $pid"
}

stop() {
  [ -d "$dir" ] || return 0
  if answers; then
    timeout 60 docker -H "$endpoint" ps -aq | xargs -r timeout 60 docker -H "$endpoint" rm -f >/dev/null || true
  fi
  signal_pidfile "$dir/docker.pid" TERM 30 || signal_pidfile "$dir/docker.pid" KILL 10 || true
  signal_pidfile "$dir/exec/containerd/containerd.pid" TERM 10 \
    || signal_pidfile "$dir/exec/containerd/containerd.pid" KILL 10 || true
  # After a kill, shims and container processes outlive the engine.
  local pid
  for cmdline in /proc/[0-9]*/cmdline; do
    pid=${cmdline#/proc/}
    pid=${pid%/cmdline}
    if tr '\0' ' ' 2>/dev/null <"$cmdline" | grep -qF -- "-address $dir/exec/containerd/containerd.sock"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local group
  for group in /sys/fs/cgroup/*/"$cgroup_parent" /sys/fs/cgroup/"$cgroup_parent"; do
    [ -d "$group" ] || continue
    find "$group" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      find "$group" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$group" ] || break
      sleep 0.1
    done
    if [ -d "$group" ]; then log "could not remove cgroup $group"; fi
  done
  awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "$action" in
  start) start ;;
  kill) kill_engine ;;
  stop) stop ;;
  *) die "unknown action $action: use start, kill or stop" ;;
esac
