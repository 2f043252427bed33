//! `nodefit watch` on real disks: a loop-device ext4 whose writes a cgroup v1 blkio group throttles
//! on a schedule (10 write IOPS for 20 s, twice) must show both degraded periods with start and end
//! within 3 intervals and no other, with stalls counted; a quiet control run on its own loop device,
//! at the same time, must show none; SIGTERM mid-watch leaves a valid partial result (exit 130)
//! and nothing on disk. The three run concurrently (about 100 s in all).

use crate::support::blkio;
use crate::support::nodefit;
use crate::support::schema;

use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const INTERVAL_S: f64 = 2.0;
const WATCH: &str = "100s";
/// Throttled stretches, seconds from the watch's start. The gap between them is 22 s: after a
/// stall the duty-cycle budget shrinks the next bursts to a few writes for some windows, and with a
/// 14 s gap those few-sample windows kept the two stretches from reading as two on a loaded run.
const SCHEDULE: [(u64, u64); 2] = [(36, 52), (74, 90)];

fn watch(dir: &std::path::Path, out: &std::path::Path, duration: &str, interval: &str) -> Child {
    nodefit()
        .args([
            "watch",
            "--quiet",
            "--duration",
            duration,
            "--interval",
            interval,
        ])
        .arg("--directory")
        .arg(dir)
        .arg("--output-dir")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child, out: &std::path::Path) -> (i32, Value) {
    let o = child.wait_with_output().unwrap();
    let code = o.status.code().unwrap_or(-1);
    let text = std::fs::read(out.join("result.json")).unwrap_or_else(|e| {
        panic!(
            "no result.json ({e}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let doc: Value = serde_json::from_slice(&text).unwrap();
    schema::validate(&doc);
    if code == 2 {
        panic!(
            "exit 2: {}; {}",
            String::from_utf8_lossy(&o.stderr),
            doc["incomplete_reason"]
        );
    }
    (code, doc)
}

fn periods(doc: &Value) -> Vec<(f64, f64)> {
    doc["watch"]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["start_s"].as_f64().unwrap(), p["end_s"].as_f64().unwrap()))
        .collect()
}

#[test]
fn scheduled_throttling_is_found_and_a_quiet_disk_is_not() {
    if let Some(why) = blkio::unavailable() {
        skip!("{why}");
    }
    let (slow, quiet) = match (
        blkio::ThrottledDisk::new(64, "slow"),
        blkio::ThrottledDisk::new(64, "quiet"),
    ) {
        (Ok(s), Ok(q)) => (s, q),
        (Err(e), _) | (_, Err(e)) => skip!("cannot make a loop-device ext4: {e}"),
    };
    let (out_slow, out_quiet) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let started = Instant::now();
    let child = watch(slow.dir(), out_slow.path(), WATCH, "2s");
    slow.enter(child.id()).unwrap();
    let control = watch(quiet.dir(), out_quiet.path(), WATCH, "2s");
    quiet.enter(control.id()).unwrap();
    for (from, to) in SCHEDULE {
        std::thread::sleep(Duration::from_secs(from).saturating_sub(started.elapsed()));
        slow.limit_write_iops(10).unwrap();
        std::thread::sleep(Duration::from_secs(to).saturating_sub(started.elapsed()));
        slow.limit_write_iops(0).unwrap();
    }
    let (code, doc) = finish(child, out_slow.path());
    let (_, control_doc) = finish(control, out_quiet.path());
    assert!(code == 0 || code == 1, "exit {code}");
    assert_eq!(doc["complete"], true);
    let found = periods(&doc);
    let tolerance = 3.0 * INTERVAL_S;
    assert_eq!(
        found.len(),
        2,
        "periods {found:?}; windows: {}",
        doc["watch"]["windows"]
    );
    for ((s, e), (from, to)) in found.iter().zip(SCHEDULE) {
        assert!(
            (s - from as f64).abs() <= tolerance,
            "start {s} vs {from}: {found:?}"
        );
        assert!(
            (e - to as f64).abs() <= tolerance,
            "end {e} vs {to}: {found:?}"
        );
    }
    // Stalls: the windows' counts add up to the total, and 10 IOPS makes flushes over 100 ms.
    let w = &doc["watch"];
    let sum: u64 = w["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["over_100ms"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, w["stalls"]["over_100ms"].as_u64().unwrap());
    assert!(
        sum > 0,
        "no flush over 100 ms under 10 IOPS: {}",
        w["stalls"]
    );
    assert!(
        w["predictions"]["apply_took_too_long"]["per_day"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        periods(&control_doc),
        vec![],
        "control run: {}",
        control_doc["watch"]["windows"]
    );
    for d in [slow.dir(), quiet.dir()] {
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "lost+found")
            .collect();
        assert!(left.is_empty(), "left on disk: {left:?}");
    }
}

#[test]
fn sigterm_mid_watch_leaves_a_partial_result_and_nothing_on_disk() {
    let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let child = watch(dir.path(), out.path(), "60s", "1s");
    std::thread::sleep(Duration::from_secs(6));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, doc) = finish(child, out.path());
    assert_eq!(code, 130);
    assert_eq!(doc["complete"], false);
    assert!(
        doc["verdict"].is_string(),
        "a verdict over the time watched"
    );
    let w = &doc["watch"];
    let watched = w["watched_s"].as_f64().unwrap();
    assert!(watched > 4.0 && watched < 30.0, "{watched}");
    assert!(!w["windows"].as_array().unwrap().is_empty());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left on disk: {left:?}");
}

#[test]
fn jsonl_lines_and_the_prometheus_textfile() {
    let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (lines, prom) = (
        out.path().join("watch.jsonl"),
        out.path().join("watch.prom"),
    );
    let o = nodefit()
        .args([
            "watch",
            "--duration",
            "4s",
            "--interval",
            "1s",
            "--output-format",
            "jsonl",
        ])
        .arg("--directory")
        .arg(dir.path())
        .arg("--output-dir")
        .arg(out.path())
        .arg("--output")
        .arg(&lines)
        .arg("--prometheus-textfile")
        .arg(&prom)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&lines).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let windows = docs.iter().filter(|d| d["type"] == "window").count();
    assert!((3..=4).contains(&windows), "{text}");
    let last = docs.last().unwrap();
    assert_eq!(last["type"], "result");
    schema::validate(&last["document"]);
    assert_eq!(
        last["document"]["watch"]["windows"]
            .as_array()
            .unwrap()
            .len(),
        windows
    );
    let metrics = std::fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains("nodefit_watch_complete{node="),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("nodefit_watch_complete") && l.ends_with(" 1")),
        "{metrics}"
    );
}

#[test]
fn bad_options_are_one_line_errors_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        ["--interval", "0s", "--duration", "10s"],
        ["--duration", "soon", "--interval", "1s"],
        ["--duty-cycle", "0", "--duration", "10s"],
        ["--interval", "1h", "--duration", "10s"],
    ] {
        let o = nodefit()
            .arg("watch")
            .args(args)
            .arg("--directory")
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "{args:?}"
        );
    }
}
