#!/usr/bin/env bash
# Release artifacts for the workspace version, in target/release-artifacts/ (git-ignored):
#   dockscope-agent-<version>-x86_64-unknown-linux-musl.tar.gz   static agent, dashboard embedded,
#   dockscope-agent-<version>-aarch64-unknown-linux-musl.tar.gz  with README.md, LICENSE,
#                                                                CHANGELOG.md, the systemd unit
#                                                                and the compose file
#   dockscope-agent-<version>-image-amd64.tar.gz                 `docker save` of the FROM-scratch
#   dockscope-agent-<version>-image-arm64.tar.gz                 images (dockscope-agent:<version>-<arch>)
#   SHA256SUMS                                                   `sha256sum -c SHA256SUMS` checks them
# Idempotent: calls the build scripts (cargo rebuilds only what changed; the dashboard bundle is
# built only when missing) and rewrites an artifact only when one of its inputs is newer.
# Archives are reproducible (sorted, owner 0, mtime of the last commit, gzip -n).
# Needs what scripts/setup.sh installs and a running dockerd (scripts/docker-up.sh).
# crates/agent/tests/release.rs checks the output.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[release] %s\n' "$*" >&2; }

version=$(awk -F'"' '/^\[workspace.package\]/{p=1} p && /^version *=/{print $2; exit}' Cargo.toml)
if [ -z "$version" ]; then
  echo "release: no version under [workspace.package] in Cargo.toml" >&2
  exit 1
fi
out=target/release-artifacts
mkdir -p "$out"
# One timestamp for every file in every archive: the last commit's, so a rebuild is byte-equal.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

[ -f crates/dashboard/dist/index.html ] || scripts/build.sh
scripts/build-static.sh all

# stale OUT IN...: true when OUT is missing or an input was modified after it.
stale() {
  local artifact=$1
  shift
  [ ! -e "$artifact" ] || [ -n "$(find "$@" -newer "$artifact" -print -quit)" ]
}

# Archive members, flat under dockscope-agent-<version>-<target>/ (source → name in archive).
docs=(README.md LICENSE CHANGELOG.md deploy/systemd/dockscope-agent.service deploy/compose/docker-compose.yml)

for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  name="dockscope-agent-$version-$target"
  archive="$out/$name.tar.gz"
  bin="target/$target/release/dockscope-agent"
  if ! stale "$archive" "$bin" "${docs[@]}" scripts/release.sh; then
    log "$archive is up to date"
    continue
  fi
  stage=$(mktemp -d)
  mkdir "$stage/$name"
  install -m 755 "$bin" "$stage/$name/dockscope-agent"
  for f in "${docs[@]}"; do install -m 644 "$f" "$stage/$name/"; done
  tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -cf - "$name" | gzip -9 -n >"$archive.partial"
  mv "$archive.partial" "$archive"
  rm -rf "$stage"
  log "$archive: $(stat -c %s "$archive") bytes"
done

# The images, built from the same binaries; each saved with its tag.
for arch in amd64 arm64; do
  tag="dockscope-agent:$version-$arch"
  archive="$out/dockscope-agent-$version-image-$arch.tar.gz"
  case $arch in
    amd64) dockerfile=deploy/compose/Dockerfile bin=target/x86_64-unknown-linux-musl/release/dockscope-agent ;;
    arm64) dockerfile=deploy/image/Dockerfile.arm64 bin=target/aarch64-unknown-linux-musl/release/dockscope-agent ;;
  esac
  if ! stale "$archive" "$bin" "$dockerfile" scripts/release.sh; then
    log "$archive is up to date"
    continue
  fi
  if [ "$arch" = amd64 ]; then
    # The compose image as deploy/compose builds it (the checkout, through .dockerignore).
    docker build -q --platform "linux/$arch" -f "$dockerfile" -t "$tag" . >/dev/null
  else
    # .dockerignore admits only the x86_64 binary: the context is a tar of what is used.
    tar -cf - "$dockerfile" "$bin" |
      docker build -q --platform "linux/$arch" -f "$dockerfile" -t "$tag" - >/dev/null
  fi
  built=$(docker image inspect -f '{{.Architecture}}' "$tag")
  if [ "$built" != "$arch" ]; then
    echo "release: $tag was built for '$built', not $arch" >&2
    exit 1
  fi
  docker save "$tag" | gzip -9 -n >"$archive.partial"
  mv "$archive.partial" "$archive"
  log "$archive ($tag): $(stat -c %s "$archive") bytes"
done

# Sums of exactly this version's artifacts, rewritten only when one of them changed.
artifacts=(
  "dockscope-agent-$version-x86_64-unknown-linux-musl.tar.gz"
  "dockscope-agent-$version-aarch64-unknown-linux-musl.tar.gz"
  "dockscope-agent-$version-image-amd64.tar.gz"
  "dockscope-agent-$version-image-arm64.tar.gz"
)
if (cd "$out" && stale SHA256SUMS "${artifacts[@]}"); then
  (cd "$out" && sha256sum "${artifacts[@]}" >SHA256SUMS.partial && mv SHA256SUMS.partial SHA256SUMS)
fi
(cd "$out" && sha256sum --quiet -c SHA256SUMS)
log "$version in $out:"
(cd "$out" && ls -l "${artifacts[@]}" SHA256SUMS | awk '{printf "  %12d  %s\n", $5, $9}') >&2
