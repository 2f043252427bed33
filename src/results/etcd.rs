//! The `etcd` section of a results document: what the probe asked for and what etcd did with it.
//! Measured by [`crate::etcd`]; here only the shape, so the document stays a leaf.

use crate::util::stats::LatencySummary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Error kinds counted during a run, in the order they are reported.
pub const ERROR_KINDS: [&str; 5] = ["deadline", "unavailable", "no_leader", "auth", "other"];

/// The `etcd` section of a results document.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EtcdResult {
    /// What was probed: an embedded local etcd or a user's endpoints.
    pub target: TargetInfo,
    /// The workload as run, every option resolved.
    pub load: LoadInfo,
    /// Requests per second the schedule asked for.
    pub target_rate: f64,
    /// Successful requests per second over `runtime_ns` (writes/s for put and txn-put, reads/s for
    /// range).
    pub achieved_rate: f64,
    /// Requests that completed, successfully or not (= `ops` + `errors_total`); requests cut off
    /// by Ctrl-C are not counted.
    pub requests: u64,
    /// Requests that succeeded.
    pub ops: u64,
    /// Requests that failed, all kinds together (the sum of `errors`).
    pub errors_total: u64,
    /// Failed requests by kind: deadline, unavailable, no_leader, auth, other.
    pub errors: BTreeMap<String, u64>,
    /// The first few distinct error messages seen, for diagnosis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<String>,
    /// Leader changes observed while the load ran (status polled on every member).
    pub leader_changes: u64,
    /// Each observed leader change, time-stamped.
    #[serde(default)]
    pub leader_change_events: Vec<LeaderChange>,
    /// Latency of successful requests measured from when each request was *due* on the open-loop
    /// schedule to its reply: includes time spent waiting for a free client (corrects coordinated
    /// omission). Nanoseconds. Absent when no request succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ns: Option<LatencySummary>,
    /// Service time of successful requests: send to reply, nanoseconds (what etcdctl check perf and
    /// etcd's benchmark report as latency). Absent when no request succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time_ns: Option<LatencySummary>,
    /// How far behind its schedule the client fell.
    pub behind_schedule: BehindSchedule,
    /// Per-second series (by reply time) for charts.
    #[serde(default)]
    pub timeseries: Vec<EtcdSecond>,
    /// Members before and after the load, with etcd's own histogram estimates.
    #[serde(default)]
    pub members: Vec<MemberResult>,
    /// From the first scheduled request to the last reply, nanoseconds.
    pub runtime_ns: u64,
    /// CPU time used by the nodefit process during the load phase, seconds (user + system).
    pub client_cpu_s: f64,
    /// Whether the keys under the prefix were deleted afterwards.
    pub cleaned_up: bool,
    /// False when the run stopped early (Ctrl-C or a failure mid-run); the figures cover what ran.
    pub complete: bool,
    /// Why the run is incomplete, or what went wrong around it (e.g. cleanup failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the probe ran against.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TargetInfo {
    /// "embedded" (a throwaway local etcd started by nodefit) or "endpoints" (a user's cluster).
    pub kind: String,
    /// Number of members (embedded: as started; endpoints: from the member list).
    pub member_count: u32,
    /// Client URLs used.
    pub endpoints: Vec<String>,
    /// Embedded only: the directory holding the data dirs (the disk under test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Embedded only: the etcd binary and its version line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_bin: Option<String>,
}

/// The resolved workload.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadInfo {
    /// "put", "txn-put" or "range".
    pub op: String,
    /// Preset the numbers came from ("s", "m", "l", "xl"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Scheduled requests per second.
    pub rate: f64,
    /// Concurrent client tasks (at most this many requests in flight).
    pub clients: u32,
    /// gRPC connections the clients share.
    pub conns: u32,
    /// Scheduled length of the run, seconds (absent when only `total` bounds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Number of requests to send (absent when only `duration_s` bounds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Key length in bytes, prefix included.
    pub key_size: u32,
    /// Value length in bytes.
    pub val_size: u32,
    /// Number of distinct keys.
    pub key_space: u64,
    /// Keys in order (0, 1, 2, …) rather than random.
    pub sequential_keys: bool,
    /// Every key starts with this prefix; it is deleted at the end.
    pub prefix: String,
    /// Per-request timeout, seconds.
    pub command_timeout_s: f64,
}

/// A leader change seen while polling member status.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LeaderChange {
    /// Seconds since the load started.
    pub t_s: f64,
    /// Wall-clock time, RFC 3339 UTC.
    pub at: String,
    /// Previous leader's member id (hex), if one was known.
    #[serde(default)]
    pub from: Option<String>,
    /// New leader's member id (hex); absent when members reported no leader.
    #[serde(default)]
    pub to: Option<String>,
    /// Raft term after the change.
    pub raft_term: u64,
}

/// How far the client fell behind its schedule. A request is late when it was sent more than
/// `late_threshold_ns` after it was due (tokio's timers tick in milliseconds).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct BehindSchedule {
    /// Largest send − due over all requests, nanoseconds.
    pub max_lag_ns: u64,
    /// send − due of the last request sent, nanoseconds.
    pub final_lag_ns: u64,
    /// Share of requests sent late, 0–1.
    pub late_share: f64,
    /// Lateness threshold, nanoseconds.
    pub late_threshold_ns: u64,
    /// Requests the schedule called for but never sent (run stopped or clients never caught up
    /// before the end of the duration).
    pub unsent: u64,
}

/// One second of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EtcdSecond {
    /// Seconds since the load started (end of the interval).
    pub t_s: f64,
    /// Successful requests whose reply arrived in the interval.
    pub ops: u64,
    /// Failed requests that ended in the interval.
    pub errors: u64,
    /// Median latency (from due time) of the interval's successful requests, ns (0 when none).
    pub p50_ns: u64,
    /// 99th percentile latency (from due time) of the interval's successful requests, ns (0 when
    /// none).
    pub p99_ns: u64,
}

/// One member's status at one moment (Status API).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MemberStatus {
    /// etcd server version.
    pub version: String,
    /// Whether this member was the leader.
    pub is_leader: bool,
    /// Raft term.
    pub raft_term: u64,
    /// Raft index.
    pub raft_index: u64,
    /// Backend database size, bytes.
    pub db_size_bytes: i64,
}

/// One member, with its status before and after the load and etcd's histogram estimates.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MemberResult {
    /// Member name.
    pub name: String,
    /// Member id, hex as etcdctl prints it.
    pub id: String,
    /// Client URL used to reach it.
    pub endpoint: String,
    /// etcd version (latest status seen).
    #[serde(default)]
    pub version: Option<String>,
    /// Leader at the latest status seen.
    #[serde(default)]
    pub is_leader: Option<bool>,
    /// Raft term at the latest status seen.
    #[serde(default)]
    pub raft_term: Option<u64>,
    /// Raft index at the latest status seen.
    #[serde(default)]
    pub raft_index: Option<u64>,
    /// DB size at the latest status seen, bytes.
    #[serde(default)]
    pub db_size_bytes: Option<i64>,
    /// Status before the load (absent when the member did not answer).
    #[serde(default)]
    pub before: Option<MemberStatus>,
    /// Status after the load (absent when the member did not answer).
    #[serde(default)]
    pub after: Option<MemberStatus>,
    /// `etcd_disk_wal_fsync_duration_seconds` over the probe.
    #[serde(default)]
    pub wal_fsync: Option<MetricEstimate>,
    /// `etcd_disk_backend_commit_duration_seconds` over the probe.
    #[serde(default)]
    pub backend_commit: Option<MetricEstimate>,
    /// `etcd_network_peer_round_trip_time_seconds` (all peers together); only with > 1 member.
    #[serde(default)]
    pub peer_rtt: Option<MetricEstimate>,
    /// Why metrics are missing, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_error: Option<String>,
}

/// Percentiles estimated from a Prometheus histogram's bucket counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricEstimate {
    /// Observations in the window.
    pub count: u64,
    /// Median, ns, by linear interpolation within the bucket (null without observations).
    pub p50_ns: Option<u64>,
    /// 99th percentile, ns, by linear interpolation within the bucket (null without observations).
    pub p99_ns: Option<u64>,
    /// "probe" (after − before the load) or "since_start" (cumulative since the member started,
    /// used when the probe window saw no observation, e.g. peer RTT is probed every few seconds).
    pub window: String,
    /// Always "prometheus buckets (estimate)": bucket bounds limit the precision.
    pub source: String,
}

/// What every [`MetricEstimate`] says it comes from (the schema's constant).
pub const ESTIMATE_SOURCE: &str = "prometheus buckets (estimate)";

impl MetricEstimate {
    /// An estimate with every field present, for templates.
    pub fn template() -> MetricEstimate {
        MetricEstimate {
            count: 0,
            p50_ns: Some(0),
            p99_ns: Some(0),
            window: "probe".into(),
            source: ESTIMATE_SOURCE.into(),
        }
    }
}

impl EtcdResult {
    /// An etcd section with every optional part present, to validate `etcd.` metric paths against.
    pub fn template() -> EtcdResult {
        let mut r = crate::util::stats::Recorder::new();
        r.record(1);
        let summary = r.summary(&crate::util::stats::FIO_DEFAULT_PERCENTILES);
        let member = MemberResult {
            raft_term: Some(0),
            raft_index: Some(0),
            db_size_bytes: Some(0),
            wal_fsync: Some(MetricEstimate::template()),
            backend_commit: Some(MetricEstimate::template()),
            peer_rtt: Some(MetricEstimate::template()),
            ..MemberResult::default()
        };
        EtcdResult {
            latency_ns: summary.clone(),
            service_time_ns: summary,
            members: vec![member],
            ..EtcdResult::default()
        }
    }
}
