//! Line charts: percentile curves (log x of 1/(1-q)), time series and histories, with limits as
//! dashed horizontal lines and events as vertical ones.

use super::axes::{caption_size, e, log_keys, nice_ticks, trim, KeyAxis, FAMILY, PALETTE};
use super::spec::{LineChart, XAxis};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The x range, tick keys and caption of a line chart (plotting space: log10 for percentiles).
fn x_axis(l: &LineChart) -> (f64, f64, Vec<f64>, String) {
    match &l.x {
        XAxis::Percentile => (
            crate::report::view::node::CURVE_X_MIN.log10(),
            crate::report::view::node::CURVE_X_MAX.log10(),
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

/// The y axis of a line chart: its unit, log or linear, range and ticks (plotting space).
struct YAxis {
    /// Divisor from data values to axis units, and the unit's label.
    div: f64,
    unit: String,
    /// Log scale (percentile curves spanning more than 30×).
    log: bool,
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl YAxis {
    fn of(l: &LineChart) -> YAxis {
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
        // Percentile curves spanning more than 30× get a log y axis, so the fast node stays
        // readable.
        let log = matches!(l.x, XAxis::Percentile)
            && ymin_data.is_finite()
            && ymax_data / ymin_data >= 30.0;
        let (lo, hi, keys) = if log {
            let lo = (ymin_data / div).log10() - 0.05;
            let hi = (ymax_data / div).log10() + 0.15;
            (lo, hi, log_keys(lo, hi))
        } else {
            let hi = (ymax_data / div * 1.3).max(1e-9);
            (0.0, hi, nice_ticks(0.0, hi, 8))
        };
        YAxis {
            div,
            unit,
            log,
            lo,
            hi,
            keys,
        }
    }

    /// A data value in plotting space.
    fn at(&self, y: f64) -> f64 {
        if self.log {
            (y / self.div).max(1e-12).log10()
        } else {
            y / self.div
        }
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    l: &LineChart,
) -> Result<(), String> {
    let y = YAxis::of(l);
    let (y0, y1, logy, unit) = (y.lo, y.hi, y.log, &y.unit);
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
        .build_cartesian_2d(
            KeyAxis::new(x0, x1, keys),
            KeyAxis::new(y0, y1, y.keys.clone()),
        )
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
    plot(&mut c, l, &y, (x0, x1))?;
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

/// An x value in plotting space (log10 for percentiles).
fn x_at(l: &LineChart, x: f64) -> f64 {
    match l.x {
        XAxis::Percentile => x.max(1e-12).log10(),
        _ => x,
    }
}

/// Draw the series (with points when they are few), the limits as dashed horizontal lines and
/// the events as dashed vertical ones, each with its legend entry.
fn plot<DB: DrawingBackend>(
    c: &mut ChartContext<'_, DB, Cartesian2d<KeyAxis, KeyAxis>>,
    l: &LineChart,
    y: &YAxis,
    (x0, x1): (f64, f64),
) -> Result<(), String> {
    let (y0, y1, logy) = (y.lo, y.hi, y.log);
    let ty = |v: f64| y.at(v);
    let tx = |x: f64| x_at(l, x);
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
    Ok(())
}
