#!/usr/bin/env bash
# Package nodefit for fleet runs: dist/nodefit-<version>-<arch>-linux.tar.gz (+ .sha256 beside it).
#   scripts/dist.sh                       package target/release/nodefit (`make dist` packs its zig build instead)
#   scripts/dist.sh --binary PATH         package this binary instead (tests package the debug build)
#   scripts/dist.sh --out DIR             write the tarball to DIR instead of dist/
#   scripts/dist.sh --glibc-floor 2.17    refuse (exit 2) a binary that asks for a GLIBC_ symbol newer than 2.17
#   scripts/dist.sh --etcd-dir DIR        take etcd + LICENSE.etcd from DIR (default: scripts/bundled-etcd.sh's)
# The tarball holds one directory nodefit-<version>-<arch>-linux/ with the binary (debug info stripped
# when `strip` is there), etcd beside it (the pinned static build nodefit finds there with no flag) and
# its licence LICENSE.etcd, profiles/, README.md, LICENSE and SHA256SUMS (the checksum of every other
# file in it). Nodes never build and install nothing: fleet runs copy this file. Prints the tarball's path
# on stdout.
set -euo pipefail
die() { echo "dist: $*" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/nodefit"
out="$root/dist"
floor=""
etcd_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; bin=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --glibc-floor) [ $# -ge 2 ] || die "--glibc-floor needs a version (2.17)"; floor=$2; shift 2 ;;
    --etcd-dir) [ $# -ge 2 ] || die "--etcd-dir needs a directory"; etcd_dir=$2; shift 2 ;;
    *) die "unknown option $1 (expected --binary PATH, --out DIR, --glibc-floor VERSION, --etcd-dir DIR)" ;;
  esac
done
[ -x "$bin" ] || die "no executable $bin (run: cargo build --release --bin nodefit)"
for c in tar gzip sha256sum; do command -v "$c" >/dev/null 2>&1 || die "$c not found"; done
if [ -z "$etcd_dir" ]; then etcd_dir=$("$root/scripts/bundled-etcd.sh" --print-dir) || exit 2; fi
[ -x "$etcd_dir/etcd" ] && [ -f "$etcd_dir/LICENSE.etcd" ] || die "no etcd and LICENSE.etcd in $etcd_dir"

# The ELF check: the newest glibc symbol version any binary in the tarball asks for must be at most the
# floor, or the artifact would die with "version 'GLIBC_2.xx' not found" on the older nodes it is for.
if [ -n "$floor" ]; then
  command -v objdump >/dev/null 2>&1 || die "objdump not found (apt-get install binutils)"
  for b in "$bin" "$etcd_dir/etcd"; do
    newest=$(objdump -T "$b" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -Vu | tail -n 1 || true)
    if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$floor" "$newest" | sort -V | tail -n 1)" != "$floor" ]; then
      die "$b asks for GLIBC_$newest, newer than the floor $floor: it would not start on older nodes (build it with \`make dist\`)"
    fi
    echo "dist: $(basename "$b"): newest glibc symbol ${newest:-none (static)}, floor $floor: ok" >&2
  done
fi

# The version the binary itself reports ("nodefit 0.1.0 (commit abc1234)"): the tarball is named after
# what it contains, not after the tree it was packed from.
line=$("$bin" --version) || die "$bin --version failed"
line=${line%%$'\n'*}
version=$(echo "$line" | awk '{print $2}')
[ -n "$version" ] || die "cannot read the version from: $line"
arch=$(uname -m)
name="nodefit-$version-$arch-linux"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin" "$stage/$name/nodefit"
if command -v strip >/dev/null 2>&1; then strip --strip-debug "$stage/$name/nodefit"; fi
cp -L "$etcd_dir/etcd" "$stage/$name/etcd"
cp "$etcd_dir/LICENSE.etcd" "$stage/$name/LICENSE.etcd"
cp -r "$root/profiles" "$stage/$name/profiles"
cp "$root/README.md" "$root/LICENSE" "$stage/$name/"
(cd "$stage/$name" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)

# Reproducible: sorted names, fixed owner, mtime of the commit (or of the epoch outside git).
mtime=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tarball="$out/$name.tar.gz"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf - "$name" \
  | gzip -n > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$tarball"
