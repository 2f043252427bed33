//! Checks and verdicts of a qualification as the document records them: enums in the code,
//! serialised as the strings the schema names ("<=", "must", "pass", "FIT").

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a check compares the observed value with its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "==")]
    Eq,
}

impl Comparison {
    pub fn parse(s: &str) -> Option<Comparison> {
        Some(match s {
            "<=" => Comparison::Le,
            "<" => Comparison::Lt,
            ">=" => Comparison::Ge,
            ">" => Comparison::Gt,
            "==" => Comparison::Eq,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Le => "<=",
            Comparison::Lt => "<",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
            Comparison::Eq => "==",
        }
    }
    /// Whether `v` satisfies `v CMP limit`.
    pub fn holds(self, v: f64, limit: f64) -> bool {
        match self {
            Comparison::Le => v <= limit,
            Comparison::Lt => v < limit,
            Comparison::Ge => v >= limit,
            Comparison::Gt => v > limit,
            Comparison::Eq => v == limit,
        }
    }
    /// True for upper bounds (smaller is better).
    pub fn upper(self) -> bool {
        matches!(self, Comparison::Le | Comparison::Lt)
    }
    /// True for lower bounds (larger is better). `==` is neither bound: it has no better side.
    pub fn lower(self) -> bool {
        matches!(self, Comparison::Ge | Comparison::Gt)
    }
    /// Headroom of `observed` against `limit` as a fraction of the limit: positive = room to spare,
    /// negative = beyond it. None for `==` and a zero limit.
    pub fn headroom(self, observed: f64, limit: f64) -> Option<f64> {
        if limit == 0.0 || self == Comparison::Eq {
            return None;
        }
        Some(if self.upper() {
            (limit - observed) / limit.abs()
        } else {
            (observed - limit) / limit.abs()
        })
    }
}

/// `must` checks decide FIT/UNFIT; `should` checks can only make a node MARGINAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Must,
    Should,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
        }
    }
}

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckVerdict {
    Pass,
    Marginal,
    Fail,
    Skipped,
}

impl CheckVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckVerdict::Pass => "pass",
            CheckVerdict::Marginal => "marginal",
            CheckVerdict::Fail => "fail",
            CheckVerdict::Skipped => "skipped",
        }
    }
    /// "PASS", "MARGINAL", … for tables.
    pub fn upper(self) -> &'static str {
        match self {
            CheckVerdict::Pass => "PASS",
            CheckVerdict::Marginal => "MARGINAL",
            CheckVerdict::Fail => "FAIL",
            CheckVerdict::Skipped => "SKIPPED",
        }
    }
}

/// The overall verdict of a qualification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Fit,
    Marginal,
    Unfit,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fit => "FIT",
            Verdict::Marginal => "MARGINAL",
            Verdict::Unfit => "UNFIT",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}
display_as_str!(Comparison, Severity, CheckVerdict, Verdict);

/// One check of a qualification: a metric from this document held against a profile's limit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    /// Stable identifier from the profile, e.g. "wal_fdatasync_p99".
    pub id: String,
    /// Human title, e.g. "WAL-like fdatasync p99".
    pub title: String,
    /// Path of the metric in the results document, e.g. "workloads[wal].latency_ns.sync.percentiles.99".
    pub metric: String,
    /// Observed value (median over rounds where the workload was repeated); absent when missing.
    #[serde(default)]
    pub observed: Option<f64>,
    /// Confidence interval of `observed`, [lo, hi], at `confidence`: for a percentile, the
    /// order-statistic interval widened by the histogram's bucket error; for a rate, Student's t on
    /// its per-second series; over rounds, the middle of the rounds' bounds; `[v, v]` for a figure
    /// with no sampling error (counts, the fingerprint). Absent when skipped or when no method
    /// applies (etcd's own Prometheus bucket estimates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ci: Option<[f64; 2]>,
    /// Confidence level of `observed_ci` (0.95 unless `--confidence` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Observed value per round, when repeated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<f64>,
    /// Unit of `observed` and `limit`: "ns", "ops/s", "count", "pct", "bytes", "cpus".
    pub unit: String,
    /// "<=", "<", ">=", ">" or "==".
    pub comparison: Comparison,
    /// The limit the observed value is held against.
    pub limit: f64,
    /// When the limit is a factor of another metric, how it was derived, e.g.
    /// "0.9 × etcd.target_rate" (`limit` then holds the product, or the factor when skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_basis: Option<String>,
    /// Values between `limit` and `marginal_limit` are MARGINAL rather than failing outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marginal_limit: Option<f64>,
    /// "must" or "should".
    pub severity: Severity,
    /// "pass", "marginal", "fail" or "skipped".
    pub verdict: CheckVerdict,
    /// 0–100 from headroom against the limit (formula in README).
    pub score: f64,
    /// Where the limit comes from (document and section).
    pub source: String,
    /// Why the check was skipped, marginal or failed, or a caveat on the figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckResult {
    /// The observed value with its interval, as tables show it: `281.9µs [268.0µs, 297.5µs]`; the
    /// value alone when the interval is exact (`[v, v]`) or absent; None when nothing was observed.
    pub fn observed_text(&self) -> Option<String> {
        let fmt = |v: f64| crate::util::units::format_value(v, &self.unit);
        let v = self.observed?;
        Some(match self.observed_ci {
            Some([lo, hi]) if lo != hi => format!("{} [{}, {}]", fmt(v), fmt(lo), fmt(hi)),
            _ => fmt(v),
        })
    }
}
