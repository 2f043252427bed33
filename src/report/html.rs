//! HTML, every page (node report, comparison, cluster page, trend page): each one self-contained
//! file with inline SVG charts and inline CSS — no scripts, no
//! external fonts, stylesheets or links — so it opens offline and can be attached to a ticket.
//! Promises: all text from results files is HTML-escaped.

use super::chart::{self, figures, spec::Chart};
use super::load::Loaded;
use super::view::cluster::{self as cl, ClusterRun, RttCell, RTT_LIMIT_NS};
use super::view::compare::{self, SideBySide};
use super::view::trend::MetricTrend;
use super::view::{node as model, summary};
use super::{Renderer, ReportError, ReportInput};
use crate::results::installer_advice::per_installer;
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
        // The answer first: a cluster run's section (verdict, RTT matrix, timing) before the nodes.
        s.push_str(&cluster(&input.results));
        let (side, per_node) = figures::chart_sets(&input.results);
        let labels = compare::column_labels(&input.results);
        if let Some(c) = &cmp {
            comparison(&mut s, input, c, &side)?;
        }
        for ((l, label), charts) in input.results.iter().zip(&labels).zip(&per_node) {
            node(&mut s, l, cmp.is_some().then_some(label.as_str()), charts)?;
        }
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
    let svg = chart::to_svg(c)?;
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
    checks(s, l);
    if !l.doc.warnings.is_empty() {
        let _ = writeln!(s, "<h3>Warnings</h3><ul>");
        for w in &l.doc.warnings {
            let _ = writeln!(s, "<li>{}</li>", esc(w));
        }
        let _ = writeln!(s, "</ul>");
    }
    if let Some(e) = model::etcd_view(&l.raw) {
        etcd(s, &e);
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

/// A node's checks table, each check's note under its title.
fn checks(s: &mut String, l: &Loaded) {
    if l.doc.checks.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h3>Checks</h3>\n<table class=\"checks\">\n<tr><th>Check</th><th>Verdict</th><th>Observed</th><th>Limit</th><th>Headroom</th><th>Severity</th><th>Source</th></tr>");
    for r in model::check_rows(&l.doc.checks) {
        let c = r.check;
        let note = c
            .note
            .as_deref()
            .map(|n| format!("<br><small>{}</small>", esc(n)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "<tr><td>{}<br><code>{}</code>{note}</td><td class=\"v-{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.title),
            esc(&c.id),
            esc(c.verdict.as_str()),
            esc(c.verdict.upper()),
            esc(&r.observed),
            esc(&r.limit),
            esc(&r.headroom),
            esc(c.severity.as_str()),
            esc(&c.source)
        );
    }
    let _ = writeln!(s, "</table>\n<p><small>Headroom: how far the observed value is inside (+) or beyond (−) the limit, as a share of the limit.</small></p>");
}

/// A node's etcd probe: the headline figures and the members' own.
fn etcd(s: &mut String, e: &model::EtcdView) {
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
            for text in m.cells() {
                let _ = write!(s, "<td class=\"num\">{}</td>", esc(&text));
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</table>\n<p><small>Member figures are estimates from each member's Prometheus histogram buckets (/metrics).</small></p>");
    }
}

fn comparison(
    s: &mut String,
    input: &ReportInput,
    cmp: &SideBySide,
    charts: &[Chart],
) -> Result<(), ReportError> {
    let _ = writeln!(s, "<section class=\"comparison\">");
    if let Some(n) = &cmp.note {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    let lines = summary::lines(&input.results, cmp);
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
    checks_side_by_side(s, cmp);
    if !charts.is_empty() {
        let _ = writeln!(s, "<h2>Charts side by side</h2>");
        for c in charts {
            figure(s, c)?;
        }
    }
    let _ = writeln!(s, "</section>");
    Ok(())
}

/// The checks of a comparison, one row per check, one column per node, the best of a row marked.
fn checks_side_by_side(s: &mut String, cmp: &SideBySide) {
    if cmp.rows.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<h2>Checks side by side</h2>\n<table class=\"compare\"><tr><th>Check</th><th>Limit</th>"
    );
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

/// Heat-map colour for an RTT p99 against the 50 ms limit.
fn heat(v: Option<u64>) -> &'static str {
    match v {
        None => "#eeeeee",
        Some(v) if v <= 10_000_000 => "#c8e6c9",
        Some(v) if v <= 25_000_000 => "#fff59d",
        Some(v) if v <= RTT_LIMIT_NS => "#ffcc80",
        Some(_) => "#ef9a9a",
    }
}

/// The cluster page: one section per cluster run, the RTT matrix as a heat map, then the runs side
/// by side when there are several.
pub fn cluster(results: &[Loaded]) -> String {
    let gs = cl::groups(results);
    let mut s = String::new();
    for g in &gs {
        cluster_run(&mut s, g);
    }
    if gs.len() > 1 {
        clusters_side_by_side(&mut s, &gs);
    }
    s
}

/// One cluster run's section: the verdict, the RTT matrix, the put table, the advice.
fn cluster_run(s: &mut String, g: &ClusterRun) {
    let members = g.members();
    let _ = writeln!(
        s,
        "<section class=\"cluster\">\n<h2>Cluster {}</h2>\n<p><strong>Cluster verdict: {}</strong> — {} of {} nodes' results (token <code>{}</code>)</p>",
        esc(&g.label()),
        esc(&cl::verdict_text(g)).replace('`', ""),
        g.nodes.len(),
        members.len(),
        esc(&g.token)
    );
    if let Some(n) = g.insecure_note() {
        let _ = writeln!(s, "<p class=\"note warning\">Warning: {}</p>", esc(&n));
    }
    for n in &g.duplicates {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    let _ = writeln!(
        s,
        "<h3>Network RTT p99, from → to (TCP handshake)</h3>\n<table class=\"heatmap\"><tr><th>from \\ to</th>{}</tr>",
        members
            .iter()
            .map(|m| format!("<th>{}</th>", esc(m)))
            .collect::<String>()
    );
    for from in &members {
        let (name, mark) = cl::row_heading(g, from);
        let mark = mark
            .map(|m| format!(" <small>{}</small>", esc(&m)))
            .unwrap_or_default();
        let _ = write!(s, "<tr><th>{}{mark}</th>", esc(&name));
        for to in &members {
            let c = g.rtt_cell(from, to);
            let style = match &c {
                RttCell::Diagonal => String::new(),
                RttCell::NoAnswer { .. } => " style=\"background:#ef9a9a\"".into(),
                c => format!(" style=\"background:{}\"", heat(c.p99())),
            };
            let title = match &c {
                RttCell::Rtt {
                    last: Some(e),
                    errors,
                    ..
                } if *errors > 0 => format!(" title=\"last failure: {}\"", esc(e)),
                _ => String::new(),
            };
            let _ = write!(s, "<td{style}{title}>{}</td>", esc(&c.text(false)));
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(
        s,
        "</table>\n<p>Colours: ≤ 10 ms green, ≤ 25 ms yellow, ≤ 50 ms orange, beyond the 50 ms limit or no answer red. \"N failed\": TCP handshakes to the peer that failed.</p>"
    );
    let _ = writeln!(
        s,
        "<h3>Put latency through each node's member (from due time)</h3>\n<table><tr><th>node</th><th>role</th><th>p50</th><th>p99</th><th>max</th><th>errors</th><th>leader changes</th><th>verdict</th></tr>"
    );
    for m in &members {
        let row: String = cl::put_row(g, m)
            .iter()
            .map(|t| format!("<td>{}</td>", esc(t)))
            .collect();
        let _ = writeln!(s, "<tr>{row}</tr>");
    }
    let _ = writeln!(s, "</table>");
    if let Some(n) = cl::undersampled_note(g) {
        let _ = writeln!(s, "<p><small>{}</small></p>", esc(&n));
    }
    if let Some((hb, el, basis)) = g.advice() {
        let _ = writeln!(
            s,
            "<h3>etcd timing</h3>\n<p>Needed: <code>--heartbeat-interval={hb} --election-timeout={el}</code> (ms), the largest advice of all nodes (every member gets the same); {}. Per installer, never below its own defaults:</p>",
            esc(&basis)
        );
        for a in per_installer(hb, el) {
            let _ = writeln!(
                s,
                "<p><strong>{}</strong> (defaults {}/{} ms)</p>\n<pre>{}</pre>",
                a.installer,
                a.defaults_ms.0,
                a.defaults_ms.1,
                esc(&a.snippet)
            );
        }
    }
    let _ = writeln!(s, "</section>");
}

/// Several cluster runs side by side: verdict, worst link, put latency, advice.
fn clusters_side_by_side(s: &mut String, gs: &[ClusterRun]) {
    let _ = writeln!(
        s,
        "<section class=\"cluster\"><h2>Clusters side by side</h2>\n<table><tr><th>cluster</th><th>verdict</th><th>worst RTT p99</th><th>put p99 via leader</th><th>worst put p99 via a follower</th><th>advice</th></tr>"
    );
    for g in gs {
        let worst = g.nodes.iter().filter_map(|(_, c)| c.worst_rtt_p99_ns).max();
        let (lp, fp) = g.put_p99();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td style=\"background:{}\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&g.label()),
            esc(&g.verdict().map(|v| v.0).unwrap_or_else(|| "—".into())),
            heat(worst),
            esc(&cl::opt_ns(worst)),
            esc(&cl::opt_pct(lp)),
            esc(&cl::opt_pct(fp)),
            esc(&g
                .advice()
                .map(|(h, e, _)| format!("--heartbeat-interval={h} --election-timeout={e}"))
                .unwrap_or_default())
        );
    }
    let _ = writeln!(s, "</table></section>");
}

/// The HTML trend report.
pub fn trend(trends: &[MetricTrend], problems: &[String]) -> Result<Vec<u8>, ReportError> {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>nodefit trend</title>\n<style>\nbody{{font-family:'DejaVu Sans',Verdana,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em}}table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.reg{{background:#fbe3d6;font-weight:bold}}figure svg{{max-width:100%;height:auto}}\n</style>\n</head>\n<body>\n<h1>nodefit trend</h1>\n"
    );
    if !problems.is_empty() {
        let _ = writeln!(s, "<p><strong>Inputs left out:</strong></p><ul>");
        for p in problems {
            let _ = writeln!(s, "<li>{}</li>", esc(p));
        }
        let _ = writeln!(s, "</ul>");
    }
    let _ = writeln!(s, "<table><tr><th>Judgement of the latest run</th></tr>");
    for t in trends {
        let _ = writeln!(
            s,
            "<tr><td{}>{}</td></tr>",
            if t.is_regression() {
                " class=\"reg\""
            } else {
                ""
            },
            esc(&t.line())
        );
    }
    let _ = writeln!(s, "</table>");
    for c in figures::trend_charts(trends) {
        figure(&mut s, &c)?;
    }
    let _ = writeln!(s, "</body>\n</html>");
    Ok(s.into_bytes())
}
