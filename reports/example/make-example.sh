#!/usr/bin/env bash
# Regenerates reports/example/: the etcd WAL-like disk workload (2300-byte writes, fdatasync after
# each) run 3 rounds on two disk set-ups made here, then a comparison report.
#   plain     — a temp directory on this machine's own disk
#   throttled — an ext4 file system on a 512 MiB loop device whose writes are capped at
#               WRITE_IOPS per second with cgroup v1 blkio.throttle.write_iops_device; the
#               nodefit process runs inside that cgroup
# Needs root, losetup, mkfs.ext4 and cgroup v1 blkio at /sys/fs/cgroup/blkio. Cleans up the mount,
# the loop device and the cgroup on exit. The qualification fields (one profile of two checks,
# verdict) are filled in by this script from the measured figures — see `assemble` below.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=reports/example
NODEFIT=${NODEFIT:-target/debug/nodefit}
RUNTIME=${RUNTIME:-10s}
WRITE_IOPS=${WRITE_IOPS:-100}
CG=/sys/fs/cgroup/blkio/nodefit-example-$$
WORK=$(mktemp -d)
LOOP=""
cleanup() {
    mountpoint -q "$WORK/mnt" 2>/dev/null && umount "$WORK/mnt"
    [ -n "$LOOP" ] && losetup -d "$LOOP"
    [ -d "$CG" ] && rmdir "$CG"
    rm -rf "$WORK"
}
trap cleanup EXIT

wal() { # DIR ROUND OUTFILE
    "$NODEFIT" disk --name etcd-wal --directory "$1" --rw write --ioengine sync --fdatasync 1 \
        --bs 2300 --size 22m --runtime "$RUNTIME" --time-based --output-format json > "$3"
}

mkdir -p "$WORK/plain" "$WORK/mnt"
for r in 1 2 3; do wal "$WORK/plain" "$r" "$WORK/plain-$r.json"; done

truncate -s 512M "$WORK/disk.img"
LOOP=$(losetup -f --show "$WORK/disk.img")
mkfs.ext4 -q "$LOOP"
mount "$LOOP" "$WORK/mnt"
MAJMIN=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
mkdir "$CG"
echo "$MAJMIN $WRITE_IOPS" > "$CG/blkio.throttle.write_iops_device"
for r in 1 2 3; do
    ( echo $BASHPID > "$CG/cgroup.procs"; wal "$WORK/mnt" "$r" "$WORK/throttled-$r.json" )
done

assemble() { # NAME SETUP OUT FILES...
    python3 - "$@" <<'PY'
import copy, json, statistics, sys, platform
name, setup, out, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
docs = [json.load(open(f)) for f in files]
doc = copy.deepcopy(docs[0])
doc["workloads"] = []
for i, d in enumerate(docs, 1):
    for w in d["workloads"]:
        w["round"] = i
        w["spec"]["directory"] = "<" + setup + ">"
        w["fio_command"] = w["fio_command"].replace(str(d["workloads"][0]["spec"]["directory"]), "<" + setup + ">")
        doc["workloads"].append(w)
doc["finished_at"] = docs[-1]["finished_at"]
p99 = [w["latency_ns"]["sync"]["percentiles"]["99"] for w in doc["workloads"]]
iops = [w["sync_ops"] * 1e9 / w["runtime_ns"] for w in doc["workloads"]]
def check(cid, title, metric, rounds, unit, cmp, limit, source):
    obs = statistics.median(rounds)
    ok = obs <= limit if cmp == "<=" else obs >= limit
    return {"id": cid, "title": title, "metric": metric, "observed": obs, "rounds": rounds,
            "unit": unit, "comparison": cmp, "limit": limit, "severity": "must",
            "verdict": "pass" if ok else "fail", "score": 100.0 if ok else 0.0, "source": source,
            "note": "check filled in by reports/example/make-example.sh from the measured rounds (median)"}
doc["checks"] = [
    check("wal_fdatasync_p99", "WAL-like fdatasync p99", "workloads[etcd-wal].latency_ns.sync.percentiles.99",
          p99, "ns", "<=", 10e6, "etcd FAQ: WAL fsync p99 < 10 ms"),
    check("wal_sync_iops", "WAL-like fdatasync rate", "workloads[etcd-wal].sync_ops_per_s",
          iops, "ops/s", ">=", 50.0, "etcd op-guide/hardware.md: 50 sequential IOPS"),
]
doc["node_name"] = name
doc["profile"] = {"name": "example-etcd-disk", "file": "reports/example/make-example.sh"}
doc["verdict"] = "FIT" if all(c["verdict"] == "pass" for c in doc["checks"]) else "UNFIT"
doc["fingerprint"] = {"disk": {"setup": setup}, "kernel": platform.release(), "machine": platform.machine()}
json.dump(doc, open(out, "w"), indent=2)
PY
}
mkdir -p "$OUT/plain" "$OUT/throttled"
assemble plain "temp directory on the host disk" "$OUT/plain/result.json" "$WORK"/plain-{1,2,3}.json
assemble throttled "ext4 on loop device, blkio write_iops $WRITE_IOPS" "$OUT/throttled/result.json" "$WORK"/throttled-{1,2,3}.json
"$NODEFIT" report "$OUT/plain/result.json" "$OUT/throttled/result.json" -o "$OUT/report.html" --png-dir "$WORK/png"
"$NODEFIT" report "$OUT/plain/result.json" "$OUT/throttled/result.json" --format md -o "$OUT/report.md"
cp "$WORK/png/compare-etcd-wal-percentiles.png" "$OUT/"
echo "wrote $OUT"
