//! HTML report: one self-contained file with inline SVG charts and inline CSS — no scripts, no
//! external fonts, stylesheets or links — so it opens offline and can be attached to a ticket.
//! Promises: all text from results files is HTML-escaped.

use super::charts::{self, Chart};
use super::compare::{self, Comparison};
use super::load::Loaded;
use super::{model, Renderer, ReportError, ReportInput};
use std::fmt::Write;

/// The HTML renderer.
pub struct Html;

const CSS: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}
.banner{padding:1em 1.2em;border-radius:6px;font-size:1.2em;margin:1em 0;color:#fff;background:#555}
.banner.fit{background:#009E73}.banner.marginal{background:#E69F00;color:#000}.banner.unfit{background:#D55E00}
.v-pass{color:#00704f;font-weight:bold}.v-marginal{color:#8a5d00;font-weight:bold}.v-fail{color:#b34700;font-weight:bold}.v-skipped{color:#666}
.best{background:#e6f4ef;font-weight:bold}.note{background:#fff7e0;border-left:4px solid #E69F00;padding:.6em 1em}
.problems{background:#fdecea;border-left:4px solid #D55E00;padding:.6em 1em}
figure{margin:1.5em 0}figcaption{font-size:.85em;color:#444;max-width:800px}figure svg{max-width:100%;height:auto;border:1px solid #eee}
code{background:#f5f5f5;padding:0 .2em}
.summary{font-size:1.1em;line-height:1.5}";

/// Escape text for HTML.
pub fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

impl Renderer for Html {
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, ReportError> {
        if input.results.is_empty() {
            return Err(ReportError::Empty);
        }
        let cmp = input
            .is_comparison()
            .then(|| compare::compare(&input.results));
        let title = match &cmp {
            Some(c) => format!("nodefit comparison: {}", c.nodes.join(" vs ")),
            None => format!("nodefit report: {}", input.results[0].node()),
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&title),
            esc(&title)
        );
        if !input.problems.is_empty() {
            let _ = writeln!(
                s,
                "<div class=\"problems\"><strong>Inputs left out:</strong><ul>"
            );
            for p in &input.problems {
                let _ = writeln!(s, "<li>{}</li>", esc(p));
            }
            let _ = writeln!(s, "</ul></div>");
        }
        let (side, per_node) = super::chart_sets(input);
        let labels = compare::column_labels(&input.results);
        if let Some(c) = &cmp {
            comparison(&mut s, input, c, &side)?;
        }
        for ((l, label), charts) in input.results.iter().zip(&labels).zip(&per_node) {
            node(&mut s, l, cmp.is_some().then_some(label.as_str()), charts)?;
        }
        s.push_str(&super::cluster::html(&input.results));
        let _ = writeln!(
            s,
            "<footer><p>Rendered by nodefit {} from the results files named above; every figure is as \
             measured, percentiles from HDR histograms (3 significant digits).</p></footer>\n</body>\n</html>",
            env!("CARGO_PKG_VERSION")
        );
        Ok(s.into_bytes())
    }
}

fn figure(s: &mut String, c: &Chart) -> Result<(), ReportError> {
    let svg = charts::to_svg(c)?;
    let _ = writeln!(
        s,
        "<figure id=\"{}\" class=\"chart\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
        esc(&c.id),
        esc(&c.caption)
    );
    Ok(())
}

fn banner(s: &mut String, l: &Loaded) {
    let (class, text) = match l.doc.verdict.map(|v| v.as_str()) {
        Some(v) => (v.to_ascii_lowercase(), format!("Verdict: {v}")),
        None => ("none".into(), "No verdict (measurements only)".into()),
    };
    let score = l
        .doc
        .score
        .map(|x| format!(" — score {x:.0}/100"))
        .unwrap_or_default();
    let profile = l
        .profile_name()
        .map(|p| format!(" — profile {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "<div class=\"banner {}\"><strong>{}</strong>{}{}</div>",
        esc(&class),
        esc(&text),
        esc(&score),
        esc(&profile)
    );
    let _ = writeln!(
        s,
        "<p>Node <strong>{}</strong>, host <code>{}</code>, measured {} → {} by {} {} (schema {}), file <code>{}</code>.{}</p>",
        esc(&l.node()),
        esc(&l.doc.hostname),
        esc(&l.doc.started_at),
        esc(&l.doc.finished_at),
        esc(&l.doc.tool.name),
        esc(&l.doc.tool.version),
        l.doc.schema_version,
        esc(&l.path.display().to_string()),
        if l.doc.complete {
            String::new()
        } else {
            format!(
                " <strong>Incomplete run:</strong> {}",
                esc(l.doc.incomplete_reason.as_deref().unwrap_or("no reason recorded"))
            )
        }
    );
}

/// One result's section; `heading` is its label in a comparison ("vm #2"), None for a lone report.
fn node(
    s: &mut String,
    l: &Loaded,
    heading: Option<&str>,
    charts: &[Chart],
) -> Result<(), ReportError> {
    let _ = writeln!(s, "<section class=\"node\">");
    if let Some(h) = heading {
        let _ = writeln!(s, "<h2>{}</h2>", esc(h));
    }
    banner(s, l);
    for n in &l.notes {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    if !l.doc.checks.is_empty() {
        let _ = writeln!(s, "<h3>Checks</h3>\n<table class=\"checks\">\n<tr><th>Check</th><th>Verdict</th><th>Observed</th><th>Limit</th><th>Headroom</th><th>Severity</th><th>Source</th></tr>");
        for c in &l.doc.checks {
            let obs = c.observed_text().unwrap_or_else(|| "—".into());
            let head = model::headroom(c)
                .map(|x| format!("{:+.0} %", x * 100.0))
                .unwrap_or_else(|| "—".into());
            let note = c
                .note
                .as_deref()
                .map(|n| format!("<br><small>{}</small>", esc(n)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "<tr><td>{}<br><code>{}</code>{note}</td><td class=\"v-{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.title),
                esc(&c.id),
                esc(c.verdict.as_str()),
                esc(c.verdict.upper()),
                esc(&obs),
                esc(c.comparison.as_str()),
                esc(&crate::util::units::format_value(c.limit, &c.unit)),
                esc(&head),
                esc(c.severity.as_str()),
                esc(&c.source)
            );
        }
        let _ = writeln!(s, "</table>\n<p><small>Headroom: how far the observed value is inside (+) or beyond (−) the limit, as a share of the limit.</small></p>");
    }
    if !l.doc.warnings.is_empty() {
        let _ = writeln!(s, "<h3>Warnings</h3><ul>");
        for w in &l.doc.warnings {
            let _ = writeln!(s, "<li>{}</li>", esc(w));
        }
        let _ = writeln!(s, "</ul>");
    }
    if let Some(e) = model::etcd_view(&l.raw) {
        if !e.summary.is_empty() {
            let _ = writeln!(s, "<h3>etcd probe</h3>\n<table>");
            for (k, v) in &e.summary {
                let _ = writeln!(
                    s,
                    "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
                    esc(k),
                    esc(v)
                );
            }
            let _ = writeln!(s, "</table>");
        }
        if !e.members.is_empty() {
            let _ = writeln!(s, "<table class=\"members\"><tr><th>Member</th><th>WAL fsync p50 / p99</th><th>backend commit p50 / p99</th><th>peer RTT p50 / p99</th></tr>");
            for m in &e.members {
                let _ = write!(s, "<tr><td>{}</td>", esc(&m.name));
                for k in model::MEMBER_METRICS {
                    let g = |x: &Option<f64>| {
                        x.map(crate::util::units::format_ns)
                            .unwrap_or_else(|| "—".into())
                    };
                    let text = m
                        .metrics
                        .iter()
                        .find(|(n, _, _)| *n == k)
                        .map(|(_, a, b)| format!("{} / {}", g(a), g(b)))
                        .unwrap_or_else(|| "—".into());
                    let _ = write!(s, "<td class=\"num\">{}</td>", esc(&text));
                }
                let _ = writeln!(s, "</tr>");
            }
            let _ = writeln!(s, "</table>\n<p><small>Member figures are estimates from each member's Prometheus histogram buckets (/metrics).</small></p>");
        }
    }
    if !charts.is_empty() {
        let _ = writeln!(s, "<h3>Charts</h3>");
        for c in charts {
            figure(s, c)?;
        }
    }
    if let Some(fp) = &l.doc.fingerprint {
        let rows = model::flatten(&fp.to_value());
        if !rows.is_empty() {
            let _ = writeln!(s, "<h3>Fingerprint</h3>\n<table class=\"fingerprint\">\n<tr><th>Key</th><th>Value</th></tr>");
            for (k, v) in rows {
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&k),
                    esc(&v)
                );
            }
            let _ = writeln!(s, "</table>");
        }
    }
    let _ = writeln!(s, "</section>");
    Ok(())
}

fn comparison(
    s: &mut String,
    input: &ReportInput,
    cmp: &Comparison,
    charts: &[Chart],
) -> Result<(), ReportError> {
    let _ = writeln!(s, "<section class=\"comparison\">");
    if let Some(n) = &cmp.note {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    let lines = super::summary::lines(&input.results, cmp);
    if !lines.is_empty() {
        let _ = writeln!(s, "<ul class=\"summary\">");
        for l in lines {
            let _ = writeln!(s, "<li>{}</li>", esc(&l));
        }
        let _ = writeln!(s, "</ul>");
    }
    let _ = writeln!(s, "<table class=\"verdicts\"><tr><th>Node</th><th>Verdict</th><th>Score</th><th>Profile</th><th>Measured</th></tr>");
    for (l, name) in input.results.iter().zip(&cmp.nodes) {
        let v = l.doc.verdict.map(|v| v.as_str()).unwrap_or("—");
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"v-{}\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&match v {
                "FIT" => "pass".to_string(),
                "MARGINAL" => "marginal".to_string(),
                "UNFIT" => "fail".to_string(),
                _ => "skipped".to_string(),
            }),
            esc(v),
            l.doc.score.map(|x| format!("{x:.0}")).unwrap_or_else(|| "—".into()),
            esc(&l.profile_name().unwrap_or_else(|| "—".into())),
            esc(&l.doc.started_at)
        );
    }
    let _ = writeln!(s, "</table>");
    if !cmp.rows.is_empty() {
        let _ = write!(s, "<h2>Checks side by side</h2>\n<table class=\"compare\"><tr><th>Check</th><th>Limit</th>");
        for n in &cmp.nodes {
            let _ = write!(s, "<th>{}</th>", esc(n));
        }
        let _ = writeln!(s, "</tr>");
        for r in &cmp.rows {
            let limit = r.limit_text();
            let _ = write!(
                s,
                "<tr><td>{}<br><code>{}</code></td><td class=\"num\">{}</td>",
                esc(&r.title),
                esc(&r.id),
                esc(&limit)
            );
            for (i, c) in r.cells.iter().enumerate() {
                match c {
                    None => {
                        let _ = write!(s, "<td>not checked</td>");
                    }
                    Some(c) => {
                        let v = c
                            .observed
                            .map(|x| crate::util::units::format_value(x, &r.unit))
                            .unwrap_or_else(|| "—".into());
                        let best = r.best == Some(i);
                        let _ = write!(
                            s,
                            "<td class=\"num{}\">{}{} <span class=\"v-{}\">{}</span></td>",
                            if best { " best" } else { "" },
                            esc(&v),
                            if best { " ★" } else { "" },
                            esc(c.verdict.as_str()),
                            esc(c.verdict.upper())
                        );
                    }
                }
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</table>\n<p><small>★ = best of the row.</small></p>");
    }
    if !charts.is_empty() {
        let _ = writeln!(s, "<h2>Charts side by side</h2>");
        for c in charts {
            figure(s, c)?;
        }
    }
    let _ = writeln!(s, "</section>");
    Ok(())
}
