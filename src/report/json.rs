//! JSON, the summary of `nodefit report --format json`: per result its verdict, score and checks, the side-by-side comparison when
//! there are several, and the inputs left out. Promises: field names are stable and documented on
//! the structs below; values are copied from the results files, never recomputed.

use super::load::Loaded;
use super::view::cluster::{self as cl, RttCell};
use super::view::compare::{self, SideBySide};
use super::{Renderer, ReportError, ReportInput};
use serde::Serialize;

/// The JSON renderer.
pub struct Json;

/// Top level of `nodefit report --format json`.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    /// Format identifier of this summary: "nodefit-report/1".
    pub format: &'static str,
    /// One entry per result that loaded.
    pub results: Vec<JsonNode<'a>>,
    /// The comparison, when several results were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<SideBySide>,
    /// Inputs left out, each naming the file and what is wrong.
    pub problems: &'a [String],
    /// Cluster runs (results of `--cluster`, grouped by token and run id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<JsonCluster>,
}

/// One result in the summary.
#[derive(Serialize)]
pub struct JsonNode<'a> {
    /// Node name (node_name, else hostname).
    pub node: String,
    /// File it was read from.
    pub file: String,
    /// When the run started, RFC 3339.
    pub started_at: &'a str,
    /// False when the run was cut short (Ctrl-C, disk full, I/O error): its figures cover only what
    /// ran, which a reader cannot otherwise tell from a run that measured without qualifying.
    pub complete: bool,
    /// Only when `complete` is false: why, as the results file says (null when it does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<Option<&'a str>>,
    /// FIT / MARGINAL / UNFIT, when qualified.
    pub verdict: Option<&'a str>,
    /// 0–100, when qualified.
    pub score: Option<f64>,
    /// Profile name, when qualified.
    pub profile: Option<String>,
    /// The checks, as in the results file.
    pub checks: &'a [crate::results::CheckResult],
}

impl Renderer for Json {
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, ReportError> {
        if input.results.is_empty() {
            return Err(ReportError::Empty);
        }
        let r = JsonReport {
            format: "nodefit-report/1",
            results: input
                .results
                .iter()
                .map(|l| JsonNode {
                    node: l.node(),
                    file: l.path.display().to_string(),
                    started_at: &l.doc.started_at,
                    complete: l.doc.complete,
                    incomplete_reason: (!l.doc.complete)
                        .then_some(l.doc.incomplete_reason.as_deref()),
                    verdict: l.doc.verdict.map(|v| v.as_str()),
                    score: l.doc.score,
                    profile: l.profile_name(),
                    checks: &l.doc.checks,
                })
                .collect(),
            comparison: input
                .is_comparison()
                .then(|| compare::compare(&input.results)),
            problems: &input.problems,
            clusters: clusters(&input.results),
        };
        let mut out = serde_json::to_vec_pretty(&r)?;
        out.push(b'\n');
        Ok(out)
    }
}

/// One link of the RTT matrix.
#[derive(Serialize)]
pub struct JsonLink {
    pub from: String,
    pub to: String,
    /// TCP handshake RTT p99 measured by `from`, ns (absent when no handshake succeeded).
    pub rtt_p99_ns: Option<u64>,
    /// True when `from`'s sample count does not support the p99 (listed under its
    /// `insufficient_samples`).
    pub rtt_p99_insufficient_samples: bool,
    /// Handshakes from `from` to `to` that failed.
    pub rtt_errors: u64,
    /// The last failure's error, when there was one.
    pub rtt_last_error: Option<String>,
    /// True when `from`'s run is incomplete (`complete: false`) or its result was not given.
    pub incomplete: bool,
}

/// One node's put latency through its own member.
#[derive(Serialize)]
pub struct JsonPut {
    pub node: String,
    /// "leader" or "follower" when the probe started.
    pub role: Option<String>,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    /// True when the sample count does not support the p99 (listed under `insufficient_samples`).
    pub p99_insufficient_samples: bool,
    pub verdict: Option<String>,
    /// False when the node's run did not finish; `incomplete_reason` says why.
    pub complete: bool,
    pub incomplete_reason: Option<String>,
}

/// A cluster run in `nodefit report --format json`.
#[derive(Serialize)]
pub struct JsonCluster {
    pub token: String,
    pub run_id: String,
    /// Member names, by name.
    pub members: Vec<String>,
    /// Nodes whose results were given (one each), by name.
    pub nodes: Vec<String>,
    /// Members whose result was not given.
    pub missing: Vec<String>,
    /// Nodes whose run is incomplete (`complete: false`).
    pub incomplete: Vec<String>,
    /// Second results of a node, ignored, in words.
    pub duplicates_ignored: Vec<String>,
    /// Some node's result says its peers were not authenticated (`--insecure-peers`).
    pub insecure_peers: bool,
    /// The worst node's verdict and that node; "INCOMPLETE" (no node) while a member's result is
    /// missing or incomplete and no complete node is UNFIT; absent for probe-only results.
    pub verdict: Option<String>,
    pub worst_node: Option<String>,
    pub rtt: Vec<JsonLink>,
    pub put: Vec<JsonPut>,
    /// The largest advice of all nodes.
    pub heartbeat_interval_ms: Option<u64>,
    pub election_timeout_ms: Option<u64>,
}

/// The cluster runs among `results`, for the JSON summary.
fn clusters(results: &[Loaded]) -> Vec<JsonCluster> {
    cl::groups(results)
        .iter()
        .map(|g| {
            let members = g.members();
            let rtt = members
                .iter()
                .flat_map(|f| members.iter().map(move |t| (f, t)))
                .filter(|(f, t)| f != t)
                .map(|(f, t)| {
                    let cell = g.rtt_cell(f, t);
                    let (errors, last, supported) = match &cell {
                        RttCell::Rtt {
                            errors,
                            last,
                            supported,
                            ..
                        } => (*errors, last.clone(), *supported),
                        RttCell::NoAnswer { errors, last } => (*errors, last.clone(), true),
                        _ => (0, None, true),
                    };
                    JsonLink {
                        from: f.clone(),
                        to: t.clone(),
                        rtt_p99_ns: cell.p99(),
                        rtt_p99_insufficient_samples: !supported,
                        rtt_errors: errors,
                        rtt_last_error: last,
                        incomplete: g.node(f).is_none_or(|(l, _)| !l.doc.complete),
                    }
                })
                .collect();
            let put = g
                .nodes
                .iter()
                .map(|(l, c)| {
                    let p99 = c.put_latency_ns.as_ref().and_then(|p| cl::pct(p, 99.0));
                    JsonPut {
                        node: c.self_name.clone(),
                        role: c.role.clone(),
                        p50_ns: c.put_latency_ns.as_ref().and_then(|p| p.percentile(50.0)),
                        p99_ns: p99.map(|p| p.0),
                        p99_insufficient_samples: p99.is_some_and(|p| !p.1),
                        verdict: l.doc.verdict.map(|v| v.as_str().to_string()),
                        complete: l.doc.complete,
                        incomplete_reason: l.doc.incomplete_reason.clone(),
                    }
                })
                .collect();
            let verdict = g.verdict();
            let advice = g.advice();
            JsonCluster {
                token: g.token.clone(),
                run_id: g.run_id.clone(),
                nodes: g.nodes.iter().map(|(_, c)| c.self_name.clone()).collect(),
                missing: g.missing(),
                incomplete: g.incomplete(),
                duplicates_ignored: g.duplicates.clone(),
                insecure_peers: g.insecure_note().is_some(),
                members,
                verdict: verdict.as_ref().map(|v| v.0.clone()),
                worst_node: verdict.and_then(|v| v.1),
                rtt,
                put,
                heartbeat_interval_ms: advice.as_ref().map(|a| a.0),
                election_timeout_ms: advice.map(|a| a.1),
            }
        })
        .collect()
}
