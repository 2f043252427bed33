//! `nodefit watch`: hours to days on a candidate node. Every interval a short burst shaped like
//! etcd's WAL (sequential 2300 B writes, fdatasync after each) runs through the disk engine
//! ([`crate::disk::run_workloads`], scratch files made and removed by it), and CPU steal and the run
//! queue are read from /proc. The books ([`tally::Tally`]) keep each window compactly; at the end
//! (or on SIGINT/SIGTERM, with what was watched) they make the `watch` section: stalls, degraded
//! periods ([`detect`]), predicted etcd symptoms ([`predict`]); [`checks`] judges it.
//!
//! Burst length: at most [`MAX_BURST_OPS`] writes or a time bound, whichever comes first. The time
//! bound starts at `0.8 × duty budget × interval` (never over 1 s) and then adapts: each burst's
//! overhead (laying out, opening and removing its file, which count as busy time too) is measured
//! and the next burst gets what is left of the budget, never under [`MIN_BURST`]. The duty cycle
//! reported is measured, not planned; a disk whose overhead alone exceeds the budget shows it.

pub mod checks;
pub mod detect;
pub mod predict;
pub mod tally;

use crate::options::disk::DiskOptions;
use crate::results::spec::JobSpec;
use crate::results::watch::{BurstInfo, WatchResult, Window};
use crate::util::stats::Recorder;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes per burst at most.
pub const MAX_BURST_OPS: u64 = 1000;
/// Bytes per write: etcd's WAL entries for Kubernetes objects average about 2300 B (the figure
/// behind the etcd/OpenShift fio guidance).
pub const BURST_BS: u64 = 2300;
/// Share of the budget the first burst's own I/O may use (the rest is layout and removal).
const RUNTIME_SHARE: f64 = 0.8;
/// The shortest time bound a burst is given, however large the overhead.
pub const MIN_BURST: Duration = Duration::from_millis(10);

/// A watch, resolved.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Directory on the disk watched (etcd's data directory's disk).
    pub directory: PathBuf,
    /// How long to watch.
    pub duration: Duration,
    /// Time between the starts of two bursts.
    pub interval: Duration,
    /// Busy ÷ wall the bursts are sized for, 0–1.
    pub duty_budget: f64,
    /// Assumed etcd WAL fdatasyncs a second, for the predictions.
    pub etcd_syncs_per_s: f64,
    /// Election timeout for the leader-loss prediction, ms.
    pub election_timeout_ms: u64,
    /// Free space every burst's file must leave on the disk.
    pub min_free: crate::disk::headroom::MinFree,
}

/// Errors before or during a watch that leave no result.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Disk(#[from] crate::error::Error),
}

/// How a watch ended.
pub struct WatchRun {
    /// The section, over the time watched.
    pub section: WatchResult,
    /// Stopped by SIGINT/SIGTERM.
    pub interrupted: bool,
    /// Why it stopped before its duration, other than a signal.
    pub error: Option<String>,
}

/// What the caller sees after each window (live lines, jsonl, the textfile).
pub struct Live<'a> {
    pub window: &'a Window,
    /// Seconds watched so far.
    pub elapsed_s: f64,
    /// Seconds left.
    pub eta_s: f64,
    pub tally: &'a tally::Tally,
    pub config: &'a WatchConfig,
    pub burst: &'a BurstInfo,
}

impl WatchConfig {
    /// The burst's length bound.
    pub fn burst_runtime(&self) -> Duration {
        self.interval
            .mul_f64(self.duty_budget * RUNTIME_SHARE)
            .min(Duration::from_secs(1))
    }

    /// The burst as a disk workload.
    pub fn burst_spec(&self) -> Result<JobSpec, WatchError> {
        if !(self.duty_budget > 0.0 && self.duty_budget <= 1.0) {
            return Err(WatchError::Invalid(format!(
                "--duty-cycle {}: must be above 0 and at most 1",
                self.duty_budget
            )));
        }
        if self.interval < Duration::from_millis(100) || self.duration < self.interval {
            return Err(WatchError::Invalid(format!(
                "--interval must be at least 100ms and no longer than --duration (got {:?} and {:?})",
                self.interval, self.duration
            )));
        }
        let runtime = self.burst_runtime();
        if runtime < Duration::from_millis(1) {
            return Err(WatchError::Invalid(
                "the burst would be under 1 ms: lengthen --interval or raise --duty-cycle".into(),
            ));
        }
        Ok(JobSpec::resolve(&DiskOptions {
            name: Some("nodefit-watch".into()),
            directory: Some(self.directory.clone()),
            rw: Some("write".into()),
            bs: Some(BURST_BS.to_string()),
            size: Some((BURST_BS * MAX_BURST_OPS).to_string()),
            ioengine: Some("sync".into()),
            fdatasync: Some(1),
            runtime: Some(format!("{}us", runtime.as_micros())),
            ..DiskOptions::default()
        })?)
    }

    pub fn burst_info(&self, spec: &JobSpec) -> BurstInfo {
        BurstInfo {
            bs: BURST_BS,
            max_ops: MAX_BURST_OPS,
            max_runtime_ns: self.burst_runtime().as_nanos() as u64,
            duty_budget: self.duty_budget,
            fio_command: spec.fio_command(),
        }
    }
}

/// Watch for `c.duration`, calling `on_window` after every window.
pub fn run(c: &WatchConfig, on_window: &mut dyn FnMut(&Live)) -> Result<WatchRun, WatchError> {
    let spec = c.burst_spec()?;
    crate::disk::layout::preflight(std::slice::from_ref(&spec), c.min_free)?;
    let burst = c.burst_info(&spec);
    let opts = crate::disk::RunOptions {
        progress: crate::util::progress::silent(),
        label: None,
        min_free: c.min_free,
        early_stop: None,
    };
    let start = Instant::now();
    let end = start + c.duration;
    let mut tally = tally::Tally::new();
    let mut cpu = crate::fingerprint::cpu_sample(Path::new("/"));
    let (mut interrupted, mut error) = (false, None);
    let mut slot = 0u64;
    let budget = c.interval.mul_f64(c.duty_budget);
    let mut overhead: Option<Duration> = None;
    let mut spec = spec;
    let mut empty_in_a_row = 0;
    loop {
        let at = start + c.interval * slot as u32;
        if at >= end {
            interrupted = !sleep_until(end);
            break;
        }
        if !sleep_until(at) {
            interrupted = true;
            break;
        }
        let b0 = Instant::now();
        let result = crate::disk::run_workloads(std::slice::from_ref(&spec), &opts);
        let busy = b0.elapsed();
        if let Ok([w]) = result.as_deref() {
            // Smoothed, so one slow removal does not starve the next burst.
            let this = busy.saturating_sub(Duration::from_nanos(w.runtime_ns));
            let o = overhead.map_or(this, |o| o.mul_f64(0.7) + this.mul_f64(0.3));
            overhead = Some(o);
            let next = budget
                .saturating_sub(o)
                .clamp(MIN_BURST, c.burst_runtime().max(MIN_BURST));
            spec.runtime_ns = Some(next.as_nanos() as u64);
        }
        let w = match result.map(|mut v| v.pop()) {
            Ok(Some(w)) => w,
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        let cpu_now = crate::fingerprint::cpu_sample(Path::new("/"));
        let steal = crate::fingerprint::cpu_time_between(cpu, cpu_now).steal_pct;
        cpu = cpu_now;
        let flushes = w
            .latency_ns
            .sync
            .as_ref()
            .and_then(|s| Recorder::from_summary(s).ok())
            .unwrap_or_default();
        let stopped = crate::util::signals::stop_requested();
        // A burst that failed for another reason (disk full, I/O error, directory gone) ends the
        // watch: what it measured is kept, and the watch says why it stopped.
        // A burst that measured nothing (its short time bound spent before its first write on a
        // loaded machine) is a window without flushes; three in a row end the watch.
        empty_in_a_row = if w.sync_ops == 0 {
            empty_in_a_row + 1
        } else {
            0
        };
        if !stopped && !w.complete && (w.sync_ops > 0 || empty_in_a_row >= 3) {
            error = w.error.clone();
        }
        let window = window_of(at.duration_since(start), busy, &flushes, steal, w.error);
        tally.add(window.clone(), &flushes);
        let elapsed_s = start.elapsed().as_secs_f64();
        on_window(&Live {
            window: &window,
            elapsed_s,
            eta_s: (c.duration.as_secs_f64() - elapsed_s).max(0.0),
            tally: &tally,
            config: c,
            burst: &burst,
        });
        if stopped || error.is_some() {
            interrupted = stopped;
            break;
        }
        // The next slot that has not begun: a burst that overran its slot skips the ones it ate.
        let next = (start.elapsed().as_nanos() / c.interval.as_nanos().max(1)) as u64 + 1;
        tally.missed += next.saturating_sub(slot + 1);
        slot = next;
    }
    let watched_s = start.elapsed().as_secs_f64().min(c.duration.as_secs_f64());
    Ok(WatchRun {
        section: tally.section(c, burst, watched_s),
        interrupted,
        error,
    })
}

/// Sleep until `t` in short steps; false when a stop was requested first.
fn sleep_until(t: Instant) -> bool {
    loop {
        if crate::util::signals::stop_requested() {
            return false;
        }
        let now = Instant::now();
        if now >= t {
            return true;
        }
        std::thread::sleep((t - now).min(Duration::from_millis(100)));
    }
}

fn window_of(
    t: Duration,
    busy: Duration,
    flushes: &Recorder,
    steal_pct: Option<f64>,
    error: Option<String>,
) -> Window {
    let n = flushes.count();
    Window {
        t_s: t.as_secs_f64(),
        count: n,
        p50_ns: if n > 0 {
            flushes.percentile(50.0).min(flushes.max())
        } else {
            0
        },
        p99_ns: if n > 0 {
            flushes.percentile(99.0).min(flushes.max())
        } else {
            0
        },
        max_ns: flushes.max(),
        over_100ms: flushes.count_above(predict::APPLY_TOO_LONG_NS),
        over_1s: flushes.count_above(predict::SLOW_FDATASYNC_NS),
        steal_pct,
        run_queue: procs_running(Path::new("/")),
        busy_ns: busy.as_nanos() as u64,
        error,
    }
}

/// Runnable tasks now: `procs_running` of ROOT/proc/stat.
pub fn procs_running(root: &Path) -> Option<u64> {
    let s = std::fs::read_to_string(root.join("proc/stat")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("procs_running"))
        .and_then(|v| v.trim().parse().ok())
}
