//! The results document: the single source of truth that `nodefit disk`, `nodefit etcd` and
//! `nodefit qualify` write and that scoring, reports and trends read. Every field is documented here;
//! `schema/results.schema.json` is the same contract in JSON Schema and a test keeps them in step.

pub mod check;
pub mod cluster;
pub mod etcd;
pub mod fingerprint;
pub mod installer_advice;
pub mod path;
pub mod spec;
pub mod watch;

use crate::util::stats::LatencySummary;
pub use check::{CheckResult, CheckVerdict, Comparison, Severity, Verdict};
use serde::{Deserialize, Serialize};
pub use spec::JobSpec;

/// Version of the results format. 1: disk workloads. 2: adds the `etcd` section and the
/// qualification fields (`node_name`, `profile`, `verdict`, `checks`, `fingerprint`). 3: adds the
/// `cluster` section (`--cluster`) and the etcd target kind "cluster".
pub const SCHEMA_VERSION: u32 = 3;

/// One results document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultsDocument {
    /// Format version (see [`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The program that wrote this.
    pub tool: ToolInfo,
    /// Host name of the machine measured.
    pub hostname: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// When the run finished, RFC 3339 UTC.
    pub finished_at: String,
    /// False when the run was cut short (Ctrl-C, disk full, I/O error); the figures cover what ran.
    pub complete: bool,
    /// Why the run is incomplete, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// Disk workloads, in the order they ran (qualify: every round of every workload).
    #[serde(default)]
    pub workloads: Vec<WorkloadResult>,
    /// The live etcd probe, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<etcd::EtcdResult>,
    /// Cluster qualification (`--cluster`): this node's view of the throwaway cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<cluster::ClusterResult>,
    /// Qualification: name of the node judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Qualification: profile used (name and file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<serde_json::Value>,
    /// Qualification: FIT, MARGINAL or UNFIT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Qualification: overall 0–100 score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Qualification: every check with observed value, limit, verdict and source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// Qualification: warnings that are not checks (e.g. fsync honesty heuristics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Qualification: what the node is (virtualisation, disk, file system, CPU steal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<fingerprint::FingerprintSection>,
    /// `nodefit watch`: the node watched over time (windows, stalls, degraded periods, predictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<watch::WatchResult>,
}

/// Program name and version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ToolInfo {
    /// "nodefit".
    pub name: String,
    /// Cargo package version.
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: "nodefit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl ResultsDocument {
    /// An empty document stamped with this host and the start time.
    pub fn new(started: std::time::SystemTime) -> Self {
        let ts = crate::util::units::rfc3339(started);
        ResultsDocument {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo::current(),
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            started_at: ts.clone(),
            finished_at: ts,
            complete: true,
            incomplete_reason: None,
            workloads: Vec::new(),
            etcd: None,
            cluster: None,
            node_name: None,
            profile: None,
            verdict: None,
            score: None,
            checks: Vec::new(),
            warnings: Vec::new(),
            fingerprint: None,
            watch: None,
        }
    }

    pub fn finish(&mut self) {
        self.finished_at = crate::util::units::rfc3339(std::time::SystemTime::now());
    }
}

/// Latency histograms of one workload, by kind of operation. A kind is absent when no such
/// operations ran.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LatencyByKind {
    /// Data writes, submission to completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<LatencySummary>,
    /// Data reads, submission to completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<LatencySummary>,
    /// fsync/fdatasync ops, each timed on its own (fio's "sync" histogram, the one etcd's guidance
    /// reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<LatencySummary>,
}

/// CPU used by nodefit during a workload, as a percentage of one CPU over the wall-clock runtime.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct CpuUsage {
    /// User time / runtime × 100.
    pub usr_pct: f64,
    /// System time / runtime × 100.
    pub sys_pct: f64,
}

/// One second of a workload, for charts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecondSample {
    /// Seconds since the measured phase began (end of the interval).
    pub t_s: f64,
    /// Data ops completed in the interval.
    pub ops: u64,
    /// Sync ops completed in the interval.
    pub sync_ops: u64,
    /// Median latency in the interval, ns (0 when none): of the flushes when the workload flushes
    /// every N writes (`fsync`/`fdatasync` > 0), else of the data ops.
    pub p50_ns: u64,
    /// 99th percentile latency in the interval, ns (0 when none), of the same ops as `p50_ns`.
    pub p99_ns: u64,
}

/// The measured outcome of one disk workload (all its jobs together, as fio's group_reporting).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkloadResult {
    /// The workload as run, every option resolved.
    pub spec: JobSpec,
    /// Round number when a workload was repeated (qualify), from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// Label of a set of workloads that ran at the same time (qualify's contention run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_group: Option<String>,
    /// False when the workload stopped early (Ctrl-C, disk full, I/O error).
    pub complete: bool,
    /// What stopped it early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Latency per kind of operation, nanoseconds.
    pub latency_ns: LatencyByKind,
    /// Data operations (reads + writes) measured.
    pub ops: u64,
    /// Sync operations (fsync/fdatasync) measured.
    pub sync_ops: u64,
    /// Data operations per second over the measured runtime.
    pub iops: f64,
    /// Bytes read and written per second over the measured runtime.
    pub bw_bytes: f64,
    /// Bytes written during the measured phase.
    pub bytes_written: u64,
    /// Bytes read during the measured phase.
    pub bytes_read: u64,
    /// Length of the measured phase (after ramp), nanoseconds.
    pub runtime_ns: u64,
    /// CPU used by the whole nodefit process during the measured phase; workloads that ran at the
    /// same time (one `concurrent_group`) each carry that same process-wide figure.
    pub cpu: CpuUsage,
    /// Per-second series of the measured phase.
    #[serde(default)]
    pub timeseries: Vec<SecondSample>,
    /// Why and when the measured phase ended (absent in documents from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<WorkloadStop>,
    /// The equivalent fio command line.
    pub fio_command: String,
}

/// Why a workload's measured phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopReason {
    /// Adaptive stopping: every check the workload feeds was decided at a planned look.
    Decided,
    /// Its runtime ran out.
    Budget,
    /// Its size was written (or read) before the runtime ran out.
    Size,
    /// Interrupted or failed (see `error`).
    Error,
}

/// Why and when a workload stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStop {
    /// "decided", "budget", "size" or "error".
    pub reason: StopReason,
    /// Seconds of measured phase when it stopped.
    pub after_s: f64,
    /// For "decided": what was decided, check by check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
