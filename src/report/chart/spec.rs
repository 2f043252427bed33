//! Charts as plain data: what a chart shows ([`Chart`]: id, title, caption and a [`Body`] of
//! lines, bars, a histogram or shares of limits), built by `figures` and drawn by the other files
//! here. Promises: values are in data units (ns for latency); the drawing picks the axis units.

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
    pub(super) fn scale(&self, max: f64) -> (f64, String) {
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
    Share(ShareChart),
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

/// Horizontal bars, one row (group) per check, one bar per node within it.
#[derive(Clone, Debug)]
pub struct ShareChart {
    /// Row labels (check ids), top to bottom.
    pub groups: Vec<String>,
    /// Legend text, one per node.
    pub series_names: Vec<String>,
    /// shares[group][node]: observed ÷ limit (limit ÷ observed for a minimum); None = no bar.
    pub shares: Vec<Vec<Option<f64>>>,
    /// labels[group][node]: the observed value as the tables print it ("" = nothing to print).
    pub labels: Vec<Vec<String>>,
}
