#!/usr/bin/env bash
# Regenerates reports/example/ from two real `nodefit qualify` runs (default profile
# k8s-control-plane: the disk workloads, 3 rounds each, then the embedded etcd probe on the same
# directory) on two disk set-ups made here, then a comparison with `nodefit report`:
#   plain     — a temp directory on this machine's own disk (under $DISK_TMP, default /var/tmp)
#   throttled — an ext4 file system on a 1 GiB loop device whose writes are capped at WRITE_IOPS
#               per second with cgroup v1 blkio.throttle.write_iops_device; the nodefit process
#               runs inside that cgroup, and so does the etcd it starts (children inherit it)
# Every figure in the outputs is as nodefit wrote it: result.json files are copied unchanged.
# The committed example is from FULL runs (no --quick; about 75-90 s each). Set QUICK=1 to pass
# --quick (halved workloads and probe) for a fast smoke run.
# RENDER_ONLY=1 skips the runs and re-renders report.html, report.md and the PNGs from the
# result.json files already here (after a change to the report, not to the measuring).
# Needs root, losetup, mkfs.ext4 and cgroup v1 blkio at /sys/fs/cgroup/blkio. Cleans up the mount,
# the loop device and the cgroup on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=reports/example
NODEFIT=${NODEFIT:-target/debug/nodefit}
WRITE_IOPS=${WRITE_IOPS:-100}
DISK_TMP=${DISK_TMP:-/var/tmp}
QUICK_ARG=()
[ "${QUICK:-0}" = 1 ] && QUICK_ARG=(--quick)
CG=/sys/fs/cgroup/blkio/nodefit-example-$$
WORK=$(mktemp -d "$DISK_TMP/nodefit-example.XXXXXX")
LOOP=""
cleanup() {
    set +e
    if [ -d "$CG" ]; then
        # anything we started that is still in the cgroup (e.g. an etcd left behind by a crash)
        for pid in $(cat "$CG/cgroup.procs"); do kill "$pid"; done
        sleep 1
        rmdir "$CG"
    fi
    mountpoint -q "$WORK/mnt" && umount "$WORK/mnt"
    [ -n "$LOOP" ] && losetup -d "$LOOP"
    rm -rf "$WORK"
}
trap cleanup EXIT

render() { # the comparison report, its Markdown, and the charts the docs show, from $OUT/*/result.json
    rm -f "$OUT"/*.png "$OUT/report.html" "$OUT/report.md"
    "$NODEFIT" report "$OUT/plain/result.json" "$OUT/throttled/result.json" -o "$OUT/report.html" --png-dir "$WORK/png"
    "$NODEFIT" report "$OUT/plain/result.json" "$OUT/throttled/result.json" --format md -o "$OUT/report.md"
    cp "$WORK/png/compare-checks.png" "$WORK/png/compare-wal-percentiles.png" "$OUT/"
    echo "charts written by nodefit report: $(cd "$WORK/png" && ls | tr '\n' ' ')"
    echo "wrote $OUT"
}
if [ "${RENDER_ONLY:-0}" = 1 ]; then
    render
    exit 0
fi

qualify() { # NODE-NAME DIRECTORY OUTPUT-DIR; exit 0 (FIT/MARGINAL) and 1 (UNFIT) are both results
    local rc=0
    "$NODEFIT" qualify "${QUICK_ARG[@]}" --directory "$2" --node-name "$1" --output-dir "$3" || rc=$?
    if [ "$rc" -gt 1 ]; then echo "nodefit qualify for $1 failed (exit $rc)" >&2; exit "$rc"; fi
}

# plain: a directory on this machine's disk
mkdir -p "$WORK/plain" "$WORK/mnt"
qualify plain-disk "$WORK/plain" "$WORK/out/plain"

# throttled: ext4 on a loop device, writes capped by the blkio cgroup the nodefit process runs in
truncate -s 1G "$WORK/disk.img"
LOOP=$(losetup -f --show "$WORK/disk.img")
mkfs.ext4 -q "$LOOP"
mount "$LOOP" "$WORK/mnt"
MAJMIN=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
mkdir "$CG"
echo "$MAJMIN $WRITE_IOPS" > "$CG/blkio.throttle.write_iops_device"
echo "throttled: $LOOP ($MAJMIN) on $WORK/mnt, blkio.throttle.write_iops_device = $(cat "$CG/blkio.throttle.write_iops_device")"
(
    echo "$BASHPID" > "$CG/cgroup.procs"
    qualify throttled-disk "$WORK/mnt" "$WORK/out/throttled"
)

# replace the old example only once both runs have succeeded
rm -rf "$OUT/plain" "$OUT/throttled"
for n in plain throttled; do   # the result.json only: each node's report.html is rendered from it
    mkdir -p "$OUT/$n"
    cp "$WORK/out/$n/result.json" "$OUT/$n/"
done
render
