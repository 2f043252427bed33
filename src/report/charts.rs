//! Charts as plain data ([`Chart`]) and their rendering with plotters: SVG text for HTML, PNG bytes
//! for `--png-dir`. Promises: every chart has a title and labelled axes with units chosen per axis
//! (µs or ms for latency), the Okabe–Ito colour-blind-safe palette, and text drawn with the bundled
//! DejaVu Sans through ab_glyph (no system fonts, no fontconfig).

use plotters::coord::Shift;
use plotters::prelude::*;

/// DejaVu Sans (licence in `assets/fonts/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Font family name the charts ask for.
pub(super) const FAMILY: &str = "sans-serif";

/// Okabe–Ito palette (blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Chart size in pixels (share-of-limit charts grow with their rows: [`size`]).
pub const SIZE: (u32, u32) = (800, 420);

/// Size of this chart in pixels.
pub fn size(chart: &Chart) -> (u32, u32) {
    match &chart.body {
        Body::Share(s) => super::sharechart::size(s),
        _ => SIZE,
    }
}

/// A chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("chart {id:?}: {msg}")]
pub struct ChartError {
    /// Chart id.
    pub id: String,
    /// What went wrong.
    pub msg: String,
}

/// Unit of a y axis.
#[derive(Clone, Debug)]
pub enum YUnit {
    /// Nanoseconds in the data; the axis shows µs or ms, whichever suits the range.
    Ns,
    /// Any other unit, shown as is.
    Other(String),
}

impl YUnit {
    /// Divisor from data values to axis values, and the unit's label.
    fn scale(&self, max: f64) -> (f64, String) {
        match self {
            YUnit::Ns if max >= 1e6 => (1e6, "ms".into()),
            YUnit::Ns => (1e3, "µs".into()),
            YUnit::Other(u) => (1.0, u.clone()),
        }
    }
}

/// How a line chart's x values are read.
#[derive(Clone, Debug)]
pub enum XAxis {
    /// x = 1/(1-q), drawn on a log scale from p50 to p99.99.
    Percentile,
    /// Seconds since the start.
    Seconds,
    /// 0, 1, 2 … with a label for each (dates of a history).
    Index(Vec<String>),
}

/// A named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points in data units.
    pub points: Vec<(f64, f64)>,
}

/// A labelled reference line (a limit, a leader change).
#[derive(Clone, Debug)]
pub struct RefLine {
    /// Legend text.
    pub label: String,
    /// Position in data units.
    pub value: f64,
}

/// Lines over x.
#[derive(Clone, Debug)]
pub struct LineChart {
    pub x: XAxis,
    pub y_unit: YUnit,
    /// What y is, without the unit ("fdatasync latency").
    pub y_label: String,
    pub series: Vec<Series>,
    /// Horizontal lines (limits), y in data units.
    pub hlines: Vec<RefLine>,
    /// Vertical lines (events), x in data units.
    pub vlines: Vec<RefLine>,
}

/// Grouped bars: one group per metric, one bar per series (node) within it.
#[derive(Clone, Debug)]
pub struct BarChart {
    pub groups: Vec<String>,
    pub series_names: Vec<String>,
    /// values[group][series].
    pub values: Vec<Vec<Option<f64>>>,
    /// A limit per group, drawn across it.
    pub limits: Vec<Option<f64>>,
    pub y_unit: YUnit,
    pub y_label: String,
    /// What the groups are ("check", "metric").
    pub x_label: String,
}

/// A latency histogram with log-spaced bins (low ns, high ns, count).
#[derive(Clone, Debug)]
pub struct HistChart {
    pub bins: Vec<(f64, f64, u64)>,
}

/// What a chart draws.
#[derive(Clone, Debug)]
pub enum Body {
    Lines(LineChart),
    Bars(BarChart),
    Hist(HistChart),
    /// Each node's observed value as a share of the check's limit, log axis (comparisons).
    Share(super::sharechart::ShareChart),
}

/// One chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File-name-safe identifier (PNG file stem, HTML id).
    pub id: String,
    /// Title drawn above the chart.
    pub title: String,
    /// What was measured and how (shown under the chart in HTML).
    pub caption: String,
    pub body: Body,
}

/// Make a string safe as a file name and HTML id.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Register the bundled font once.
fn ensure_font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "bundled DejaVu Sans could not be loaded".to_string())
    })
    .clone()
}

/// The chart as an SVG document (text).
pub fn to_svg(chart: &Chart) -> Result<String, ChartError> {
    let err = |msg: String| ChartError {
        id: chart.id.clone(),
        msg,
    };
    ensure_font().map_err(err)?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size(chart)).into_drawing_area();
        draw(&root, chart).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(s)
}

/// The chart as a PNG image.
pub fn to_png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    use image::ImageEncoder;
    let err = |msg: String| ChartError {
        id: chart.id.clone(),
        msg,
    };
    ensure_font().map_err(err)?;
    let (w, h) = size(chart);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root, chart).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&buf, w, h, image::ColorType::Rgb8)
        .map_err(|e| err(e.to_string()))?;
    Ok(out)
}

/// Round tick positions covering lo..hi, about `n` of them.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
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

/// Largest value a chart draws: results files are input, and a damaged one may hold any number;
/// beyond this (a year in nanoseconds) plotting's integer coordinates overflow.
const DRAWABLE_MAX: f64 = 3.2e16;

fn drawable(v: f64) -> bool {
    v.is_finite() && (0.0..=DRAWABLE_MAX).contains(&v)
}

/// The chart with every value no chart can hold (negative, non-finite, absurdly large) left out:
/// a damaged results file gives a chart with a gap, never a panic.
fn drawable_only(chart: &Chart) -> Chart {
    let mut c = chart.clone();
    match &mut c.body {
        Body::Lines(l) => {
            for s in &mut l.series {
                s.points.retain(|(x, y)| x.is_finite() && drawable(*y));
            }
            l.hlines.retain(|r| drawable(r.value));
            l.vlines.retain(|r| r.value.is_finite());
        }
        Body::Bars(b) => {
            for g in &mut b.values {
                for v in g.iter_mut() {
                    if v.is_some_and(|x| !drawable(x)) {
                        *v = None;
                    }
                }
            }
            for l in &mut b.limits {
                if l.is_some_and(|x| !drawable(x)) {
                    *l = None;
                }
            }
        }
        Body::Hist(h) => h
            .bins
            .retain(|(lo, hi, _)| drawable(*lo) && drawable(*hi) && lo <= hi),
        Body::Share(sc) => {
            for g in &mut sc.shares {
                for v in g.iter_mut() {
                    if v.is_some_and(|x| !drawable(x)) {
                        *v = None;
                    }
                }
            }
        }
    }
    c
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    root.fill(&WHITE).map_err(e)?;
    let chart = &drawable_only(chart);
    match &chart.body {
        Body::Lines(l) => draw_lines(root, &chart.title, l),
        Body::Bars(b) => draw_bars(root, &chart.title, b),
        Body::Hist(h) => draw_hist(root, &chart.title, h),
        Body::Share(s) => super::sharechart::draw(root, &chart.title, s),
    }
}

/// The x range, tick keys and caption of a line chart (plotting space: log10 for percentiles).
fn x_axis(l: &LineChart) -> (f64, f64, Vec<f64>, String) {
    match &l.x {
        XAxis::Percentile => (
            crate::report::model::CURVE_X_MIN.log10(),
            crate::report::model::CURVE_X_MAX.log10(),
            [2.0f64, 10.0, 100.0, 1000.0, 10000.0]
                .iter()
                .map(|v| v.log10())
                .collect(),
            "percentile (log scale of 1/(1-q))".into(),
        ),
        XAxis::Seconds => {
            let xmax = l
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .chain(l.vlines.iter().map(|v| v.value))
                .fold(1f64, f64::max);
            (0.0, xmax, nice_ticks(0.0, xmax, 10), "time (s)".into())
        }
        XAxis::Index(labels) => {
            let n = labels.len().max(2) as f64;
            let step = (labels.len() / 8).max(1);
            (
                -0.5,
                n - 0.5,
                (0..labels.len()).step_by(step).map(|i| i as f64).collect(),
                "run".into(),
            )
        }
    }
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    l: &LineChart,
) -> Result<(), String> {
    let ys = l
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(l.hlines.iter().map(|h| h.value));
    let ys: Vec<f64> = ys.collect();
    let ymax_data = ys.iter().copied().fold(0f64, f64::max);
    let ymin_data = ys
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let (div, unit) = l.y_unit.scale(ymax_data);
    // Percentile curves spanning more than 30× get a log y axis, so the fast node stays readable.
    let logy =
        matches!(l.x, XAxis::Percentile) && ymin_data.is_finite() && ymax_data / ymin_data >= 30.0;
    let ty = |y: f64| {
        if logy {
            (y / div).max(1e-12).log10()
        } else {
            y / div
        }
    };
    let (y0, y1, ykeys) = if logy {
        let lo = (ymin_data / div).log10() - 0.05;
        let hi = (ymax_data / div).log10() + 0.15;
        (lo, hi, log_keys(lo, hi))
    } else {
        let hi = (ymax_data / div * 1.3).max(1e-9);
        (0.0, hi, nice_ticks(0.0, hi, 8))
    };
    // x in plotting space (log10 for percentiles).
    let tx = |x: f64| match l.x {
        XAxis::Percentile => x.max(1e-12).log10(),
        _ => x,
    };
    let (x0, x1, keys, x_desc) = x_axis(l);
    let fmt_x = |v: &f64| -> String {
        match &l.x {
            XAxis::Percentile => format!("p{}", trim(100.0 * (1.0 - 10f64.powf(-*v)))),
            XAxis::Seconds => trim(*v),
            XAxis::Index(labels) => labels
                .get(v.round().max(0.0) as usize)
                .cloned()
                .unwrap_or_default(),
        }
    };
    let mut c = ChartBuilder::on(root)
        .caption(title, (FAMILY, caption_size(title)))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(KeyAxis::new(x0, x1, keys), KeyAxis::new(y0, y1, ykeys))
        .map_err(e)?;
    let fmt_y = |v: &f64| {
        if logy {
            trim(10f64.powf(*v))
        } else {
            trim(*v)
        }
    };
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(format!(
            "{} ({unit}{})",
            l.y_label,
            if logy { ", log scale" } else { "" }
        ))
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(e)?;
    for (i, s) in l.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| !logy || p.1 > 0.0)
            .map(|p| (tx(p.0), ty(p.1)))
            .collect();
        c.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
            .map_err(e)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        if pts.len() <= 60 {
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(e)?;
        }
    }
    for h in &l.hlines {
        let y = ty(h.value);
        c.draw_series(DashedLineSeries::new(
            vec![(x0, y), (x1, y)],
            8,
            5,
            BLACK.stroke_width(2),
        ))
        .map_err(e)?
        .label(h.label.clone())
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    for (i, v) in l.vlines.iter().enumerate() {
        let x = tx(v.value);
        let colour = PALETTE[5];
        let s = c
            .draw_series(DashedLineSeries::new(
                vec![(x, y0), (x, y1)],
                4,
                4,
                colour.stroke_width(2),
            ))
            .map_err(e)?;
        if i == 0 {
            s.label(v.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
    }
    // Percentile curves rise to the right: their lower right is free.
    c.configure_series_labels()
        .position(if matches!(l.x, XAxis::Percentile) {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperLeft
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(e)?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    b: &BarChart,
) -> Result<(), String> {
    let ymax_data = b
        .values
        .iter()
        .flatten()
        .flatten()
        .chain(b.limits.iter().flatten())
        .fold(0f64, |a, v| a.max(*v));
    let (div, unit) = b.y_unit.scale(ymax_data);
    let ymax = (ymax_data / div * 1.15).max(1e-9);
    let n = b.groups.len().max(1) as f64;
    let keys: Vec<f64> = (0..b.groups.len()).map(|i| i as f64 + 0.5).collect();
    let fmt_x = |v: &f64| -> String {
        b.groups
            .get(v.floor() as usize)
            .cloned()
            .unwrap_or_default()
    };
    let mut c = ChartBuilder::on(root)
        .caption(title, (FAMILY, caption_size(title)))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            KeyAxis::new(0.0, n, keys),
            KeyAxis::new(0.0, ymax, nice_ticks(0.0, ymax, 8)),
        )
        .map_err(e)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_desc(b.x_label.as_str())
        .y_desc(format!("{} ({unit})", b.y_label))
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| trim(*v))
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(e)?;
    let ns = b.series_names.len().max(1) as f64;
    let width = 0.8 / ns;
    for (si, name) in b.series_names.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let rects: Vec<Rectangle<(f64, f64)>> = b
            .values
            .iter()
            .enumerate()
            .filter_map(|(gi, row)| {
                let v = (*row.get(si)?)?;
                let x = gi as f64 + 0.1 + width * si as f64;
                Some(Rectangle::new(
                    [(x, 0.0), (x + width * 0.9, v / div)],
                    colour.filled(),
                ))
            })
            .collect();
        c.draw_series(rects)
            .map_err(e)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], colour.filled()));
    }
    let mut labelled = false;
    for (gi, lim) in b.limits.iter().enumerate() {
        let Some(lim) = lim else { continue };
        let y = lim / div;
        let s = c
            .draw_series(DashedLineSeries::new(
                vec![(gi as f64 + 0.05, y), (gi as f64 + 0.95, y)],
                6,
                4,
                BLACK.stroke_width(2),
            ))
            .map_err(e)?;
        if !labelled {
            labelled = true;
            s.label("limit").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
            });
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(e)?;
    Ok(())
}

fn draw_hist<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    h: &HistChart,
) -> Result<(), String> {
    let xmax_data = h.bins.iter().map(|b| b.1).fold(1f64, f64::max);
    let xmin_data = h.bins.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let xmin_data = if xmin_data.is_finite() {
        xmin_data
    } else {
        1.0
    };
    let (div, unit) = YUnit::Ns.scale(xmax_data);
    let (x0, x1) = (
        (xmin_data / div).log10(),
        (xmax_data / div)
            .log10()
            .max((xmin_data / div).log10() + 0.1),
    );
    let keys = log_keys(x0, x1);
    let cmax = h.bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut c = ChartBuilder::on(root)
        .caption(title, (FAMILY, caption_size(title)))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            KeyAxis::new(x0, x1, keys),
            KeyAxis::new(0.0, cmax, nice_ticks(0.0, cmax, 8)),
        )
        .map_err(e)?;
    c.configure_mesh()
        .x_desc(format!("latency ({unit}, log scale)"))
        .y_desc("operations")
        .x_label_formatter(&|v| trim(10f64.powf(*v)))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(e)?;
    let colour = PALETTE[0];
    c.draw_series(h.bins.iter().filter(|b| b.2 > 0).map(|b| {
        Rectangle::new(
            [
                ((b.0 / div).log10(), 0.0),
                ((b.1 / div).log10(), b.2 as f64),
            ],
            colour.filled(),
        )
    }))
    .map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Chart {
        Chart {
            id: "t".into(),
            title: "Test chart".into(),
            caption: String::new(),
            body: Body::Lines(LineChart {
                x: XAxis::Percentile,
                y_unit: YUnit::Ns,
                y_label: "latency".into(),
                series: vec![Series {
                    name: "a".into(),
                    points: vec![(2.0, 1e6), (100.0, 3e6), (1000.0, 9e6)],
                }],
                hlines: vec![RefLine {
                    label: "limit 10 ms".into(),
                    value: 1e7,
                }],
                vlines: vec![],
            }),
        }
    }

    #[test]
    fn svg_has_title_units_and_points() {
        let s = to_svg(&line()).unwrap();
        assert!(s.starts_with("<svg"));
        assert!(s.contains("Test chart"));
        assert!(s.contains("latency (ms)"));
        assert!(s.contains("p99.9"));
        assert!(s.contains("<polyline"));
    }

    #[test]
    fn png_is_a_png() {
        let p = to_png(&line()).unwrap();
        assert_eq!(&p[1..4], b"PNG");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("etcd-wal @ mixed/1"), "etcd-wal-mixed-1");
    }
}
