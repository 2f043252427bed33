//! What the renderers show, extracted from results documents: workloads merged over rounds (exact,
//! by adding their HDR histograms), percentile curves, histogram bins, the etcd section read
//! defensively from untyped JSON, the fingerprint flattened to key/value rows, and a node's tables
//! as text rows (checks, workloads, members) that every format lays out alike.
//! Promises: nothing here invents a figure; a value that is absent stays absent.

use crate::results::{CheckResult, ResultsDocument};
use hdrhistogram::Histogram;
use serde_json::Value;

/// One disk workload of a document, every round merged.
pub struct WorkloadView {
    /// Workload name, with the concurrent group when it ran alongside others ("name @ group").
    pub key: String,
    /// Rounds merged.
    pub rounds: usize,
    /// Operation kind ("sync", "write", "read") → merged histogram, in that order of preference.
    pub kinds: Vec<(&'static str, Histogram<u64>)>,
    /// Data ops per second, per round.
    pub iops: Vec<f64>,
    /// Histograms that failed to decode (named), so the report can say so.
    pub problems: Vec<String>,
}

impl WorkloadView {
    /// The kind a chart leads with: sync (etcd's figure) when there is one, else write, else read.
    pub fn primary(&self) -> Option<&(&'static str, Histogram<u64>)> {
        self.kinds.first()
    }
}

/// The document's workloads grouped by name (and concurrent group), in first-seen order.
pub fn workload_views(doc: &ResultsDocument) -> Vec<WorkloadView> {
    let mut out: Vec<WorkloadView> = Vec::new();
    for w in &doc.workloads {
        let key = match &w.concurrent_group {
            Some(g) => format!("{} @ {g}", w.spec.name),
            None => w.spec.name.clone(),
        };
        let idx = match out.iter().position(|v| v.key == key) {
            Some(i) => i,
            None => {
                out.push(WorkloadView {
                    key: key.clone(),
                    rounds: 0,
                    kinds: Vec::new(),
                    iops: Vec::new(),
                    problems: Vec::new(),
                });
                out.len() - 1
            }
        };
        let view = &mut out[idx];
        view.rounds += 1;
        view.iops.push(w.iops);
        let kinds = [
            ("sync", &w.latency_ns.sync),
            ("write", &w.latency_ns.write),
            ("read", &w.latency_ns.read),
        ];
        for (kind, summary) in kinds {
            let Some(s) = summary else { continue };
            match s.decode_histogram() {
                Ok(h) => match view.kinds.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, acc)) => {
                        if acc.add(&h).is_err() {
                            view.problems
                                .push(format!("{key} {kind}: histograms could not be merged"));
                        }
                    }
                    None => view.kinds.push((kind, h)),
                },
                Err(e) => view.problems.push(format!("{key} {kind}: {e}")),
            }
        }
        view.kinds.sort_by_key(|(k, _)| match *k {
            "sync" => 0,
            "write" => 1,
            _ => 2,
        });
    }
    out
}

/// x positions of a percentile curve on the HDR scale, as 1/(1-q): 2 (p50) … 10 000 (p99.99).
pub const CURVE_X_MIN: f64 = 2.0;
/// Right end of the percentile axis (p99.99).
pub const CURVE_X_MAX: f64 = 10_000.0;

/// Percentile curve of a histogram: (1/(1-q), latency ns) from p50 to p99.99, stopping where the
/// sample count no longer supports the percentile (fewer than 10 samples beyond it).
pub fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    if h.is_empty() {
        return pts;
    }
    let steps = 64;
    let (lo, hi) = (CURVE_X_MIN.log10(), CURVE_X_MAX.log10());
    for i in 0..=steps {
        let x = 10f64.powf(lo + (hi - lo) * i as f64 / steps as f64);
        let q = 1.0 - 1.0 / x;
        if !crate::util::stats::percentile_supported(h.len(), q * 100.0) {
            break;
        }
        pts.push((x, h.value_at_quantile(q) as f64));
    }
    pts
}

/// What a figure in parentheses means, as the report tables say it under their tables.
pub const UNDERSAMPLED_NOTE: &str =
    "a figure in parentheses has fewer than 10 samples beyond it and must not decide anything";

/// A percentile latency as the report tables print it: in parentheses when the run's sample count
/// does not support it (fewer than 10 samples beyond it, see [`UNDERSAMPLED_NOTE`]).
pub fn percentile_text(ns: f64, supported: bool) -> String {
    let t = crate::util::units::format_ns(ns);
    if supported {
        t
    } else {
        format!("({t})")
    }
}

/// Latency histogram bins, log-spaced between the smallest and largest recorded value:
/// (low ns, high ns, count).
pub fn histogram_bins(h: &Histogram<u64>, bins: usize) -> Vec<(f64, f64, u64)> {
    if h.is_empty() || bins == 0 {
        return Vec::new();
    }
    let lo = (h.min().max(1) as f64).ln();
    let hi = ((h.max().max(1) as f64) * 1.001).ln().max(lo + 1e-6);
    let width = (hi - lo) / bins as f64;
    let mut out: Vec<(f64, f64, u64)> = (0..bins)
        .map(|i| {
            (
                (lo + width * i as f64).exp(),
                (lo + width * (i + 1) as f64).exp(),
                0,
            )
        })
        .collect();
    for v in h.iter_recorded() {
        let value = h.highest_equivalent(v.value_iterated_to()).max(1) as f64;
        let idx = (((value.ln() - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        out[idx].2 += v.count_at_value();
    }
    out
}

/// One row of a node's checks table, as text: the format files only lay it out.
pub struct CheckRow<'a> {
    pub check: &'a CheckResult,
    /// The observed value as the tables print it ("—" without one).
    pub observed: String,
    /// The limit with its comparison ("<= 10.00ms").
    pub limit: String,
    /// Headroom ("+42 %", "—" without one).
    pub headroom: String,
}

/// The checks table of a node, one row per check in document order.
pub fn check_rows(checks: &[CheckResult]) -> Vec<CheckRow<'_>> {
    checks
        .iter()
        .map(|c| CheckRow {
            check: c,
            observed: c.observed_text().unwrap_or_else(|| "—".into()),
            limit: format!(
                "{} {}",
                c.comparison,
                crate::util::units::format_value(c.limit, &c.unit)
            ),
            headroom: headroom(c)
                .map(|x| format!("{:+.0} %", x * 100.0))
                .unwrap_or_else(|| "—".into()),
        })
        .collect()
}

/// The disk workloads table of a node: per workload and kind (workload, rounds, kind, ops, p50,
/// p99, p99.9, max), percentiles in parentheses where the sample count does not support them.
pub fn workload_rows(views: &[WorkloadView]) -> Vec<[String; 8]> {
    let mut rows = Vec::new();
    for v in views {
        for (k, hist) in &v.kinds {
            let p = |q: f64| {
                percentile_text(
                    hist.value_at_quantile(q) as f64,
                    crate::util::stats::percentile_supported(hist.len(), q * 100.0),
                )
            };
            rows.push([
                v.key.clone(),
                v.rounds.to_string(),
                k.to_string(),
                hist.len().to_string(),
                p(0.5),
                p(0.99),
                p(0.999),
                crate::util::units::format_ns(hist.max() as f64),
            ]);
        }
    }
    rows
}

/// A field read from untyped JSON as a number.
fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// One etcd member's disk and network figures (from its /metrics).
pub struct MemberView {
    /// Member name.
    pub name: String,
    /// (metric, p50 ns, p99 ns) for wal_fsync, backend_commit, peer_rtt when present.
    pub metrics: Vec<(&'static str, Option<f64>, Option<f64>)>,
}

/// The etcd probe section, read from untyped JSON so it works whatever fields the final format has.
#[derive(Default)]
pub struct EtcdView {
    /// Per-second (t_s, p50 ns, p99 ns).
    pub timeseries: Vec<(f64, Option<f64>, Option<f64>)>,
    /// Seconds at which the leader changed.
    pub leader_change_times: Vec<f64>,
    /// Leader changes counted (may exceed the timestamped list).
    pub leader_changes: Option<f64>,
    /// Headline figures as (label, formatted value).
    pub summary: Vec<(String, String)>,
    /// Per member figures.
    pub members: Vec<MemberView>,
    /// Merged probe latency histogram, when the section carries one.
    pub latency: Option<Histogram<u64>>,
}

impl MemberView {
    /// "p50 / p99" of each of [`MEMBER_METRICS`], in that order; "—" where absent.
    pub fn cells(&self) -> [String; 3] {
        MEMBER_METRICS.map(|name| {
            let g = |x: &Option<f64>| {
                x.map(crate::util::units::format_ns)
                    .unwrap_or_else(|| "—".into())
            };
            self.metrics
                .iter()
                .find(|(k, _, _)| *k == name)
                .map(|(_, a, b)| format!("{} / {}", g(a), g(b)))
                .unwrap_or_else(|| "—".into())
        })
    }
}

/// Etcd member metric names as the contract spells them.
pub const MEMBER_METRICS: [&str; 3] = ["wal_fsync", "backend_commit", "peer_rtt"];

/// Read the `etcd` section of a raw document, if there is one.
pub fn etcd_view(raw: &Value) -> Option<EtcdView> {
    let e = raw.get("etcd")?;
    if !e.is_object() {
        return None;
    }
    let mut v = EtcdView::default();
    for key in ["target_rate", "achieved_rate"] {
        if let Some(x) = num(e, key) {
            v.summary
                .push((key.replace('_', " "), format!("{x:.1} ops/s")));
        }
    }
    if let Some(x) = num(e, "errors_total") {
        v.summary.push(("errors".into(), format!("{x}")));
    }
    let lat = e.get("latency_ns");
    if let Some(l) = lat {
        if let Some(p) = l.get("percentiles").and_then(Value::as_object) {
            for key in ["50", "99", "99.9"] {
                if let Some(x) = p.get(key).and_then(Value::as_f64) {
                    v.summary
                        .push((format!("latency p{key}"), crate::util::units::format_ns(x)));
                }
            }
        }
        if let Some(h) = l.get("histogram").and_then(Value::as_str) {
            v.latency = crate::util::stats::decode_histogram(h).ok();
        }
    }
    match e.get("leader_changes") {
        Some(Value::Number(n)) => v.leader_changes = n.as_f64(),
        Some(Value::Array(a)) => {
            v.leader_changes = Some(a.len() as f64);
            v.leader_change_times = a.iter().filter_map(event_time).collect();
        }
        _ => {}
    }
    if v.leader_change_times.is_empty() {
        // Look for the timestamped list under any other key naming leaders.
        if let Some(obj) = e.as_object() {
            for (k, val) in obj {
                if k.contains("leader") {
                    if let Some(a) = val.as_array() {
                        v.leader_change_times = a.iter().filter_map(event_time).collect();
                    }
                }
            }
        }
    }
    if let Some(n) = v.leader_changes {
        v.summary.push(("leader changes".into(), format!("{n}")));
    }
    if let Some(ts) = e.get("timeseries").and_then(Value::as_array) {
        for s in ts {
            if let Some(t) = num(s, "t_s") {
                // The probe writes 0 for a second without replies: that is "no figure", not 0 ns.
                let pos = |k: &str| num(s, k).filter(|v| *v > 0.0);
                v.timeseries.push((t, pos("p50_ns"), pos("p99_ns")));
            }
        }
    }
    if let Some(ms) = e.get("members").and_then(Value::as_array) {
        for (i, m) in ms.iter().enumerate() {
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("member {}", i + 1));
            let metrics = MEMBER_METRICS
                .iter()
                .filter_map(|k| {
                    let x = m.get(*k)?;
                    Some((*k, num(x, "p50_ns"), num(x, "p99_ns")))
                })
                .collect();
            v.members.push(MemberView { name, metrics });
        }
    }
    Some(v)
}

/// Time of a leader-change event: a number of seconds, or an object with a seconds field.
fn event_time(ev: &Value) -> Option<f64> {
    if let Some(x) = ev.as_f64() {
        return Some(x);
    }
    ["t_s", "at_s", "time_s", "t"]
        .iter()
        .find_map(|k| num(ev, k))
}

/// The fingerprint as sorted `a.b[0].c = value` rows.
pub fn flatten(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    flatten_into(v, String::new(), &mut out);
    out
}

fn flatten_into(v: &Value, prefix: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(x, p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten_into(x, format!("{prefix}[{i}]"), out);
            }
        }
        Value::String(s) => out.push((prefix, s.clone())),
        Value::Null => out.push((prefix, "—".into())),
        other => out.push((prefix, other.to_string())),
    }
}

/// True when smaller observed values are better for this check.
pub fn lower_is_better(c: &CheckResult) -> bool {
    c.comparison.upper()
}

/// Headroom against the limit as a fraction: positive = room to spare, negative = over the limit.
pub fn headroom(c: &CheckResult) -> Option<f64> {
    c.comparison.headroom(c.observed?, c.limit)
}

/// A merged histogram for a metric path of the form
/// `workloads[NAME].latency_ns.KIND.percentiles.P`, with q = P/100.
pub fn metric_histogram(doc: &ResultsDocument, metric: &str) -> Option<(Histogram<u64>, f64)> {
    let path = crate::results::path::MetricPath::parse(metric).ok()?;
    let (name, kind, p) = path.workload_percentile()?;
    let mut acc: Option<Histogram<u64>> = None;
    for w in doc.workloads.iter().filter(|w| w.spec.name == name) {
        let s = match kind {
            "sync" => &w.latency_ns.sync,
            "write" => &w.latency_ns.write,
            "read" => &w.latency_ns.read,
            _ => return None,
        };
        let h = s.as_ref()?.decode_histogram().ok()?;
        match &mut acc {
            Some(a) => a.add(&h).ok()?,
            None => acc = Some(h),
        }
    }
    acc.map(|h| (h, p / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_names_nested_keys() {
        let v: Value = serde_json::json!({"disk": {"model": "X", "rot": false}, "cpus": [1, 2]});
        let rows = flatten(&v);
        assert!(rows.contains(&("disk.model".into(), "X".into())));
        assert!(rows.contains(&("cpus[1]".into(), "2".into())));
    }

    #[test]
    fn bins_count_every_sample() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for i in 1..=1000u64 {
            h.record(i * 1000).unwrap();
        }
        let bins = histogram_bins(&h, 20);
        assert_eq!(bins.iter().map(|b| b.2).sum::<u64>(), 1000);
        let curve = percentile_curve(&h);
        assert!(curve.first().is_some_and(|p| (p.0 - 2.0).abs() < 1e-9));
        // 1000 samples support p99 but not p99.9.
        assert!(curve.last().is_some_and(|p| p.0 <= 100.0 + 1e-6));
    }
}
