#!/usr/bin/env bash
# setup-dist: what `make dist` builds the fleet artifact with, pinned, skipping what is already there.
#   scripts/setup-dist.sh             install zig (PyPI's ziglang wheel, into ~/.cache/nodefit/) and cargo-zigbuild
#                                     (crates.io, into ~/.cargo/bin)
#   scripts/setup-dist.sh --zig-dir   print the directory holding that zig (put it first on PATH for cargo zigbuild)
#
# Why zig: it links nodefit against glibc 2.17's symbol versions with the host's Rust std, so the one binary
# starts on every glibc from 2.17 up (RHEL 7+, Debian 8+, Ubuntu 14.04+) instead of this machine's. Only for
# `make dist`: `make qualify` builds with plain cargo and never needs these.
# Both are pinned (ziglang by version and wheel sha256, cargo-zigbuild by version with its lock file); nothing
# is installed system-wide. A second run with both present does nothing (no network).
# Exit: 0 ok, 2 could not install (one line saying what to do).
set -euo pipefail
die() { echo "setup-dist: $*" >&2; exit 2; }

ZIG_VERSION=0.17.1
ZIG_WHEEL_SHA256=ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54
ZIGBUILD_VERSION=0.24.1

zig_dir="${XDG_CACHE_HOME:-$HOME/.cache}/nodefit/ziglang-$ZIG_VERSION/ziglang"

install_zig() {
  if [ -x "$zig_dir/zig" ] && [ "$("$zig_dir/zig" version 2>/dev/null)" = "$ZIG_VERSION" ]; then return; fi
  command -v python3 >/dev/null 2>&1 || die "no python3: run scripts/setup.sh first"
  python3 -m pip --version >/dev/null 2>&1 || die "no pip: run scripts/setup.sh first (it installs python3-pip)"
  local base tmp
  base=$(dirname "$zig_dir")
  mkdir -p "$(dirname "$base")"
  tmp=$(mktemp -d "$base.XXXXXX")
  echo "setup-dist: installing zig $ZIG_VERSION (ziglang from PyPI) into $base" >&2
  printf 'ziglang==%s --hash=sha256:%s\n' "$ZIG_VERSION" "$ZIG_WHEEL_SHA256" >"$tmp.req"
  # --target: into a directory of ours, not the system's Python (Debian's refuses that, and should).
  if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --no-deps --only-binary=:all: --require-hashes -r "$tmp.req" --target "$tmp" >&2; then
    rm -rf "$tmp" "$tmp.req"
    die "pip install ziglang==$ZIG_VERSION failed (no route to PyPI? pip's own error is above)"
  fi
  rm -f "$tmp.req"
  rm -rf "$base"
  mv "$tmp" "$base"
  [ "$("$zig_dir/zig" version)" = "$ZIG_VERSION" ] || die "$zig_dir/zig does not report version $ZIG_VERSION"
}

install_zigbuild() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
  command -v cargo >/dev/null 2>&1 || die "no cargo: run scripts/setup.sh first"
  if cargo-zigbuild --version 2>/dev/null | grep -qx "cargo-zigbuild $ZIGBUILD_VERSION"; then return; fi
  echo "setup-dist: installing cargo-zigbuild $ZIGBUILD_VERSION (crates.io; compiles for a few minutes, once)" >&2
  cargo install --quiet --locked cargo-zigbuild --version "$ZIGBUILD_VERSION" >&2 \
    || die "cargo install cargo-zigbuild $ZIGBUILD_VERSION failed (no route to crates.io? cargo's own error is above)"
}

case "${1:-}" in
  "") install_zig; install_zigbuild; echo "setup-dist: ok (zig $ZIG_VERSION, cargo-zigbuild $ZIGBUILD_VERSION)" >&2 ;;
  --zig-dir) install_zig; echo "$zig_dir" ;;
  *) die "unknown option $1 (expected --zig-dir)" ;;
esac
