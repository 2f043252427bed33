//! Synthetic results from a real fixture run: the same document with every latency histogram,
//! percentile and check figure scaled by a factor (latencies × f, rates ÷ f). Trend histories and
//! far-apart comparisons are built from it, so their figures keep a real run's shape.
#![allow(dead_code)] // each test file uses its own part

use hdrhistogram::Histogram;
use serde_json::Value;
use std::path::Path;

/// A real `qualify` run (FIT).
pub const FIXTURE: &str = "tests/fixtures/results/node-a/result.json";

pub fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap()
}

/// Scale one LatencySummary (JSON) by `f`: histogram re-recorded, percentiles recomputed.
pub fn scale_summary(s: &mut Value, f: f64) {
    let h = nodefit::util::stats::decode_histogram(s["histogram"].as_str().unwrap()).unwrap();
    let mut out = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
    for v in h.iter_recorded() {
        let scaled = ((v.value_iterated_to() as f64) * f).max(1.0) as u64;
        out.record_n(scaled, v.count_at_value()).unwrap();
    }
    let keys: Vec<String> = s["percentiles"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for k in keys {
        let q: f64 = k.parse::<f64>().unwrap() / 100.0;
        s["percentiles"][&k] = Value::from(out.value_at_quantile(q));
    }
    s["histogram"] = Value::from(nodefit::util::stats::encode_histogram(&out));
    for k in ["min", "max"] {
        s[k] = Value::from((s[k].as_f64().unwrap() * f) as u64);
    }
    s["mean"] = Value::from(s["mean"].as_f64().unwrap() * f);
}

/// `base` made `f` times slower: workload latencies × f, check figures × f (latencies) or ÷ f
/// (rates). Verdicts are left as they were.
pub fn scaled(base: &Value, f: f64) -> Value {
    let mut d = base.clone();
    for w in d["workloads"].as_array_mut().unwrap() {
        for kind in ["sync", "write", "read"] {
            if w["latency_ns"][kind].is_object() {
                scale_summary(&mut w["latency_ns"][kind], f);
            }
        }
    }
    for c in d["checks"].as_array_mut().unwrap() {
        let g = if c["unit"] == "ns" { f } else { 1.0 / f };
        c["observed"] = Value::from(c["observed"].as_f64().unwrap() * g);
        for r in c["rounds"].as_array_mut().unwrap() {
            *r = Value::from(r.as_f64().unwrap() * g);
        }
    }
    d
}

/// Night `day` of a history: the fixture scaled by `f`, stamped 2026-11-`day` 02:00.
pub fn night(base: &Value, day: u32, f: f64) -> Value {
    let mut d = scaled(base, f);
    d["started_at"] = Value::from(format!("2026-11-{day:02}T02:00:00Z"));
    d["finished_at"] = Value::from(format!("2026-11-{day:02}T02:05:00Z"));
    d
}

/// `dir/node-a/2026-11-DD/result.json`, one night per factor.
pub fn history(dir: &Path, factors: &[f64]) {
    let base = fixture();
    for (i, f) in factors.iter().enumerate() {
        let day = i as u32 + 1;
        let p = dir.join(format!("node-a/2026-11-{day:02}"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("result.json"),
            serde_json::to_vec(&night(&base, day, *f)).unwrap(),
        )
        .unwrap();
    }
}
