#!/usr/bin/env bash
# Builds the dashboard (trunk, offline) and the release agent with the dashboard embedded.
# Output: target/release/dockscope-agent. Prints the bundle sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

(cd crates/dashboard && trunk build --release=true)
# Pre-compress once here so the agent serves gzip without compressing per request.
find crates/dashboard/dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  -exec gzip -9 -k -f {} \;
# rust-embed re-reads dist/ only when build.rs notices a change.
touch crates/dashboard/dist
cargo build --release -p dockscope-agent

printf '\n%-48s %10s %10s\n' "bundle file" "raw bytes" "gzip bytes"
for f in crates/dashboard/dist/*.wasm crates/dashboard/dist/*.js; do
  [ -e "$f" ] || continue
  printf '%-48s %10d %10d\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(stat -c %s "$f.gz")"
done
