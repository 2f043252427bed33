//! The `cluster` section of a results document (`--cluster`): one node's view of a throwaway etcd
//! across the candidate nodes — its members, the network to every peer, and the advised etcd
//! timing flags. How a run fills it is in `src/cluster/`; docs/cluster.md tells the story.

use super::etcd::MetricEstimate;
use crate::util::stats::LatencySummary;
use serde::{Deserialize, Serialize};

/// Percentiles reported for peer RTT.
pub const RTT_PERCENTILES: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

/// A member of the throwaway cluster.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterMember {
    pub name: String,
    pub address: String,
    pub peer_url: String,
    /// Member id, hex as etcdctl prints it (absent when the member list could not be read).
    #[serde(default)]
    pub id: Option<String>,
    /// Whether its node published its figures at the end (false: it died or stopped early).
    #[serde(default)]
    pub reported: bool,
    /// Its `etcd_disk_wal_fsync_duration_seconds` over the probe, as its node scraped it.
    #[serde(default)]
    pub wal_fsync: Option<MetricEstimate>,
    /// Its `etcd_disk_backend_commit_duration_seconds` over the probe, as its node scraped it.
    #[serde(default)]
    pub backend_commit: Option<MetricEstimate>,
}

/// The network to one peer as this node measured it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PeerResult {
    pub name: String,
    pub address: String,
    /// TCP handshake round trips to the peer's peer port, ns (count = samples; min/max exact,
    /// percentiles 50/90/99/99.9 from the HDR histogram). Absent when no handshake succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ns: Option<RttSummary>,
    /// Handshakes that failed (refused, unreachable, no answer within 1 s).
    pub rtt_errors: u64,
    /// The last handshake failure, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_last_error: Option<String>,
    /// etcd's own `etcd_network_peer_round_trip_time_seconds` for this peer, from this node's
    /// member (bucket estimate; etcd samples it every few seconds).
    #[serde(default)]
    pub etcd_peer_rtt_ns: Option<MetricEstimate>,
}

/// A round-trip histogram summary with its sample count named as such.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RttSummary {
    #[serde(flatten)]
    pub summary: LatencySummary,
    /// Successful handshakes (= count).
    pub samples: u64,
}

/// The rule behind the recommended timeouts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Basis {
    /// The rule, in words.
    pub rule: String,
    /// The worst peer RTT p99 from this node, ns (absent without a measurement: etcd's defaults).
    #[serde(default)]
    pub rtt_p99_ns: Option<u64>,
    /// The link it was measured on, "cp1 → cp3".
    #[serde(default)]
    pub link: Option<String>,
}

/// Advised etcd timing flags.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Recommended {
    pub heartbeat_interval_ms: u64,
    pub election_timeout_ms: u64,
    pub basis: Basis,
}

impl Recommended {
    /// `--heartbeat-interval=… --election-timeout=…`, to paste into etcd's command line.
    pub fn flags(&self) -> String {
        format!(
            "--heartbeat-interval={} --election-timeout={}",
            self.heartbeat_interval_ms, self.election_timeout_ms
        )
    }
}

impl ClusterResult {
    /// Whether the run's peers were unauthenticated (the field, or a result older than it).
    pub fn peers_unauthenticated(&self) -> bool {
        self.insecure_peers || matches!(self.peer_tls.as_str(), "auto" | "off")
    }
}

/// The `cluster` section of a results document: one node's view of a cluster run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClusterResult {
    /// This node's name.
    #[serde(rename = "self")]
    pub self_name: String,
    /// Cluster token (the same on every node of one run).
    pub token: String,
    /// Random id agreed through the cluster (the same on every node of one run, new each run).
    pub run_id: String,
    /// Peer transport: "secret" (a per-run CA derived from --cluster-secret-file, client-cert auth),
    /// "files" (your CA, client-cert auth), "auto" (etcd's --peer-auto-tls: encrypted, not
    /// authenticated) or "off" (plain http); the last two only with --insecure-peers.
    pub peer_tls: String,
    /// True when the run had no peer authentication (`--insecure-peers`): anyone who reached a peer
    /// port could read the member list and send raft messages, so the figures may have been
    /// disturbed. (Results older than the field have `peer_tls` "auto" or "off" instead.)
    #[serde(default)]
    pub insecure_peers: bool,
    pub members: Vec<ClusterMember>,
    /// Leader when the probe ended, as this node's member saw it.
    #[serde(default)]
    pub leader: Option<String>,
    /// This node's member's role when the probe started: "leader" or "follower".
    #[serde(default)]
    pub role: Option<String>,
    /// Leader changes seen during the probe (this node's member).
    pub leader_changes: u64,
    /// Failed requests through this node's member.
    pub errors_total: u64,
    /// Put latency through this node's member, from when each put was due (corrected for
    /// coordinated omission), ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_latency_ns: Option<LatencySummary>,
    /// The network to every other member.
    pub peers: Vec<PeerResult>,
    /// The slowest link from this node (by RTT p99), "cp1 → cp3".
    #[serde(default)]
    pub worst_link: Option<String>,
    /// Its RTT p99, ns.
    #[serde(default)]
    pub worst_rtt_p99_ns: Option<u64>,
    pub recommended: Recommended,
    /// Members that did not report their figures at the end (died, or stopped early).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
}

impl ClusterResult {
    /// A cluster section with every optional part present, to validate `cluster.` metric paths
    /// against.
    pub fn template() -> ClusterResult {
        let mut r = crate::util::stats::Recorder::new();
        r.record(1);
        let summary = r.summary(&RTT_PERCENTILES);
        ClusterResult {
            put_latency_ns: summary.clone(),
            peers: vec![PeerResult {
                rtt_ns: summary.map(|summary| RttSummary {
                    samples: summary.count,
                    summary,
                }),
                etcd_peer_rtt_ns: Some(MetricEstimate::template()),
                ..Default::default()
            }],
            worst_rtt_p99_ns: Some(0),
            ..ClusterResult::default()
        }
    }
}
