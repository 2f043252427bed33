//! Latency recording: an HDR histogram plus exact running moments, and the summary that goes into
//! results JSON. The statistics here know nothing of disks or etcd.

pub mod interval;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Highest latency the histogram tracks: one hour in nanoseconds. Larger values are clamped and
/// counted in `LatencySummary::clamped`.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// Significant digits kept by every latency histogram. 3 digits means any recorded value is
/// reported within 0.1 % of what was measured (e.g. 10 ms ± 10 µs), which is well below the run-to-run
/// noise of any disk or network.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// fio's default percentile list.
pub const FIO_DEFAULT_PERCENTILES: [f64; 17] = [
    1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95,
    99.99,
];

/// The latencies of one interval kept compactly: the non-empty buckets of its histogram as
/// (highest equivalent value, count). A per-second series then costs a few bytes per distinct
/// latency instead of a whole histogram (≈ 270 kB of counts each, touched when merged), so a
/// 30-minute run stays flat in memory. Percentiles are read back through a histogram of the same
/// shape, so they equal the full histogram's exactly.
#[derive(Clone, Debug, Default)]
pub struct SparseLatencies {
    buckets: Vec<(u64, u64)>,
}

impl SparseLatencies {
    /// The recorded buckets of `r`.
    pub fn of(r: &Recorder) -> Self {
        SparseLatencies {
            buckets: r
                .hist
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    /// Add another interval's latencies (the same second of another job).
    pub fn merge(&mut self, other: &SparseLatencies) {
        self.buckets.extend_from_slice(&other.buckets);
    }

    /// Values at percentiles (0–100], as [`Recorder::percentile`] would give them; 0 when empty.
    pub fn percentiles(&self, ps: &[f64]) -> Vec<u64> {
        if self.buckets.is_empty() {
            return vec![0; ps.len()];
        }
        let mut r = Recorder::new();
        for (v, n) in &self.buckets {
            // Cannot fail: v came out of a histogram of the same bounds.
            let _ = r.hist.record_n(*v, *n);
        }
        ps.iter().map(|p| r.percentile(*p)).collect()
    }
}

/// Latency recorder: the HDR histogram answers percentiles (within 0.1 %), the running moments
/// give an exact min, max, mean and standard deviation as fio reports them.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// Values in nanoseconds, 1 ns to 1 h, 3 significant digits (relative error ≤ 0.1 %).
    hist: Histogram<u64>,
    count: u64,
    min: u64,
    max: u64,
    mean: f64,
    m2: f64,
    clamped: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            hist: Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
                .expect("static histogram bounds are valid"),
            count: 0,
            min: u64::MAX,
            max: 0,
            mean: 0.0,
            m2: 0.0,
            clamped: 0,
        }
    }

    /// Record one latency in nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = if ns > MAX_TRACKABLE_NS {
            self.clamped += 1;
            MAX_TRACKABLE_NS
        } else {
            ns.max(1)
        };
        // Cannot fail: v is within the histogram's bounds.
        let _ = self.hist.record(v);
        self.count += 1;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
        // Welford's update keeps the variance exact without storing samples.
        let x = ns as f64;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value recorded, exact (0 when none).
    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Value at a percentile (0–100], from the histogram.
    pub fn percentile(&self, p: f64) -> u64 {
        self.hist.value_at_quantile(p / 100.0)
    }

    pub fn reset(&mut self) {
        *self = Recorder::new();
    }

    /// Merge another recorder into this one (Chan et al.'s parallel variance formula).
    pub fn merge(&mut self, other: &Recorder) {
        if other.count == 0 {
            return;
        }
        let _ = self.hist.add(&other.hist);
        let n1 = self.count as f64;
        let n2 = other.count as f64;
        let delta = other.mean - self.mean;
        let n = n1 + n2;
        self.mean += delta * n2 / n;
        self.m2 += other.m2 + delta * delta * n1 * n2 / n;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.clamped += other.clamped;
    }

    /// The recorder a summary was made from (its histogram decoded, its moments restored), so
    /// summaries written by separate runs can be merged exactly.
    pub fn from_summary(s: &LatencySummary) -> Result<Recorder, String> {
        let mut r = Recorder::new();
        r.hist
            .add(&s.decode_histogram()?)
            .map_err(|e| format!("{e:?}"))?;
        r.count = s.count;
        r.min = s.min;
        r.max = s.max;
        r.mean = s.mean;
        r.m2 = s.stddev * s.stddev * s.count.saturating_sub(1) as f64;
        r.clamped = s.clamped;
        Ok(r)
    }

    /// Recorded values above `ns` (within the histogram's 0.1 %).
    pub fn count_above(&self, ns: u64) -> u64 {
        if self.max <= ns {
            return 0;
        }
        self.hist
            .count_between(ns.saturating_add(1), MAX_TRACKABLE_NS)
    }

    /// Summary for results JSON; `None` when nothing was recorded.
    pub fn summary(&self, percentiles: &[f64]) -> Option<LatencySummary> {
        if self.count == 0 {
            return None;
        }
        let stddev = if self.count > 1 {
            (self.m2 / (self.count - 1) as f64).sqrt()
        } else {
            0.0
        };
        let mut pct = BTreeMap::new();
        let mut insufficient = Vec::new();
        for &p in percentiles {
            let key = crate::util::units::percentile_key(p);
            // HDR answers with the highest value equivalent to the bucket; never report more than
            // the exact maximum (or less than the exact minimum) that was actually seen.
            let v = self.percentile(p).clamp(self.min.min(self.max), self.max);
            pct.insert(key.clone(), v);
            if !percentile_supported(self.count, p) {
                insufficient.push(key);
            }
        }
        Some(LatencySummary {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.mean,
            stddev,
            percentiles: pct,
            insufficient_samples: insufficient,
            clamped: self.clamped,
            histogram: encode_histogram(&self.hist),
        })
    }
}

/// A percentile is supported by a run when at least ten samples lie beyond it: p99 needs 1 000
/// samples, p99.9 needs 10 000. Below that the figure is essentially the maximum of a few values.
pub fn percentile_supported(count: u64, p: f64) -> bool {
    if p >= 100.0 {
        return true;
    }
    // Round away float noise first: 10 / (1 - 0.999) is 10000.000000000009, not 10001.
    let needed = ((10.0 / (1.0 - p / 100.0)) * 1e6).round() / 1e6;
    count as f64 >= needed.ceil()
}

/// Latency figures for one kind of operation. All values are nanoseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    /// Number of operations measured (after ramp time).
    pub count: u64,
    /// Fastest operation, exact.
    pub min: u64,
    /// Slowest operation, exact.
    pub max: u64,
    /// Arithmetic mean, exact.
    pub mean: f64,
    /// Sample standard deviation, exact.
    pub stddev: f64,
    /// Percentile → latency, from the HDR histogram (3 significant digits, ≤ 0.1 % error). Keys as
    /// fio's list: "50", "99", "99.9".
    pub percentiles: BTreeMap<String, u64>,
    /// Percentiles the run is too short to support (fewer than 10 samples beyond them: p99 needs
    /// 1 000 samples, p99.9 needs 10 000). Such figures are shown but must not decide a verdict.
    #[serde(default)]
    pub insufficient_samples: Vec<String>,
    /// Values above the histogram's range (1 h), recorded as 1 h.
    #[serde(default)]
    pub clamped: u64,
    /// The full histogram, HDR V2 + DEFLATE encoding ("HISTFAAA…"), base64: merge runs exactly with it.
    pub histogram: String,
}

impl LatencySummary {
    /// A percentile by number, if it was requested for this run.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        self.percentiles
            .get(&crate::util::units::percentile_key(p))
            .copied()
    }

    /// Decode the embedded histogram.
    pub fn decode_histogram(&self) -> Result<Histogram<u64>, String> {
        decode_histogram(&self.histogram)
    }
}

/// Base64 of the HDR V2-deflate encoding of a histogram.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut buf) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(&buf),
        Err(_) => String::new(),
    }
}

/// Inverse of [`encode_histogram`].
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("histogram is not valid base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("histogram is not a valid HDR V2 encoding: {e:?}"))
}

/// Median of a list (mean of the middle two for even lengths); NaN when empty.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_latencies_give_the_full_histograms_percentiles() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        let mut both = Recorder::new();
        for i in 0..5000u64 {
            let v = 1000 + (i * 7919) % 3_000_000;
            if i % 3 == 0 {
                a.record(v);
            } else {
                b.record(v * 3);
            }
        }
        both.merge(&a);
        both.merge(&b);
        let mut s = SparseLatencies::of(&a);
        s.merge(&SparseLatencies::of(&b));
        assert_eq!(s.count(), both.count());
        let ps = [1.0, 50.0, 90.0, 99.0, 99.9, 100.0];
        let want: Vec<u64> = ps.iter().map(|p| both.percentile(*p)).collect();
        assert_eq!(s.percentiles(&ps), want);
        assert_eq!(SparseLatencies::default().percentiles(&[50.0]), vec![0]);
    }

    #[test]
    fn moments_are_exact_and_merge() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        let mut all = Recorder::new();
        for i in 1..=1000u64 {
            let v = i * 1000;
            if i % 3 == 0 {
                a.record(v)
            } else {
                b.record(v)
            }
            all.record(v);
        }
        a.merge(&b);
        let s = a.summary(&[50.0, 99.0]).unwrap();
        let t = all.summary(&[50.0, 99.0]).unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.min, 1000);
        assert_eq!(s.max, 1_000_000);
        assert!((s.mean - 500_500.0).abs() < 1e-6);
        assert!((s.stddev - t.stddev).abs() < 1e-3);
        assert_eq!(s.percentiles, t.percentiles);
        let p50 = s.percentiles["50"];
        assert!((499_000..=501_000).contains(&p50), "p50 {p50}");
    }

    #[test]
    fn histogram_round_trips() {
        let mut r = Recorder::new();
        for v in [1500u64, 2_000_000, 7_000_000_000] {
            r.record(v);
        }
        let s = r.summary(&[50.0]).unwrap();
        let h = s.decode_histogram().unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.max(), r.histogram().max());
    }

    #[test]
    fn sample_support() {
        assert!(!percentile_supported(999, 99.0));
        assert!(percentile_supported(1000, 99.0));
        assert!(!percentile_supported(9999, 99.9));
        assert!(percentile_supported(10_000, 99.9));
        assert!(percentile_supported(20, 50.0));
        let mut r = Recorder::new();
        for v in 0..500 {
            r.record(v + 1);
        }
        let s = r.summary(&[50.0, 99.0]).unwrap();
        assert_eq!(s.insufficient_samples, vec!["99".to_string()]);
    }

    #[test]
    fn a_recorder_comes_back_whole_from_its_summary() {
        let mut r = Recorder::new();
        for ns in [1_000, 2_000, 150_000_000, 1_500_000_000] {
            r.record(ns);
        }
        let back = Recorder::from_summary(&r.summary(&[50.0, 99.0]).unwrap()).unwrap();
        assert_eq!((back.count(), back.max()), (4, 1_500_000_000));
        assert_eq!(back.percentile(99.0), r.percentile(99.0));
        assert_eq!(
            (
                back.count_above(100_000_000),
                back.count_above(1_000_000_000)
            ),
            (2, 1)
        );
        assert_eq!(back.count_above(2_000_000_000), 0);
    }
}
