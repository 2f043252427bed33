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

/// Rows of the timeline chart.
const CHART_ROWS: usize = 8;

/// A text timeline of window p99 (log scale, at most `width` columns, each the worst window it
/// covers), the 10 ms line marked `-`, windows with a flush over 1 s marked `!` on the top row, and
/// degraded periods as `=` under the axis.
pub fn timeline(w: &WatchResult, width: usize) -> String {
    let ws: Vec<&Window> = w.windows.iter().collect();
    if ws.is_empty() || width == 0 {
        return String::new();
    }
    let cols = ws.len().min(width);
    let per = ws.len().div_ceil(cols);
    let cells: Vec<(u64, bool, f64, f64)> = ws
        .chunks(per)
        .map(|c| {
            let p99 = c.iter().map(|x| x.p99_ns).max().unwrap_or(0);
            let stall = c.iter().any(|x| x.over_1s > 0);
            (p99, stall, c[0].t_s, c[c.len() - 1].t_s + w.interval_s)
        })
        .collect();
    let lo = cells
        .iter()
        .map(|c| c.0)
        .filter(|v| *v > 0)
        .min()
        .unwrap_or(1)
        .min(10_000_000) as f64;
    let hi = cells.iter().map(|c| c.0).max().unwrap_or(1).max(10_000_000) as f64;
    let span = (hi.ln() - lo.ln()).max(1e-9);
    let row_of = |v: f64| (((v.ln() - lo.ln()) / span) * (CHART_ROWS - 1) as f64).round() as usize;
    let limit_row = row_of(10_000_000.0);
    let mut s = String::new();
    for r in (0..CHART_ROWS).rev() {
        let label = (lo.ln() + span * r as f64 / (CHART_ROWS - 1) as f64).exp();
        s += &format!("{:>9} |", format_ns(label));
        for c in &cells {
            let level = (c.0 > 0).then(|| row_of(c.0 as f64));
            s.push(match (level, r == CHART_ROWS - 1 && c.1) {
                (_, true) => '!',
                (Some(l), _) if l >= r => '#',
                _ if r == limit_row => '-',
                _ => ' ',
            });
        }
        s.push('\n');
    }
    s += &format!("{:>9} +{}\n", "", "-".repeat(cells.len()));
    let shade: String = cells
        .iter()
        .map(|c| {
            let inside = w.periods.iter().any(|p| p.start_s < c.3 && p.end_s > c.2);
            if inside {
                '='
            } else {
                ' '
            }
        })
        .collect();
    s += &format!(
        "{:>9}  {shade}  (periods; worst p99 per column; 10 ms line '-'; '!' a flush over 1 s)\n",
        "degraded"
    );
    s += &format!(
        "{:>9}  0 .. {} ({} per column)\n",
        "time",
        clock(w.watched_s),
        clock(per as f64 * w.interval_s)
    );
    s
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
    s += &timeline(w, 100);
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
    fn the_timeline_marks_periods_stalls_and_the_limit() {
        use crate::results::watch::{Period, PeriodKind};
        let mut w = WatchResult {
            interval_s: 1.0,
            watched_s: 10.0,
            ..WatchResult::default()
        };
        for i in 0..10 {
            w.windows.push(Window {
                t_s: i as f64,
                p99_ns: if i == 5 { 2_000_000_000 } else { 1_000_000 },
                over_1s: u64::from(i == 5),
                ..Window::default()
            });
        }
        w.periods.push(Period {
            kind: PeriodKind::Degraded,
            start_s: 4.0,
            end_s: 7.0,
            p99_ns: 2_000_000_000,
            baseline_p99_ns: 1_000_000,
        });
        let t = timeline(&w, 100);
        let top = t.lines().next().unwrap();
        assert_eq!(top.matches('!').count(), 1, "{t}");
        let shade = t
            .lines()
            .find(|l| l.trim_start().starts_with("degraded"))
            .unwrap();
        assert_eq!(shade.matches('=').count(), 3, "{t}");
        assert!(t.contains('-'), "{t}");
    }

    #[test]
    fn clock_reads_as_hours_minutes_seconds() {
        assert_eq!(clock(12.2), "12s");
        assert_eq!(clock(185.0), "3m05s");
        assert_eq!(clock(3720.0), "1h02m");
    }
}
