//! Adaptive stopping end to end, on real disks: the nodefit binary qualifies a RAM-backed
//! directory (every check decided at the first looks) and an ext4 loop device throttled to 40
//! write IOPS by a cgroup v1 blkio throttle (a must check decided failing: UNFIT, the embedded
//! probe not run). What is asserted is the stop reason and the verdict, not timings: those are
//! in docs/bench.md.

use crate::support::throttled;

use serde_json::Value;
use std::path::Path;

/// One WAL-like workload held to 1 500 IOPS, so that RAM can't finish its size before the first
/// look (2 s): what is fast is the flush, and the run is time-bound like a real disk's.
const PACED: &str = r#"
name = "paced-wal"
description = "WAL-like writes at a fixed pace, for adaptive stopping"
rounds = 3

[[disk]]
id = "wal"
title = "WAL-like: sequential 2300 B writes, fdatasync after each, 1500/s"
rw = "write"
bs = "2300"
size = "64m"
runtime = "6s"
fdatasync = 1
rate_iops = 1500

[[check]]
id = "wal_fdatasync_p99"
title = "WAL-like fdatasync p99"
metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
unit = "ns"
severity = "must"
source = "etcd FAQ (etcd.io/docs/v3.6/faq): wal_fsync_duration_seconds p99 below 10 ms"

[[check]]
id = "wal_synced_writes_min"
title = "WAL-like synced writes per second"
metric = "workloads[wal].iops"
comparison = ">="
limit = 50
unit = "ops/s"
severity = "must"
source = "etcd hardware guide (etcd.io/docs/v3.6/op-guide/hardware): 50 sequential IOPS"
"#;

fn result(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("result.json")).unwrap()).unwrap()
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn stops(doc: &Value) -> Vec<(String, String)> {
    doc["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["spec"]["name"].as_str().unwrap().to_string(),
                w["stop"]["reason"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_fast_disk_is_decided_at_the_first_looks() {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("paced.toml");
    std::fs::write(&profile, PACED).unwrap();
    let o = crate::support::nodefit()
        .args(["qualify", "--no-etcd", "--quiet", "--profile"])
        .arg(&profile)
        .arg("--directory")
        .arg(dir.path())
        .arg("--output-dir")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let doc = result(out.path());
    assert_ne!(doc["verdict"], "UNFIT", "{stdout}");
    let stops = stops(&doc);
    assert_eq!(stops.len(), 3, "rounds stay: {stdout}");
    for (name, reason) in stops {
        // RAM answers a flush in microseconds: every check is far from its limit.
        assert_eq!(reason, "decided", "{name} did not stop early: {stdout}");
    }
    for w in doc["workloads"].as_array().unwrap() {
        let budget = w["spec"]["runtime_ns"].as_f64().unwrap();
        assert!(w["runtime_ns"].as_f64().unwrap() < budget, "{w}");
        assert!(
            w["stop"]["note"].as_str().unwrap().contains("decided"),
            "{w}"
        );
    }
    let c = check(&doc, "wal_fdatasync_p99");
    assert_eq!(c["verdict"], "pass", "{c}");
    let [lo, hi] = [
        c["observed_ci"][0].as_f64().unwrap(),
        c["observed_ci"][1].as_f64().unwrap(),
    ];
    let obs = c["observed"].as_f64().unwrap();
    assert!(lo <= obs && obs <= hi && hi < 10e6, "{c}");
    assert_eq!(c["confidence"], 0.95);
}

#[test]
fn a_40_iops_loop_device_is_unfit_as_soon_as_that_is_certain() {
    if let Some(why) = throttled::unavailable() {
        skip!("{why}");
    }
    let disk = throttled::ThrottledDisk::new(512, 40).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = disk
        .command(Path::new(crate::support::BIN))
        .args(["qualify", "--quiet", "--directory"])
        .arg(&disk.mountpoint)
        .arg("--output-dir")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    let doc = result(out.path());
    assert_eq!(doc["verdict"], "UNFIT", "{stdout}");
    let wal: Vec<&Value> = doc["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["spec"]["name"] == "wal")
        .collect();
    assert_eq!(wal.len(), 3, "rounds stay: {stdout}");
    for w in wal {
        assert_eq!(w["stop"]["reason"], "decided", "{w}");
        assert!(
            w["stop"]["note"]
                .as_str()
                .unwrap()
                .contains("UNFIT is certain"),
            "{}",
            w["stop"]
        );
    }
    // The embedded probe adds nothing to a certain UNFIT: skipped, saying why.
    let probe = check(&doc, "etcd_put_p99");
    assert_eq!(probe["verdict"], "skipped", "{probe}");
    assert!(
        probe["note"]
            .as_str()
            .unwrap()
            .contains("already made the node UNFIT"),
        "{probe}"
    );
    assert!(doc.get("etcd").is_none_or(Value::is_null));
}
