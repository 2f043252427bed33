//! Metric paths: how a profile's check names one figure in the results document, and the lookup
//! of that figure in the document's JSON form (so scoring reads results JSON and nothing else).
//!
//! Syntax: dot-separated field names, each optionally followed by a selector in brackets.
//! - `workloads[wal].latency_ns.sync.percentiles.99` — `[ID]` on `workloads` selects every workload
//!   whose `spec.name` is the profile's workload id (one value per round).
//! - `etcd.members[*].wal_fsync.p99_ns` — `[*]` selects every element; the check then takes the
//!   worst of them (max for `<=`/`<`, min for `>=`/`>`, farthest from the limit for `==`).
//! - `[N]` selects one array element by index.
//! - after `percentiles.`, the rest of the path is the percentile key (`99`, `99.9`), dots included.

use serde_json::Value;

/// One step of a metric path.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Field name.
    pub name: String,
    /// Optional selector applied to the field's array.
    pub selector: Option<Selector>,
}

/// What a bracket selects in an array.
#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    /// `[*]`: every element.
    All,
    /// `[N]`: one element.
    Index(usize),
    /// `[id]`: workloads whose `spec.name` equals the id.
    Id(String),
}

/// A parsed metric path.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPath {
    /// The path as written.
    pub text: String,
    /// Its steps.
    pub segments: Vec<Segment>,
}

/// A metric value found in a document, with what is known about its sample support.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The number.
    pub value: f64,
    /// Set when the value is a percentile with too few samples behind it.
    pub insufficient: Option<Insufficient>,
    /// For a percentile: its histogram's sample count and encoded HDR histogram, so rounds can be
    /// pooled exactly.
    pub histogram: Option<(u64, String)>,
    /// For a percentile: the exact smallest and largest sample of its histogram, which bound any
    /// interval read from the histogram's buckets.
    pub min_max: Option<(u64, u64)>,
    /// For a rate (`iops`, `achieved_rate`): its per-second series as (events, seconds) per
    /// interval, from the `timeseries` beside it.
    pub series: Option<Vec<(f64, f64)>>,
}

/// Fields that are rates over a run with a per-second `timeseries` beside them.
const RATE_FIELDS: [&str; 2] = ["iops", "achieved_rate"];

/// (ops, seconds) per interval of the `timeseries` array of `node` (intervals end at `t_s`; none
/// past the node's `runtime_ns`, so a last second the run only began counts as the part it had).
fn rate_series(node: &Value) -> Option<Vec<(f64, f64)>> {
    let end = node
        .get("runtime_ns")
        .and_then(Value::as_f64)
        .map_or(f64::INFINITY, |ns| ns / 1e9);
    let mut prev = 0.0;
    let mut out = Vec::new();
    for s in node.get("timeseries")?.as_array()? {
        let t = s.get("t_s")?.as_f64()?.min(end);
        out.push((s.get("ops")?.as_f64()?, (t - prev).max(0.0)));
        prev = t;
    }
    Some(out)
}

/// A percentile with too few samples behind it, and the highest well-supported lower percentile of
/// the same histogram (a percentile can only be at least that large).
#[derive(Clone, Debug, PartialEq)]
pub struct Insufficient {
    /// Samples in the histogram.
    pub count: u64,
    /// Percentile key asked for.
    pub key: String,
    /// Highest lower percentile that has enough samples, and its value.
    pub supported_lower: Option<(String, f64)>,
}

/// How the values a path selects are grouped.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// The path did not resolve to a number (missing section, field, or non-numeric value).
    Missing(String),
    /// One value per selected element: rounds of a workload, or members of a cluster.
    Values(Vec<Found>),
}

impl MetricPath {
    /// Parse a path; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<MetricPath, String> {
        let mut segments = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err("empty metric path".into());
        }
        while !rest.is_empty() {
            if segments
                .last()
                .is_some_and(|s: &Segment| s.name == "percentiles")
            {
                // The percentile key may contain dots: take the rest.
                rest.parse::<f64>()
                    .map_err(|_| format!("'{rest}' is not a percentile key (e.g. 99, 99.9)"))?;
                segments.push(Segment {
                    name: rest.to_string(),
                    selector: None,
                });
                break;
            }
            let end = rest.find('.').unwrap_or(rest.len());
            let part = &rest[..end];
            rest = if end < rest.len() {
                let r = &rest[end + 1..];
                if r.is_empty() {
                    return Err(format!("metric path '{text}' ends with '.'"));
                }
                r
            } else {
                ""
            };
            let (name, selector) = match part.find('[') {
                Some(open) => {
                    if !part.ends_with(']') {
                        return Err(format!("unclosed '[' in '{part}'"));
                    }
                    let inner = &part[open + 1..part.len() - 1];
                    let sel = if inner == "*" {
                        Selector::All
                    } else if let Ok(i) = inner.parse::<usize>() {
                        Selector::Index(i)
                    } else if !inner.is_empty()
                        && inner
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        Selector::Id(inner.to_string())
                    } else {
                        return Err(format!("bad selector '[{inner}]' in '{part}'"));
                    };
                    (&part[..open], Some(sel))
                }
                None => (part, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad field name '{name}' in metric path '{text}'"));
            }
            segments.push(Segment {
                name: name.to_string(),
                selector,
            });
        }
        Ok(MetricPath {
            text: text.trim().to_string(),
            segments,
        })
    }

    /// For `workloads[ID].latency_ns.KIND.percentiles.P`: (ID, KIND, P). Trends and reports follow
    /// these paths through the workloads' histograms.
    pub fn workload_percentile(&self) -> Option<(&str, &str, f64)> {
        match self.segments.as_slice() {
            [Segment {
                name: w,
                selector: Some(Selector::Id(id)),
            }, lat, kind, pct, key]
                if w == "workloads"
                    && lat.name == "latency_ns"
                    && lat.selector.is_none()
                    && kind.selector.is_none()
                    && pct.name == "percentiles"
                    && pct.selector.is_none() =>
            {
                Some((id, &kind.name, key.name.parse().ok()?))
            }
            _ => None,
        }
    }

    /// The key after a final `percentiles.` step (`99`, `99.9`), when the path ends in one.
    pub fn percentile_key(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [.., pct, key] if pct.name == "percentiles" && pct.selector.is_none() => {
                Some(&key.name)
            }
            _ => None,
        }
    }

    /// First field name (`workloads`, `etcd`, `fingerprint`).
    pub fn root(&self) -> &str {
        &self.segments[0].name
    }

    /// Look the path up in a results document's JSON.
    pub fn lookup(&self, doc: &Value) -> Lookup {
        // Each cursor: (current node, parent node) — the parent lets a percentile find its
        // histogram's sample count.
        let mut cursors: Vec<(&Value, Option<&Value>, Option<&Value>)> = vec![(doc, None, None)];
        for seg in &self.segments {
            let mut next = Vec::new();
            for (node, parent, _) in cursors {
                let Some(child) = node.get(&seg.name) else {
                    continue;
                };
                match &seg.selector {
                    None => next.push((child, Some(node), parent)),
                    Some(sel) => {
                        let Some(items) = child.as_array() else {
                            continue;
                        };
                        match sel {
                            Selector::All => {
                                next.extend(items.iter().map(|i| (i, Some(child), Some(node))))
                            }
                            Selector::Index(i) => {
                                if let Some(v) = items.get(*i) {
                                    next.push((v, Some(child), Some(node)));
                                }
                            }
                            Selector::Id(id) => next.extend(
                                items
                                    .iter()
                                    .filter(|w| {
                                        w.pointer("/spec/name").and_then(Value::as_str)
                                            == Some(id.as_str())
                                    })
                                    .map(|i| (i, Some(child), Some(node))),
                            ),
                        }
                    }
                }
            }
            if next.is_empty() {
                return Lookup::Missing(format!(
                    "'{}' not found in the results (no '{}')",
                    self.text, seg.name
                ));
            }
            cursors = next;
        }
        let in_percentiles = self.segments.len() >= 2
            && self.segments[self.segments.len() - 2].name == "percentiles";
        let any_all = self
            .segments
            .iter()
            .any(|s| s.selector == Some(Selector::All));
        let mut out = Vec::new();
        let last = &self.segments[self.segments.len() - 1].name;
        let is_rate = RATE_FIELDS.contains(&last.as_str());
        for (node, parent, grandparent) in cursors {
            let Some(value) = node.as_f64() else {
                if node.is_null() && any_all {
                    // A member without this figure (e.g. no metrics scraped): judge the others.
                    continue;
                }
                return Lookup::Missing(format!("'{}' is not a number ({node})", self.text));
            };
            let min_max = grandparent.filter(|_| in_percentiles).and_then(|summary| {
                Some((summary.get("min")?.as_u64()?, summary.get("max")?.as_u64()?))
            });
            let series = parent.filter(|_| is_rate).and_then(rate_series);
            let (insufficient, histogram) = if in_percentiles {
                let key = &self.segments[self.segments.len() - 1].name;
                let hist = grandparent.and_then(|summary| {
                    Some((
                        summary.get("count")?.as_u64()?,
                        summary.get("histogram")?.as_str()?.to_string(),
                    ))
                });
                (
                    grandparent.and_then(|summary| insufficiency(summary, key)),
                    hist,
                )
            } else {
                (None, None)
            };
            out.push(Found {
                value,
                insufficient,
                histogram,
                min_max,
                series,
            });
        }
        if out.is_empty() {
            return Lookup::Missing(format!("'{}' has no value in any element", self.text));
        }
        Lookup::Values(out)
    }
}

/// When `summary` (a LatencySummary's JSON) flags percentile `key` as under-sampled, say so and find
/// the highest lower percentile that is not flagged.
fn insufficiency(summary: &Value, key: &str) -> Option<Insufficient> {
    let flagged: Vec<&str> = summary
        .get("insufficient_samples")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !flagged.contains(&key) {
        return None;
    }
    let asked: f64 = key.parse().ok()?;
    let count = summary.get("count").and_then(Value::as_u64).unwrap_or(0);
    let mut best: Option<(f64, String, f64)> = None;
    if let Some(map) = summary.get("percentiles").and_then(Value::as_object) {
        for (k, v) in map {
            let (Ok(p), Some(val)) = (k.parse::<f64>(), v.as_f64()) else {
                continue;
            };
            if p < asked && !flagged.contains(&k.as_str()) && best.as_ref().is_none_or(|b| p > b.0)
            {
                best = Some((p, k.clone(), val));
            }
        }
    }
    Some(Insufficient {
        count,
        key: key.to_string(),
        supported_lower: best.map(|(_, k, v)| (k, v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_selectors_and_percentile_keys() {
        let p = MetricPath::parse("workloads[wal].latency_ns.sync.percentiles.99.9").unwrap();
        assert_eq!(p.segments.len(), 5);
        assert_eq!(p.segments[0].selector, Some(Selector::Id("wal".into())));
        assert_eq!(p.segments[4].name, "99.9");
        let p = MetricPath::parse("etcd.members[*].wal_fsync.p99_ns").unwrap();
        assert_eq!(p.segments[1].selector, Some(Selector::All));
        for bad in [
            "",
            "a..b",
            "a.",
            "a[b",
            "a[b c]",
            "x.percentiles.high",
            "a-b.c",
        ] {
            assert!(MetricPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn looks_up_rounds_members_and_flags_undersampled_percentiles() {
        let doc = json!({
            "workloads": [
                {"spec": {"name": "wal"}, "iops": 100.0,
                 "latency_ns": {"sync": {"count": 500, "percentiles": {"50": 1000, "95": 2000, "99": 3000},
                                          "insufficient_samples": ["99"]}}},
                {"spec": {"name": "other"}, "iops": 7.0},
                {"spec": {"name": "wal"}, "iops": 120.0}
            ],
            "etcd": {"members": [{"wal_fsync": {"p99_ns": 5}}, {"wal_fsync": {"p99_ns": 9}}]}
        });
        let v = |p: &str| MetricPath::parse(p).unwrap().lookup(&doc);
        match v("workloads[wal].iops") {
            Lookup::Values(f) => assert_eq!(
                f.iter().map(|x| x.value).collect::<Vec<_>>(),
                vec![100.0, 120.0]
            ),
            other => panic!("{other:?}"),
        }
        match v("etcd.members[*].wal_fsync.p99_ns") {
            Lookup::Values(f) => assert_eq!(f.len(), 2),
            other => panic!("{other:?}"),
        }
        match v("workloads[wal].latency_ns.sync.percentiles.99") {
            Lookup::Values(f) => {
                let ins = f[0].insufficient.clone().unwrap();
                assert_eq!(ins.count, 500);
                assert_eq!(ins.supported_lower, Some(("95".into(), 2000.0)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(v("workloads[nope].iops"), Lookup::Missing(_)));
        assert!(matches!(v("etcd.members[*].rtt"), Lookup::Missing(_)));
        assert!(matches!(v("workloads[wal].spec"), Lookup::Missing(_)));
    }
}
