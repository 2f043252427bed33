//! Progress records: what the disk runner, the etcd probe and qualify say while they run. The
//! measuring code hands records to a [`ProgressSink`]; the command layer chooses the sink (the
//! terminal renderer in `ui::progress`, or [`Silent`]), so no domain module draws anything.

use std::sync::Arc;

/// A live figure, redrawn in place.
#[derive(Clone, Debug, PartialEq)]
pub enum Tick {
    /// Disk workloads running (all jobs of one call together).
    Disk {
        /// Prefix naming what runs (qualify: round and step), may be empty.
        label: String,
        elapsed_s: f64,
        /// Seconds left, when they can be known.
        eta_s: Option<f64>,
        /// Data + sync ops completed per second over the last interval.
        ops_per_s: f64,
        /// p99 of the last completed second, ns (0 = none yet).
        p99_ns: u64,
    },
    /// The etcd probe's load running.
    Etcd {
        elapsed_s: f64,
        /// Planned length, when the run is time-bound.
        total_s: Option<f64>,
        /// Successful requests so far.
        ops: u64,
        /// Failed requests so far.
        errors: u64,
        /// p99 latency so far, ns.
        p99_ns: u64,
        /// How far the schedule is behind, ns.
        lag_ns: u64,
    },
}

/// Where progress records go.
pub trait ProgressSink: Send + Sync {
    /// A line of narrative (a plan, a round's summary).
    fn note(&self, line: &str);
    /// Whether live ticks are wanted at all (a terminal, not `--quiet`); when false the measuring
    /// code need not compute them.
    fn live(&self) -> bool;
    /// A live figure.
    fn tick(&self, tick: &Tick);
    /// The live figure is over: keep its last line (`keep`) or wipe it.
    fn end(&self, keep: bool);
}

/// A sink that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl ProgressSink for Silent {
    fn note(&self, _line: &str) {}
    fn live(&self) -> bool {
        false
    }
    fn tick(&self, _tick: &Tick) {}
    fn end(&self, _keep: bool) {}
}

/// A shared sink, as the measuring code holds it (threads and async tasks draw through it).
pub type Progress = Arc<dyn ProgressSink>;

/// The sink that shows nothing, shared.
pub fn silent() -> Progress {
    Arc::new(Silent)
}
