#!/usr/bin/env bash
# Agent benchmark (issue 4): what monitoring N containers costs, next to `docker stats`.
#   scripts/bench.sh [N] [--secs S] [--no-write]
# N idle containers (default 100) plus 5 busy loops under --cpus 0.1 are started from the local
# test image; the release agent is measured with the cgroup collector and 1 WebSocket client,
# 1 client plus a GET /metrics every second (issue 13), and 10 clients, then with the Docker API
# collector, then `docker stats`, each over S seconds (default 60). Prints a table and, unless
# --no-write, replaces the "## Agent" section of docs/benchmarks.md. Takes about 6 × S seconds
# plus container start-up (≈ 0.4 s per container on 2 cores). Leaves the engine as it found it (bench containers are removed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

n=100
secs=60
write=(--write docs/benchmarks.md)
command="scripts/bench.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --secs) secs=$2; command+=" --secs $2"; shift 2 ;;
    --no-write) write=(); shift ;;
    [0-9]*) n=$1; command+=" $1"; shift ;;
    *) echo "usage: scripts/bench.sh [N] [--secs S] [--no-write]" >&2; exit 2 ;;
  esac
done

scripts/docker-up.sh
cargo build --release -p dockscope-agent --bin dockscope-agent --example bench
target=${CARGO_TARGET_DIR:-target}
"$target/release/examples/bench" --containers "$n" --secs "$secs" \
  --agent "$target/release/dockscope-agent" --command "$command" "${write[@]}"
