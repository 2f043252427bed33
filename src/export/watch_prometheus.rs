//! A watch as Prometheus metrics for node_exporter's textfile collector: a pure function of the
//! watch section (as of the last window), rewritten atomically every minute by `nodefit watch`
//! through [`super::prometheus::write_textfile`], so Grafana follows a watch live.

use crate::results::watch::WatchResult;
use std::fmt::Write as _;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The textfile for `w` on node `node`; `complete` says whether the watch has ended.
pub fn render(w: &WatchResult, node: &str, complete: bool) -> String {
    let node = escape(node);
    let mut s = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, rows: &[(&str, f64)]| {
        let _ = writeln!(s, "# HELP nodefit_watch_{name} {help}");
        let _ = writeln!(s, "# TYPE nodefit_watch_{name} {kind}");
        for (labels, v) in rows {
            let sep = if labels.is_empty() { "" } else { "," };
            let _ = writeln!(
                s,
                "nodefit_watch_{name}{{node=\"{node}\"{sep}{labels}}} {v}"
            );
        }
    };
    let last = w.windows.last();
    let secs = |ns: u64| ns as f64 / 1e9;
    metric(
        "flush_seconds",
        "gauge",
        "Flush (fdatasync) latency of the last window's WAL-shaped burst.",
        &[
            ("quantile=\"0.5\"", last.map_or(0.0, |l| secs(l.p50_ns))),
            ("quantile=\"0.99\"", last.map_or(0.0, |l| secs(l.p99_ns))),
            ("quantile=\"1\"", last.map_or(0.0, |l| secs(l.max_ns))),
        ],
    );
    metric(
        "stalls_total",
        "counter",
        "Flushes over the threshold since the watch began.",
        &[
            ("threshold=\"0.1\"", w.stalls.over_100ms as f64),
            ("threshold=\"1\"", w.stalls.over_1s as f64),
        ],
    );
    let degraded_now = w.periods.last().is_some_and(|p| p.end_s >= w.watched_s);
    metric(
        "degraded",
        "gauge",
        "1 while the watch is inside a degraded period.",
        &[("", if degraded_now { 1.0 } else { 0.0 })],
    );
    metric(
        "degraded_ratio",
        "gauge",
        "Share of the time watched inside degraded periods.",
        &[("", w.degraded_pct / 100.0)],
    );
    metric(
        "worst_hour_p99_seconds",
        "gauge",
        "Worst hour's flush p99 so far.",
        &[("", secs(w.worst_hour_p99_ns))],
    );
    metric(
        "duty_cycle_ratio",
        "gauge",
        "Busy time of the bursts over wall time watched.",
        &[("", w.duty_cycle)],
    );
    metric(
        "windows_total",
        "counter",
        "Windows measured.",
        &[("", w.windows.len() as f64)],
    );
    metric(
        "watched_seconds",
        "gauge",
        "Seconds watched so far.",
        &[("", w.watched_s)],
    );
    metric(
        "complete",
        "gauge",
        "1 once the watch has run its full duration.",
        &[("", if complete { 1.0 } else { 0.0 })],
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_carries_the_node_and_a_number() {
        let text = render(&WatchResult::default(), "cp\"1", false);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.contains("node=\"cp\\\"1\""), "{line}");
            let v = line.rsplit(' ').next().unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
        assert!(text.contains("nodefit_watch_stalls_total{node=\"cp\\\"1\",threshold=\"1\"} 0"));
    }
}
