//! Reports rendered from results JSON: one node's qualification report, or several results side by
//! side. Renderers share one trait and return bytes; where the bytes go (file, stdout, PNG directory)
//! is decided once, by the command layer (`cmd::report`). Promises: a file that cannot be read is named with what is wrong and
//! the rest still renders (unless `--strict`); nothing is measured here, every figure comes from the
//! results files.

pub mod charts;
pub mod cluster;
pub mod compare;
pub mod figures;
pub mod html;
pub mod json;
pub mod load;
pub mod markdown;
pub mod model;
pub mod prometheus;
pub mod regress;
pub mod sharechart;
pub mod summary;
pub mod trend;
pub mod trend_out;
pub mod watch_prometheus;

use std::path::{Path, PathBuf};

/// What a report is rendered from.
pub struct ReportInput {
    /// Results that loaded, in argument order.
    pub results: Vec<load::Loaded>,
    /// Files that did not load, each naming the file and the problem.
    pub problems: Vec<String>,
}

impl ReportInput {
    /// True when this is a comparison of several results.
    pub fn is_comparison(&self) -> bool {
        self.results.len() > 1
    }
}

/// A report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    // The io error is part of the message and deliberately not a `source`: main prints errors
    // with their chain (`{:#}`), which would say it twice.
    #[error("cannot write {path}: {err}")]
    Write { path: PathBuf, err: std::io::Error },
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no results to report on")]
    Empty,
}

/// A report format: input in, bytes out.
pub trait Renderer {
    /// Render the whole report.
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, ReportError>;
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML file (inline SVG charts and CSS, no scripts or external links).
    Html,
    /// Markdown tables for merge requests and comments.
    Md,
    /// A JSON summary of verdicts, checks and the comparison.
    Json,
}

impl Format {
    /// The renderer of this format.
    pub fn renderer(self) -> Box<dyn Renderer> {
        match self {
            Format::Html => Box::new(html::Html),
            Format::Md => Box::new(markdown::Markdown),
            Format::Json => Box::new(json::Json),
        }
    }
}

/// The charts of a report: the side-by-side charts (empty for one result), then each result's own
/// charts in argument order. Results sharing a node name are labelled "vm #1", "vm #2", … (as in the
/// comparison tables) and so are their chart ids ("vm-2-wal-percentiles"); any id that would still
/// repeat gets a "-2", "-3", … suffix, so ids (HTML anchors, PNG file names) never collide.
pub fn chart_sets(input: &ReportInput) -> (Vec<charts::Chart>, Vec<Vec<charts::Chart>>) {
    let labels = compare::column_labels(&input.results);
    let mut side = if input.is_comparison() {
        let cmp = compare::compare(&input.results);
        figures::comparison_charts(&input.results, &cmp)
    } else {
        Vec::new()
    };
    let mut per_node: Vec<Vec<charts::Chart>> = input
        .results
        .iter()
        .zip(&labels)
        .map(|(l, label)| figures::node_charts(l, label))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for c in side.iter_mut().chain(per_node.iter_mut().flatten()) {
        if !seen.insert(c.id.clone()) {
            let mut k = 2;
            while !seen.insert(format!("{}-{k}", c.id)) {
                k += 1;
            }
            c.id = format!("{}-{k}", c.id);
        }
    }
    (side, per_node)
}

/// Every chart of a report, in the order the HTML shows them; ids are unique.
pub fn all_charts(input: &ReportInput) -> Vec<charts::Chart> {
    let (side, per_node) = chart_sets(input);
    side.into_iter()
        .chain(per_node.into_iter().flatten())
        .collect()
}

/// Write every chart as `DIR/<chart id>.png`; returns the files written (distinct paths, as chart
/// ids are unique).
pub fn write_pngs(input: &ReportInput, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|err| ReportError::Write {
        path: dir.to_path_buf(),
        err,
    })?;
    let mut written = Vec::new();
    for c in all_charts(input) {
        let bytes = charts::to_png(&c)?;
        let path = dir.join(format!("{}.png", c.id));
        crate::util::atomic::write(&path, &bytes).map_err(|err| ReportError::Write {
            path: path.clone(),
            err,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Write `dir/report.html` for one results document (what `qualify` calls after a run).
pub fn write_node_report(
    doc: &crate::results::ResultsDocument,
    dir: &Path,
) -> Result<PathBuf, ReportError> {
    let raw = serde_json::to_value(doc)?;
    let input = ReportInput {
        results: vec![load::Loaded {
            path: dir.join("result.json"),
            doc: doc.clone(),
            raw,
            notes: Vec::new(),
        }],
        problems: Vec::new(),
    };
    let bytes = html::Html.render(&input)?;
    let path = dir.join("report.html");
    crate::util::atomic::write(&path, &bytes).map_err(|err| ReportError::Write {
        path: path.clone(),
        err,
    })?;
    Ok(path)
}
