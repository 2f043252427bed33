//! `nodefit trend` as Markdown and PNG, so a nightly job can post the judgement and the charts to a
//! merge request or a chat channel: [`write_pngs`] writes one PNG per trend chart (the same charts
//! as the HTML report), [`render_markdown`] the judgement table with those PNGs linked.

use super::charts;
use super::markdown::cell;
use super::regress::Outcome;
use super::trend::{chart, MetricTrend};
use super::ReportError;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Write every trend's chart as `DIR/<chart id>.png` (ids made unique with "-2", "-3", …); returns
/// (chart title, file) in trend order.
pub fn write_pngs(
    trends: &[MetricTrend],
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|err| ReportError::Write {
        path: dir.to_path_buf(),
        err,
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in trends {
        let mut c = chart(t);
        if !seen.insert(c.id.clone()) {
            let mut k = 2;
            while !seen.insert(format!("{}-{k}", c.id)) {
                k += 1;
            }
            c.id = format!("{}-{k}", c.id);
        }
        let bytes = charts::to_png(&c)?;
        let path = dir.join(format!("{}.png", c.id));
        crate::util::atomic::write(&path, &bytes).map_err(|err| ReportError::Write {
            path: path.clone(),
            err,
        })?;
        out.push((c.title.clone(), path));
    }
    Ok(out)
}

/// `to` relative to the directory `from_dir` when it lies below it, else `to` as given.
fn link(from_dir: Option<&Path>, to: &Path) -> String {
    let rel = from_dir
        .and_then(|d| {
            let d = std::fs::canonicalize(d).ok()?;
            let t = std::fs::canonicalize(to).ok()?;
            t.strip_prefix(&d).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| to.to_path_buf());
    rel.display().to_string().replace(' ', "%20")
}

/// The Markdown trend report: one row per node and metric (latest, baseline, change, judgement),
/// inputs left out, then the PNG charts when `pngs` has them (linked relative to `md_dir`, the
/// directory the Markdown file is written to, when they lie below it).
pub fn render_markdown(
    trends: &[MetricTrend],
    problems: &[String],
    pngs: &[(String, PathBuf)],
    md_dir: Option<&Path>,
) -> Vec<u8> {
    let mut s = String::new();
    let regressions = trends.iter().filter(|t| t.is_regression()).count();
    let _ = writeln!(s, "# nodefit trend\n");
    let _ = writeln!(
        s,
        "**{regressions} regression(s)** in {} metric(s).\n",
        trends.len()
    );
    let _ = writeln!(
        s,
        "| node | metric | runs | latest | baseline | change | judgement |\n|---|---|---:|---:|---:|---:|---|"
    );
    for t in trends {
        let f = |v: f64| crate::util::units::format_value(v, &t.unit);
        let (latest, baseline, change, judgement) = match &t.outcome {
            Outcome::TooShort { have, need } => (
                t.points.last().map(|(_, v)| f(*v)).unwrap_or_default(),
                "—".to_string(),
                "—".to_string(),
                format!("history too short ({have} earlier run(s), need {need})"),
            ),
            Outcome::Judged(j) => (
                f(j.latest),
                f(j.baseline),
                format!(
                    "{:.1} % {}",
                    j.worse_pct.abs(),
                    if j.worse_pct > 0.0 {
                        "worse"
                    } else if j.worse_pct < 0.0 {
                        "better"
                    } else {
                        "change"
                    }
                ),
                if j.regression {
                    format!("**REGRESSION** ({})", j.test)
                } else {
                    format!("ok ({})", j.test)
                },
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&t.node),
            cell(&t.metric),
            t.points.len(),
            cell(&latest),
            cell(&baseline),
            cell(&change),
            cell(&judgement)
        );
    }
    if !problems.is_empty() {
        let _ = writeln!(s, "\nInputs left out:\n");
        for p in problems {
            let _ = writeln!(s, "- {}", p.replace('\n', " "));
        }
    }
    if !pngs.is_empty() {
        let _ = writeln!(s);
        for (title, path) in pngs {
            let _ = writeln!(
                s,
                "![{}]({})\n",
                title.replace([']', '['], ""),
                link(md_dir, path)
            );
        }
    }
    s.into_bytes()
}
