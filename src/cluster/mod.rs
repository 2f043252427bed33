//! Cluster qualification: the same command on every candidate node forms a throwaway etcd across
//! them (one member per node, data on the disk under test), all nodes probe write consensus at the
//! same time through their own member, each measures the network to every peer (TCP handshake RTT)
//! and reads etcd's own per-peer round-trip histogram, and the result advises etcd's heartbeat
//! interval and election timeout.
//!
//! Coordination goes through the throwaway cluster itself (keys under `/nodefit-cluster/`): a
//! ready key per node (the start barrier), a done key per node (teardown in step, and each member's
//! figures for everyone's result). Promises: nothing listens and no data dir is left after the
//! run, on success, error, Ctrl-C or a peer's death.

pub mod cli;
pub mod member;
pub mod report;
pub mod rtt;
mod run;
pub mod score;
pub mod spec;

use crate::etcd::{EtcdError, MetricEstimate};
use crate::stats::LatencySummary;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

pub use run::probe_blocking;

/// Default peer port: not etcd's 2380, so a real etcd on the node never collides.
pub const DEFAULT_PEER_PORT: u16 = 12380;
/// Default client port (on 127.0.0.1 only).
pub const DEFAULT_CLIENT_PORT: u16 = 12379;
/// etcd's default heartbeat interval, ms.
pub const ETCD_DEFAULT_HEARTBEAT_MS: u64 = 100;
/// etcd's default election timeout, ms.
pub const ETCD_DEFAULT_ELECTION_MS: u64 = 1000;
/// Percentiles reported for peer RTT.
pub const RTT_PERCENTILES: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::units::parse_duration(s).map_err(|e| e.to_string())
}

/// Options for a cluster run (flattened into `nodefit etcd`'s options).
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct ClusterArgs {
    /// Qualify these nodes as one etcd cluster: name=address,… (the same list on every node; each runs this command at roughly the same time)
    #[arg(long, help_heading = "Cluster")]
    pub cluster: Option<String>,
    /// This node's name in --cluster (default: the host name)
    #[arg(long, help_heading = "Cluster")]
    pub node_name: Option<String>,
    /// Port of the throwaway member's peer URL on this node's address
    #[arg(long, default_value_t = DEFAULT_PEER_PORT, help_heading = "Cluster")]
    pub peer_port: u16,
    /// Port of the throwaway member's client URL (127.0.0.1 only)
    #[arg(long, default_value_t = DEFAULT_CLIENT_PORT, help_heading = "Cluster")]
    pub client_port: u16,
    /// How long to wait for every member to come
    #[arg(long, default_value = "5m", value_parser = parse_dur, help_heading = "Cluster")]
    pub join_timeout: Duration,
    /// Cluster token (default: derived from --cluster and --peer-port, so every node agrees)
    #[arg(long, help_heading = "Cluster")]
    pub cluster_token: Option<String>,
    /// Peer TLS certificate (your own CA instead of --peer-auto-tls; with --peer-key-file and --peer-trusted-ca-file)
    #[arg(long, help_heading = "Cluster")]
    pub peer_cert_file: Option<PathBuf>,
    /// Peer TLS key
    #[arg(long, help_heading = "Cluster")]
    pub peer_key_file: Option<PathBuf>,
    /// CA that signed every peer's certificate
    #[arg(long, help_heading = "Cluster")]
    pub peer_trusted_ca_file: Option<PathBuf>,
    /// Peer traffic in plain http (default: encrypted with etcd's --peer-auto-tls)
    #[arg(long, help_heading = "Cluster")]
    pub no_peer_tls: bool,
}

impl Default for ClusterArgs {
    fn default() -> Self {
        ClusterArgs {
            cluster: None,
            node_name: None,
            peer_port: DEFAULT_PEER_PORT,
            client_port: DEFAULT_CLIENT_PORT,
            join_timeout: Duration::from_secs(300),
            cluster_token: None,
            peer_cert_file: None,
            peer_key_file: None,
            peer_trusted_ca_file: None,
            no_peer_tls: false,
        }
    }
}

impl ClusterArgs {
    /// True when `--cluster` was given.
    pub fn is_set(&self) -> bool {
        self.cluster.is_some()
    }

    /// The peer TLS mode the options ask for.
    pub fn peer_tls(&self) -> Result<member::PeerTls, ClusterError> {
        match (
            &self.peer_cert_file,
            &self.peer_key_file,
            &self.peer_trusted_ca_file,
        ) {
            (None, None, None) if self.no_peer_tls => Ok(member::PeerTls::Off),
            (None, None, None) => Ok(member::PeerTls::Auto),
            (Some(c), Some(k), Some(ca)) if !self.no_peer_tls => Ok(member::PeerTls::Files {
                cert: c.clone(),
                key: k.clone(),
                ca: ca.clone(),
            }),
            _ if self.no_peer_tls => Err(ClusterError::Invalid(
                "--no-peer-tls and --peer-*-file exclude each other".into(),
            )),
            _ => Err(ClusterError::Invalid(
                "--peer-cert-file, --peer-key-file and --peer-trusted-ca-file go together".into(),
            )),
        }
    }
}

/// Errors that keep a cluster run from running or finishing. One line each, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid option: {0}")]
    Invalid(String),
    #[error("{0}")]
    Etcd(#[from] EtcdError),
    #[error("cluster member: {0}")]
    Member(String),
    #[error("{missing} did not join within {timeout_s}s (is nodefit running there with the same --cluster, and is port {peer_port} reachable?)")]
    JoinTimeout {
        missing: String,
        timeout_s: f64,
        peer_port: u16,
    },
    #[error("interrupted")]
    Interrupted,
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

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

/// etcd's tuning guide: heartbeat ≈ 0.5–1.5 × RTT (we take 1 × the worst p99), election timeout
/// ≥ 10 × RTT; etcd itself requires election ≥ 5 × heartbeat; never below etcd's defaults.
pub fn recommend(worst: Option<(&str, u64)>) -> Recommended {
    let rule = "heartbeat = max(100 ms, 1 × worst peer RTT p99); election = max(1000 ms, 10 × worst peer RTT p99, 5 × heartbeat) (etcd tuning guide; etcd requires election >= 5 × heartbeat)".to_string();
    let Some((link, rtt)) = worst else {
        return Recommended {
            heartbeat_interval_ms: ETCD_DEFAULT_HEARTBEAT_MS,
            election_timeout_ms: ETCD_DEFAULT_ELECTION_MS,
            basis: Basis {
                rule,
                rtt_p99_ns: None,
                link: None,
            },
        };
    };
    let ms_up = |ns: u64| ns.div_ceil(1_000_000);
    let hb = ETCD_DEFAULT_HEARTBEAT_MS.max(ms_up(rtt));
    let el = ETCD_DEFAULT_ELECTION_MS
        .max(ms_up(rtt.saturating_mul(10)))
        .max(hb * 5);
    Recommended {
        heartbeat_interval_ms: hb,
        election_timeout_ms: el,
        basis: Basis {
            rule,
            rtt_p99_ns: Some(rtt),
            link: Some(link.to_string()),
        },
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
    /// Peer transport: "auto" (etcd's --peer-auto-tls), "files" (your CA) or "off".
    pub peer_tls: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendation_rules() {
        let d = recommend(None);
        assert_eq!(
            (d.heartbeat_interval_ms, d.election_timeout_ms),
            (100, 1000)
        );
        // Small RTT: etcd's defaults.
        let r = recommend(Some(("a → b", 400_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (100, 1000)
        );
        // 61.2 ms: heartbeat 62 ms is below the default, election 612 ms too.
        let r = recommend(Some(("a → b", 61_200_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (100, 1000)
        );
        // 150 ms: heartbeat 150, election max(1500, 750) = 1500.
        let r = recommend(Some(("a → b", 150_000_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (150, 1500)
        );
        assert_eq!(
            r.flags(),
            "--heartbeat-interval=150 --election-timeout=1500"
        );
        for rtt in [1, 99_000_001, 250_000_000, 1_000_000_000] {
            let r = recommend(Some(("x", rtt)));
            assert!(r.election_timeout_ms >= 5 * r.heartbeat_interval_ms);
            assert!(r.election_timeout_ms * 1_000_000 >= 10 * rtt);
            assert!(r.heartbeat_interval_ms >= 100 && r.election_timeout_ms >= 1000);
        }
    }
}
