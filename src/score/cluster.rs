//! Judging a cluster run: the profile's `cluster.*` checks apply only to documents with a
//! `cluster` section (a single-node run neither shows nor warns about them), and the verdict's
//! reasons name the links: `cp1 → cp3: rtt p99 61.2 ms`.

use super::profile::Profile;
use super::Outcome;
use crate::results::cluster::{ClusterResult, PeerResult, RttSummary, RTT_PERCENTILES};
use crate::util::units::format_ns;
use serde_json::Value;

/// Root of every cluster check's metric path.
pub const ROOT: &str = "cluster";

/// `profile` without its cluster checks when the document has no cluster section.
pub fn applicable(profile: &Profile, has_cluster: bool) -> Profile {
    let mut p = profile.clone();
    if !has_cluster {
        p.checks.retain(|c| c.metric.root() != ROOT);
    }
    p
}

/// Score `doc` (a results document's JSON) with `profile`, cluster-aware: the cluster checks only
/// when there is a cluster section, and peer-RTT checks name every link beyond the limit.
pub fn judge(profile: &Profile, doc: &Value, skip: &[(String, String)]) -> Outcome {
    judge_at(
        profile,
        doc,
        skip,
        crate::util::stats::interval::DEFAULT_CONFIDENCE,
    )
}

/// [`judge`] with every check's interval at `confidence`.
pub fn judge_at(
    profile: &Profile,
    doc: &Value,
    skip: &[(String, String)],
    confidence: f64,
) -> Outcome {
    let cluster: Option<ClusterResult> = doc
        .get(ROOT)
        .and_then(|c| serde_json::from_value(c.clone()).ok());
    // A cluster run that failed keeps its checks, skipped with the reason `skip` gives.
    let asked = skip.iter().any(|(root, _)| root == ROOT);
    let p = applicable(profile, cluster.is_some() || asked);
    let mut out = super::score_at(&p, doc, skip, confidence);
    if let Some(c) = &cluster {
        for r in out.checks.iter_mut() {
            if !r.metric.starts_with("cluster.peers[*].rtt_ns.percentiles.") {
                continue;
            }
            let key = r.metric.rsplit("percentiles.").next().unwrap_or("99");
            let q: f64 = key.parse().unwrap_or(99.0);
            let cmp = r.comparison;
            let links: Vec<String> = c
                .peers
                .iter()
                .filter_map(|p| {
                    let v = p.rtt_ns.as_ref()?.summary.percentile(q)?;
                    let over = !cmp.holds(v as f64, r.limit);
                    over.then(|| {
                        format!(
                            "{} → {}: rtt p{key} {}",
                            c.self_name,
                            p.name,
                            format_ns(v as f64)
                        )
                    })
                })
                .collect();
            // A peer that never answered has no RTT at all: the worst link there is, not one to
            // leave out of the worst-link check.
            let silent: Vec<String> = c
                .peers
                .iter()
                .filter(|p| p.rtt_ns.is_none())
                .map(|p| {
                    format!(
                        "{} → {}: no handshake answered ({} failed{})",
                        c.self_name,
                        p.name,
                        p.rtt_errors,
                        p.rtt_last_error
                            .as_deref()
                            .map(|e| format!(", last: {e}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if !silent.is_empty() {
                r.verdict = crate::results::CheckVerdict::Fail;
            }
            let links: Vec<String> = silent.into_iter().chain(links).collect();
            if !links.is_empty() {
                let mut note = links.join(", ");
                if let Some(n) = &r.note {
                    note = format!("{note}; {n}");
                }
                r.note = Some(note);
            }
        }
        out = super::summarize(out.checks);
    }
    out
}

/// A cluster section with every optional part present, for checking profile metric paths.
pub fn template() -> Value {
    let mut r = crate::util::stats::Recorder::new();
    r.record(1);
    let summary = r.summary(&RTT_PERCENTILES);
    let c = ClusterResult {
        put_latency_ns: summary.clone(),
        peers: vec![PeerResult {
            rtt_ns: summary.map(|summary| RttSummary {
                samples: summary.count,
                summary,
            }),
            etcd_peer_rtt_ns: Some(crate::etcd::metrics::empty_estimate()),
            ..Default::default()
        }],
        worst_rtt_p99_ns: Some(0),
        ..ClusterResult::default()
    };
    serde_json::to_value(c).unwrap_or_default()
}
