#!/usr/bin/env bash
# Install what nodefit needs on a Debian/Ubuntu machine, skipping what is already there.
#   scripts/setup.sh          build + run dependencies (protoc, etcd, fio)
#   scripts/setup.sh --test   plus what the test suite uses (fuse3, openssl, chromium, fonts)
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd protoc   || need+=(protobuf-compiler)
have_cmd etcd     || need+=(etcd-server)
have_cmd etcdctl  || need+=(etcd-client)
have_cmd fio      || need+=(fio)
have_cmd cc       || need+=(gcc libc6-dev)
have_cmd make     || need+=(make)
have_cmd pkg-config || need+=(pkg-config)
if [ "${1:-}" = "--test" ]; then
  have_cmd fusermount3 || need+=(fuse3)
  have_cmd openssl     || need+=(openssl)
  have_cmd chromium    || need+=(chromium)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
fi

if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! have_cmd cargo && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
if ! have_cmd cargo; then
  if have_cmd curl; then
    echo "setup: installing the Rust toolchain with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  else
    echo "setup: no cargo found; install Rust (https://rustup.rs) and run again" >&2
    exit 2
  fi
fi
echo "setup: ok"
