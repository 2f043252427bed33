//! Markdown report: the verdict and the tables, for merge requests and GitLab/GitHub comments.
//! Promises: deterministic output for the same inputs (no clock, no absolute paths beyond what the
//! caller passed), `|` in cell text escaped.

use super::compare::{self, Comparison};
use super::load::Loaded;
use super::model;
use super::{Renderer, ReportError, ReportInput};
use std::fmt::Write;

/// The Markdown renderer.
pub struct Markdown;

impl Renderer for Markdown {
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, ReportError> {
        if input.results.is_empty() {
            return Err(ReportError::Empty);
        }
        let mut s = String::new();
        if input.is_comparison() {
            comparison(&mut s, input);
        } else {
            let l = &input.results[0];
            let _ = writeln!(s, "# nodefit report: {}\n", cell(&l.node()));
            node(&mut s, l, 2);
        }
        s.push_str(&super::cluster::markdown(&input.results));
        problems(&mut s, &input.problems);
        Ok(s.into_bytes())
    }
}

/// Escape a table cell.
pub fn cell(t: &str) -> String {
    t.replace('|', "\\|").replace('\n', " ")
}

/// One line saying what was judged.
pub fn headline(l: &Loaded) -> String {
    let mut parts = Vec::new();
    match &l.doc.verdict {
        Some(v) => parts.push(format!("**Verdict: {v}**")),
        None => parts.push("**No verdict** (measurements only)".to_string()),
    }
    if let Some(sc) = l.doc.score {
        parts.push(format!("score {sc:.0}/100"));
    }
    if let Some(p) = l.profile_name() {
        parts.push(format!("profile `{p}`"));
    }
    parts.push(format!(
        "measured {} on host `{}` ({} {}, schema {})",
        l.doc.started_at, l.doc.hostname, l.doc.tool.name, l.doc.tool.version, l.doc.schema_version
    ));
    if !l.doc.complete {
        parts.push(format!(
            "**incomplete run**: {}",
            l.doc
                .incomplete_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        ));
    }
    parts.join(" — ")
}

fn node(s: &mut String, l: &Loaded, level: usize) {
    let h = "#".repeat(level);
    let _ = writeln!(s, "{}\n", headline(l));
    for n in &l.notes {
        let _ = writeln!(s, "> Note: {}\n", n.replace('\n', " "));
    }
    if !l.doc.checks.is_empty() {
        let _ = writeln!(s, "{h} Checks\n");
        let _ = writeln!(
            s,
            "| Check | Verdict | Observed | Limit | Headroom | Severity | Source |\n|---|---|---|---|---|---|---|"
        );
        for c in &l.doc.checks {
            let obs = c.observed_text().unwrap_or_else(|| "—".into());
            let head = model::headroom(c)
                .map(|x| format!("{:+.0} %", x * 100.0))
                .unwrap_or_else(|| "—".into());
            let _ = writeln!(
                s,
                "| {} (`{}`) | {} | {} | {} {} | {} | {} | {} |",
                cell(&c.title),
                c.id,
                c.verdict.upper(),
                obs,
                c.comparison,
                crate::util::units::format_value(c.limit, &c.unit),
                head,
                c.severity,
                cell(&c.source)
            );
        }
        let notes: Vec<_> = l
            .doc
            .checks
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.note.as_deref()?)))
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(s);
            for (id, n) in notes {
                let _ = writeln!(s, "- `{id}`: {}", n.replace('\n', " "));
            }
        }
        let _ = writeln!(s);
    }
    if !l.doc.warnings.is_empty() {
        let _ = writeln!(s, "{h} Warnings\n");
        for w in &l.doc.warnings {
            let _ = writeln!(s, "- {}", w.replace('\n', " "));
        }
        let _ = writeln!(s);
    }
    let views = model::workload_views(&l.doc);
    if !views.is_empty() {
        let _ = writeln!(s, "{h} Disk workloads\n");
        let _ = writeln!(
            s,
            "| Workload | Rounds | Kind | Ops | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|"
        );
        for v in &views {
            for (k, hist) in &v.kinds {
                let p = |q: f64| {
                    model::percentile_text(
                        hist.value_at_quantile(q) as f64,
                        crate::util::stats::percentile_supported(hist.len(), q * 100.0),
                    )
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    cell(&v.key),
                    v.rounds,
                    k,
                    hist.len(),
                    p(0.5),
                    p(0.99),
                    p(0.999),
                    crate::util::units::format_ns(hist.max() as f64)
                );
            }
        }
        let _ = writeln!(
            s,
            "\nPercentiles from the HDR histograms merged over rounds (3 significant digits); {}.\n",
            model::UNDERSAMPLED_NOTE
        );
    }
    if let Some(e) = model::etcd_view(&l.raw) {
        let _ = writeln!(s, "{h} etcd probe\n");
        if !e.summary.is_empty() {
            let _ = writeln!(s, "| Figure | Value |\n|---|---|");
            for (k, v) in &e.summary {
                let _ = writeln!(s, "| {} | {} |", cell(k), cell(v));
            }
            let _ = writeln!(s);
        }
        if !e.members.is_empty() {
            let _ = writeln!(
                s,
                "| Member | WAL fsync p50 / p99 | backend commit p50 / p99 | peer RTT p50 / p99 |\n|---|---|---|---|"
            );
            for m in &e.members {
                let f = |name: &str| {
                    m.metrics
                        .iter()
                        .find(|(k, _, _)| *k == name)
                        .map(|(_, a, b)| {
                            let g = |x: &Option<f64>| {
                                x.map(crate::util::units::format_ns)
                                    .unwrap_or_else(|| "—".into())
                            };
                            format!("{} / {}", g(a), g(b))
                        })
                        .unwrap_or_else(|| "—".into())
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    cell(&m.name),
                    f("wal_fsync"),
                    f("backend_commit"),
                    f("peer_rtt")
                );
            }
            let _ = writeln!(
                s,
                "\nMember figures are estimates from each member's Prometheus histogram buckets (/metrics).\n"
            );
        }
    }
    if let Some(fp) = &l.doc.fingerprint {
        let rows = model::flatten(&fp.to_value());
        if !rows.is_empty() {
            let _ = writeln!(s, "{h} Fingerprint\n");
            let _ = writeln!(s, "| Key | Value |\n|---|---|");
            for (k, v) in rows {
                let _ = writeln!(s, "| `{}` | {} |", cell(&k), cell(&v));
            }
            let _ = writeln!(s);
        }
    }
}

fn comparison(s: &mut String, input: &ReportInput) {
    let cmp = compare::compare(&input.results);
    let _ = writeln!(s, "# nodefit comparison: {}\n", cmp.nodes.join(" vs "));
    if let Some(n) = &cmp.note {
        let _ = writeln!(s, "> **Note:** {n}\n");
    }
    let lines = super::summary::lines(&input.results, &cmp);
    if !lines.is_empty() {
        for l in &lines {
            let _ = writeln!(s, "- {}", l.replace('\n', " "));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "| Node | Verdict | Score | Profile | Measured | File |\n|---|---|---|---|---|---|"
    );
    for (l, name) in input.results.iter().zip(&cmp.nodes) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | `{}` |",
            cell(name),
            l.doc.verdict.map(|v| v.as_str()).unwrap_or("—"),
            l.doc
                .score
                .map(|x| format!("{x:.0}"))
                .unwrap_or_else(|| "—".into()),
            l.profile_name().unwrap_or_else(|| "—".into()),
            l.doc.started_at,
            cell(&l.path.display().to_string())
        );
    }
    let _ = writeln!(s);
    checks_table(s, &cmp);
    for (l, name) in input.results.iter().zip(&cmp.nodes) {
        let _ = writeln!(s, "## {}\n", cell(name));
        node(s, l, 3);
    }
}

fn checks_table(s: &mut String, cmp: &Comparison) {
    if cmp.rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Checks side by side\n");
    let _ = write!(s, "| Check | Limit |");
    for n in &cmp.nodes {
        let _ = write!(s, " {} |", cell(n));
    }
    let _ = write!(s, "\n|---|---|");
    for _ in &cmp.nodes {
        let _ = write!(s, "---|");
    }
    let _ = writeln!(s);
    for r in &cmp.rows {
        let limit = r.limit_text();
        let _ = write!(s, "| {} (`{}`) | {} |", cell(&r.title), r.id, limit);
        for (i, c) in r.cells.iter().enumerate() {
            let text = match c {
                None => "not checked".to_string(),
                Some(c) => {
                    let v = c
                        .observed
                        .map(|x| crate::util::units::format_value(x, &r.unit))
                        .unwrap_or_else(|| "—".into());
                    let v = format!("{v} {}", c.verdict.upper());
                    if r.best == Some(i) {
                        format!("**{v}** ★")
                    } else {
                        v
                    }
                }
            };
            let _ = write!(s, " {text} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n★ = best of the row.\n");
}

fn problems(s: &mut String, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Inputs left out\n");
    for p in problems {
        let _ = writeln!(s, "- {}", p.replace('\n', " "));
    }
    let _ = writeln!(s);
}
