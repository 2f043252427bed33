//! Which charts a report carries, built from loaded results: for one node its percentile curves,
//! histograms and etcd charts; for a comparison the shared checks as shares of their limits
//! (`sharechart`, log axis) and overlaid percentile curves, one colour per node on the same axes.
//! Promises: limits come from the checks in the results (never made up here), and a chart is only
//! made when it has data.

use super::charts::{BarChart, Body, Chart, HistChart, LineChart, RefLine, Series, XAxis, YUnit};
use super::compare::Comparison;
use super::load::Loaded;
use super::model;
use crate::results::CheckResult;

/// Limits that apply to a workload and kind: ns checks whose metric names it.
fn workload_limits(checks: &[CheckResult], name: &str, kind: &str) -> Vec<RefLine> {
    let prefix = format!("workloads[{name}].latency_ns.{kind}.");
    checks
        .iter()
        .filter(|c| c.unit == "ns" && c.metric.starts_with(&prefix))
        .map(|c| RefLine {
            label: format!(
                "limit {} {}: {}",
                c.comparison,
                c.id,
                crate::util::units::format_ns(c.limit)
            ),
            value: c.limit,
        })
        .collect()
}

/// Charts for one node, titled and identified by `label` (the node name, or "vm #2" when several
/// results in one report share a node name, so ids stay unique).
pub fn node_charts(l: &Loaded, label: &str) -> Vec<Chart> {
    let node = label;
    let mut out = Vec::new();
    for w in model::workload_views(&l.doc) {
        let Some((kind, h)) = w.primary() else {
            continue;
        };
        let name = w.key.split(" @ ").next().unwrap_or(&w.key).to_string();
        let rounds = if w.rounds > 1 {
            format!(", {} rounds merged", w.rounds)
        } else {
            String::new()
        };
        let series: Vec<Series> = w
            .kinds
            .iter()
            .map(|(k, h)| Series {
                name: format!("{k} ({} ops)", h.len()),
                points: model::percentile_curve(h),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !series.is_empty() {
            out.push(Chart {
                id: super::charts::slug(&format!("{node}-{}-percentiles", w.key)),
                title: format!("{node} · {}: latency by percentile{rounds}", w.key),
                caption: "Latency at each percentile from the HDR histogram (3 significant digits, rounds merged exactly); a curve stops where fewer than 10 samples lie beyond the percentile. Dashed: the profile's limit for this figure.".into(),
                body: Body::Lines(LineChart {
                    x: XAxis::Percentile,
                    y_unit: YUnit::Ns,
                    y_label: "latency".into(),
                    series,
                    hlines: workload_limits(&l.doc.checks, &name, kind),
                    vlines: vec![],
                }),
            });
        }
        let bins = model::histogram_bins(h, 40);
        if !bins.is_empty() {
            out.push(Chart {
                id: super::charts::slug(&format!("{node}-{}-histogram", w.key)),
                title: format!(
                    "{node} · {}: {kind} latency histogram ({} ops)",
                    w.key,
                    h.len()
                ),
                caption: "Operations per log-spaced latency bin, between the fastest and the slowest operation (all rounds).".into(),
                body: Body::Hist(HistChart { bins }),
            });
        }
    }
    if let Some(e) = model::etcd_view(&l.raw) {
        etcd_charts(l, node, &e, &mut out);
    }
    out
}

/// The etcd probe's charts of one node: latency per second, by percentile, and per member.
fn etcd_charts(l: &Loaded, node: &str, e: &model::EtcdView, out: &mut Vec<Chart>) {
    if !e.timeseries.is_empty() {
        let p50 = e
            .timeseries
            .iter()
            .filter_map(|(t, p, _)| Some((*t, (*p)?)))
            .collect();
        let p99 = e
            .timeseries
            .iter()
            .filter_map(|(t, _, p)| Some((*t, (*p)?)))
            .collect();
        out.push(Chart {
            id: super::charts::slug(&format!("{node}-etcd-latency-over-time")),
            title: format!("{node} · etcd probe write latency per second"),
            caption: "Per second of the probe: median and 99th percentile write latency, timed from each request's due time (so a stall counts in full). Dashed vertical: leader changes.".into(),
            body: Body::Lines(LineChart {
                x: XAxis::Seconds,
                y_unit: YUnit::Ns,
                y_label: "write latency".into(),
                series: vec![
                    Series {
                        name: "p50".into(),
                        points: p50,
                    },
                    Series {
                        name: "p99".into(),
                        points: p99,
                    },
                ],
                hlines: vec![],
                vlines: e
                    .leader_change_times
                    .iter()
                    .map(|t| RefLine {
                        label: "leader change".into(),
                        value: *t,
                    })
                    .collect(),
            }),
        });
    }
    if let Some(h) = &e.latency {
        let pts = model::percentile_curve(h);
        if !pts.is_empty() {
            out.push(Chart {
                id: super::charts::slug(&format!("{node}-etcd-percentiles")),
                title: format!("{node} · etcd probe write latency by percentile"),
                caption: "Probe write latency at each percentile from its HDR histogram (3 significant digits), timed from each request's due time.".into(),
                body: Body::Lines(LineChart {
                    x: XAxis::Percentile,
                    y_unit: YUnit::Ns,
                    y_label: "write latency".into(),
                    series: vec![Series {
                        name: format!("probe ({} writes)", h.len()),
                        points: pts,
                    }],
                    hlines: vec![],
                    vlines: vec![],
                }),
            });
        }
    }
    if !e.members.is_empty() {
        let groups: Vec<String> = model::MEMBER_METRICS
            .iter()
            .map(|m| format!("{m} p99"))
            .collect();
        let values = model::MEMBER_METRICS
            .iter()
            .map(|m| {
                e.members
                    .iter()
                    .map(|mem| {
                        mem.metrics
                            .iter()
                            .find(|(k, _, _)| k == m)
                            .and_then(|(_, _, p99)| *p99)
                    })
                    .collect()
            })
            .collect();
        let limits = model::MEMBER_METRICS
            .iter()
            .map(|m| {
                l.doc
                    .checks
                    .iter()
                    .find(|c| c.unit == "ns" && c.metric.contains(m) && c.metric.contains("p99"))
                    .map(|c| c.limit)
            })
            .collect();
        out.push(Chart {
            id: super::charts::slug(&format!("{node}-etcd-members")),
            title: format!("{node} · etcd members: WAL fsync, backend commit, peer RTT (p99)"),
            caption: "p99 per member, estimated from the Prometheus histogram buckets on each member's /metrics (bucket bounds limit the precision). Dashed: a profile limit, where a check names the metric.".into(),
            body: Body::Bars(BarChart {
                groups,
                series_names: e.members.iter().map(|m| m.name.clone()).collect(),
                values,
                limits,
                y_unit: YUnit::Ns,
                y_label: "p99 latency".into(),
                x_label: "metric (estimated from each member's /metrics histogram buckets)"
                    .into(),
            }),
        });
    }
}

/// Charts comparing several nodes.
pub fn comparison_charts(results: &[Loaded], cmp: &Comparison) -> Vec<Chart> {
    let mut out = Vec::new();
    if let Some(chart) = super::sharechart::chart(cmp) {
        out.push(chart);
    }
    // Overlaid percentile curves per workload present in more than one result.
    let views: Vec<Vec<model::WorkloadView>> = results
        .iter()
        .map(|l| model::workload_views(&l.doc))
        .collect();
    let mut keys: Vec<String> = Vec::new();
    for v in views.iter().flatten() {
        if !keys.contains(&v.key) {
            keys.push(v.key.clone());
        }
    }
    for key in keys {
        let present: Vec<(usize, &model::WorkloadView)> = views
            .iter()
            .enumerate()
            .filter_map(|(i, vs)| vs.iter().find(|v| v.key == key).map(|v| (i, v)))
            .collect();
        if present.len() < 2 {
            continue;
        }
        let Some(kind) = present[0].1.primary().map(|(k, _)| *k) else {
            continue;
        };
        let series: Vec<Series> = present
            .iter()
            .filter_map(|(i, v)| {
                let (_, h) = v.kinds.iter().find(|(k, _)| *k == kind)?;
                Some(Series {
                    name: format!("{} ({} ops)", cmp.nodes[*i], h.len()),
                    points: model::percentile_curve(h),
                })
            })
            .collect();
        let name = key.split(" @ ").next().unwrap_or(&key).to_string();
        let mut hlines = workload_limits(&results[present[0].0].doc.checks, &name, kind);
        hlines.truncate(1);
        out.push(Chart {
            id: super::charts::slug(&format!("compare-{key}-percentiles")),
            title: format!("{key}: {kind} latency by percentile, one colour per node"),
            caption: "Latency at each percentile from the HDR histogram (3 significant digits, rounds merged exactly; one colour per node, same axes); a curve stops where fewer than 10 samples lie beyond the percentile. Dashed: the profile's limit for this figure.".into(),
            body: Body::Lines(LineChart {
                x: XAxis::Percentile,
                y_unit: YUnit::Ns,
                y_label: format!("{kind} latency"),
                series,
                hlines,
                vlines: vec![],
            }),
        });
    }
    out
}
