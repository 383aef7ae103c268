#!/usr/bin/env bash
# The second command of the README and what CI runs: install what tests need, then run every
# test — formatting, lints, unit and real-engine integration tests, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Each step says when it starts (seconds since this script began), so a slow or stuck run
# shows where its time went.
step() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*" >&2; }

step "prerequisites"
scripts/setup.sh
scripts/docker-up.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "no two modules import each other (scripts/module-cycles.py)"
python3 scripts/module-cycles.py

step "cargo clippy (host and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p dockscope-dashboard --target wasm32-unknown-unknown -- -D warnings

step "build (dashboard bundle + release agent, and the static x86_64 and aarch64 agents)"
scripts/build.sh
scripts/build-static.sh all

step "release artifacts (archives, images, SHA256SUMS; checked by crates/agent/tests/release.rs)"
scripts/release.sh

step "cargo test (unit + real-engine integration)"
# One test binary at a time (cargo's default): the flood and crowd tests need the machine.
# A hung test fails the run after 40 minutes (the stage takes about 20 warm) instead of using
# up CI's time; libtest's "has been running for over 60 seconds" lines above name it.
timeout --signal=INT --kill-after=60 40m cargo test --workspace --no-fail-fast

if [ -x end2end/run.sh ]; then
  step "end-to-end (Playwright + Debian chromium)"
  AGENT_BIN="$PWD/target/release/dockscope-agent" end2end/run.sh
fi

step "all tests passed"
