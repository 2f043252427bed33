//! What every chart shares: the bundled font, the palette and size, tick positions and the axis
//! that labels exactly the ticks it is given.

use plotters::prelude::*;

/// DejaVu Sans (licence in `assets/fonts/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// Font family name the charts ask for.
pub(super) const FAMILY: &str = "sans-serif";

/// Okabe–Ito palette (blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black).
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Chart size in pixels (share-of-limit charts grow with their rows: `super::size`).
pub(super) const SIZE: (u32, u32) = (800, 420);

/// Register the bundled font once.
pub(super) fn ensure_font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "bundled DejaVu Sans could not be loaded".to_string())
    })
    .clone()
}

/// Round tick positions covering lo..hi, about `n` of them.
pub(super) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 && out.len() < 100 {
        out.push(t);
        t += step;
    }
    out
}

/// Tick positions (log10 space) at 1, 2, 5 × powers of ten between lo and hi.
pub(super) fn log_keys(lo: f64, hi: f64) -> Vec<f64> {
    let mut keys = Vec::new();
    let mut dec = 10f64.powf(lo.floor());
    while dec.log10() <= hi + 1e-9 && keys.len() < 60 {
        for m in [1.0, 2.0, 5.0] {
            let k = (dec * m).log10();
            if k >= lo - 1e-9 && k <= hi + 1e-9 {
                keys.push(k);
            }
        }
        dec *= 10.0;
    }
    keys
}

/// Trim a float for a label: 99.900 → "99.9".
pub(super) fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A linear f64 axis whose labels sit exactly at the given points (plotters' own `WithKeyPoints`
/// lacks a label formatter for f64).
pub(super) struct KeyAxis {
    inner: plotters::coord::types::RangedCoordf64,
    keys: Vec<f64>,
}

impl KeyAxis {
    pub(super) fn new(lo: f64, hi: f64, keys: Vec<f64>) -> Self {
        KeyAxis {
            inner: (lo..hi).into(),
            keys,
        }
    }
}

impl plotters::coord::ranged1d::Ranged for KeyAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Title font size that fits the title in the chart's width (DejaVu Sans averages ≈ 0.55 em a
/// character).
pub(super) fn caption_size(title: &str) -> f64 {
    let chars = title.chars().count().max(1) as f64;
    (f64::from(SIZE.0 - 40) / (0.55 * chars)).clamp(12.0, 20.0)
}

pub(super) fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}
