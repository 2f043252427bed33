//! Trends over a history of results (one per night per node) and regression detection. Groups runs
//! by node (`node_name`, else hostname), orders them by `started_at`, follows each key metric over
//! time with the profile's limit (drawn by `chart::figures`), and judges the latest run against a baseline of the runs
//! before it ([`super::regress`]). Promises: every regression is printed with its numbers and the
//! test that called it; a history too short to judge is said to be so, never passed silently.

use super::node;
use super::regress::{self, Finding, Sample};
use crate::report::load::Loaded;

/// How a metric is read from one document.
#[derive(Clone, Debug)]
pub struct MetricRead {
    /// Figure, per-round values, histogram.
    pub sample: Sample,
    /// Unit of the figure.
    pub unit: String,
    /// The limit, when a check carries one.
    pub limit: Option<(String, f64)>,
    /// Smaller is better.
    pub lower_is_better: bool,
}

/// Parse `workloads[NAME].latency_ns.KIND.percentiles.P` into (NAME, KIND, P).
pub fn parse_path(path: &str) -> Option<(String, String, f64)> {
    let m = crate::results::path::MetricPath::parse(path).ok()?;
    let (name, kind, p) = m.workload_percentile()?;
    Some((name.to_string(), kind.to_string(), p))
}

/// Read one metric from one document, if it has it.
pub fn read_metric(doc: &crate::results::ResultsDocument, metric: &str) -> Option<MetricRead> {
    if let Some(c) = doc.checks.iter().find(|c| c.id == metric) {
        let observed = c.observed?;
        let hist = node::metric_histogram(doc, &c.metric);
        return Some(MetricRead {
            sample: Sample {
                value: observed,
                rounds: c.rounds.clone(),
                hist,
            },
            unit: c.unit.clone(),
            limit: Some((
                format!(
                    "limit {} {}",
                    c.comparison,
                    crate::util::units::format_value(c.limit, &c.unit)
                ),
                c.limit,
            )),
            lower_is_better: node::lower_is_better(c),
        });
    }
    let (name, kind, p) = parse_path(metric)?;
    let (h, q) = node::metric_histogram(doc, metric)?;
    let rounds: Vec<f64> = doc
        .workloads
        .iter()
        .filter(|w| w.spec.name == name)
        .filter_map(|w| {
            let s = match kind.as_str() {
                "sync" => w.latency_ns.sync.as_ref(),
                "write" => w.latency_ns.write.as_ref(),
                _ => w.latency_ns.read.as_ref(),
            }?;
            Some(s.decode_histogram().ok()?.value_at_quantile(p / 100.0) as f64)
        })
        .collect();
    let limit = doc.checks.iter().find(|c| c.metric == metric).map(|c| {
        (
            format!(
                "limit {} {}",
                c.comparison,
                crate::util::units::format_value(c.limit, &c.unit)
            ),
            c.limit,
        )
    });
    Some(MetricRead {
        sample: Sample {
            value: h.value_at_quantile(q) as f64,
            rounds: if rounds.len() > 1 { rounds } else { Vec::new() },
            hist: Some((h, q)),
        },
        unit: "ns".into(),
        limit,
        lower_is_better: true,
    })
}

/// Default metrics for a node: the latest run's checks, plus p99 of each workload no check covers.
fn default_metrics(latest: &crate::results::ResultsDocument) -> Vec<String> {
    let mut out: Vec<String> = latest.checks.iter().map(|c| c.id.clone()).collect();
    for v in node::workload_views(latest) {
        let Some((kind, _)) = v.primary() else {
            continue;
        };
        let name = v.key.split(" @ ").next().unwrap_or(&v.key);
        let path = format!("workloads[{name}].latency_ns.{kind}.percentiles.99");
        if !latest.checks.iter().any(|c| c.metric == path) && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// The trend of one metric on one node.
pub struct MetricTrend {
    /// Node.
    pub node: String,
    /// Metric id or path.
    pub metric: String,
    /// Unit of the values.
    pub unit: String,
    /// (started_at, value) oldest first.
    pub points: Vec<(String, f64)>,
    /// Limit from the latest run's check.
    pub limit: Option<(String, f64)>,
    /// The judgement of the latest run.
    pub finding: Finding,
}

impl MetricTrend {
    /// True when this trend ends in a regression.
    pub fn is_regression(&self) -> bool {
        matches!(&self.finding, Finding::Judged(j) if j.regression)
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let f = |v: f64| crate::util::units::format_value(v, &self.unit);
        match &self.finding {
            Finding::TooShort { have, need } => format!(
                "{} {}: history too short to judge ({have} earlier run(s), need at least {need})",
                self.node, self.metric
            ),
            Finding::Judged(j) => format!(
                "{} {}: {} latest {} vs baseline {} ({:.1} % {}; the run's figure vs the median of {} baseline run(s)); {}",
                self.node,
                self.metric,
                if j.regression {
                    "REGRESSION"
                } else if j.immaterial && j.worse_pct > 0.0 {
                    "ok (change too small in absolute terms)"
                } else if j.worse_pct > 0.0 {
                    "ok (within threshold or not significant)"
                } else {
                    "ok"
                },
                f(j.latest),
                f(j.baseline),
                j.worse_pct.abs(),
                if j.worse_pct > 0.0 { "worse" } else if j.worse_pct < 0.0 { "better" } else { "change" },
                j.baseline_runs,
                j.test
            ),
        }
    }
}

/// Smallest absolute change that counts as material for a metric: 1 % of the check's limit when one
/// is known, and never less than a per-unit floor (1 µs for ns, 0.5 percentage points for pct, 1
/// for counts, ops/s and bytes).
pub fn min_change(unit: &str, limit: Option<f64>) -> f64 {
    let unit_floor: f64 = match unit {
        "ns" => 1000.0,
        "pct" => 0.5,
        "count" | "ops/s" | "bytes" => 1.0,
        _ => 0.0,
    };
    let of_limit = limit.map(|l| l.abs() * 0.01).unwrap_or(0.0);
    unit_floor.max(of_limit)
}

/// Runs left out of trends because they did not complete (`"complete": false`, e.g. an interrupted
/// qualify), within the node filter: their files.
pub fn incomplete(results: &[Loaded], node_filter: Option<&str>) -> Vec<String> {
    results
        .iter()
        .filter(|l| !l.doc.complete && node_filter.is_none_or(|f| f == l.node()))
        .map(|l| l.path.display().to_string())
        .collect()
}

/// Compute every trend of a history (complete runs only).
pub fn trends(
    results: &[Loaded],
    node_filter: Option<&str>,
    metrics: &[String],
    baseline: usize,
    threshold_pct: f64,
) -> Vec<MetricTrend> {
    let mut nodes: Vec<String> = Vec::new();
    for l in results.iter().filter(|l| l.doc.complete) {
        let n = l.node();
        if node_filter.is_none_or(|f| f == n) && !nodes.contains(&n) {
            nodes.push(n);
        }
    }
    nodes.sort();
    let mut out = Vec::new();
    for node in nodes {
        // Interrupted runs are neither the latest nor part of the baseline ([`incomplete`]).
        let mut runs: Vec<&Loaded> = results
            .iter()
            .filter(|l| l.node() == node && l.doc.complete)
            .collect();
        runs.sort_by(|a, b| a.doc.started_at.cmp(&b.doc.started_at));
        let Some(latest) = runs.last() else { continue };
        let wanted = if metrics.is_empty() {
            default_metrics(&latest.doc)
        } else {
            metrics.to_vec()
        };
        for metric in wanted {
            let reads: Vec<(String, MetricRead)> = runs
                .iter()
                .filter_map(|l| Some((l.doc.started_at.clone(), read_metric(&l.doc, &metric)?)))
                .collect();
            let Some((_, last)) = reads.last() else {
                continue;
            };
            let (unit, limit, lower) =
                (last.unit.clone(), last.limit.clone(), last.lower_is_better);
            let samples: Vec<Sample> = reads.iter().map(|(_, r)| r.sample.clone()).collect();
            let floor = min_change(&unit, limit.as_ref().map(|(_, v)| *v));
            let finding = regress::detect(&samples, baseline, threshold_pct, lower, floor);
            out.push(MetricTrend {
                node: node.clone(),
                metric,
                unit,
                points: reads
                    .iter()
                    .map(|(t, r)| (t.clone(), r.sample.value))
                    .collect(),
                limit,
                finding,
            });
        }
    }
    out
}
