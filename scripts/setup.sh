#!/usr/bin/env bash
# Installs everything Dockscope needs to build and test, skipping what is already there.
# Safe to run repeatedly. Nothing here downloads a prebuilt binary or a browser: Rust tools
# come from crates.io, system packages from Debian, JS test tooling from the npm registry.
#   scripts/setup.sh          build + test prerequisites
#   scripts/setup.sh --build  only what building and running needs (no browser)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14   # 0.22 needs a newer rustc than this machine's 1.95
ZIGLANG_VERSION=0.17.1   # zig from PyPI: the aarch64 agent's C compiler and linker
ZIGBUILD_VERSION=0.24.1
log() { printf '[setup] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

want_apt=()
command -v dockerd >/dev/null || want_apt+=(docker.io)
[ -x /bin/busybox ] || want_apt+=(busybox-static)
command -v musl-gcc >/dev/null || want_apt+=(musl-tools)   # ring's C code, for the static agent
if [ "${1:-}" != "--build" ]; then
  command -v chromium >/dev/null || want_apt+=(chromium)
  command -v chromedriver >/dev/null || want_apt+=(chromium-driver)
  command -v curl >/dev/null || want_apt+=(curl)
  command -v nginx >/dev/null || want_apt+=(nginx)   # tests deploy/nginx and deploy/socket-proxy
  # `systemd-analyze verify` checks the shipped units. Where systemd is not PID 1 (containers,
  # CI), the package's install scripts start nothing.
  command -v systemd-analyze >/dev/null || want_apt+=(systemd)
  command -v strace >/dev/null || want_apt+=(strace)   # the agent's syscalls vs the unit's filter
  command -v docker-compose >/dev/null || want_apt+=(docker-compose)   # tests deploy/compose for real
  command -v prometheus >/dev/null || want_apt+=(prometheus)   # promtool and a real Prometheus scrape /metrics
  [ -x /usr/bin/qemu-aarch64-static ] || [ -x /usr/bin/qemu-aarch64 ] || want_apt+=(qemu-user-static)   # runs the aarch64 agent
fi
if [ ${#want_apt[@]} -gt 0 ]; then
  log "apt-get install ${want_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  log "rustup target add x86_64-unknown-linux-musl (the static agent, scripts/build-static.sh)"
  rustup target add x86_64-unknown-linux-musl
fi

# The aarch64 agent (scripts/build-static.sh aarch64): Rust's musl target, zig as C compiler and
# linker (the PyPI wheel, into a folder of its own: no system Python packages are touched), and
# cargo-zigbuild to drive it.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-musl; then
  log "rustup target add aarch64-unknown-linux-musl (the aarch64 agent)"
  rustup target add aarch64-unknown-linux-musl
fi
ZIG_DIR="$HOME/.local/lib/dockscope-ziglang"   # scripts/build-static.sh puts it on PATH
if ! "$ZIG_DIR/ziglang/zig" version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
  python3 -m pip --version >/dev/null 2>&1 || {
    log "apt-get install python3-pip (for the ziglang wheel)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
  }
  log "pip install ziglang $ZIGLANG_VERSION into $ZIG_DIR"
  rm -rf "$ZIG_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$ZIG_DIR" "ziglang==$ZIGLANG_VERSION"
fi
if ! cargo-zigbuild --version 2>/dev/null | grep -q " $ZIGBUILD_VERSION\$"; then
  log "cargo install cargo-zigbuild $ZIGBUILD_VERSION (about 3 minutes)"
  cargo install cargo-zigbuild --version "$ZIGBUILD_VERSION" --locked
fi

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  log "cargo install trunk $TRUNK_VERSION (about 13 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock, or trunk refuses to build.
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION"; then
  log "cargo install wasm-bindgen-cli $WBG_VERSION (about 4 minutes)"
  # Not --locked: its lock file pins a webpki-roots release the registry here does not serve.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

if [ "${1:-}" != "--build" ] && [ -f end2end/package.json ]; then
  if [ ! -d end2end/node_modules/playwright-core ]; then
    log "npm ci in end2end/ (playwright-core only; it never downloads a browser)"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
log "toolchain ready: $(trunk --version), $(wasm-bindgen --version)"
