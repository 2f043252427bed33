//! `nodefit etcd --cluster`: this node's view of the cluster as terminal text (after the etcd
//! summary of its own member).

use crate::results::cluster::ClusterResult;
use crate::results::etcd::MetricEstimate;
use crate::util::units::format_ns;
use std::fmt::Write;

/// Human summary of this node's view of the cluster.
pub fn text(c: &ClusterResult) -> String {
    let mut s = String::new();
    let names: Vec<String> = c
        .members
        .iter()
        .map(|m| format!("{}={}", m.name, m.address))
        .collect();
    let _ = writeln!(
        s,
        "cluster: {} as {} ({}), run {}, peer TLS {}",
        names.join(","),
        c.self_name,
        c.role.as_deref().unwrap_or("role unknown"),
        c.run_id,
        c.peer_tls
    );
    if c.peers_unauthenticated() {
        let _ = writeln!(
            s,
            "  WARNING    : peers not authenticated (--insecure-peers): anyone who reached the peer ports could read the member list and send raft messages during the run"
        );
    }
    let _ = writeln!(
        s,
        "  leader     : {} ({} change{} during the probe), errors {}",
        c.leader.as_deref().unwrap_or("none"),
        c.leader_changes,
        if c.leader_changes == 1 { "" } else { "s" },
        c.errors_total
    );
    if let Some(l) = &c.put_latency_ns {
        let p = |q: f64| {
            l.percentile(q)
                .map(|v| format_ns(v as f64))
                .unwrap_or("-".into())
        };
        let _ = writeln!(
            s,
            "  put via {:<3}: p50 {}  p99 {}  max {}",
            c.self_name,
            p(50.0),
            p(99.0),
            format_ns(l.max as f64)
        );
    }
    for p in &c.peers {
        let rtt = match &p.rtt_ns {
            Some(r) => {
                let q = |x: f64| {
                    r.summary
                        .percentile(x)
                        .map(|v| format_ns(v as f64))
                        .unwrap_or("-".into())
                };
                format!(
                    "rtt p50 {}  p99 {}  min {}  max {}  ({} samples, {} failed)",
                    q(50.0),
                    q(99.0),
                    format_ns(r.summary.min as f64),
                    format_ns(r.summary.max as f64),
                    r.samples,
                    p.rtt_errors
                )
            }
            None => format!(
                "no RTT sample ({} failed: {})",
                p.rtt_errors,
                p.rtt_last_error.as_deref().unwrap_or("-")
            ),
        };
        let etcd = p
            .etcd_peer_rtt_ns
            .as_ref()
            .and_then(|e| e.p99_ns)
            .map(|v| format!("; etcd's own p99 ≈ {}", format_ns(v as f64)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} → {} ({}): {rtt}{etcd}",
            c.self_name, p.name, p.address
        );
    }
    for m in &c.members {
        let est = |e: &Option<MetricEstimate>| {
            e.as_ref()
                .and_then(|e| {
                    e.p99_ns
                        .map(|v| format!("p99 ≈ {} (n={})", format_ns(v as f64), e.count))
                })
                .unwrap_or_else(|| "n/a".into())
        };
        let _ = writeln!(
            s,
            "  member {:<4}: {}",
            m.name,
            if m.reported {
                format!(
                    "wal fsync {}, backend commit {}",
                    est(&m.wal_fsync),
                    est(&m.backend_commit)
                )
            } else {
                "no figures (its node did not finish)".into()
            }
        );
    }
    let r = &c.recommended;
    let _ = writeln!(
        s,
        "  advice     : {}{}",
        r.flags(),
        match (&r.basis.link, r.basis.rtt_p99_ns) {
            (Some(l), Some(v)) => format!("  (worst link {l}: rtt p99 {})", format_ns(v as f64)),
            _ => "  (no RTT measured: etcd's defaults)".into(),
        }
    );
    // The same advice as each installer takes it, never below its own defaults.
    for a in crate::results::installer_advice::per_installer(
        r.heartbeat_interval_ms,
        r.election_timeout_ms,
    ) {
        let _ = writeln!(
            s,
            "  {:<10} : {}",
            a.installer,
            a.snippet.replace('\n', "\n               ")
        );
    }
    if !c.unfinished.is_empty() {
        let _ = writeln!(
            s,
            "  unfinished : {} (no figures from them)",
            c.unfinished.join(", ")
        );
    }
    s
}
