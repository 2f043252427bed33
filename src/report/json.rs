//! JSON summary report: per result its verdict, score and checks, the side-by-side comparison when
//! there are several, and the inputs left out. Promises: field names are stable and documented on
//! the structs below; values are copied from the results files, never recomputed.

use super::compare::{self, Comparison};
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
    pub comparison: Option<Comparison>,
    /// Inputs left out, each naming the file and what is wrong.
    pub problems: &'a [String],
    /// Cluster runs (results of `--cluster`, grouped by token and run id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<super::cluster::JsonCluster>,
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
            clusters: super::cluster::json(&input.results),
        };
        let mut out = serde_json::to_vec_pretty(&r)?;
        out.push(b'\n');
        Ok(out)
    }
}
