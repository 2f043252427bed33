//! Judging a cluster run: the profile's `cluster.*` checks apply only to documents with a
//! `cluster` section (a single-node run neither shows nor warns about them), and the verdict's
//! reasons name the links: `cp1 → cp3: rtt p99 61.2 ms`.

use super::profile::Profile;
use super::Assessment;
use crate::results::cluster::ClusterResult;
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

/// `profile` with only the checks a probe-alone cluster run (`nodefit etcd --cluster`) can
/// answer: the etcd and cluster ones (the disk was judged elsewhere, one node at a time).
pub fn probe_only(profile: &Profile) -> Profile {
    let mut p = profile.clone();
    p.checks
        .retain(|c| matches!(c.metric.root(), "etcd" | ROOT));
    p
}

/// Score `doc` (a results document's JSON) with `profile`, cluster-aware: the cluster checks only
/// when there is a cluster section, and peer-RTT checks name every link beyond the limit.
pub fn judge(profile: &Profile, doc: &Value, skip: &[(String, String)]) -> Assessment {
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
) -> Assessment {
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
