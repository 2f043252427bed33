//! The watch checks: thresholds over time, each with its source, judged by the same scoring as a
//! profile's checks (`score::evaluate` on the document's JSON), so `nodefit watch` ends with the
//! same verdict table and exit codes as `qualify`. Built in: profiles have no `[watch]` table yet.

use crate::results::check::{Comparison, Severity};
use crate::results::path::MetricPath;
use crate::score::profile::Check;

/// The checks a watch is judged by.
pub fn builtin() -> Vec<Check> {
    vec![
        check(
            "watch_no_slow_fdatasync",
            "Flushes over 1 s, per day watched",
            "watch.stalls.over_1s_per_day",
            Comparison::Lt,
            1.0,
            "/day",
            Severity::Must,
            "etcd server/storage/wal/wal.go: warnSyncDuration = 1 s (\"slow fdatasync\"); a flush that long also outlasts the default 1 s election timeout",
        ),
        check(
            "watch_worst_hour_p99",
            "Worst hour's flush p99",
            "watch.worst_hour_p99_ns",
            Comparison::Le,
            10_000_000.0,
            "ns",
            Severity::Must,
            "etcd FAQ (etcd.io/docs/v3.6/faq): etcd_disk_wal_fsync_duration_seconds p99 below 10 ms — held here for every hour, not the day's average",
        ),
        check(
            "watch_degraded_time",
            "Share of the time in degraded periods",
            "watch.degraded_pct",
            Comparison::Le,
            1.0,
            "pct",
            Severity::Should,
            "nodefit issue 19: a control-plane disk degraded more than 1 % of the time (about 15 min a day) puts etcd's tail in its bad minutes daily",
        ),
    ]
}

#[allow(clippy::too_many_arguments)] // one row of a table, named at the call site
fn check(
    id: &str,
    title: &str,
    metric: &str,
    comparison: Comparison,
    limit: f64,
    unit: &str,
    severity: Severity,
    source: &str,
) -> Check {
    Check {
        id: id.into(),
        title: title.into(),
        metric: MetricPath::parse(metric).unwrap_or_else(|e| unreachable!("built-in path: {e}")),
        comparison,
        limit,
        limit_of: None,
        marginal: None,
        unit: unit.into(),
        severity,
        source: source.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_path_names_a_number_of_the_section() {
        let doc = serde_json::json!({ "watch": crate::results::watch::WatchResult::default() });
        for c in builtin() {
            let r = crate::score::evaluate(&c, &doc, &[]);
            assert!(r.observed.is_some(), "{}: {:?}", c.id, r.note);
        }
    }
}
