//! `nodefit watch`'s terminal text: the line per window (with the ETA) and the summary after the
//! watch — stalls, worst hour, degraded periods and the predicted etcd symptoms.

use crate::results::watch::{Symptom, WatchResult, Window};
use crate::util::units::format_ns;

/// Seconds as "1h02m", "3m05s" or "12s".
pub fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// One window: when, the burst's flush figures, CPU, and whether the detector has the run in a
/// degraded period now.
pub fn window_line(w: &Window, elapsed_s: f64, eta_s: f64, duty: f64, degraded: bool) -> String {
    let lat = |ns: u64| {
        if ns == 0 {
            "-".to_string()
        } else {
            format_ns(ns as f64)
        }
    };
    let mut s = format!(
        "watch {:>7} (ETA {:>7})  flush p50 {:>9}  p99 {:>9}  max {:>9}  n {:>4}  >100ms {}  >1s {}",
        clock(elapsed_s),
        clock(eta_s),
        lat(w.p50_ns),
        lat(w.p99_ns),
        lat(w.max_ns),
        w.count,
        w.over_100ms,
        w.over_1s
    );
    if let Some(st) = w.steal_pct {
        s += &format!("  steal {st:.1}%");
    }
    if let Some(rq) = w.run_queue {
        s += &format!("  runq {rq}");
    }
    s += &format!("  duty {:.1}%", duty * 100.0);
    if degraded {
        s += "  DEGRADED";
    }
    if let Some(e) = &w.error {
        s += &format!("  ({e})");
    }
    s
}

fn symptom_line(name: &str, s: &Symptom) -> String {
    let bound = if s.observed == 0 {
        format!(
            " (none seen; at most {:.1}/day at 95 %)",
            s.per_day_upper_95
        )
    } else {
        String::new()
    };
    format!(
        "  {name:<30} > {:>8}: {} seen, {:.1}/day expected{bound}\n      source: {}\n",
        format_ns(s.threshold_ns as f64),
        s.observed,
        s.per_day,
        s.source
    )
}

/// The summary after a watch.
pub fn summary(w: &WatchResult) -> String {
    let mut s = format!(
        "watched {} of {} at {} intervals: {} windows ({} missed), duty cycle {:.2}% (budget {:.1}%)\n",
        clock(w.watched_s),
        clock(w.duration_s),
        clock(w.interval_s),
        w.windows.len(),
        w.windows_missed,
        w.duty_cycle * 100.0,
        w.burst.duty_budget * 100.0
    );
    if let Some(f) = &w.flush_ns {
        s += &format!(
            "flushes: {} measured, p50 {}, p99 {}, max {}; worst hour p99 {}\n",
            f.count,
            format_ns(f.percentile(50.0).unwrap_or(0) as f64),
            format_ns(f.percentile(99.0).unwrap_or(0) as f64),
            format_ns(f.max as f64),
            format_ns(w.worst_hour_p99_ns as f64)
        );
    }
    s += &format!(
        "stalls: {} over 100 ms, {} over 1 s ({:.1} and {:.1} per day watched)\n",
        w.stalls.over_100ms,
        w.stalls.over_1s,
        w.stalls.over_100ms_per_day,
        w.stalls.over_1s_per_day
    );
    s += &format!(
        "degraded: {} period(s), {:.2}% of the time (baseline p99 {} from {} windows)\n",
        w.periods.len(),
        w.degraded_pct,
        format_ns(w.detector.baseline_p99_ns as f64),
        w.detector.baseline_windows
    );
    for p in &w.periods {
        s += &format!(
            "  {} {} .. {}: p99 {} vs baseline {}\n",
            "degraded",
            clock(p.start_s),
            clock(p.end_s),
            format_ns(p.p99_ns as f64),
            format_ns(p.baseline_p99_ns as f64)
        );
    }
    let p = &w.predictions;
    s += &format!(
        "predicted etcd symptoms per day (at {} WAL fdatasyncs/s, election timeout {} ms):\n",
        p.etcd_syncs_per_s, p.election_timeout_ms
    );
    s += &symptom_line("\"slow fdatasync\" warnings", &p.slow_fdatasync);
    s += &symptom_line("\"apply took too long\"", &p.apply_took_too_long);
    s += &symptom_line("leader elections", &p.leader_election);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_as_hours_minutes_seconds() {
        assert_eq!(clock(12.2), "12s");
        assert_eq!(clock(185.0), "3m05s");
        assert_eq!(clock(3720.0), "1h02m");
    }
}
