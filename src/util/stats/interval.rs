//! Confidence intervals for the figures a check judges. Pure functions, no I/O.
//!
//! - **A percentile of an HDR histogram**: the distribution-free order-statistic interval. Of n
//!   independent samples, the number at or below the true q-quantile is Binomial(n, q), so the
//!   l-th and u-th smallest samples bracket the quantile with probability
//!   `P(l ≤ B < u)`; l and u are the ranks whose binomial tails are each at most (1 − c)/2. The
//!   binomial is summed exactly up to [`EXACT_BINOMIAL_MAX_N`] samples and approximated by the
//!   normal above it (where n·q·(1 − q) is at least 10 000 · 0.0099 ≈ 99 for a p99, far past where
//!   the approximation is good). The ranks are then read from the histogram and widened by its own
//!   bucket error: the lower rank's bucket contributes its lowest equivalent value, the upper
//!   rank's its highest, so the interval holds wherever inside its bucket the sample really was.
//! - **A rate**: from the per-second series, Student's t interval on the mean of the per-second
//!   rates (the seconds are treated as independent; a disk whose rate drifts within a run widens
//!   the interval, which is the point).
//! - **The median of rounds**: each round's interval at confidence c, combined by order
//!   statistics of their bounds (see [`rounds_interval`]).

use hdrhistogram::Histogram;

/// Confidence of every interval unless `--confidence` says otherwise.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// Up to this many samples the binomial ranks are summed exactly; above, the normal approximation.
pub const EXACT_BINOMIAL_MAX_N: u64 = 1_000_000;

/// An interval and what it rests on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
    /// False when the samples cannot bound one side at the confidence asked (too few of them):
    /// that side is then the smallest or largest value seen, not a bound.
    pub bounded: bool,
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if p < 0.024_25 {
        tail(p)
    } else if p > 1.0 - 0.024_25 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Student's t quantile with `df` degrees of freedom: exact for 1 and 2, the Cornish–Fisher
/// expansion in the normal quantile above (Abramowitz & Stegun 26.7.5; within 0.3 % from 3 df at
/// p ≤ 0.9995).
pub fn t_quantile(p: f64, df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1 => (std::f64::consts::PI * (p - 0.5)).tan(),
        2 => (2.0 * p - 1.0) * (2.0 / (4.0 * p * (1.0 - p))).sqrt(),
        _ => {
            let z = normal_quantile(p);
            let v = df as f64;
            let z2 = z * z;
            let g1 = (z2 + 1.0) * z / 4.0;
            let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
            let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
            let g4 =
                ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92_160.0;
            z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
        }
    }
}

/// The 1-based ranks (l, u) of the order statistics that bracket the q-quantile of n samples with
/// confidence at least `confidence`: `P(B < l) ≤ α/2` and `P(B ≥ u) ≤ α/2`, B ~ Binomial(n, q).
/// `None` on a side the samples cannot bound (l < 1 or u > n).
pub fn quantile_ranks(n: u64, q: f64, confidence: f64) -> (Option<u64>, Option<u64>) {
    if n == 0 {
        return (None, None);
    }
    let half = (1.0 - confidence) / 2.0;
    let q = q.clamp(0.0, 1.0);
    if n > EXACT_BINOMIAL_MAX_N {
        let z = normal_quantile(1.0 - half);
        let mean = n as f64 * q;
        let sd = (n as f64 * q * (1.0 - q)).sqrt();
        let l = (mean - z * sd).floor();
        let u = (mean + z * sd).ceil() + 1.0;
        let l = (l >= 1.0).then_some(l as u64);
        let u = (u <= n as f64).then_some(u as u64);
        return (l, u);
    }
    if q <= 0.0 {
        return (Some(1), Some(1));
    }
    if q >= 1.0 {
        return (Some(n), Some(n));
    }
    // cdf[k] = P(B ≤ k), summed from log pmfs (the first pmf, (1-q)^n, underflows for large n).
    let (lq, lp) = (q.ln(), (1.0 - q).ln());
    let mut log_pmf = n as f64 * lp;
    let mut cdf = 0.0f64;
    let mut lower: Option<u64> = None;
    let mut upper: Option<u64> = None;
    for k in 0..=n {
        if k > 0 {
            log_pmf += ((n - k + 1) as f64).ln() - (k as f64).ln() + lq - lp;
        }
        cdf += log_pmf.exp();
        // P(B < l) = cdf[l-1] ≤ half: the largest such l is k + 1 for the last k with cdf ≤ half.
        if cdf <= half {
            lower = Some(k + 1);
        }
        // P(B ≥ u) = 1 − cdf[u-1] ≤ half: the smallest u with cdf[u-1] ≥ 1 − half.
        if cdf >= 1.0 - half {
            upper = Some(k + 1);
            break;
        }
    }
    (lower.filter(|l| *l <= n), upper.filter(|u| *u <= n))
}

/// The sample of 1-based rank `k` in `h`, as the bucket holding it: (lowest, highest) equivalent
/// values of that bucket.
fn bucket_at_rank(h: &Histogram<u64>, k: u64) -> Option<(u64, u64)> {
    let mut seen = 0u64;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= k {
            let x = v.value_iterated_to();
            return Some((h.lowest_equivalent(x), h.highest_equivalent(x)));
        }
    }
    None
}

/// The order-statistic interval of the q-quantile (0–1) of the samples in `h` at `confidence`,
/// widened to the histogram's bucket bounds and kept within the exact `min_max` seen, when known.
/// `None` for an empty histogram.
pub fn quantile_interval(
    h: &Histogram<u64>,
    q: f64,
    confidence: f64,
    min_max: Option<(u64, u64)>,
) -> Option<Interval> {
    let n = h.len();
    if n == 0 {
        return None;
    }
    let (l, u) = quantile_ranks(n, q, confidence);
    let (min, max) = min_max.unwrap_or((h.min(), h.max()));
    let lo = match l {
        Some(l) => bucket_at_rank(h, l).map_or(min, |b| b.0.max(min)),
        None => min,
    };
    let hi = match u {
        Some(u) => bucket_at_rank(h, u).map_or(max, |b| b.1.min(max)),
        None => max,
    };
    Some(Interval {
        lo: lo as f64,
        hi: hi as f64,
        bounded: l.is_some() && u.is_some(),
    })
}

/// Student's t interval on the mean of per-interval rates: `series` holds (events, seconds) per
/// interval; intervals shorter than half a second (the partial last second) are left out. `None`
/// with fewer than two intervals.
pub fn rate_interval(series: &[(f64, f64)], confidence: f64) -> Option<Interval> {
    let rates: Vec<f64> = series
        .iter()
        .filter(|(_, secs)| *secs >= 0.5)
        .map(|(n, secs)| n / secs)
        .collect();
    let n = rates.len();
    if n < 2 {
        return None;
    }
    let mean = rates.iter().sum::<f64>() / n as f64;
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(1.0 - (1.0 - confidence) / 2.0, n as u64 - 1) * (var / n as f64).sqrt();
    Some(Interval {
        lo: (mean - half).max(0.0),
        hi: mean + half,
        bounded: true,
    })
}

/// The interval of a figure judged as the median of rounds, from each round's own interval at the
/// same confidence: the lower bound is the ⌊(n−1)/2⌋-th smallest of the rounds' lower bounds, the
/// upper the ⌈(n−1)/2⌉-th smallest of their upper bounds (the medians for odd n, the outer pair for
/// two rounds). When the rounds measure the same quantity, more than half of the rounds' bounds
/// must miss for this one to, so its confidence is at least that of each round's. It says nothing
/// when the rounds measure different things: [`rounds_disagree`] is that test.
pub fn rounds_interval(per_round: &[Interval]) -> Option<Interval> {
    let n = per_round.len();
    if n == 0 {
        return None;
    }
    let mut los: Vec<f64> = per_round.iter().map(|i| i.lo).collect();
    let mut his: Vec<f64> = per_round.iter().map(|i| i.hi).collect();
    los.sort_by(f64::total_cmp);
    his.sort_by(f64::total_cmp);
    Some(Interval {
        lo: los[(n - 1) / 2],
        hi: his[n / 2],
        bounded: per_round.iter().all(|i| i.bounded),
    })
}

/// Confidence that the smallest and largest of n independent round values bracket the median of
/// the rounds' distribution: 1 − 2·0.5ⁿ (3 rounds: 75 %, 5: 94 %, 6: 97 %). Why 3 rounds cannot
/// give a 95 % interval from the round values alone.
pub fn min_max_median_confidence(rounds: usize) -> f64 {
    if rounds < 2 {
        return 0.0;
    }
    1.0 - 2.0 * 0.5f64.powi(rounds as i32)
}

/// Which side of a limit an interval lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Wholly on the passing side.
    Pass,
    /// Wholly on the failing side.
    Fail,
    /// Both sides.
    Straddles,
}

/// Where `[lo, hi]` lies against `limit` for an upper limit (`upper`: smaller passes, `strict`:
/// `<` rather than `<=`) or a lower one.
pub fn side(lo: f64, hi: f64, limit: f64, upper: bool, strict: bool) -> Side {
    let passes = |v: f64| match (upper, strict) {
        (true, false) => v <= limit,
        (true, true) => v < limit,
        (false, false) => v >= limit,
        (false, true) => v > limit,
    };
    match (passes(lo), passes(hi)) {
        (true, true) => Side::Pass,
        (false, false) => Side::Fail,
        _ => Side::Straddles,
    }
}

/// The round (1-based) whose interval lies wholly on the other side of the limit from another
/// round's, if any: rounds that measured different things. `None` when every pair is compatible.
pub fn rounds_disagree(
    per_round: &[Interval],
    limit: f64,
    upper: bool,
    strict: bool,
) -> Option<usize> {
    let sides: Vec<Side> = per_round
        .iter()
        .map(|i| side(i.lo, i.hi, limit, upper, strict))
        .collect();
    let has = |s: Side| sides.contains(&s);
    if !(has(Side::Pass) && has(Side::Fail)) {
        return None;
    }
    // Name the minority side's first round.
    let passes = sides.iter().filter(|s| **s == Side::Pass).count();
    let fails = sides.iter().filter(|s| **s == Side::Fail).count();
    let odd = if passes <= fails {
        Side::Pass
    } else {
        Side::Fail
    };
    sides.iter().position(|s| *s == odd).map(|i| i + 1)
}

/// Confidence of each of `looks` planned interim looks so that the chance any of them decides
/// wrongly is at most 1 − `confidence` (Bonferroni).
pub fn per_look_confidence(confidence: f64, looks: u32) -> f64 {
    1.0 - (1.0 - confidence) / f64::from(looks.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_and_t_quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.995) - 2.575_829).abs() < 1e-5);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-5);
        for (p, df, want) in [
            (0.975, 1, 12.706),
            (0.975, 2, 4.303),
            (0.975, 3, 3.182),
            (0.975, 5, 2.571),
            (0.975, 10, 2.228),
            (0.995, 5, 4.032),
            (0.995, 3, 5.841),
            (0.975, 30, 2.042),
        ] {
            let t = t_quantile(p, df);
            assert!(
                (t - want).abs() / want < 0.01,
                "t({p}, {df}) = {t}, want {want}"
            );
        }
    }

    #[test]
    fn ranks_are_the_binomial_bounds() {
        // Median of 10 samples at 95 %: the 2nd and 9th order statistics (a classic table value;
        // P(2 ≤ B < 9) = 0.9785 for B ~ Bin(10, 0.5)).
        assert_eq!(quantile_ranks(10, 0.5, 0.95), (Some(2), Some(9)));
        // Too few for a p99 upper bound.
        assert_eq!(quantile_ranks(100, 0.99, 0.95).1, None);
        // p99 of 1000: around rank 990, a few ranks either side, upper bound within n.
        let (l, u) = quantile_ranks(1000, 0.99, 0.95);
        let (l, u) = (l.unwrap(), u.unwrap());
        assert!(
            (980..990).contains(&l) && (991..=1000).contains(&u),
            "{l} {u}"
        );
        // Exact and normal agree closely where both apply.
        let n = 2_000_000;
        let (nl, nu) = quantile_ranks(n, 0.99, 0.95);
        let z = 1.959_964 * (n as f64 * 0.99 * 0.01).sqrt();
        assert!((nl.unwrap() as f64 - (n as f64 * 0.99 - z)).abs() < 2.0);
        assert!((nu.unwrap() as f64 - (n as f64 * 0.99 + z)).abs() < 3.0);
    }

    #[test]
    fn a_histogram_interval_brackets_its_point_and_stays_within_the_samples() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for i in 1..=5000u64 {
            h.record(1000 + i * 37).unwrap();
        }
        let p99 = h.value_at_quantile(0.99) as f64;
        let iv = quantile_interval(&h, 0.99, 0.95, Some((1037, 5000 * 37 + 1000))).unwrap();
        assert!(iv.bounded);
        assert!(iv.lo <= p99 && p99 <= iv.hi, "{iv:?} {p99}");
        assert!(iv.lo < iv.hi);
        assert!(iv.hi <= (5000 * 37 + 1000) as f64);
        let wider = quantile_interval(&h, 0.99, 0.999, None).unwrap();
        assert!(wider.lo <= iv.lo && wider.hi >= iv.hi);
    }

    #[test]
    fn rate_interval_is_a_t_interval() {
        let s: Vec<(f64, f64)> = [100.0, 110.0, 90.0, 105.0, 95.0]
            .iter()
            .map(|n| (*n, 1.0))
            .chain([(10.0, 0.1)])
            .collect();
        let iv = rate_interval(&s, 0.95).unwrap();
        // mean 100, sd 7.906, se 3.536, t(0.975, 4) = 2.776 → ±9.82
        assert!(
            (iv.lo - 90.18).abs() < 0.1 && (iv.hi - 109.82).abs() < 0.1,
            "{iv:?}"
        );
        assert_eq!(rate_interval(&[(5.0, 1.0)], 0.95), None);
    }

    #[test]
    fn rounds_combine_and_disagreement_is_named() {
        let iv = |lo, hi| Interval {
            lo,
            hi,
            bounded: true,
        };
        let r = [iv(1.0, 3.0), iv(2.0, 5.0), iv(1.5, 4.0)];
        assert_eq!(rounds_interval(&r), Some(iv(1.5, 4.0)));
        assert_eq!(
            rounds_interval(&[iv(1.0, 3.0), iv(2.0, 5.0)]),
            Some(iv(1.0, 5.0))
        );
        assert_eq!(rounds_disagree(&r, 10.0, true, false), None);
        let r = [iv(1.0, 3.0), iv(12.0, 14.0), iv(1.5, 4.0)];
        assert_eq!(rounds_disagree(&r, 10.0, true, false), Some(2));
        assert_eq!(side(9.0, 11.0, 10.0, true, false), Side::Straddles);
        assert_eq!(side(60.0, 70.0, 50.0, false, false), Side::Pass);
        assert!((min_max_median_confidence(3) - 0.75).abs() < 1e-12);
        assert!((per_look_confidence(0.95, 5) - 0.99).abs() < 1e-12);
    }
}
