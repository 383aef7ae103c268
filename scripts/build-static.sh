#!/usr/bin/env bash
# Builds the agent as one static binary (musl libc, no dynamic loader), dashboard embedded:
#   target/x86_64-unknown-linux-musl/release/dockscope-agent
# It runs on any x86_64 Linux and alone in a FROM-scratch image (deploy/compose/Dockerfile).
# Needs the dashboard bundle from scripts/build.sh, and musl-gcc and the musl target from
# scripts/setup.sh. The benchmarks in docs/benchmarks.md are of the glibc build (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=x86_64-unknown-linux-musl

if [ ! -f crates/dashboard/dist/index.html ]; then
  echo "build-static: no dashboard bundle in crates/dashboard/dist; run scripts/build.sh first" >&2
  exit 1
fi
# ring compiles a little C: with musl's headers, through musl-gcc.
CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release -p dockscope-agent --target "$TARGET"
bin="target/$TARGET/release/dockscope-agent"
printf '%s: %d bytes, %s\n' "$bin" "$(stat -c %s "$bin")" "$(ldd "$bin" 2>&1 | tr -s ' \t' ' ' | head -1)"
