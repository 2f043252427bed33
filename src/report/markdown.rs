//! Markdown, every page: the node report, the comparison, the cluster page and the trend page —
//! the verdict and the tables, for merge requests and GitLab/GitHub comments.
//! Promises: deterministic output for the same inputs (no clock, no absolute paths beyond what the
//! caller passed), `|` in cell text escaped.

use super::load::Loaded;
use super::view::cluster::{self as cl, ClusterRun};
use super::view::compare::{self, SideBySide};
use super::view::regress::Finding;
use super::view::trend::MetricTrend;
use super::view::{node as model, summary};
use super::{Renderer, ReportError, ReportInput};
use crate::results::installer_advice::per_installer;
use crate::util::units::format_ns;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The Markdown renderer.
pub struct Markdown;

impl Renderer for Markdown {
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, ReportError> {
        if input.results.is_empty() {
            return Err(ReportError::Empty);
        }
        let mut body = String::new();
        if input.is_comparison() {
            comparison(&mut body, input);
        } else {
            let l = &input.results[0];
            let _ = writeln!(body, "# nodefit report: {}\n", cell(&l.node()));
            node(&mut body, l, 2);
        }
        // The answer first: a cluster run's section right under the title, before the nodes.
        let (title, rest) = body.split_once('\n').unwrap_or((body.as_str(), ""));
        let mut s = format!("{title}\n");
        s.push_str(&cluster(&input.results));
        s.push_str(rest);
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

/// One result's sections, headed at `level` ("##" for a lone report, "###" in a comparison).
fn node(s: &mut String, l: &Loaded, level: usize) {
    let h = "#".repeat(level);
    let _ = writeln!(s, "{}\n", headline(l));
    for n in &l.notes {
        let _ = writeln!(s, "> Note: {}\n", n.replace('\n', " "));
    }
    checks(s, l, &h);
    if !l.doc.warnings.is_empty() {
        let _ = writeln!(s, "{h} Warnings\n");
        for w in &l.doc.warnings {
            let _ = writeln!(s, "- {}", w.replace('\n', " "));
        }
        let _ = writeln!(s);
    }
    workloads(s, l, &h);
    if let Some(e) = model::etcd_view(&l.raw) {
        etcd(s, &e, &h);
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

/// A node's checks table, then each check's note.
fn checks(s: &mut String, l: &Loaded, h: &str) {
    if l.doc.checks.is_empty() {
        return;
    }
    let _ = writeln!(s, "{h} Checks\n");
    let _ = writeln!(
        s,
        "| Check | Verdict | Observed | Limit | Headroom | Severity | Source |\n|---|---|---|---|---|---|---|"
    );
    for r in model::check_rows(&l.doc.checks) {
        let c = r.check;
        let _ = writeln!(
            s,
            "| {} (`{}`) | {} | {} | {} | {} | {} | {} |",
            cell(&c.title),
            c.id,
            c.verdict.upper(),
            r.observed,
            r.limit,
            r.headroom,
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

/// A node's disk workloads table.
fn workloads(s: &mut String, l: &Loaded, h: &str) {
    let views = model::workload_views(&l.doc);
    if views.is_empty() {
        return;
    }
    let _ = writeln!(s, "{h} Disk workloads\n");
    let _ = writeln!(
        s,
        "| Workload | Rounds | Kind | Ops | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|"
    );
    for [key, rest @ ..] in model::workload_rows(&views) {
        let _ = writeln!(s, "| {} | {} |", cell(&key), rest.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nPercentiles from the HDR histograms merged over rounds (3 significant digits); {}.\n",
        model::UNDERSAMPLED_NOTE
    );
}

/// A node's etcd probe: the headline figures and the members' own.
fn etcd(s: &mut String, e: &model::EtcdView, h: &str) {
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
            let _ = writeln!(s, "| {} | {} |", cell(&m.name), m.cells().join(" | "));
        }
        let _ = writeln!(
            s,
            "\nMember figures are estimates from each member's Prometheus histogram buckets (/metrics).\n"
        );
    }
}

fn comparison(s: &mut String, input: &ReportInput) {
    let cmp = compare::compare(&input.results);
    let _ = writeln!(s, "# nodefit comparison: {}\n", cmp.nodes.join(" vs "));
    if let Some(n) = &cmp.note {
        let _ = writeln!(s, "> **Note:** {n}\n");
    }
    let lines = summary::lines(&input.results, &cmp);
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

fn checks_table(s: &mut String, cmp: &SideBySide) {
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

/// The cluster page: one section per cluster run, then a side-by-side table when there are several.
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
    let _ = writeln!(s, "\n## Cluster {}\n", cell(&g.label()));
    let _ = writeln!(
        s,
        "**Cluster verdict: {}** — {} of {} nodes' results (token `{}`)\n",
        cell(&cl::verdict_text(g)),
        g.nodes.len(),
        members.len(),
        g.token
    );
    if let Some(n) = g.insecure_note() {
        let _ = writeln!(s, "> **Warning:** {}\n", cell(&n));
    }
    for n in &g.duplicates {
        let _ = writeln!(s, "> **Note:** {}\n", cell(n));
    }
    let _ = writeln!(s, "### Network RTT p99, from → to (TCP handshake)\n");
    let _ = writeln!(
        s,
        "| from \\ to | {} |\n|---|{}",
        members
            .iter()
            .map(|m| cell(m))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(members.len())
    );
    for from in &members {
        let cells: Vec<String> = members
            .iter()
            .map(|to| cell(&g.rtt_cell(from, to).text(true)))
            .collect();
        let (name, mark) = cl::row_heading(g, from);
        let head = match mark {
            Some(m) => format!("**{}** {}", cell(&name), cell(&m)),
            None => format!("**{}**", cell(&name)),
        };
        let _ = writeln!(s, "| {head} | {} |", cells.join(" | "));
    }
    let _ = writeln!(
        s,
        "\n### Put latency through each node's member (from due time)\n"
    );
    let _ = writeln!(
        s,
        "| node | role | p50 | p99 | max | errors | leader changes | verdict |\n|---|---|---|---|---|---|---|---|"
    );
    for m in &members {
        let row: Vec<String> = cl::put_row(g, m).iter().map(|t| cell(t)).collect();
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    if let Some(n) = cl::undersampled_note(g) {
        let _ = writeln!(s, "\n{n}");
    }
    if let Some((hb, el, basis)) = g.advice() {
        let _ = writeln!(
            s,
            "\n### etcd timing (the largest advice of all nodes; every member gets the same)\n\nNeeded: `--heartbeat-interval={hb} --election-timeout={el}` (ms); {basis}. Per installer, never below its own defaults:\n"
        );
        for a in per_installer(hb, el) {
            let _ = writeln!(
                s,
                "- **{}** (defaults {}/{} ms):\n\n```\n{}\n```\n",
                a.installer, a.defaults_ms.0, a.defaults_ms.1, a.snippet
            );
        }
    }
}

/// Several cluster runs side by side: verdict, worst link, put latency, advice.
fn clusters_side_by_side(s: &mut String, gs: &[ClusterRun]) {
    let _ = writeln!(s, "\n## Clusters side by side\n");
    let _ = writeln!(
        s,
        "| cluster | verdict | worst RTT p99 | put p99 via leader | worst put p99 via a follower | advice |\n|---|---|---|---|---|---|"
    );
    for g in gs {
        let worst = g
            .nodes
            .iter()
            .filter_map(|(_, c)| Some((c.worst_link.clone()?, c.worst_rtt_p99_ns?)))
            .max_by_key(|(_, v)| *v);
        let (lp, fp) = g.put_p99();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&g.label()),
            g.verdict().map(|v| v.0).unwrap_or_else(|| "—".into()),
            worst
                .map(|(l, v)| format!("{} ({l})", format_ns(v as f64)))
                .unwrap_or_else(|| "—".into()),
            cl::opt_pct(lp),
            cl::opt_pct(fp),
            g.advice()
                .map(|(h, e, _)| format!("`--heartbeat-interval={h} --election-timeout={e}`"))
                .unwrap_or_default()
        );
    }
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
pub fn trend(
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
        let (latest, baseline, change, judgement) = match &t.finding {
            Finding::TooShort { have, need } => (
                t.points.last().map(|(_, v)| f(*v)).unwrap_or_default(),
                "—".to_string(),
                "—".to_string(),
                format!("history too short ({have} earlier run(s), need {need})"),
            ),
            Finding::Judged(j) => (
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
