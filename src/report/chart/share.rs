//! The comparison chart of checks: for each check, each node's observed value as a share of the
//! check's limit, as horizontal bars on a log axis, with the limit as one line at 1 and every
//! observed value printed at the end of its bar. Promises: a node 100× slower than another leaves
//! both nodes' bars readable (log axis, floor below the smallest share); for a minimum (`>=`, `>`)
//! the share is limit ÷ observed, so right of the line is always beyond the limit; checks whose
//! share is undefined (`==`, a zero limit, limits that differ between nodes) are named, not drawn.

use super::axes::{caption_size, e, log_keys, trim, KeyAxis, FAMILY, PALETTE};
use super::spec::ShareChart;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Pixels per bar and between rows.
const BAR_PX: u32 = 17;
const ROW_GAP_PX: u32 = 14;
/// Pixels above and below the plot (title, axis labels).
const FRAME_PX: u32 = 130;
/// Rows reserved above the first check for the legend.
fn legend_rows(nodes: usize) -> f64 {
    let per_row = (nodes as f64 * f64::from(BAR_PX) + f64::from(ROW_GAP_PX)).max(1.0);
    (nodes as f64 * 21.0 + 14.0) / per_row
}

/// Width and height in pixels: the height grows with checks × nodes so bars stay legible.
pub fn size(c: &ShareChart) -> (u32, u32) {
    let rows = c.groups.len().max(1) as f64 + legend_rows(c.series_names.len());
    let per_row = c.series_names.len().max(1) as u32 * BAR_PX + ROW_GAP_PX;
    (
        800,
        (FRAME_PX + (rows * f64::from(per_row)).ceil() as u32).max(300),
    )
}

/// x range in log10 space: a floor a third below the smallest share (so its bar has length),
/// room right of the largest for its printed value, 1 always inside.
fn x_range(c: &ShareChart) -> (f64, f64) {
    let shares = c.shares.iter().flatten().flatten().copied();
    let (lo, hi) = shares.fold((1f64, 1f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = lo.log10() - 0.5;
    let hi = hi.log10();
    let span = (hi - lo).max(0.5);
    (lo, hi + 0.22 * span + 0.1)
}

/// Tick positions: 1-2-5 per decade on a short axis, powers of ten on a long one.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi - lo <= 2.5 {
        log_keys(lo, hi)
    } else {
        let mut k: Vec<f64> = (lo.ceil() as i32..=hi.floor() as i32)
            .map(f64::from)
            .collect();
        if k.is_empty() {
            k.push(0.0);
        }
        k
    }
}

/// Draw the chart.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    c: &ShareChart,
) -> Result<(), String> {
    let n = c.groups.len().max(1) as f64;
    let ns = c.series_names.len().max(1);
    let top = n + legend_rows(ns);
    let (x0, x1) = x_range(c);
    // Row labels sit on the left: room for the longest (DejaVu Sans 12 px ≈ 7 px a character).
    let longest = c
        .groups
        .iter()
        .map(|g| g.chars().count())
        .max()
        .unwrap_or(8);
    let label_px = (longest as u32 * 7 + 16).clamp(80, 320);
    let keys: Vec<f64> = (0..c.groups.len()).map(|i| n - i as f64 - 0.5).collect();
    let fmt_y = |v: &f64| -> String {
        let i = (n - v).floor();
        if i < 0.0 {
            return String::new();
        }
        c.groups.get(i as usize).cloned().unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, caption_size(title)))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(label_px)
        .build_cartesian_2d(
            KeyAxis::new(x0, x1, ticks(x0, x1)),
            KeyAxis::new(0.0, top, keys),
        )
        .map_err(e)?;
    // Beyond the limit: a light vermillion wash right of 1.
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (x1, n)],
            PALETTE[3].mix(0.08).filled(),
        )))
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("observed ÷ limit, log scale (for a minimum: limit ÷ observed); right of 1 = beyond the limit")
        .x_label_formatter(&|v| trim(10f64.powf(*v)))
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .draw()
        .map_err(e)?;
    // The limit first, so bars and their printed values lie on top of it.
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (0.0, n)],
            6,
            4,
            BLACK.stroke_width(2),
        ))
        .map_err(e)?
        .label("limit (1 = at the limit)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    bars(&mut chart, c, n, x0)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(e)?;
    Ok(())
}

/// One bar per node and check (none where a share is undefined), each node's bars in its colour
/// with its legend entry, and the observed value printed at the end of each bar.
fn bars<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<KeyAxis, KeyAxis>>,
    c: &ShareChart,
    n: f64,
    x0: f64,
) -> Result<(), String> {
    let ns = c.series_names.len().max(1);
    let thick = 0.8 / ns as f64;
    let text = TextStyle::from((FAMILY, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for si in 0..ns {
        let colour = PALETTE[si % PALETTE.len()];
        let mut rects = Vec::new();
        let mut labels = Vec::new();
        for (gi, row) in c.shares.iter().enumerate() {
            let y_top = n - gi as f64 - 0.1 - thick * si as f64;
            let y_bot = y_top - thick * 0.85;
            let y_mid = (y_top + y_bot) / 2.0;
            let label = c
                .labels
                .get(gi)
                .and_then(|l| l.get(si))
                .cloned()
                .unwrap_or_default();
            match row.get(si).copied().flatten() {
                Some(v) => {
                    let x = v.log10();
                    rects.push(Rectangle::new([(x0, y_bot), (x, y_top)], colour.filled()));
                    if !label.is_empty() {
                        labels.push((x, y_mid, label));
                    }
                }
                // No share (e.g. observed 0): no bar, but the value is still said at the floor.
                None if !label.is_empty() => labels.push((x0, y_mid, label)),
                None => {}
            }
        }
        let name = c.series_names.get(si).cloned().unwrap_or_default();
        chart
            .draw_series(rects)
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(10))
            });
        let style = text.clone();
        chart
            .draw_series(labels.into_iter().map(move |(x, y, t)| {
                // A white backdrop (≈ 6 px a character) keeps the value legible over the limit line.
                let w = t.chars().count() as i32 * 6 + 4;
                EmptyElement::at((x, y))
                    + Rectangle::new([(2, -7), (2 + w, 7)], WHITE.filled())
                    + Text::new(t, (4, 0), style.clone())
            }))
            .map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes() -> ShareChart {
        ShareChart {
            groups: vec!["wal_fdatasync_p99".into(), "wal_sync_iops".into()],
            series_names: vec!["fast".into(), "slow".into()],
            shares: vec![vec![Some(0.005), Some(0.5)], vec![Some(0.1), Some(10.0)]],
            labels: vec![
                vec!["50.0µs".into(), "5.00ms".into()],
                vec!["500 ops/s".into(), "5 ops/s".into()],
            ],
        }
    }

    #[test]
    fn axis_holds_every_share_and_the_limit_with_room_below() {
        let c = two_nodes();
        let (lo, hi) = x_range(&c);
        // The smallest share (0.005) is inside the axis, with its bar half a decade long.
        assert!(lo <= 0.005f64.log10() - 0.49, "{lo}");
        assert!(hi > 10f64.log10() && hi > 0.0);
        let t = ticks(lo, hi);
        assert!(t.contains(&0.0), "{t:?}");
    }

    #[test]
    fn svg_draws_a_bar_and_a_value_per_node_and_check() {
        let c = super::super::spec::Chart {
            id: "s".into(),
            title: "Checks as a share of their limit".into(),
            caption: String::new(),
            body: super::super::spec::Body::Share(two_nodes()),
        };
        let svg = super::super::to_svg(&c).unwrap();
        for label in ["50.0µs", "5.00ms", "500 ops/s", "5 ops/s", "wal_sync_iops"] {
            assert!(svg.contains(label), "{label} not drawn");
        }
        // One filled bar per (check, node) in each node's colour.
        for colour in ["#0072B2", "#E69F00"] {
            let bars = svg
                .matches(&format!("fill=\"{colour}\" stroke=\"none\""))
                .count();
            assert!(bars >= 2, "{colour}: {bars} bars");
        }
        // The PNG: the fast node's smaller bar (0.005 of the limit, beside 0.5) is still a bar
        // in pixels, at least 8 px long and thick.
        let png = super::super::to_png(&c).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), size(&two_nodes()));
        let blue: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 114, 178])
            .map(|(x, y, _)| (x, y))
            .collect();
        // Rows of blue pixels per bar: group them by y into runs, and take their lengths.
        let mut rows: std::collections::BTreeMap<u32, u32> = Default::default();
        for (_, y) in &blue {
            *rows.entry(*y).or_default() += 1;
        }
        let shortest_bar_row = rows.values().copied().filter(|n| *n > 20).min().unwrap();
        assert!(shortest_bar_row >= 8, "{shortest_bar_row} px");
        assert!(
            rows.values().filter(|n| **n > 20).count() >= 16,
            "bars under 8 px thick"
        );
    }
}
