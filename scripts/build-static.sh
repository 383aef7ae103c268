#!/usr/bin/env bash
# Builds the agent as one static binary (musl libc, no dynamic loader), dashboard embedded:
#   scripts/build-static.sh [x86_64]   target/x86_64-unknown-linux-musl/release/dockscope-agent
#   scripts/build-static.sh aarch64    target/aarch64-unknown-linux-musl/release/dockscope-agent
#   scripts/build-static.sh all        both
# Each runs on any Linux of its architecture and alone in a FROM-scratch image
# (deploy/compose/Dockerfile for x86_64, deploy/image/Dockerfile.arm64 for aarch64).
# Needs the dashboard bundle from scripts/build.sh, and from scripts/setup.sh: musl-gcc and the
# x86_64 musl target; for aarch64 the aarch64 musl target, cargo-zigbuild and zig (the `ziglang`
# PyPI package), which cross-compile ring's C code and link. The benchmarks in
# docs/benchmarks.md are of the glibc build (scripts/build.sh). Cargo skips what is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# The zig scripts/setup.sh installs (the `ziglang` wheel in a folder of its own). cargo-zigbuild
# asks `python3 -m ziglang` first and `zig` on PATH second: both find this one.
ZIG_DIR="$HOME/.local/lib/dockscope-ziglang"
if [ -x "$ZIG_DIR/ziglang/zig" ]; then
  export PATH="$ZIG_DIR/ziglang:$PATH" PYTHONPATH="$ZIG_DIR${PYTHONPATH:+:$PYTHONPATH}"
fi

case "${1:-x86_64}" in
  x86_64 | aarch64) arches=("${1:-x86_64}") ;;
  all) arches=(x86_64 aarch64) ;;
  *)
    echo "build-static: unknown architecture '$1'; use x86_64 (the default), aarch64 or all" >&2
    exit 2
    ;;
esac

if [ ! -f crates/dashboard/dist/index.html ]; then
  echo "build-static: no dashboard bundle in crates/dashboard/dist; run scripts/build.sh first" >&2
  exit 1
fi

for arch in "${arches[@]}"; do
  target="$arch-unknown-linux-musl"
  case "$arch" in
    x86_64)
      # ring compiles a little C: with musl's headers, through musl-gcc.
      CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release -p dockscope-agent --target "$target"
      ;;
    aarch64)
      if ! command -v cargo-zigbuild >/dev/null; then
        echo "build-static: cargo-zigbuild is missing; run scripts/setup.sh --build" >&2
        exit 1
      fi
      # zig is the C compiler (ring) and the linker; Rust's self-contained musl is the libc.
      cargo zigbuild --release -p dockscope-agent --target "$target"
      ;;
  esac
  bin="target/$target/release/dockscope-agent"
  printf '%s: %d bytes, %s\n' "$bin" "$(stat -c %s "$bin")" \
    "$(file -b "$bin" 2>/dev/null || true)"
done
