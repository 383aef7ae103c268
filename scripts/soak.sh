#!/usr/bin/env bash
# Agent soak (issue 4; not part of CI): one release agent, automatic collector, 100 idle
# containers + 5 busy loops, 10 WebSocket clients reading, for 30 minutes; records the agent's
# RSS and CPU every minute. Prints the table and, unless --no-write, puts it in the "## Agent"
# section of docs/benchmarks.md (as "### Soak …").
#   scripts/soak.sh [MINUTES] [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

minutes=30
write=(--write docs/benchmarks.md)
command="scripts/soak.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-write) write=(); shift ;;
    [0-9]*) minutes=$1; command+=" $1"; shift ;;
    *) echo "usage: scripts/soak.sh [MINUTES] [--no-write]" >&2; exit 2 ;;
  esac
done

scripts/docker-up.sh
cargo build --release -p dockscope-agent --bin dockscope-agent --example bench
target=${CARGO_TARGET_DIR:-target}
"$target/release/examples/bench" --containers 100 --soak "$minutes" \
  --agent "$target/release/dockscope-agent" --command "$command" "${write[@]}"
