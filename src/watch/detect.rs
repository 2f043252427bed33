//! Degraded periods: a two-sided CUSUM on ln(window p99) against the run's own robust baseline.
//!
//! Why CUSUM on the log: a slow neighbour multiplies flush latency, so a shift is a ratio, and in
//! the log it is an additive step of roughly constant size whatever the disk's own speed. CUSUM is
//! the classic detector for a step in the mean of a noisy series (Page 1954): it sums evidence, so
//! a moderate shift sustained over a few windows is found as surely as a large one, and its start is
//! estimated as the last window where the sum was zero. A Bayesian online detector would also find
//! steps but needs a noise model per run; CUSUM needs only a baseline and two numbers.
//!
//! Baseline: median and 1.4826 × MAD of ln p99 over the first [`BASELINE_WINDOWS`] windows with
//! flushes (all of them when the run is shorter) — robust to a stall or two inside it. A run that
//! starts degraded takes the degraded level as its baseline; the report says which windows it used.
//!
//! Minimum magnitude: the shift looked for is δ = max(ln 2, 2σ): p99 at least doubled, and never
//! less than twice the baseline's own spread, so ordinary jitter makes no period. The series is
//! first passed through a running median of three windows, which removes a lone spike (one stalled
//! burst is a stall, counted as such, not a period) and keeps a step's edges where they are. Each
//! window then adds (x − m − δ/2), its excess capped at 2δ, and an alarm is raised when the sum
//! exceeds h = 3δ (at least three windows). A period ends when the mirror-image sum (windows back
//! below m + δ/2) exceeds h; start and end are the windows after the sums were last zero (Page's
//! change-point estimate), not the alarm times.

use crate::results::watch::{DetectorInfo, Period, PeriodKind};

/// Windows the baseline is taken from.
pub const BASELINE_WINDOWS: usize = 15;
/// The smallest p99 ratio against the baseline that counts as degraded.
pub const MIN_RATIO: f64 = 2.0;
/// Alarm threshold, in units of δ.
const H_DELTAS: f64 = 3.0;
/// Cap on one window's excess over the baseline, in units of δ.
const CAP_DELTAS: f64 = 2.0;

/// One window as the detector sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Start of the window, seconds from the watch's start.
    pub t_s: f64,
    /// Window flush p99, ns; windows with no flush are skipped.
    pub p99_ns: u64,
}

/// The baseline: median and robust spread of ln p99 over the first windows.
pub fn baseline(points: &[Point]) -> Option<DetectorInfo> {
    let xs: Vec<f64> = points
        .iter()
        .filter(|p| p.p99_ns > 0)
        .take(BASELINE_WINDOWS)
        .map(|p| (p.p99_ns as f64).ln())
        .collect();
    if xs.is_empty() {
        return None;
    }
    let m = crate::util::stats::median(&xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    let sigma = 1.4826 * crate::util::stats::median(&dev);
    Some(DetectorInfo {
        method: "two-sided CUSUM on ln(window flush p99); baseline median and 1.4826 x MAD of the first windows; shift >= max(ln 2, 2 sigma)".into(),
        baseline_windows: xs.len() as u64,
        baseline_p99_ns: m.exp().round() as u64,
        baseline_sigma: sigma,
        min_ratio: MIN_RATIO,
    })
}

/// Degraded periods in `points` (in time order); `interval_s` is a window's length and `end_s` the
/// end of the watch (a period still open there ends there).
pub fn periods(
    points: &[Point],
    interval_s: f64,
    end_s: f64,
) -> (Option<DetectorInfo>, Vec<Period>) {
    let Some(info) = baseline(points) else {
        return (None, Vec::new());
    };
    let m = (info.baseline_p99_ns as f64).ln();
    let delta = MIN_RATIO.ln().max(2.0 * info.baseline_sigma);
    let (k, h, cap) = (delta / 2.0, H_DELTAS * delta, CAP_DELTAS * delta);
    let raw: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.p99_ns > 0)
        .map(|p| (p.t_s, (p.p99_ns as f64).ln()))
        .collect();
    let pts: Vec<(f64, f64)> = (0..raw.len())
        .map(|i| {
            let near: Vec<f64> = raw[i.saturating_sub(1)..(i + 2).min(raw.len())]
                .iter()
                .map(|p| p.1)
                .collect();
            (raw[i].0, crate::util::stats::median(&near))
        })
        .collect();
    let mut out = Vec::new();
    let (mut up, mut down) = (0.0_f64, 0.0_f64);
    // Index of the first window after the sum was last zero: the change's estimated start.
    let mut up_from = 0;
    let mut down_from = 0;
    let mut open: Option<usize> = None;
    for (i, &(_, x)) in pts.iter().enumerate() {
        match open {
            None => {
                up = (up + (x - m).min(cap) - k).max(0.0);
                if up == 0.0 {
                    up_from = i + 1;
                } else if up > h {
                    open = Some(up_from);
                    down = 0.0;
                    down_from = i + 1;
                }
            }
            Some(start) => {
                // The mirror image: evidence that the level is back at m rather than m + δ.
                down = (down + (m + k - x).clamp(-cap, cap - k)).max(0.0);
                if down == 0.0 {
                    down_from = i + 1;
                } else if down > h {
                    let (s, e) = trimmed(&pts, start, down_from, m + k);
                    out.push(period(s, e, &pts, interval_s, end_s, info.baseline_p99_ns));
                    open = None;
                    up = 0.0;
                    up_from = down_from;
                }
            }
        }
    }
    if let Some(start) = open {
        // Still open at the watch's end: it ends there only if its last windows are still high.
        let (s, e) = trimmed(&pts, start, pts.len(), m + k);
        out.push(period(s, e, &pts, interval_s, end_s, info.baseline_p99_ns));
    }
    (Some(info), out)
}

/// The period's windows `start..end`, trimmed to begin and end on a window above m + δ/2 (CUSUM's
/// last-zero estimate can reach back over a few high-side jitter windows).
fn trimmed(pts: &[(f64, f64)], start: usize, end: usize, level: f64) -> (usize, usize) {
    let high = |i: &usize| pts[*i].1 > level;
    let s = (start..end).find(high).unwrap_or(start);
    let e = (s..end).rev().find(high).map_or(end, |i| i + 1);
    (s, e)
}

fn period(
    start: usize,
    end: usize,
    pts: &[(f64, f64)],
    interval_s: f64,
    end_s: f64,
    baseline_p99_ns: u64,
) -> Period {
    let xs: Vec<f64> = pts[start..end].iter().map(|p| p.1).collect();
    let last_end = if end >= pts.len() {
        end_s
    } else {
        (pts[end - 1].0 + interval_s).min(end_s)
    };
    Period {
        kind: PeriodKind::Degraded,
        start_s: pts[start].0,
        end_s: last_end,
        p99_ns: crate::util::stats::median(&xs).exp().round() as u64,
        baseline_p99_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded generator (xorshift64*) and Box–Muller normals: the simulation is the same on
    /// every run, so its figures can be quoted.
    struct Rng(u64);
    impl Rng {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform().max(1e-300), self.uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// Window p99s: ln-normal jitter of `sigma` around 5 ms, with a one-window spike (×10) in 1 %
    /// of windows, and the level multiplied by `ratio` over `shift` (window indices).
    fn series(
        rng: &mut Rng,
        n: usize,
        sigma: f64,
        shift: std::ops::Range<usize>,
        ratio: f64,
    ) -> Vec<Point> {
        (0..n)
            .map(|i| {
                let mut x = (5e6_f64).ln() + sigma * rng.normal();
                if shift.contains(&i) {
                    x += ratio.ln();
                }
                if rng.uniform() < 0.01 {
                    x += 10f64.ln();
                }
                Point {
                    t_s: i as f64 * 10.0,
                    p99_ns: x.exp() as u64,
                }
            })
            .collect()
    }

    #[test]
    fn jitter_and_lone_spikes_make_no_period() {
        // 200 runs of 8640 windows (a day at 10 s): jitter sigma 0.3 (p99 within about ×1.35) and
        // a ×10 spike in 1 % of windows. Measured false-alarm rate: printed, and held at < 1 a day.
        let mut rng = Rng(0x5eed_0019);
        let (runs, n) = (200, 8640);
        let mut alarms = 0;
        for _ in 0..runs {
            let s = series(&mut rng, n, 0.3, 0..0, 1.0);
            alarms += periods(&s, 10.0, n as f64 * 10.0).1.len();
        }
        let per_day = alarms as f64 / runs as f64;
        eprintln!("false alarms: {alarms} in {runs} simulated days ({per_day:.3}/day)");
        assert!(per_day < 1.0, "{per_day}");
    }

    #[test]
    fn a_p99_two_and_a_half_times_the_baseline_is_found_with_its_edges() {
        // 300 runs: p99 ×2.5 over windows 100..130 of 300, jitter sigma 0.2. Delay of the alarm
        // and error of the start/end estimates, measured.
        let mut rng = Rng(0x0019_0002);
        let (mut found, mut worst_start, mut worst_end, mut extra) = (0, 0.0_f64, 0.0_f64, 0);
        let mut within = 0;
        for _ in 0..300 {
            let s = series(&mut rng, 300, 0.2, 100..130, 2.5);
            let (_, ps) = periods(&s, 10.0, 3000.0);
            let hit: Vec<_> = ps
                .iter()
                .filter(|p| p.end_s > 1000.0 && p.start_s < 1300.0)
                .collect();
            if let [p] = hit.as_slice() {
                found += 1;
                if (p.start_s - 1000.0).abs() <= 30.0 && (p.end_s - 1300.0).abs() <= 30.0 {
                    within += 1;
                }
                worst_start = worst_start.max((p.start_s - 1000.0).abs() / 10.0);
                worst_end = worst_end.max((p.end_s - 1300.0).abs() / 10.0);
            }
            extra += ps.len() - hit.len().min(ps.len());
        }
        eprintln!("found {found}/300, {within} with start and end within 3 windows; worst start error {worst_start} windows, worst end error {worst_end} windows; {extra} other periods");
        assert!(found >= 297, "{found}");
        // A ×10 spike next to an edge (1 % of windows) can move it: 98 % within 3 windows.
        assert!(within >= 294, "{within}");
        assert!(extra <= 6, "{extra}");
    }

    #[test]
    fn a_period_recovering_just_before_the_end_ends_where_it_recovered() {
        // 20 baseline windows, 10 at ×8, then 3 back at the baseline: too few to close the CUSUM.
        let pts: Vec<Point> = (0..33)
            .map(|i| Point {
                t_s: i as f64,
                p99_ns: if (20..30).contains(&i) {
                    8_000_000
                } else {
                    1_000_000 + i * 1000
                },
            })
            .collect();
        let (_, ps) = periods(&pts, 1.0, 33.0);
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!((ps[0].start_s, ps[0].end_s), (20.0, 30.0), "{ps:?}");
    }

    #[test]
    fn a_run_without_flushes_has_no_baseline() {
        let pts = [Point {
            t_s: 0.0,
            p99_ns: 0,
        }];
        assert_eq!(periods(&pts, 1.0, 1.0), (None, Vec::new()));
    }
}
