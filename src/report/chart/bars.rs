//! Grouped bar charts: one group per metric, one bar per node, the group's limit across it.

use super::axes::{caption_size, e, nice_ticks, trim, KeyAxis, FAMILY, PALETTE};
use super::spec::BarChart;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draw the chart.
pub(super) fn draw<DB: DrawingBackend>(
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
    limits(&mut c, b, div)?;
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(e)?;
    Ok(())
}

/// Each group's limit as a dashed line across it; one legend entry for all.
fn limits<DB: DrawingBackend>(
    c: &mut ChartContext<'_, DB, Cartesian2d<KeyAxis, KeyAxis>>,
    b: &BarChart,
    div: f64,
) -> Result<(), String> {
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
    Ok(())
}
