//! The `watch` section of a results document: a long watch of one node's disk and CPU, window by
//! window (compact summaries, not histograms), its stalls, degraded periods and the etcd symptoms
//! they predict. Written by `nodefit watch`; scoring reads it through metric paths (`watch.…`).

use crate::util::stats::LatencySummary;
use serde::{Deserialize, Serialize};

/// A watch of one node.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WatchResult {
    /// Seconds between the starts of two bursts, as asked.
    pub interval_s: f64,
    /// Length of the watch asked for, seconds.
    pub duration_s: f64,
    /// Seconds actually watched (first burst's start to the last window's end).
    pub watched_s: f64,
    /// What each burst runs: the WAL-shaped workload and its bounds.
    pub burst: BurstInfo,
    /// Busy time (bursts, from first layout to last removal) ÷ wall time watched, 0–1.
    pub duty_cycle: f64,
    /// Windows whose burst could not start on time because the previous one overran its slot.
    pub windows_missed: u64,
    /// Every flush of every burst together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_ns: Option<LatencySummary>,
    /// Flushes over 100 ms and over 1 s, in all and per hour.
    pub stalls: Stalls,
    /// Per clock hour of the watch (from its start): the flush tail and stalls.
    pub hours: Vec<HourSummary>,
    /// The worst hour's flush p99, ns (0 when no flush was measured).
    pub worst_hour_p99_ns: u64,
    /// Time inside degraded periods ÷ time watched, in percent (0–100).
    pub degraded_pct: f64,
    /// Degraded periods found by the change-point detector.
    pub periods: Vec<Period>,
    /// The detector's baseline and parameters, so a period can be checked by hand.
    pub detector: DetectorInfo,
    /// Predicted etcd symptoms per day, from the measured flush tails.
    pub predictions: Predictions,
    /// One entry per window, in order.
    pub windows: Vec<Window>,
}

/// The burst run in every window.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BurstInfo {
    /// Bytes per write (etcd's WAL writes average about 2300 B).
    pub bs: u64,
    /// The burst ends after this many writes (each followed by fdatasync) …
    pub max_ops: u64,
    /// … or after this long, ns, whichever comes first.
    pub max_runtime_ns: u64,
    /// The duty-cycle budget the burst length was chosen for, 0–1.
    pub duty_budget: f64,
    /// The equivalent fio command of one burst.
    pub fio_command: String,
}

/// One window: a burst and the CPU figures since the previous window.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Window {
    /// Seconds from the watch's start to the burst's start.
    pub t_s: f64,
    /// Flushes (fdatasync) measured in the burst.
    pub count: u64,
    /// Median flush latency, ns (0 when none).
    pub p50_ns: u64,
    /// 99th percentile flush latency, ns (0 when none; with fewer than 100 flushes it is the
    /// slowest but one or the slowest).
    pub p99_ns: u64,
    /// Slowest flush, ns.
    pub max_ns: u64,
    /// Flushes over 100 ms in the burst.
    pub over_100ms: u64,
    /// Flushes over 1 s in the burst.
    pub over_1s: u64,
    /// CPU steal since the previous window, % of all CPU time (null when /proc/stat is unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_pct: Option<f64>,
    /// Runnable tasks at the window's end (/proc/stat procs_running, nodefit's own thread included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_queue: Option<u64>,
    /// Wall time the burst took, ns (layout and removal included).
    pub busy_ns: u64,
    /// Why the burst measured nothing or stopped early, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Flush stalls.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Stalls {
    /// Flushes over 100 ms (the scale of etcd's "apply request took too long" warning).
    pub over_100ms: u64,
    /// Flushes over 1 s (etcd's WAL "slow fdatasync" warning).
    pub over_1s: u64,
    /// `over_1s` scaled to 24 h of watching (over_1s × 86400 ÷ watched_s).
    pub over_1s_per_day: f64,
    /// `over_100ms` scaled to 24 h of watching.
    pub over_100ms_per_day: f64,
}

/// One hour of the watch.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HourSummary {
    /// Hour index from the watch's start (0 = the first hour).
    pub hour: u64,
    /// Flushes measured in the hour.
    pub count: u64,
    /// Flush p99 over the hour's bursts together, ns.
    pub p99_ns: u64,
    /// Slowest flush of the hour, ns.
    pub max_ns: u64,
    /// Flushes over 100 ms in the hour.
    pub over_100ms: u64,
    /// Flushes over 1 s in the hour.
    pub over_1s: u64,
}

/// What a period is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// Flush p99 shifted up against the run's own baseline.
    Degraded,
}

/// A stretch of windows whose flush p99 sat above the baseline.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Period {
    /// "degraded".
    pub kind: PeriodKind,
    /// Seconds from the watch's start to the first window of the period.
    pub start_s: f64,
    /// Seconds from the watch's start to the end of the period's last window (or the watch's end).
    pub end_s: f64,
    /// Median of the period's window p99s, ns.
    pub p99_ns: u64,
    /// The baseline window p99 (median of the baseline windows), ns.
    pub baseline_p99_ns: u64,
}

/// The change-point detector's baseline and settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DetectorInfo {
    /// "cusum on ln(window p99), baseline median/MAD of the first windows".
    pub method: String,
    /// Windows the baseline was taken from.
    pub baseline_windows: u64,
    /// Baseline window p99, ns (exp of the median of ln p99).
    pub baseline_p99_ns: u64,
    /// Robust spread of ln p99 in the baseline (1.4826 × MAD).
    pub baseline_sigma: f64,
    /// Smallest shift the detector looks for, as a ratio of p99 to the baseline (≥ 2).
    pub min_ratio: f64,
}

/// Predicted etcd symptoms per day.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Predictions {
    /// Assumed etcd WAL fdatasyncs per second (`--etcd-syncs-per-s`).
    pub etcd_syncs_per_s: f64,
    /// Election timeout the leader-loss prediction uses, ms.
    pub election_timeout_ms: u64,
    /// Expected etcd "slow fdatasync" warnings a day.
    pub slow_fdatasync: Symptom,
    /// Expected etcd "apply request took too long" warnings a day.
    pub apply_took_too_long: Symptom,
    /// Expected leader losses a day: a flush stall longer than the election timeout.
    pub leader_election: Symptom,
}

/// One predicted symptom.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Symptom {
    /// The flush latency that triggers it, ns.
    pub threshold_ns: u64,
    /// Flushes measured over the threshold.
    pub observed: u64,
    /// Expected events a day: observed ÷ flushes measured × syncs/s × 86400.
    pub per_day: f64,
    /// 95 % upper bound a day when none was observed (rule of three: 3 ÷ flushes measured ×
    /// syncs/s × 86400); equal to `per_day` otherwise.
    pub per_day_upper_95: f64,
    /// The etcd source of the threshold.
    pub source: String,
}
