//! `nodefit trend` on synthetic histories built from a real fixture run: every night is the fixture
//! with its latency histograms (and check figures) scaled by a factor. A clear 2× slowdown must be
//! caught (exit 1 with --fail-on-regression), ±5 % night-to-night noise must not, and a history too
//! short must say so.

use crate::support::nodefit;
use crate::support::scaled;

use scaled::history;
use serde_json::Value;
use std::path::Path;

fn trend(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let o = nodefit()
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

/// Option values that would make the judgement meaningless are refused before anything is read:
/// exit 2 and one line naming the option (a NaN threshold used to pass a 245× slowdown as "ok").
#[test]
fn meaningless_thresholds_baselines_and_percentiles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.0, 1.0, 1.0, 245.0]);
    let cases: &[(&[&str], &str)] = &[
        (&["--threshold-pct", "nan"], "--threshold-pct NaN"),
        (&["--threshold-pct", "0"], "--threshold-pct 0"),
        (&["--threshold-pct=-5"], "--threshold-pct -5"),
        (&["--threshold-pct", "inf"], "--threshold-pct inf"),
        (&["--baseline", "0"], "--baseline 0"),
        (
            &[
                "--metric",
                "workloads[etcd-wal].latency_ns.write.percentiles.101",
            ],
            "percentile 101 is outside (0, 100]",
        ),
        (
            &[
                "--metric",
                "workloads[etcd-wal].latency_ns.write.percentiles.0",
            ],
            "percentile 0 is outside (0, 100]",
        ),
    ];
    for (args, want) in cases {
        let mut all = args.to_vec();
        all.push("--fail-on-regression");
        let (code, out, err) = trend(dir.path(), &all);
        assert_eq!(code, Some(2), "{args:?}\nstdout:\n{out}\nstderr:\n{err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("nodefit: error: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    // The edges that are meaningful still run: p100 (the maximum) and a tiny threshold.
    let (code, out, err) = trend(
        dir.path(),
        &[
            "--metric",
            "workloads[etcd-wal].latency_ns.write.percentiles.100",
            "--threshold-pct",
            "0.5",
            "--baseline",
            "1",
            "--fail-on-regression",
        ],
    );
    assert_eq!(code, Some(1), "stdout:\n{out}\nstderr:\n{err}");
}
