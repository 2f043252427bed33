//! A kill loop: `nodefit qualify --quick` (disk workloads + embedded etcd) killed with SIGKILL at
//! random moments, over and over, as OOM kills and reboots do to nightly runs. After one more run
//! to the end, nothing of nodefit's may be left in the directory and no etcd may be running.
//! Seeded: the seed is printed, and `NODEFIT_KILL_SEED=N` replays a failing sequence.

use crate::support::bundled;
use crate::support::nodefit;
use rand::{RngExt, SeedableRng};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KILLS: usize = 24;

/// A small profile so that 24 runs fit in a test: every phase (layout, rounds, concurrent
/// workloads, etcd start, probe, scoring, report) still happens.
const PROFILE: &str = r#"
name = "kill-loop"
description = "tiny workloads for the kill-loop test"
rounds = 2

[[disk]]
id = "wal"
title = "WAL-like"
rw = "write"
bs = "2300"
size = "2m"
runtime = "1s"
ioengine = "sync"
fdatasync = 1

[[disk]]
id = "commit_a"
title = "concurrent a"
concurrent_group = "c"
rw = "randwrite"
bs = "4k"
size = "4m"
runtime = "1s"
ioengine = "sync"
fdatasync = 4

[[disk]]
id = "commit_b"
title = "concurrent b"
concurrent_group = "c"
rw = "write"
bs = "4k"
size = "4m"
runtime = "1s"
ioengine = "sync"
fdatasync = 1

[etcd]
load = "s"
duration = "2s"
members = 1

[[check]]
id = "wal_fdatasync_p99"
title = "WAL-like fdatasync p99"
metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
unit = "ns"
severity = "must"
source = "etcd FAQ"
"#;

fn etcd_processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_etcd = argv
            .first()
            .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "etcd"));
        if is_etcd && argv.iter().any(|a| a.contains(&needle)) {
            found.push(argv.join(" "));
        }
    }
    found
}

#[test]
fn qualify_killed_at_random_moments_leaves_nothing_behind() {
    // nodefit runs the bundled etcd next to it; missing, the set-up did not run: fail, do not skip.
    bundled::etcd();
    let seed: u64 = std::env::var("NODEFIT_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("kill loop seed: {seed} (replay with NODEFIT_KILL_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("disk");
    let out = work.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let profile = work.path().join("kill-loop.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let qualify = || {
        let mut c = nodefit();
        c.args(["qualify", "--quick", "--quiet", "--profile"])
            .arg(&profile)
            .arg("--directory")
            .arg(&dir)
            .arg("--output-dir")
            .arg(&out)
            .stdin(Stdio::null());
        c
    };

    // One full run first: how long a run takes here, so kills land in every phase of it.
    let t0 = Instant::now();
    let full = qualify().output().unwrap();
    let run_time = t0.elapsed();
    assert!(
        matches!(full.status.code(), Some(0) | Some(1)),
        "the reference run must reach a verdict: {}",
        String::from_utf8_lossy(&full.stderr)
    );

    let mut killed_with_leftovers = 0;
    for i in 0..KILLS {
        let at = Duration::from_secs_f64(rng.random_range(0.0..run_time.as_secs_f64()));
        let mut child = qualify()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        let left = std::fs::read_dir(&dir).unwrap().count();
        if left > 0 {
            killed_with_leftovers += 1;
        }
        eprintln!(
            "kill {i}: at {:.2}s{}, {left} entries left",
            at.as_secs_f64(),
            if finished { " (already finished)" } else { "" }
        );
    }
    eprintln!("{killed_with_leftovers} of {KILLS} kills left something behind");

    // Members die with nodefit (parent-death signal).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !etcd_processes_using(&dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(etcd_processes_using(&dir), Vec::<String>::new());

    let last = qualify().output().unwrap();
    assert!(
        matches!(last.status.code(), Some(0) | Some(1)),
        "the run after the kills must reach a verdict: {}",
        String::from_utf8_lossy(&last.stderr)
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left behind after the last run: {left:?}");
    assert_eq!(etcd_processes_using(&dir), Vec::<String>::new());
    // The result.json that exists is whole (written atomically): it parses.
    let p = out.join("result.json");
    let bytes = std::fs::read(&p).unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .unwrap_or_else(|e| panic!("{} is not whole JSON: {e}", p.display()));
    let strays: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nodefit-tmp"))
        .collect();
    assert!(
        strays.is_empty(),
        "temp files of atomic writes left: {strays:?}"
    );
}
