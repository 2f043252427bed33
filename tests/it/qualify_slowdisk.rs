//! A real slow disk: `nodefit qualify` on a FUSE passthrough file system that holds every
//! fsync/fdatasync for a set time (tests/it/support/slowfs.rs). With 30 ms per flush the verdict must
//! be UNFIT naming the fdatasync check; with no added delay it must not be. Skipped, with the
//! reason printed, where FUSE cannot be mounted (no /dev/fuse, not root).

use crate::support::nodefit;
use crate::support::skip::skipped;
use crate::support::slowfs;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const PROFILE: &str = r#"name = "slowdisk-test"
description = "WAL-like fdatasync p99 only, a few seconds"
rounds = 1

[[disk]]
id = "wal"
title = "sequential 2300 B writes, fdatasync after each"
rw = "write"
bs = "2300"
size = "4m"
runtime = "4s"
fdatasync = 1

[[check]]
id = "wal_fdatasync_p99"
title = "WAL-like fdatasync p99"
metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
unit = "ns"
severity = "must"
source = "etcd FAQ (etcd.io/docs/v3.6/faq): wal_fsync_duration_seconds p99 below 10 ms"
"#;

/// Qualify a FUSE mount whose flushes take `delay`; returns (exit code, stdout, result.json).
fn qualify_on_slowfs(delay: Duration) -> Option<(i32, String, Value)> {
    if let Some(why) = slowfs::unavailable() {
        skipped(format!("cannot mount FUSE here: {why}"));
        return None;
    }
    // Back the file system with RAM where possible, so the only flush latency is the delay.
    let shm = Path::new("/dev/shm");
    let backing = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let mnt = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("slowdisk-test.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let mounted = match slowfs::mount(backing.path(), mnt.path(), delay) {
        Ok(m) => m,
        Err(e) => {
            skipped(format!("FUSE mount failed: {e}"));
            return None;
        }
    };
    let o = nodefit()
        .args(["qualify", "--no-etcd", "--quiet", "--profile"])
        .arg(&profile)
        .arg("--directory")
        .arg(&mounted.mountpoint)
        .arg("--output-dir")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.code().is_some(),
        "killed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Scratch files are gone from the slow disk.
    let left: Vec<_> = std::fs::read_dir(backing.path()).unwrap().collect();
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
    drop(mounted);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("result.json")).unwrap()).unwrap();
    Some((o.status.code().unwrap_or(-1), stdout, doc))
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn thirty_ms_flushes_are_unfit() {
    let Some((code, stdout, doc)) = qualify_on_slowfs(Duration::from_millis(30)) else {
        return;
    };
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(doc["verdict"], "UNFIT");
    let c = check(&doc, "wal_fdatasync_p99");
    assert_eq!(c["verdict"], "fail", "{c}");
    // A flush takes at least the delay.
    assert!(c["observed"].as_f64().unwrap() >= 30e6, "{c}");
    assert!(stdout.contains("UNFIT"), "{stdout}");
    assert!(stdout.contains("wal_fdatasync_p99"), "{stdout}");
    let fstype = doc["fingerprint"]["filesystem"]["fstype"].as_str().unwrap();
    assert!(fstype.starts_with("fuse"), "{fstype}");
}

#[test]
fn fast_flushes_are_not_unfit() {
    let Some((code, stdout, doc)) = qualify_on_slowfs(Duration::ZERO) else {
        return;
    };
    assert_eq!(code, 0, "{stdout}");
    assert_ne!(doc["verdict"], "UNFIT");
    let c = check(&doc, "wal_fdatasync_p99");
    assert_eq!(c["verdict"], "pass", "{c}");
    assert!(c["observed"].as_f64().unwrap() < 10e6, "{c}");
}
