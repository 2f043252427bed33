//! Latency histograms: log-spaced bins on a log latency axis.

use super::axes::{caption_size, e, log_keys, nice_ticks, trim, KeyAxis, FAMILY, PALETTE};
use super::spec::{HistChart, YUnit};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draw the chart.
pub(super) fn draw<DB: DrawingBackend>(
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
