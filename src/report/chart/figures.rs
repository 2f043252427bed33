//! Which charts a page carries, built from loaded results: for one node its percentile curves,
//! histograms and etcd charts; for a comparison the shared checks as shares of their limits (drawn
//! by `share.rs`, log axis) and overlaid percentile curves, one colour per node on the same axes;
//! for a trend one line per metric. Promises: limits come from the checks in the results (never
//! made up here), a chart is only made when it has data, and ids are unique within a page.

use super::spec::{
    slug, BarChart, Body, Chart, HistChart, LineChart, RefLine, Series, ShareChart, XAxis, YUnit,
};
use crate::report::load::Loaded;
use crate::report::view::compare::{self, SideBySide};
use crate::report::view::node as model;
use crate::report::view::trend::MetricTrend;
use crate::results::CheckResult;

/// The charts of a report: the side-by-side charts (empty for one result), then each result's own
/// charts in argument order. Results sharing a node name are labelled "vm #1", "vm #2", … (as in the
/// comparison tables) and so are their chart ids ("vm-2-wal-percentiles"); any id that would still
/// repeat gets a "-2", "-3", … suffix, so ids (HTML anchors, PNG file names) never collide.
pub fn chart_sets(results: &[Loaded]) -> (Vec<Chart>, Vec<Vec<Chart>>) {
    let labels = compare::column_labels(results);
    let mut side = if results.len() > 1 {
        comparison_charts(results, &compare::compare(results))
    } else {
        Vec::new()
    };
    let mut per_node: Vec<Vec<Chart>> = results
        .iter()
        .zip(&labels)
        .map(|(l, label)| node_charts(l, label))
        .collect();
    super::unique_ids(side.iter_mut().chain(per_node.iter_mut().flatten()));
    (side, per_node)
}

/// One chart per trend, in trend order; ids are unique.
pub fn trend_charts(trends: &[MetricTrend]) -> Vec<Chart> {
    let mut charts: Vec<Chart> = trends.iter().map(trend_chart).collect();
    super::unique_ids(charts.iter_mut());
    charts
}

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
                id: slug(&format!("{node}-{}-percentiles", w.key)),
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
                id: slug(&format!("{node}-{}-histogram", w.key)),
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
    out.extend(etcd_over_time(node, e));
    out.extend(etcd_percentiles(node, e));
    out.extend(etcd_members(l, node, e));
}

/// The probe's p50 and p99 per second, leader changes as vertical lines.
fn etcd_over_time(node: &str, e: &model::EtcdView) -> Option<Chart> {
    if e.timeseries.is_empty() {
        return None;
    }
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
    Some(Chart {
        id: slug(&format!("{node}-etcd-latency-over-time")),
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
    })
}

/// The probe's latency by percentile, from its merged histogram.
fn etcd_percentiles(node: &str, e: &model::EtcdView) -> Option<Chart> {
    let h = e.latency.as_ref()?;
    let pts = model::percentile_curve(h);
    if pts.is_empty() {
        return None;
    }
    Some(Chart {
        id: slug(&format!("{node}-etcd-percentiles")),
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
    })
}

/// Each member's p99 of WAL fsync, backend commit and peer RTT, with a profile limit where a
/// check names the metric.
fn etcd_members(l: &Loaded, node: &str, e: &model::EtcdView) -> Option<Chart> {
    if e.members.is_empty() {
        return None;
    }
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
    Some(Chart {
        id: slug(&format!("{node}-etcd-members")),
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
    })
}

/// Charts comparing several nodes.
pub fn comparison_charts(results: &[Loaded], cmp: &SideBySide) -> Vec<Chart> {
    let mut out = Vec::new();
    if let Some(chart) = share_chart(cmp) {
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
            id: slug(&format!("compare-{key}-percentiles")),
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

/// The share of the limit a value is at, when there is one: observed ÷ limit for a maximum,
/// limit ÷ observed for a minimum; None for `==`, a non-positive limit or observed value.
fn share(comparison: crate::results::Comparison, observed: f64, limit: f64) -> Option<f64> {
    if !(observed.is_finite() && limit.is_finite()) || observed <= 0.0 || limit <= 0.0 {
        return None;
    }
    if comparison.upper() {
        Some(observed / limit)
    } else if comparison.lower() {
        Some(limit / observed)
    } else {
        None
    }
}

/// The share-of-limit chart of a comparison's shared checks, and the checks left out with why
/// (for the caption). None when no check has a share to draw.
fn share_body(cmp: &SideBySide) -> Option<(ShareChart, Vec<String>)> {
    let mut chart = ShareChart {
        groups: Vec::new(),
        series_names: cmp.nodes.clone(),
        shares: Vec::new(),
        labels: Vec::new(),
    };
    let mut left_out = Vec::new();
    for r in &cmp.rows {
        let Some(limit) = r.limit else {
            left_out.push(format!("{} (limits differ between nodes)", r.id));
            continue;
        };
        if !(r.comparison.upper() || r.comparison.lower()) || limit <= 0.0 {
            left_out.push(format!(
                "{} ({} {}: no share of a limit)",
                r.id,
                r.comparison,
                crate::util::units::format_value(limit, &r.unit)
            ));
            continue;
        }
        let obs: Vec<Option<f64>> = r
            .cells
            .iter()
            .map(|c| c.as_ref().and_then(|c| c.observed))
            .collect();
        chart.groups.push(r.id.clone());
        chart.shares.push(
            obs.iter()
                .map(|o| o.and_then(|o| share(r.comparison, o, limit)))
                .collect(),
        );
        chart.labels.push(
            obs.iter()
                .map(|o| {
                    o.map(|o| crate::util::units::format_value(o, &r.unit))
                        .unwrap_or_default()
                })
                .collect(),
        );
    }
    if chart.shares.iter().flatten().all(Option::is_none) {
        return None;
    }
    Some((chart, left_out))
}

/// The comparison's checks chart (id `compare-checks`), with its caption naming what is left out.
fn share_chart(cmp: &SideBySide) -> Option<Chart> {
    let (body, left_out) = share_body(cmp)?;
    let mut caption = "Each node's observed value for the checks the compared results share, as a share of the check's limit on a log axis: 1 (dashed) is at the limit, right of it beyond. For a minimum (a rate, a count of CPUs) the share is limit ÷ observed, so right is worse there too. The figure printed at each bar is the observed value, as in the table.".to_string();
    if !left_out.is_empty() {
        caption.push_str(&format!(
            " Not drawn (see the table): {}.",
            left_out.join(", ")
        ));
    }
    Some(Chart {
        id: "compare-checks".into(),
        title: "Checks as a share of their limit, one bar per node".into(),
        caption,
        body: Body::Share(body),
    })
}

/// Short run label from an RFC 3339 time: "11-26 02:00".
fn short_time(t: &str) -> String {
    match (t.get(5..10), t.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h}"),
        _ => t.to_string(),
    }
}

/// The chart of one trend.
fn trend_chart(t: &MetricTrend) -> Chart {
    let labels: Vec<String> = t.points.iter().map(|(s, _)| short_time(s)).collect();
    Chart {
        id: slug(&format!("trend-{}-{}", t.node, t.metric)),
        title: format!("{} · {} over time", t.node, t.metric),
        caption: "One point per run: the check's observed value (median over rounds) or the merged percentile; dashed: the limit in the latest run's profile.".into(),
        body: Body::Lines(LineChart {
            x: XAxis::Index(labels),
            y_unit: if t.unit == "ns" {
                YUnit::Ns
            } else {
                YUnit::Other(t.unit.clone())
            },
            y_label: match crate::report::view::trend::parse_path(&t.metric) {
                Some((_, kind, p)) => format!("{kind} p{}", crate::util::units::percentile_key(p)),
                None => t.metric.clone(),
            },
            series: vec![Series {
                name: t.node.clone(),
                points: t
                    .points
                    .iter()
                    .enumerate()
                    .map(|(i, (_, v))| (i as f64, *v))
                    .collect(),
            }],
            hlines: t
                .limit
                .iter()
                .map(|(label, v)| RefLine {
                    label: label.clone(),
                    value: *v,
                })
                .collect(),
            vlines: vec![],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Comparison::{Eq, Ge, Gt, Le};

    #[test]
    fn shares_point_beyond_the_limit_for_both_directions() {
        assert_eq!(share(Le, 20.0, 10.0), Some(2.0));
        assert_eq!(share(Ge, 5.0, 50.0), Some(10.0));
        assert_eq!(share(Gt, 500.0, 50.0), Some(0.1));
        assert_eq!(share(Eq, 0.0, 0.0), None);
        assert_eq!(share(Le, 0.0, 5.0), None);
        assert_eq!(share(Le, 1.0, 0.0), None);
    }
}
