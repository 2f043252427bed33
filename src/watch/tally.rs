//! The books of a watch: every window in compact form, the run's flush histogram, the current
//! hour's histogram (summarised and dropped when the hour ends, so memory stays flat over days),
//! stall counts; and the section they make at any moment ([`Tally::section`]), for the final
//! result and for the live textfile alike.

use super::{detect, predict, WatchConfig};
use crate::results::watch::{BurstInfo, HourSummary, Stalls, WatchResult, Window};
use crate::util::stats::{Recorder, FIO_DEFAULT_PERCENTILES};

const DAY_S: f64 = 86_400.0;
const HOUR_S: f64 = 3_600.0;

/// Everything measured so far.
pub struct Tally {
    pub windows: Vec<Window>,
    all: Recorder,
    hour: Recorder,
    hour_index: u64,
    hours: Vec<HourSummary>,
    pub busy_ns: u64,
    pub missed: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    pub fn new() -> Self {
        Tally {
            windows: Vec::new(),
            all: Recorder::new(),
            hour: Recorder::new(),
            hour_index: 0,
            hours: Vec::new(),
            busy_ns: 0,
            missed: 0,
        }
    }

    /// Add one window and the flushes its burst measured.
    pub fn add(&mut self, w: Window, flushes: &Recorder) {
        let hour = (w.t_s / HOUR_S) as u64;
        if hour != self.hour_index {
            self.close_hour();
            self.hour_index = hour;
        }
        self.all.merge(flushes);
        self.hour.merge(flushes);
        self.busy_ns += w.busy_ns;
        self.windows.push(w);
    }

    fn close_hour(&mut self) {
        if self.hour.count() > 0 {
            self.hours.push(hour_summary(self.hour_index, &self.hour));
        }
        self.hour.reset();
    }

    /// The watch section as of `watched_s` seconds of watching.
    pub fn section(&self, c: &WatchConfig, burst: BurstInfo, watched_s: f64) -> WatchResult {
        let mut hours = self.hours.clone();
        if self.hour.count() > 0 {
            hours.push(hour_summary(self.hour_index, &self.hour));
        }
        let per_day = |n: u64| {
            if watched_s > 0.0 {
                n as f64 * DAY_S / watched_s
            } else {
                0.0
            }
        };
        let stalls = Stalls {
            over_100ms: self.all.count_above(predict::APPLY_TOO_LONG_NS),
            over_1s: self.all.count_above(predict::SLOW_FDATASYNC_NS),
            over_1s_per_day: per_day(self.all.count_above(predict::SLOW_FDATASYNC_NS)),
            over_100ms_per_day: per_day(self.all.count_above(predict::APPLY_TOO_LONG_NS)),
        };
        let points: Vec<detect::Point> = self
            .windows
            .iter()
            .map(|w| detect::Point {
                t_s: w.t_s,
                p99_ns: w.p99_ns,
            })
            .collect();
        let interval_s = c.interval.as_secs_f64();
        let (detector, periods) = detect::periods(&points, interval_s, watched_s);
        let degraded_s = periods.iter().fold(0.0, |s, p| s + (p.end_s - p.start_s));
        WatchResult {
            interval_s,
            duration_s: c.duration.as_secs_f64(),
            watched_s,
            burst,
            duty_cycle: if watched_s > 0.0 {
                self.busy_ns as f64 / 1e9 / watched_s
            } else {
                0.0
            },
            windows_missed: self.missed,
            flush_ns: self.all.summary(&FIO_DEFAULT_PERCENTILES),
            stalls,
            worst_hour_p99_ns: hours.iter().map(|h| h.p99_ns).max().unwrap_or(0),
            hours,
            degraded_pct: if watched_s > 0.0 {
                (degraded_s / watched_s * 100.0).min(100.0)
            } else {
                0.0
            },
            periods,
            detector: detector.unwrap_or_default(),
            predictions: predict::predict(
                self.all.count(),
                |t| self.all.count_above(t),
                c.etcd_syncs_per_s,
                c.election_timeout_ms,
            ),
            windows: self.windows.clone(),
        }
    }
}

fn hour_summary(hour: u64, r: &Recorder) -> HourSummary {
    HourSummary {
        hour,
        count: r.count(),
        p99_ns: r.percentile(99.0),
        max_ns: r.max(),
        over_100ms: r.count_above(predict::APPLY_TOO_LONG_NS),
        over_1s: r.count_above(predict::SLOW_FDATASYNC_NS),
    }
}
