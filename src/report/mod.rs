//! Reports rendered from results JSON: one node's qualification report, several results side by
//! side, the cluster page, the trend page. On one axis: [`load`] reads the results, [`view`] says
//! what a page says (plain data, no markup), [`chart`] draws, and one file per format writes every
//! page ([`html`], [`markdown`], [`json`]). Renderers share one trait and return bytes; where the
//! bytes go (file, stdout, PNG directory) is decided once, by the command layer (`cmd::report`,
//! `cmd::trend`); PNGs are written here, once. Promises: a file that cannot be read is named with what is wrong and
//! the rest still renders (unless `--strict`); nothing is measured here, every figure comes from the
//! results files.

pub mod chart;
pub mod html;
pub mod json;
pub mod load;
pub mod markdown;
pub mod view;

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
    Chart(#[from] chart::ChartError),
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

/// Every chart of a report, in the order the HTML shows them; ids are unique.
pub fn all_charts(input: &ReportInput) -> Vec<chart::spec::Chart> {
    let (side, per_node) = chart::figures::chart_sets(&input.results);
    side.into_iter()
        .chain(per_node.into_iter().flatten())
        .collect()
}

/// Write every chart of a report as `DIR/<chart id>.png`; returns the files written (distinct
/// paths, as chart ids are unique).
pub fn write_pngs(input: &ReportInput, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let written = write_chart_pngs(&all_charts(input), dir)?;
    Ok(written.into_iter().map(|(_, path)| path).collect())
}

/// Write every trend's chart as `DIR/<chart id>.png`; returns (chart title, file) in trend order.
pub fn write_trend_pngs(
    trends: &[view::trend::MetricTrend],
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>, ReportError> {
    write_chart_pngs(&chart::figures::trend_charts(trends), dir)
}

/// Write each chart (ids already unique) as `DIR/<chart id>.png`: (chart title, file) in order.
fn write_chart_pngs(
    charts: &[chart::spec::Chart],
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|err| ReportError::Write {
        path: dir.to_path_buf(),
        err,
    })?;
    let mut written = Vec::new();
    for c in charts {
        let bytes = chart::to_png(c)?;
        let path = dir.join(format!("{}.png", c.id));
        crate::util::atomic::write(&path, &bytes).map_err(|err| ReportError::Write {
            path: path.clone(),
            err,
        })?;
        written.push((c.title.clone(), path));
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
