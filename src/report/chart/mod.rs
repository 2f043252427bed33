//! Charts drawn with plotters: SVG text for HTML, PNG bytes for `--png-dir`. The charts are plain
//! data ([`spec`]), chosen by [`figures`]; one file draws each kind. Promises: every chart has a
//! title and labelled axes with units chosen per axis (µs or ms for latency), the Okabe–Ito
//! colour-blind-safe palette, and text drawn with the bundled DejaVu Sans through ab_glyph (no
//! system fonts, no fontconfig); ids are made unique in one place ([`unique_ids`]).

pub mod axes;
pub mod bars;
pub mod figures;
pub mod hist;
pub mod line;
pub mod share;
pub mod spec;

use plotters::coord::Shift;
use plotters::prelude::*;
use spec::{Body, Chart};

/// Size of this chart in pixels.
pub fn size(chart: &Chart) -> (u32, u32) {
    match &chart.body {
        Body::Share(s) => share::size(s),
        _ => axes::SIZE,
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

/// The chart as an SVG document (text).
pub fn to_svg(chart: &Chart) -> Result<String, ChartError> {
    let err = |msg: String| ChartError {
        id: chart.id.clone(),
        msg,
    };
    axes::ensure_font().map_err(err)?;
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
    axes::ensure_font().map_err(err)?;
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
    root.fill(&WHITE).map_err(axes::e)?;
    let chart = &drawable_only(chart);
    match &chart.body {
        Body::Lines(l) => line::draw(root, &chart.title, l),
        Body::Bars(b) => bars::draw(root, &chart.title, b),
        Body::Hist(h) => hist::draw(root, &chart.title, h),
        Body::Share(s) => share::draw(root, &chart.title, s),
    }
}

/// Make chart ids unique, in order: any id already taken gets a "-2", "-3", … suffix, so ids
/// (HTML anchors, PNG file names) never collide.
pub fn unique_ids<'a>(charts: impl IntoIterator<Item = &'a mut Chart>) {
    let mut seen = std::collections::HashSet::new();
    for c in charts {
        if !seen.insert(c.id.clone()) {
            let mut k = 2;
            while !seen.insert(format!("{}-{k}", c.id)) {
                k += 1;
            }
            c.id = format!("{}-{k}", c.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spec::{LineChart, RefLine, Series, XAxis, YUnit};
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
        assert_eq!(spec::slug("etcd-wal @ mixed/1"), "etcd-wal-mixed-1");
    }
}
