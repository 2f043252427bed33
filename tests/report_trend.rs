//! `nodefit trend` on synthetic histories built from a real fixture run: every night is the fixture
//! with its latency histograms (and check figures) scaled by a factor. A clear 2× slowdown must be
//! caught (exit 1 with --fail-on-regression), ±5 % night-to-night noise must not, and a history too
//! short must say so.

use hdrhistogram::Histogram;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/results/node-a/result.json";

/// Scale one LatencySummary (JSON) by `f`: histogram re-recorded, percentiles recomputed.
fn scale_summary(s: &mut Value, f: f64) {
    let h = nodefit::util::stats::decode_histogram(s["histogram"].as_str().unwrap()).unwrap();
    let mut out = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
    for v in h.iter_recorded() {
        let scaled = ((v.value_iterated_to() as f64) * f).max(1.0) as u64;
        out.record_n(scaled, v.count_at_value()).unwrap();
    }
    let keys: Vec<String> = s["percentiles"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for k in keys {
        let q: f64 = k.parse::<f64>().unwrap() / 100.0;
        s["percentiles"][&k] = Value::from(out.value_at_quantile(q));
    }
    s["histogram"] = Value::from(nodefit::util::stats::encode_histogram(&out));
    for k in ["min", "max"] {
        s[k] = Value::from((s[k].as_f64().unwrap() * f) as u64);
    }
    s["mean"] = Value::from(s["mean"].as_f64().unwrap() * f);
}

fn night(base: &Value, day: u32, f: f64) -> Value {
    let mut d = base.clone();
    d["started_at"] = Value::from(format!("2026-11-{day:02}T02:00:00Z"));
    d["finished_at"] = Value::from(format!("2026-11-{day:02}T02:05:00Z"));
    for w in d["workloads"].as_array_mut().unwrap() {
        for kind in ["sync", "write", "read"] {
            if w["latency_ns"][kind].is_object() {
                scale_summary(&mut w["latency_ns"][kind], f);
            }
        }
    }
    for c in d["checks"].as_array_mut().unwrap() {
        let lat = c["unit"] == "ns";
        // Latency grows with f; rates fall with it.
        let g = if lat { f } else { 1.0 / f };
        c["observed"] = Value::from(c["observed"].as_f64().unwrap() * g);
        for r in c["rounds"].as_array_mut().unwrap() {
            *r = Value::from(r.as_f64().unwrap() * g);
        }
    }
    d
}

fn history(dir: &Path, factors: &[f64]) {
    let base: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    for (i, f) in factors.iter().enumerate() {
        let day = i as u32 + 1;
        let p = dir.join(format!("node-a/2026-11-{day:02}"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("result.json"),
            serde_json::to_vec(&night(&base, day, *f)).unwrap(),
        )
        .unwrap();
    }
}

fn trend(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_nodefit"))
        .arg("trend")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_two_fold_slowdown_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 2.0]);
    let html = dir.path().join("trend.html");
    let (code, out, err) = trend(
        dir.path(),
        &["--fail-on-regression", "-o", html.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "stdout:\n{out}\nstderr:\n{err}");
    println!("{out}");
    let line = out
        .lines()
        .find(|l| l.contains("wal_fdatasync_p99"))
        .unwrap();
    assert!(line.contains("REGRESSION"), "{line}");
    assert!(line.contains("order-statistic CI"), "{line}");
    // The rate check is halved; it is judged by Mann–Whitney over rounds (whether that is
    // significant depends on how much the fixture's real rounds vary, so only the test is checked).
    let rate = out.lines().find(|l| l.contains("wal_sync_iops")).unwrap();
    assert!(
        rate.contains("50.0 % worse") && rate.contains("Mann"),
        "{rate}"
    );
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("<svg") && page.contains("limit &lt;=") || page.contains("limit <="));
    assert!(!page.contains("<script"));
}

#[test]
fn five_percent_noise_is_not_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.05, 0.95, 1.03, 0.97, 1.04, 0.96, 1.05]);
    let (code, out, err) = trend(dir.path(), &["--fail-on-regression"]);
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(!out.contains("REGRESSION"), "{out}");
    assert!(out.contains("0 regression(s)"), "{out}");
}

#[test]
fn too_short_a_history_says_so() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 2.0]);
    let (code, out, _) = trend(dir.path(), &["--fail-on-regression"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("history too short to judge (1 earlier run(s), need at least 3)"),
        "{out}"
    );
}

#[test]
fn metric_and_node_filters() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.0, 1.0, 1.0, 3.0]);
    let (code, out, _) = trend(
        dir.path(),
        &[
            "--node",
            "node-a",
            "--metric",
            "workloads[etcd-wal].latency_ns.write.percentiles.99",
            "--baseline",
            "3",
        ],
    );
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("REGRESSION"), "{out}");
    let (code, _, err) = trend(dir.path(), &["--node", "nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no metric found"), "{err}");
}

#[test]
fn an_incomplete_latest_run_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 2.0]);
    // The 2× night was interrupted: it must be neither judged nor part of a baseline.
    let f = dir.path().join("node-a/2026-11-08/result.json");
    let mut d: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    d["complete"] = Value::from(false);
    std::fs::write(&f, serde_json::to_vec(&d).unwrap()).unwrap();
    let (code, out, err) = trend(dir.path(), &["--fail-on-regression"]);
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(!out.contains("REGRESSION"), "{out}");
    assert!(
        out.contains("skipped 1 incomplete run(s)") && out.contains("2026-11-08"),
        "{out}"
    );
}
