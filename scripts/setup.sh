#!/usr/bin/env bash
# Install what nodefit needs on a Debian/Ubuntu machine, skipping what is already there.
#   scripts/setup.sh          build + run dependencies (protoc + the well-known .proto files, fio, pip), and
#                             nodefit's pinned etcd into the build tree (scripts/bundled-etcd.sh)
#   scripts/setup.sh --test   plus what the test suite uses (fuse3, openssl, chromium, fonts, iproute2, ethtool,
#                             promtool, node_exporter, sshd, python3-venv, systemd-analyze, unshare; loads
#                             the fuse and loop modules: CI fails a test that skips)
# What `make dist` builds the fleet artifact with (zig, cargo-zigbuild) is scripts/setup-dist.sh's.
# No etcd package: Debian's etcd-server creates an etcd user and /var/lib/etcd and starts etcd.service on
# 2379/2380, which is exactly what a node about to receive a control plane must not have.
# Every package is named here: nothing may be assumed to be on a new machine (scripts/fresh-machine-check
# proves it in a bare Debian root). Exit 2 with a one-line "install X by hand" where that is not possible.
set -euo pipefail

die() { echo "setup: $*" >&2; exit 2; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_file() { [ -e "$1" ]; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have_cmd sudo; then SUDO="sudo"; fi
fi

need=()
# etcd-client's build script runs protoc on etcd's protos, which import google/protobuf/*.proto: those come
# from libprotobuf-dev, only a Recommends of protobuf-compiler.
have_cmd protoc   || need+=(protobuf-compiler)
have_file /usr/include/google/protobuf/descriptor.proto || need+=(libprotobuf-dev)
have_cmd python3  || need+=(python3)
# pip fetches the pinned etcd (bundled-etcd.sh); Debian's python3 leaves it to python3-pip.
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
have_cmd fio      || need+=(fio)
have_cmd cc       || need+=(gcc)
have_file /usr/include/stdio.h || need+=(libc6-dev)
have_cmd make     || need+=(make)
have_cmd pkg-config || need+=(pkg-config)
have_cmd curl     || need+=(curl)
have_file /etc/ssl/certs/ca-certificates.crt || need+=(ca-certificates)
if [ "${1:-}" = "--test" ]; then
  have_cmd fusermount3 || need+=(fuse3)
  have_cmd openssl     || need+=(openssl)
  have_cmd chromium    || need+=(chromium)
  have_cmd ip          || need+=(iproute2)
  have_cmd ethtool     || need+=(ethtool)
  have_cmd losetup     || need+=(mount)
  have_cmd mkfs.ext4   || need+=(e2fsprogs)
  have_file /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || need+=(fonts-dejavu-core)
  # Fleet runs (tests/it/prometheus.rs, tests/it/ansible.rs): promtool, node_exporter, sshd in network
  # namespaces, and a venv for the pinned ansible-core / kubernetes-validate from PyPI.
  have_cmd promtool || need+=(prometheus)
  have_cmd prometheus-node-exporter || need+=(prometheus-node-exporter)
  have_file /usr/sbin/sshd || need+=(openssh-server)
  have_cmd ssh-keygen || need+=(openssh-client)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
  # modprobe, for /dev/fuse and /dev/loop-control when their modules are not loaded (below).
  { have_file /dev/fuse && have_file /dev/loop-control; } || have_cmd modprobe || need+=(kmod)
  # deploy/systemd (tests/it/systemd_units.rs: systemd-analyze verify) and the pod's PID 1 test
  # (tests/it/kubernetes.rs: unshare --pid --fork).
  have_cmd systemd-analyze || need+=(systemd)
  have_cmd unshare || need+=(util-linux)
fi

if [ "${#need[@]}" -gt 0 ]; then
  if ! have_cmd apt-get; then
    die "no apt-get on this machine: install by hand: ${need[*]} (Debian package names), then run again"
  fi
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    die "not root and no sudo: as root, apt-get install ${need[*]}, then run again"
  fi
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq || die "apt-get update failed (no network to the package mirror?): install by hand: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get install failed: install by hand: ${need[*]}"
fi
have_file /usr/include/google/protobuf/descriptor.proto \
  || die "google/protobuf/descriptor.proto missing after install: apt-get install libprotobuf-dev"
if [ "${1:-}" = "--test" ]; then
  # CI runs the tests with NODEFIT_TESTS_REQUIRE_ALL=1 (a skipped test fails): the FUSE tests need
  # /dev/fuse and the disk-full test a loop device, both from kernel modules a new machine may not
  # have loaded yet.
  for m in fuse:/dev/fuse loop:/dev/loop-control; do
    have_file "${m#*:}" && continue
    $SUDO modprobe "${m%%:*}" 2>/dev/null || true
    have_file "${m#*:}" || echo "setup: ${m#*:} is missing (modprobe ${m%%:*} as root): the tests that need it fail under NODEFIT_TESTS_REQUIRE_ALL=1" >&2
  done
fi

if ! have_cmd cargo && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
if ! have_cmd cargo; then
  echo "setup: installing the Rust toolchain with rustup"
  if ! curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal; then
    die "could not install Rust with rustup (no network to sh.rustup.rs?): install Rust from https://rustup.rs by hand, then run again"
  fi
fi
"$(dirname "$0")/bundled-etcd.sh"
echo "setup: ok"
