//! What the cluster page of `nodefit report` says (laid out by html.rs, markdown.rs and json.rs):
//! results of one cluster run (same token and run id, one per node) become one cluster — the RTT
//! matrix (from → to, p99; a heat map in HTML), each node's put latency (leader vs followers), the
//! advised etcd flags to paste, and the cluster verdict (the worst node's; never FIT while a
//! member's result is missing or incomplete). Nodes are ordered by name, one result per node. Several cluster runs (vendor A's three VMs vs vendor B's) also
//! compare side by side. Every figure comes from the results files.

use super::node::{percentile_text, UNDERSAMPLED_NOTE};
use crate::report::load::Loaded;
use crate::results::cluster::ClusterResult;
use crate::util::stats::LatencySummary;
use crate::util::units::{format_ns, percentile_key};
use std::fmt::Write;

/// RTT p99 beyond which a link is marked (etcd's guidance for peer round trips), ns.
pub const RTT_LIMIT_NS: u64 = 50_000_000;

/// One cluster run and the nodes' results that belong to it: one result per node, ordered by node
/// name (the same order in every output, whatever the argument or `--cluster` order).
pub struct ClusterRun<'a> {
    pub token: String,
    pub run_id: String,
    pub nodes: Vec<(&'a Loaded, &'a ClusterResult)>,
    /// Second results of a node already in the run, left out, in words (one note each).
    pub duplicates: Vec<String>,
}

/// A percentile, ns, and whether its sample count supports it (not listed under the document's
/// `insufficient_samples`).
pub type Pct = (u64, bool);

/// A percentile of a latency summary, with whether its sample count supports it.
pub fn pct(l: &LatencySummary, p: f64) -> Option<Pct> {
    let v = l.percentile(p)?;
    Some((v, !l.insufficient_samples.contains(&percentile_key(p))))
}

/// "(incomplete: <reason>)" for a result whose run did not finish.
pub fn incomplete_mark(l: &Loaded) -> Option<String> {
    (!l.doc.complete).then(|| {
        format!(
            "(incomplete: {})",
            l.doc
                .incomplete_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        )
    })
}

/// One cell of the RTT matrix.
pub enum RttCell {
    /// A node to itself.
    Diagonal,
    /// The `from` node's result was not given.
    NoResult,
    /// The `from` node's result names no such peer (or no p99 for it).
    NotMeasured,
    /// No handshake succeeded: the failures and the last one's error.
    NoAnswer { errors: u64, last: Option<String> },
    /// p99 (ns), whether the sample count supports it, and the failed handshakes besides.
    Rtt {
        p99: u64,
        supported: bool,
        errors: u64,
        last: Option<String>,
    },
}

impl RttCell {
    /// The cell in words; `warn` adds " ⚠" to a p99 beyond the limit (Markdown has no colours).
    pub fn text(&self, warn: bool) -> String {
        match self {
            RttCell::Diagonal => "—".into(),
            RttCell::NoResult => "no result".into(),
            RttCell::NotMeasured => "not measured".into(),
            RttCell::NoAnswer { errors, last } => match last {
                Some(e) => format!("no answer ({errors} failed: {e})"),
                None => format!("no answer ({errors} failed)"),
            },
            RttCell::Rtt {
                p99,
                supported,
                errors,
                ..
            } => {
                let mut t = percentile_text(*p99 as f64, *supported);
                if warn && *p99 > RTT_LIMIT_NS {
                    t.push_str(" ⚠");
                }
                if *errors > 0 {
                    let _ = write!(t, " · {errors} failed");
                }
                t
            }
        }
    }

    /// The p99, when measured.
    pub fn p99(&self) -> Option<u64> {
        match self {
            RttCell::Rtt { p99, .. } => Some(*p99),
            _ => None,
        }
    }
}

impl ClusterRun<'_> {
    /// Member names, by name: the members the results declare, and any node with a result.
    pub fn members(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|(_, c)| {
                c.members
                    .iter()
                    .map(|m| m.name.clone())
                    .chain(std::iter::once(c.self_name.clone()))
            })
            .collect();
        m.sort();
        m.dedup();
        m
    }

    /// The warning for a run whose peers were not authenticated (`--insecure-peers`), naming the
    /// nodes whose results say so.
    pub fn insecure_note(&self) -> Option<String> {
        let names: Vec<&str> = self
            .nodes
            .iter()
            .filter(|(_, c)| c.peers_unauthenticated())
            .map(|(_, c)| c.self_name.as_str())
            .collect();
        (!names.is_empty()).then(|| {
            format!(
                "peers not authenticated (--insecure-peers) on {}: anyone who reached the peer ports could read the member list and send raft messages during the run, so its figures may have been disturbed",
                names.join(", ")
            )
        })
    }

    /// "cp1, cp2, cp3 (run 1a2b…)".
    pub fn label(&self) -> String {
        format!("{} (run {})", self.members().join(", "), self.run_id)
    }

    /// The result of node `name`, when given.
    pub fn node(&self, name: &str) -> Option<&(&Loaded, &ClusterResult)> {
        self.nodes.iter().find(|(_, c)| c.self_name == name)
    }

    /// Members whose result was not given.
    pub fn missing(&self) -> Vec<String> {
        self.members()
            .into_iter()
            .filter(|m| self.node(m).is_none())
            .collect()
    }

    /// Nodes whose run did not finish (`complete: false`).
    pub fn incomplete(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(l, _)| !l.doc.complete)
            .map(|(_, c)| c.self_name.clone())
            .collect()
    }

    /// What keeps the run from being judged whole, in words: "cp1 has no result", "cp2's run is
    /// incomplete (interrupted)".
    pub fn gaps(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .missing()
            .iter()
            .map(|m| format!("{m} has no result"))
            .collect();
        for (l, c) in &self.nodes {
            if !l.doc.complete {
                g.push(format!(
                    "{}'s run is incomplete ({})",
                    c.self_name,
                    l.doc
                        .incomplete_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ));
            }
        }
        g
    }

    /// The cluster verdict and the node it comes from. The worst complete node's verdict; but
    /// while a member's result is missing or incomplete only UNFIT stands (nothing missing can make
    /// it better) and anything else is "INCOMPLETE". None when some node has no verdict
    /// (probe-only results) and nothing is missing.
    pub fn verdict(&self) -> Option<(String, Option<String>)> {
        let rank = |v: &str| match v {
            "UNFIT" => 2,
            "MARGINAL" => 1,
            _ => 0,
        };
        let mut worst: Option<(String, String)> = None;
        let mut all = !self.nodes.is_empty();
        for (l, c) in &self.nodes {
            let Some(v) = l.doc.verdict else {
                all = false;
                continue;
            };
            if !l.doc.complete {
                continue;
            }
            let v = v.as_str().to_string();
            if worst.as_ref().is_none_or(|(w, _)| rank(&v) > rank(w)) {
                worst = Some((v, c.self_name.clone()));
            }
        }
        match worst {
            Some((v, who)) if v == "UNFIT" => Some((v, Some(who))),
            _ if !self.gaps().is_empty() => Some(("INCOMPLETE".into(), None)),
            Some((v, who)) if all => Some((v, Some(who))),
            _ => None,
        }
    }

    /// One cell of the RTT matrix, from → to.
    pub fn rtt_cell(&self, from: &str, to: &str) -> RttCell {
        if from == to {
            return RttCell::Diagonal;
        }
        let Some((_, c)) = self.node(from) else {
            return RttCell::NoResult;
        };
        let Some(p) = c.peers.iter().find(|p| p.name == to) else {
            return RttCell::NotMeasured;
        };
        match &p.rtt_ns {
            None => RttCell::NoAnswer {
                errors: p.rtt_errors,
                last: p.rtt_last_error.clone(),
            },
            Some(r) => match pct(&r.summary, 99.0) {
                Some((p99, supported)) => RttCell::Rtt {
                    p99,
                    supported,
                    errors: p.rtt_errors,
                    last: p.rtt_last_error.clone(),
                },
                None => RttCell::NotMeasured,
            },
        }
    }

    /// RTT p99 from `from` to `to`, ns.
    pub fn rtt_p99(&self, from: &str, to: &str) -> Option<u64> {
        self.rtt_cell(from, to).p99()
    }
    /// The largest advice of all nodes (every member must run with the same values).
    pub fn advice(&self) -> Option<(u64, u64, String)> {
        let hb = self
            .nodes
            .iter()
            .map(|(_, c)| c.recommended.heartbeat_interval_ms)
            .max()?;
        let el = self
            .nodes
            .iter()
            .map(|(_, c)| c.recommended.election_timeout_ms)
            .max()?;
        let basis = self
            .nodes
            .iter()
            .filter_map(|(_, c)| {
                Some((
                    c.recommended.basis.link.clone()?,
                    c.recommended.basis.rtt_p99_ns?,
                ))
            })
            .max_by_key(|(_, v)| *v)
            .map(|(l, v)| format!("worst link {l}: rtt p99 {}", format_ns(v as f64)))
            .unwrap_or_else(|| "no RTT measured: etcd's defaults".into());
        Some((hb, el, basis))
    }

    /// Put p99 through the leader's member and the worst follower's, ns, each with whether its
    /// sample count supports it.
    pub fn put_p99(&self) -> (Option<Pct>, Option<Pct>) {
        let p = |c: &ClusterResult| c.put_latency_ns.as_ref().and_then(|l| pct(l, 99.0));
        let leader = self
            .nodes
            .iter()
            .find(|(_, c)| c.role.as_deref() == Some("leader"))
            .and_then(|(_, c)| p(c));
        let follower = self
            .nodes
            .iter()
            .filter(|(_, c)| c.role.as_deref() != Some("leader"))
            .filter_map(|(_, c)| p(c))
            .max_by_key(|(v, _)| *v);
        (leader, follower)
    }

    /// Whether any figure of the put table is in parentheses (too few samples).
    fn any_undersampled_put(&self) -> bool {
        self.nodes.iter().any(|(_, c)| {
            c.put_latency_ns.as_ref().is_some_and(|l| {
                [50.0, 99.0]
                    .iter()
                    .any(|p| pct(l, *p).is_some_and(|(_, ok)| !ok))
            })
        })
    }

    /// Whether any RTT figure of the matrix is in parentheses (too few samples).
    fn any_undersampled_rtt(&self) -> bool {
        let m = self.members();
        m.iter().any(|f| {
            m.iter().any(|t| {
                matches!(
                    self.rtt_cell(f, t),
                    RttCell::Rtt {
                        supported: false,
                        ..
                    }
                )
            })
        })
    }
}

/// The cluster runs among `results` (documents with a cluster section), in order of appearance;
/// within a run one result per node (a second one is left out and said in `duplicates`; a complete
/// result is kept over an incomplete one, else the first given), ordered by node name.
pub fn groups(results: &[Loaded]) -> Vec<ClusterRun<'_>> {
    let mut out: Vec<ClusterRun> = Vec::new();
    for l in results {
        let Some(c) = l.doc.cluster.as_ref() else {
            continue;
        };
        let g = match out
            .iter_mut()
            .position(|g| g.token == c.token && g.run_id == c.run_id)
        {
            Some(i) => &mut out[i],
            None => {
                out.push(ClusterRun {
                    token: c.token.clone(),
                    run_id: c.run_id.clone(),
                    nodes: Vec::new(),
                    duplicates: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        match g.nodes.iter_mut().find(|(_, k)| k.self_name == c.self_name) {
            None => g.nodes.push((l, c)),
            Some(kept) => {
                let (keep, drop) = if !kept.0.doc.complete && l.doc.complete {
                    let old = kept.0;
                    *kept = (l, c);
                    (l, old)
                } else {
                    (kept.0, l)
                };
                g.duplicates.push(if keep.path == drop.path {
                    format!(
                        "{} was given twice: its second copy (a duplicate result of {}) is ignored.",
                        drop.path.display(),
                        c.self_name
                    )
                } else {
                    format!(
                        "{} is a second result of {} in this run and is ignored (kept {}).",
                        drop.path.display(),
                        c.self_name,
                        keep.path.display()
                    )
                });
            }
        }
    }
    for g in &mut out {
        g.nodes.sort_by(|a, b| a.1.self_name.cmp(&b.1.self_name));
    }
    out
}

pub fn opt_ns(v: Option<u64>) -> String {
    v.map(|v| format_ns(v as f64)).unwrap_or_else(|| "—".into())
}

/// A percentile cell: in parentheses when under-sampled, "—" when absent.
pub fn opt_pct(v: Option<Pct>) -> String {
    v.map(|(v, ok)| percentile_text(v as f64, ok))
        .unwrap_or_else(|| "—".into())
}

pub fn verdict_text(g: &ClusterRun) -> String {
    let gaps = g.gaps().join("; ");
    match g.verdict() {
        Some((v, _)) if v == "INCOMPLETE" => format!("INCOMPLETE: {gaps}"),
        Some((v, Some(who))) if gaps.is_empty() => format!("{v} (the worst node's: {who})"),
        Some((v, Some(who))) => format!("{v} (the worst node's: {who}); also {gaps}"),
        Some((v, None)) => v,
        None => "none (probe-only results: run `nodefit qualify --cluster` for a verdict)".into(),
    }
}

/// The put table's cells of one member (node, role, p50, p99, max, errors, leader changes,
/// verdict); a member without a result reads "no result".
pub fn put_row(g: &ClusterRun, name: &str) -> [String; 8] {
    let Some((l, c)) = g.node(name) else {
        return [
            name.to_string(),
            "no result".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ];
    };
    let lat = c.put_latency_ns.as_ref();
    let node = match incomplete_mark(l) {
        Some(m) => format!("{name} {m}"),
        None => name.to_string(),
    };
    [
        node,
        c.role.as_deref().unwrap_or("?").to_string(),
        opt_pct(lat.and_then(|l| pct(l, 50.0))),
        opt_pct(lat.and_then(|l| pct(l, 99.0))),
        opt_ns(lat.map(|l| l.max)),
        c.errors_total.to_string(),
        c.leader_changes.to_string(),
        l.doc.verdict.map(|v| v.as_str()).unwrap_or("—").to_string(),
    ]
}

/// A matrix row heading: the node, marked when its run is incomplete or its result missing.
pub fn row_heading(g: &ClusterRun, name: &str) -> (String, Option<String>) {
    match g.node(name) {
        None => (name.to_string(), Some("(no result)".into())),
        Some((l, _)) => (name.to_string(), incomplete_mark(l)),
    }
}

/// The sentence under the tables on figures in parentheses, when there are any.
pub fn undersampled_note(g: &ClusterRun) -> Option<String> {
    (g.any_undersampled_put() || g.any_undersampled_rtt())
        .then(|| format!("Percentiles from the HDR histograms; {UNDERSAMPLED_NOTE}."))
}
