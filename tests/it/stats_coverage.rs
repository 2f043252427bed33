//! The percentile interval's coverage, simulated: thousands of seeded draws from distributions
//! whose quantiles are known exactly (exponential, lognormal, a bimodal mixture), each recorded in
//! nodefit's own HDR recorder; the 95 % interval must contain the true quantile in at least 95 %
//! of the draws. Seeded, so the figures are the same on every run and any change to the method
//! that loses coverage fails here.

use nodefit::util::stats::interval::{normal_quantile, quantile_interval};
use nodefit::util::stats::Recorder;
use rand::{RngExt, SeedableRng};

/// A distribution in nanoseconds: how to draw from it (by inverse CDF of a uniform) and its true
/// q-quantile.
struct Dist {
    name: &'static str,
    draw: fn(f64, f64) -> f64,
    quantile: fn(f64) -> f64,
}

fn exponential() -> Dist {
    // Mean 2 ms.
    Dist {
        name: "exponential",
        draw: |u, _| -2e6 * (1.0 - u).ln(),
        quantile: |q| -2e6 * (1.0 - q).ln(),
    }
}

fn lognormal() -> Dist {
    // Median 500 µs, σ = 1 (heavy tail: p99 ≈ 5.1 ms).
    Dist {
        name: "lognormal",
        draw: |u, _| 500e3 * normal_quantile(u).exp(),
        quantile: |q| 500e3 * normal_quantile(q).exp(),
    }
}

fn bimodal() -> Dist {
    // 97 %: 100–200 µs (cache hits); 3 %: 5–8 ms (flushes that reach the medium). The p99 lies in
    // the slow mode, the median in the fast one.
    Dist {
        name: "bimodal",
        draw: |u, v| {
            if u < 0.97 {
                100e3 + 100e3 * v
            } else {
                5e6 + 3e6 * v
            }
        },
        quantile: |q| {
            if q < 0.97 {
                100e3 + 100e3 * q / 0.97
            } else {
                5e6 + 3e6 * (q - 0.97) / 0.03
            }
        },
    }
}

/// Share of `trials` draws of `n` samples whose interval at `confidence` holds the true q-quantile.
fn coverage(d: &Dist, q: f64, n: usize, trials: usize, confidence: f64, seed: u64) -> f64 {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let truth = (d.quantile)(q);
    let mut hits = 0;
    for _ in 0..trials {
        let mut r = Recorder::new();
        for _ in 0..n {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            r.record((d.draw)(u, v).round() as u64);
        }
        let iv = quantile_interval(r.histogram(), q, confidence, None).expect("samples recorded");
        assert!(iv.bounded, "{} n={n} q={q}: interval not bounded", d.name);
        if iv.lo <= truth && truth <= iv.hi {
            hits += 1;
        }
    }
    hits as f64 / trials as f64
}

#[test]
fn p99_interval_covers_the_true_quantile_at_the_stated_rate() {
    for (i, d) in [exponential(), lognormal(), bimodal()].iter().enumerate() {
        // 1 000 samples: the fewest a p99 is judged on.
        let c = coverage(d, 0.99, 1000, 2000, 0.95, 20 + i as u64);
        println!("{} p99, n=1000, 2000 draws: coverage {c:.4}", d.name);
        assert!(c >= 0.95, "{}: p99 coverage {c} < 0.95", d.name);
    }
}

#[test]
fn median_and_p999_intervals_cover_too() {
    for (i, d) in [exponential(), lognormal(), bimodal()].iter().enumerate() {
        let c = coverage(d, 0.5, 200, 2000, 0.95, 40 + i as u64);
        println!("{} p50, n=200, 2000 draws: coverage {c:.4}", d.name);
        assert!(c >= 0.95, "{}: p50 coverage {c} < 0.95", d.name);
        let c = coverage(d, 0.999, 10_000, 400, 0.90, 60 + i as u64);
        println!(
            "{} p99.9 at 90 %, n=10000, 400 draws: coverage {c:.4}",
            d.name
        );
        assert!(c >= 0.90, "{}: p99.9 coverage {c} < 0.90", d.name);
    }
}
