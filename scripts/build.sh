#!/usr/bin/env bash
# Builds the dashboard (trunk, offline) and the release agent with the dashboard embedded.
# Output: target/release/dockscope-agent. Prints the bundle sizes.
#
# trunk writes into a staging folder; only files whose bytes changed are copied into
# crates/dashboard/dist (with their gzip copies, made once here so the agent serves gzip without
# compressing per request). The agents embed dist/ and rebuild when a file in it changes, so an
# unchanged bundle costs no agent rebuild here or in scripts/build-static.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

dist=crates/dashboard/dist
stage=${CARGO_TARGET_DIR:-$PWD/target}/dashboard-stage
rm -rf "$stage"
(cd crates/dashboard && trunk build --release=true --dist "$stage")

mkdir -p "$dist"
changed=0
for f in "$stage"/*; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$dist/$name"; then
    cp "$f" "$dist/$name"
    case "$name" in *.wasm|*.js|*.css|*.html) gzip -9 -n -k -f "$dist/$name" ;; esac
    changed=$((changed + 1))
  fi
done
# Files of an older bundle (hashed names) leave with their gzip copies.
for f in "$dist"/*; do
  name=$(basename "$f")
  [ -e "$stage/${name%.gz}" ] || { rm -f "$f"; changed=$((changed + 1)); }
done
echo "build: $changed file(s) of the dashboard bundle changed"
cargo build --release -p dockscope-agent

printf '\n%-48s %10s %10s\n' "bundle file" "raw bytes" "gzip bytes"
for f in "$dist"/*.wasm "$dist"/*.js; do
  [ -e "$f" ] || continue
  printf '%-48s %10d %10d\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(stat -c %s "$f.gz")"
done
