#!/usr/bin/env bash
# Package nodefit for fleet runs: dist/nodefit-<version>-<arch>-linux.tar.gz (+ .sha256 beside it).
#   scripts/dist.sh                       package target/release/nodefit (build it first: `make dist` does)
#   scripts/dist.sh --binary PATH         package this binary instead (tests package the debug build)
#   scripts/dist.sh --out DIR             write the tarball to DIR instead of dist/
# The tarball holds one directory nodefit-<version>-<arch>-linux/ with the binary (debug info stripped
# when `strip` is there), profiles/, README.md, LICENSE and SHA256SUMS (the checksum of every other file
# in it). Nodes never build: fleet runs copy this file. Prints the tarball's path on stdout.
set -euo pipefail
die() { echo "dist: $*" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/nodefit"
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; bin=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    *) die "unknown option $1 (expected --binary PATH, --out DIR)" ;;
  esac
done
[ -x "$bin" ] || die "no executable $bin (run: cargo build --release --bin nodefit)"
for c in tar gzip sha256sum; do command -v "$c" >/dev/null 2>&1 || die "$c not found"; done

# The version the binary itself reports ("nodefit 0.1.0 (commit abc1234)"): the tarball is named after
# what it contains, not after the tree it was packed from.
line=$("$bin" --version) || die "$bin --version failed"
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
