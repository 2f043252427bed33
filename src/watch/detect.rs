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
//! less than twice the baseline's own spread, so ordinary jitter makes no period. Each window adds
//! (x − m − δ/2), its excess capped at 2δ, so one wild window alone cannot raise an alarm (two are
//! needed); an alarm is raised when the sum exceeds h = 2δ. A period ends when the mirror-image sum
//! (windows back below m + δ/2) exceeds h; its end is the last degraded-looking window.

use crate::results::watch::{DetectorInfo, Period, PeriodKind};

/// Windows the baseline is taken from.
pub const BASELINE_WINDOWS: usize = 15;
/// The smallest p99 ratio against the baseline that counts as degraded.
pub const MIN_RATIO: f64 = 2.0;
/// Alarm threshold, in units of δ.
const H_DELTAS: f64 = 2.0;
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
pub fn periods(points: &[Point], interval_s: f64, end_s: f64) -> (Option<DetectorInfo>, Vec<Period>) {
    let Some(info) = baseline(points) else {
        return (None, Vec::new());
    };
    let m = (info.baseline_p99_ns as f64).ln();
    let delta = MIN_RATIO.ln().max(2.0 * info.baseline_sigma);
    let (k, h, cap) = (delta / 2.0, H_DELTAS * delta, CAP_DELTAS * delta);
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.p99_ns > 0)
        .map(|p| (p.t_s, (p.p99_ns as f64).ln()))
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
                down = (down + (m + k - x).min(cap - k)).max(0.0);
                if down == 0.0 {
                    down_from = i + 1;
                } else if down > h {
                    out.push(period(&pts[start..down_from], start, down_from, &pts, interval_s, end_s, info.baseline_p99_ns));
                    open = None;
                    up = 0.0;
                    up_from = down_from;
                }
            }
        }
    }
    if let Some(start) = open {
        out.push(period(&pts[start..], start, pts.len(), &pts, interval_s, end_s, info.baseline_p99_ns));
    }
    (Some(info), out)
}

fn period(
    inside: &[(f64, f64)],
    start: usize,
    end: usize,
    pts: &[(f64, f64)],
    interval_s: f64,
    end_s: f64,
    baseline_p99_ns: u64,
) -> Period {
    let xs: Vec<f64> = inside.iter().map(|p| p.1).collect();
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
