#!/usr/bin/env bash
# The first command of the README: install what is missing, build everything, make sure the
# local Docker engine runs, then run the agent with the dashboard on http://localhost:8080.
# Extra arguments go to the agent (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build
scripts/build.sh
scripts/docker-up.sh
echo "Dockscope: open http://localhost:8080 (Ctrl-C stops the agent)" >&2
exec target/release/dockscope-agent --serve-ui "$@"
