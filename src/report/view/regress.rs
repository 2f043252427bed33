//! Regression detection over a history of one metric on one node: the latest run against a baseline
//! of the runs before it. Promises: a regression is called only when the change is both large (at
//! least the threshold, default 20 % worse: the latest run's figure against the median of the
//! baseline runs' figures) and unlikely to be noise by a stated test:
//!
//! * percentile metrics with HDR histograms: the distribution-free 95 % confidence interval of the
//!   percentile (binomial order statistics: ranks n·q ± 1.96·√(n·q·(1−q))) of the latest run lies
//!   entirely on the worse side of the interval of the baseline runs' merged histogram;
//! * otherwise, per-round values: one-sided Mann–Whitney U (normal approximation, tie-corrected),
//!   p < 0.05, latest rounds against all baseline rounds (needs ≥ 3 on each side);
//! * otherwise, one figure per run: robust z-score (latest − baseline median) / (1.4826 · MAD) ≥ 3,
//!   with the MAD's scale floored at the minimum material change (below), so a baseline with no
//!   spread (MAD = 0) never makes a change significant by itself.
//!
//! And the change must be material in absolute terms: |latest − baseline| at least `min_change`
//! (the caller's floor: 1 % of the check's limit when known, and at least a per-unit floor such as
//! 1 µs, 0.5 percentage points or 1 count); a smaller change is never a regression, however large
//! in percent.
//!
//! A history with fewer than [`MIN_BASELINE`] earlier runs is reported as too short, never judged.

use crate::util::stats::median;
use hdrhistogram::Histogram;

/// Fewest earlier runs a baseline needs.
pub const MIN_BASELINE: usize = 3;

/// One run's figure for a metric.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The figure the run reports (its check's observed value, or the merged percentile).
    pub value: f64,
    /// Per-round values when the workload was repeated.
    pub rounds: Vec<f64>,
    /// Merged histogram and the quantile (0–1) the metric reads, when the metric is a percentile.
    pub hist: Option<(Histogram<u64>, f64)>,
}

/// What the detector finds for one metric: too short a history, or a judgement.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// Not enough earlier runs to judge.
    TooShort {
        /// Earlier runs available.
        have: usize,
        /// Earlier runs needed.
        need: usize,
    },
    /// Judged: see the fields.
    Judged(Judgement),
}

/// The numbers behind a judgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// Latest figure.
    pub latest: f64,
    /// Baseline figure (merged-histogram percentile, or median of the baseline runs).
    pub baseline: f64,
    /// How much worse the latest is, percent (negative = better).
    pub worse_pct: f64,
    /// Runs in the baseline.
    pub baseline_runs: usize,
    /// The noise test used and its result, in words.
    pub test: String,
    /// True when the noise test says the change is real.
    pub significant: bool,
    /// Large and significant: a regression.
    pub regression: bool,
    /// The change is below the minimum material absolute change, so never a regression.
    pub immaterial: bool,
}

/// Value at a 1-based rank of a histogram.
fn value_at_rank(h: &Histogram<u64>, rank: f64) -> f64 {
    let n = h.len().max(1) as f64;
    let q = (rank / n).clamp(0.0, 1.0);
    h.value_at_quantile(q) as f64
}

/// Distribution-free 95 % confidence interval of quantile q from a histogram: (low, high).
pub fn quantile_ci(h: &Histogram<u64>, q: f64) -> (f64, f64) {
    let n = h.len() as f64;
    let half = 1.96 * (n * q * (1.0 - q)).sqrt();
    let lo = (n * q - half).floor().max(1.0);
    let hi = (n * q + half).ceil().min(n);
    (value_at_rank(h, lo), value_at_rank(h, hi))
}

/// Standard normal upper tail, P(Z > z) (Abramowitz–Stegun 7.1.26 via erfc, |error| < 1.5e-7).
fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if x >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

/// One-sided Mann–Whitney U: p-value that `a` tends to be larger than `b` (normal approximation
/// with tie correction and continuity correction).
pub fn mann_whitney_greater(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|v| (*v, true))
        .chain(b.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        for item in &all[i..=j] {
            if item.1 {
                rank_sum_a += avg;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return if u > mean { 0.0 } else { 1.0 };
    }
    normal_sf((u - mean - 0.5) / var.sqrt())
}

/// The percentile test, when the latest run and every baseline run carry a histogram: are the 95 %
/// order-statistic intervals of the latest and of the pooled baseline disjoint on the worse side?
/// Returns the test's text and whether it is significant.
fn histogram_test(
    latest: &Sample,
    base: &[Sample],
    lower_is_better: bool,
) -> Option<(String, bool)> {
    let merged = base
        .iter()
        .try_fold(None::<(Histogram<u64>, f64)>, |acc, b| {
            let (h, q) = b.hist.as_ref()?;
            Some(Some(match acc {
                None => (h.clone(), *q),
                Some((mut m, mq)) => {
                    m.add(h).ok()?;
                    (m, mq)
                }
            }))
        });
    let (Some((lh, q)), Some(Some((bh, _)))) = (&latest.hist, merged) else {
        return None;
    };
    let fmt = crate::util::units::format_ns;
    let (l_lo, l_hi) = quantile_ci(lh, *q);
    let (b_lo, b_hi) = quantile_ci(&bh, *q);
    let significant = if lower_is_better {
        l_lo > b_hi
    } else {
        l_hi < b_lo
    };
    let test = format!(
        "95 % order-statistic CI of the pooled p{pk}: latest pooled {} [{}, {}] ({} samples) vs baseline pooled {} [{}, {}] ({} samples merged){}",
        fmt(lh.value_at_quantile(*q) as f64),
        fmt(l_lo),
        fmt(l_hi),
        lh.len(),
        fmt(bh.value_at_quantile(*q) as f64),
        fmt(b_lo),
        fmt(b_hi),
        bh.len(),
        if significant { ", disjoint" } else { ", overlapping" },
        pk = crate::util::units::percentile_key(q * 100.0),
    );
    Some((test, significant))
}

/// Judge the last sample of `history` (oldest first) against up to `baseline_n` runs before it.
pub fn detect(
    history: &[Sample],
    baseline_n: usize,
    threshold_pct: f64,
    lower_is_better: bool,
    min_change: f64,
) -> Finding {
    let Some((latest, earlier)) = history.split_last() else {
        return Finding::TooShort {
            have: 0,
            need: MIN_BASELINE,
        };
    };
    let need = MIN_BASELINE.min(baseline_n.max(1));
    if earlier.len() < need {
        return Finding::TooShort {
            have: earlier.len(),
            need,
        };
    }
    let base = &earlier[earlier.len().saturating_sub(baseline_n.max(1))..];
    // Sign so that "larger is worse" in what follows.
    let s = if lower_is_better { 1.0 } else { -1.0 };
    let worse_pct = |latest: f64, baseline: f64| {
        if baseline == 0.0 {
            0.0
        } else {
            s * (latest - baseline) / baseline.abs() * 100.0
        }
    };

    // The change is always the run's own figure against the median of the baseline runs' figures
    // (what the charts plot); the tests below only decide whether it is noise.
    let base_vals: Vec<f64> = base.iter().map(|b| b.value).collect();
    let base_v = median(&base_vals);
    let w = worse_pct(latest.value, base_v);
    let min_change = min_change.max(0.0);
    let immaterial = (latest.value - base_v).abs() < min_change;
    let material = |test: String| {
        if immaterial {
            format!("{test}; change below the minimum material change {min_change}, ignored")
        } else {
            test
        }
    };

    // The noise test: a percentile with histograms on both sides, else Mann–Whitney over rounds,
    // else a robust z-score of the run's figure.
    let (test, significant) = histogram_test(latest, base, lower_is_better)
        .or_else(|| rounds_test(latest, base, s))
        .unwrap_or_else(|| z_test(latest, base, base_v, s, min_change));
    Finding::Judged(Judgement {
        latest: latest.value,
        baseline: base_v,
        worse_pct: w,
        baseline_runs: base.len(),
        test: material(test),
        significant,
        immaterial,
        regression: significant && !immaterial && w >= threshold_pct,
    })
}

/// One-sided Mann–Whitney U over the rounds, when both sides have at least 3; `s` signs values so
/// that larger is worse. The test's text and whether it is significant (p < 0.05).
fn rounds_test(latest: &Sample, base: &[Sample], s: f64) -> Option<(String, bool)> {
    let base_rounds: Vec<f64> = base.iter().flat_map(|b| b.rounds.iter().copied()).collect();
    if latest.rounds.len() < 3 || base_rounds.len() < 3 {
        return None;
    }
    let (a, b): (Vec<f64>, Vec<f64>) = (
        latest.rounds.iter().map(|v| s * v).collect(),
        base_rounds.iter().map(|v| s * v).collect(),
    );
    let p = mann_whitney_greater(&a, &b);
    Some((
        format!(
            "one-sided Mann–Whitney U over rounds ({} latest vs {} baseline): p = {p:.4}",
            a.len(),
            b.len()
        ),
        p < 0.05,
    ))
}

/// Robust z-score of the latest figure against the baseline runs' median `base_v`, its scale
/// floored at the minimum material change (a baseline without spread must not make any change
/// infinitely significant). The test's text and whether it is significant (z ≥ 3).
fn z_test(
    latest: &Sample,
    base: &[Sample],
    base_v: f64,
    s: f64,
    min_change: f64,
) -> (String, bool) {
    let dev: Vec<f64> = base.iter().map(|b| (b.value - base_v).abs()).collect();
    let mad = median(&dev) * 1.4826;
    let scale = mad.max(min_change);
    if scale > 0.0 {
        let z = s * (latest.value - base_v) / scale;
        (
            format!(
                "robust z-score against {} baseline runs: z = {z:.1} (≥ 3 needed; scale 1.4826·MAD = {mad}, floored at {min_change})",
                base.len()
            ),
            z >= 3.0,
        )
    } else {
        (
            format!(
                "robust z-score against {} baseline runs: baseline has no spread (MAD = 0) and no absolute floor, not significant",
                base.len()
            ),
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A night with `n` samples of a log-normal-ish latency around `median_ns`, scaled by `factor`.
    fn night(seed: u64, n: usize, median_ns: f64, factor: f64) -> Sample {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for _ in 0..n {
            // xorshift → uniform → approx normal by summing 4 → exp for a long tail.
            let mut sum = 0.0;
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                sum += (x >> 11) as f64 / (1u64 << 53) as f64;
            }
            let z = (sum - 2.0) / (4.0f64 / 12.0).sqrt();
            h.record((median_ns * factor * (0.4 * z).exp()) as u64)
                .unwrap();
        }
        let v = h.value_at_quantile(0.99) as f64;
        Sample {
            value: v,
            rounds: vec![],
            hist: Some((h, 0.99)),
        }
    }

    #[test]
    fn clear_slowdown_is_caught() {
        let mut hist: Vec<Sample> = (0..7).map(|i| night(i + 1, 5000, 2e6, 1.0)).collect();
        hist.push(night(99, 5000, 2e6, 2.0));
        match detect(&hist, 7, 20.0, true, 0.0) {
            Finding::Judged(j) => {
                assert!(j.regression, "{j:?}");
                assert!(j.worse_pct > 80.0, "{j:?}");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn five_percent_noise_is_not() {
        let factors = [1.0, 1.05, 0.95, 1.03, 0.97, 1.04, 0.96, 1.05];
        let hist: Vec<Sample> = factors
            .iter()
            .enumerate()
            .map(|(i, f)| night(i as u64 + 1, 5000, 2e6, *f))
            .collect();
        match detect(&hist, 7, 20.0, true, 0.0) {
            Finding::Judged(j) => assert!(!j.regression, "{j:?}"),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn short_history_says_so() {
        let hist: Vec<Sample> = (0..3).map(|i| night(i + 1, 1000, 2e6, 1.0)).collect();
        assert_eq!(
            detect(&hist, 7, 20.0, true, 0.0),
            Finding::TooShort { have: 2, need: 3 }
        );
    }

    #[test]
    fn rounds_use_mann_whitney_and_rate_drops_count_as_worse() {
        let base = |v: f64| Sample {
            value: v,
            rounds: vec![v * 0.99, v, v * 1.01],
            hist: None,
        };
        let mut hist: Vec<Sample> = (0..7).map(|i| base(1000.0 + i as f64)).collect();
        hist.push(base(500.0));
        match detect(&hist, 7, 20.0, false, 0.0) {
            Finding::Judged(j) => {
                assert!(j.regression && j.test.contains("Mann"), "{j:?}");
            }
            o => panic!("{o:?}"),
        }
        assert!(mann_whitney_greater(&[5.0, 6.0, 7.0], &[1.0, 2.0, 3.0, 4.0]) < 0.05);
        assert!(mann_whitney_greater(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) > 0.3);
    }

    #[test]
    fn single_figures_use_robust_z() {
        let one = |v: f64| Sample {
            value: v,
            rounds: vec![],
            hist: None,
        };
        let mut hist: Vec<Sample> = [10.0, 10.2, 9.9, 10.1, 10.0]
            .iter()
            .map(|v| one(*v))
            .collect();
        hist.push(one(10.3));
        match detect(&hist, 7, 20.0, true, 0.0) {
            Finding::Judged(j) => assert!(!j.regression, "{j:?}"),
            o => panic!("{o:?}"),
        }
        hist.push(one(25.0));
        match detect(&hist, 7, 20.0, true, 0.0) {
            Finding::Judged(j) => assert!(j.regression && j.test.contains("z ="), "{j:?}"),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn noise_near_zero_with_flat_baseline_is_not_a_regression() {
        let one = |v: f64| Sample {
            value: v,
            rounds: vec![],
            hist: None,
        };
        // cpu_steal-like: 0.034 % every night, then 0.072 % against a 5 % limit.
        let mut hist: Vec<Sample> = (0..7).map(|_| one(0.034)).collect();
        hist.push(one(0.072));
        match detect(&hist, 7, 20.0, true, 0.5) {
            Finding::Judged(j) => {
                assert!(!j.regression && j.immaterial && !j.significant, "{j:?}");
                assert!(!j.test.contains("inf"), "{j:?}");
            }
            o => panic!("{o:?}"),
        }
        // No floor at all: a zero MAD is still not significant by itself.
        match detect(&hist, 7, 20.0, true, 0.0) {
            Finding::Judged(j) => assert!(!j.significant && !j.regression, "{j:?}"),
            o => panic!("{o:?}"),
        }
        // A material jump over a flat baseline is still caught.
        hist.pop();
        hist.push(one(4.0));
        match detect(&hist, 7, 20.0, true, 0.5) {
            Finding::Judged(j) => assert!(j.regression, "{j:?}"),
            o => panic!("{o:?}"),
        }
    }
}
