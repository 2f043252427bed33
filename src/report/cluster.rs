//! The cluster page of `nodefit report`: results of one cluster run (same token and run id, one per
//! node) become one cluster — the RTT matrix (from → to, p99) as a heat map, each node's put
//! latency (leader vs followers), the advised etcd flags to paste, and the cluster verdict (the
//! worst node's). Several cluster runs (vendor A's three VMs vs vendor B's) also compare side by
//! side. Every figure comes from the results files.

use super::load::Loaded;
use crate::results::cluster::ClusterResult;
use crate::util::units::format_ns;
use std::fmt::Write;

/// One cluster run and the nodes' results that belong to it, in argument order.
pub struct ClusterRun<'a> {
    pub token: String,
    pub run_id: String,
    pub nodes: Vec<(&'a Loaded, &'a ClusterResult)>,
}

impl ClusterRun<'_> {
    /// Member names, as the cluster was declared.
    pub fn members(&self) -> Vec<String> {
        self.nodes
            .first()
            .map(|(_, c)| c.members.iter().map(|m| m.name.clone()).collect())
            .unwrap_or_default()
    }

    /// "cp1, cp2, cp3 (run 1a2b…)".
    pub fn label(&self) -> String {
        format!("{} (run {})", self.members().join(", "), self.run_id)
    }

    /// The worst node's verdict; None when some node has none (probe-only results).
    pub fn verdict(&self) -> Option<(String, String)> {
        let rank = |v: &str| match v {
            "UNFIT" => 2,
            "MARGINAL" => 1,
            _ => 0,
        };
        let mut worst: Option<(String, String)> = None;
        for (l, c) in &self.nodes {
            let v = l.doc.verdict?.as_str().to_string();
            if worst.as_ref().is_none_or(|(w, _)| rank(&v) > rank(w)) {
                worst = Some((v, c.self_name.clone()));
            }
        }
        worst
    }

    /// RTT p99 from `from` to `to`, ns.
    pub fn rtt_p99(&self, from: &str, to: &str) -> Option<u64> {
        let (_, c) = self.nodes.iter().find(|(_, c)| c.self_name == from)?;
        c.peers
            .iter()
            .find(|p| p.name == to)?
            .rtt_ns
            .as_ref()?
            .summary
            .percentile(99.0)
    }

    /// The largest advice of all nodes (every member must run with the same values).
    pub fn advice(&self) -> Option<(u64, u64, String)> {
        let hb = self
            .nodes
            .iter()
            .map(|(_, c)| c.recommended.heartbeat_interval_ms)
            .max()?;
        let el = self
            .nodes
            .iter()
            .map(|(_, c)| c.recommended.election_timeout_ms)
            .max()?;
        let basis = self
            .nodes
            .iter()
            .filter_map(|(_, c)| {
                Some((
                    c.recommended.basis.link.clone()?,
                    c.recommended.basis.rtt_p99_ns?,
                ))
            })
            .max_by_key(|(_, v)| *v)
            .map(|(l, v)| format!("worst link {l}: rtt p99 {}", format_ns(v as f64)))
            .unwrap_or_else(|| "no RTT measured: etcd's defaults".into());
        Some((hb, el, basis))
    }

    /// Put p99 through the leader's member and the worst follower's, ns.
    pub fn put_p99(&self) -> (Option<u64>, Option<u64>) {
        let p = |c: &ClusterResult| c.put_latency_ns.as_ref().and_then(|l| l.percentile(99.0));
        let leader = self
            .nodes
            .iter()
            .find(|(_, c)| c.role.as_deref() == Some("leader"))
            .and_then(|(_, c)| p(c));
        let follower = self
            .nodes
            .iter()
            .filter(|(_, c)| c.role.as_deref() != Some("leader"))
            .filter_map(|(_, c)| p(c))
            .max();
        (leader, follower)
    }
}

/// The cluster runs among `results` (documents with a cluster section), in order of appearance.
pub fn groups(results: &[Loaded]) -> Vec<ClusterRun<'_>> {
    let mut out: Vec<ClusterRun> = Vec::new();
    for l in results {
        let Some(c) = l.doc.cluster.as_ref() else {
            continue;
        };
        match out
            .iter_mut()
            .find(|g| g.token == c.token && g.run_id == c.run_id)
        {
            Some(g) => g.nodes.push((l, c)),
            None => out.push(ClusterRun {
                token: c.token.clone(),
                run_id: c.run_id.clone(),
                nodes: vec![(l, c)],
            }),
        }
    }
    out
}

fn opt_ns(v: Option<u64>) -> String {
    v.map(|v| format_ns(v as f64)).unwrap_or_else(|| "—".into())
}

fn verdict_text(g: &ClusterRun) -> String {
    match g.verdict() {
        Some((v, who)) => format!("{v} (the worst node's: {who})"),
        None => "none (probe-only results: run `nodefit qualify --cluster` for a verdict)".into(),
    }
}

/// Markdown: one section per cluster run, then a side-by-side table when there are several.
pub fn markdown(results: &[Loaded]) -> String {
    let gs = groups(results);
    let mut s = String::new();
    for g in &gs {
        let members = g.members();
        let _ = writeln!(s, "\n## Cluster {}\n", g.label());
        let _ = writeln!(
            s,
            "**Cluster verdict: {}** — {} of {} nodes' results (token `{}`)\n",
            verdict_text(g),
            g.nodes.len(),
            members.len(),
            g.token
        );
        let _ = writeln!(s, "### Network RTT p99, from → to (TCP handshake)\n");
        let _ = writeln!(
            s,
            "| from \\ to | {} |\n|---|{}",
            members.join(" | "),
            "---|".repeat(members.len())
        );
        for from in &members {
            let cells: Vec<String> = members
                .iter()
                .map(|to| {
                    if to == from {
                        "—".into()
                    } else {
                        let v = g.rtt_p99(from, to);
                        let mark = if v.is_some_and(|v| v > 50_000_000) {
                            " ⚠"
                        } else {
                            ""
                        };
                        format!("{}{mark}", opt_ns(v))
                    }
                })
                .collect();
            let _ = writeln!(s, "| **{from}** | {} |", cells.join(" | "));
        }
        let _ = writeln!(
            s,
            "\n### Put latency through each node's member (from due time)\n"
        );
        let _ = writeln!(
            s,
            "| node | role | p50 | p99 | max | errors | leader changes | verdict |\n|---|---|---|---|---|---|---|---|"
        );
        for (l, c) in &g.nodes {
            let lat = c.put_latency_ns.as_ref();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                c.self_name,
                c.role.as_deref().unwrap_or("?"),
                opt_ns(lat.and_then(|l| l.percentile(50.0))),
                opt_ns(lat.and_then(|l| l.percentile(99.0))),
                opt_ns(lat.map(|l| l.max)),
                c.errors_total,
                c.leader_changes,
                l.doc.verdict.map(|v| v.as_str()).unwrap_or("—")
            );
        }
        if let Some((hb, el, basis)) = g.advice() {
            let _ = writeln!(
                s,
                "\n### etcd timing to paste (the largest advice of all nodes; every member gets the same)\n\n```sh\n--heartbeat-interval={hb} --election-timeout={el}\n```\n\n{basis}."
            );
        }
    }
    if gs.len() > 1 {
        let _ = writeln!(s, "\n## Clusters side by side\n");
        let _ = writeln!(
            s,
            "| cluster | verdict | worst RTT p99 | put p99 via leader | worst put p99 via a follower | advice |\n|---|---|---|---|---|---|"
        );
        for g in &gs {
            let worst = g
                .nodes
                .iter()
                .filter_map(|(_, c)| Some((c.worst_link.clone()?, c.worst_rtt_p99_ns?)))
                .max_by_key(|(_, v)| *v);
            let (lp, fp) = g.put_p99();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                g.label(),
                g.verdict().map(|v| v.0).unwrap_or_else(|| "—".into()),
                worst
                    .map(|(l, v)| format!("{} ({l})", format_ns(v as f64)))
                    .unwrap_or_else(|| "—".into()),
                opt_ns(lp),
                opt_ns(fp),
                g.advice()
                    .map(|(h, e, _)| format!("`--heartbeat-interval={h} --election-timeout={e}`"))
                    .unwrap_or_default()
            );
        }
    }
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Heat-map colour for an RTT p99 against the 50 ms limit.
fn heat(v: Option<u64>) -> &'static str {
    match v {
        None => "#eeeeee",
        Some(v) if v <= 10_000_000 => "#c8e6c9",
        Some(v) if v <= 25_000_000 => "#fff59d",
        Some(v) if v <= 50_000_000 => "#ffcc80",
        Some(_) => "#ef9a9a",
    }
}

/// HTML: the same sections, the RTT matrix as a heat map.
pub fn html(results: &[Loaded]) -> String {
    let gs = groups(results);
    let mut s = String::new();
    for g in &gs {
        let members = g.members();
        let _ = writeln!(
            s,
            "<section class=\"cluster\">\n<h2>Cluster {}</h2>\n<p><strong>Cluster verdict: {}</strong> — {} of {} nodes' results (token <code>{}</code>)</p>",
            esc(&g.label()),
            esc(&verdict_text(g)).replace('`', ""),
            g.nodes.len(),
            members.len(),
            esc(&g.token)
        );
        let _ = writeln!(
            s,
            "<h3>Network RTT p99, from → to (TCP handshake)</h3>\n<table class=\"heatmap\"><tr><th>from \\ to</th>{}</tr>",
            members
                .iter()
                .map(|m| format!("<th>{}</th>", esc(m)))
                .collect::<String>()
        );
        for from in &members {
            let _ = write!(s, "<tr><th>{}</th>", esc(from));
            for to in &members {
                if to == from {
                    let _ = write!(s, "<td>—</td>");
                } else {
                    let v = g.rtt_p99(from, to);
                    let _ = write!(
                        s,
                        "<td style=\"background:{}\">{}</td>",
                        heat(v),
                        esc(&opt_ns(v))
                    );
                }
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(
            s,
            "</table>\n<p>Colours: ≤ 10 ms green, ≤ 25 ms yellow, ≤ 50 ms orange, beyond the 50 ms limit red.</p>"
        );
        let _ = writeln!(
            s,
            "<h3>Put latency through each node's member (from due time)</h3>\n<table><tr><th>node</th><th>role</th><th>p50</th><th>p99</th><th>max</th><th>errors</th><th>leader changes</th><th>verdict</th></tr>"
        );
        for (l, c) in &g.nodes {
            let lat = c.put_latency_ns.as_ref();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.self_name),
                esc(c.role.as_deref().unwrap_or("?")),
                esc(&opt_ns(lat.and_then(|l| l.percentile(50.0)))),
                esc(&opt_ns(lat.and_then(|l| l.percentile(99.0)))),
                esc(&opt_ns(lat.map(|l| l.max))),
                c.errors_total,
                c.leader_changes,
                esc(l.doc.verdict.map(|v| v.as_str()).unwrap_or("—"))
            );
        }
        let _ = writeln!(s, "</table>");
        if let Some((hb, el, basis)) = g.advice() {
            let _ = writeln!(
                s,
                "<h3>etcd timing to paste</h3>\n<pre>--heartbeat-interval={hb} --election-timeout={el}</pre>\n<p>The largest advice of all nodes (every member gets the same); {}.</p>",
                esc(&basis)
            );
        }
        let _ = writeln!(s, "</section>");
    }
    if gs.len() > 1 {
        let _ = writeln!(
            s,
            "<section class=\"cluster\"><h2>Clusters side by side</h2>\n<table><tr><th>cluster</th><th>verdict</th><th>worst RTT p99</th><th>put p99 via leader</th><th>worst put p99 via a follower</th><th>advice</th></tr>"
        );
        for g in &gs {
            let worst = g.nodes.iter().filter_map(|(_, c)| c.worst_rtt_p99_ns).max();
            let (lp, fp) = g.put_p99();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td style=\"background:{}\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&g.label()),
                esc(&g.verdict().map(|v| v.0).unwrap_or_else(|| "—".into())),
                heat(worst),
                esc(&opt_ns(worst)),
                esc(&opt_ns(lp)),
                esc(&opt_ns(fp)),
                esc(&g
                    .advice()
                    .map(|(h, e, _)| format!("--heartbeat-interval={h} --election-timeout={e}"))
                    .unwrap_or_default())
            );
        }
        let _ = writeln!(s, "</table></section>");
    }
    s
}

/// One link of the RTT matrix.
#[derive(serde::Serialize)]
pub struct JsonLink {
    pub from: String,
    pub to: String,
    /// TCP handshake RTT p99 measured by `from`, ns.
    pub rtt_p99_ns: Option<u64>,
}

/// One node's put latency through its own member.
#[derive(serde::Serialize)]
pub struct JsonPut {
    pub node: String,
    /// "leader" or "follower" when the probe started.
    pub role: Option<String>,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    pub verdict: Option<String>,
}

/// A cluster run in `nodefit report --format json`.
#[derive(serde::Serialize)]
pub struct JsonCluster {
    pub token: String,
    pub run_id: String,
    pub members: Vec<String>,
    /// Nodes whose results were given.
    pub nodes: Vec<String>,
    /// The worst node's verdict and that node (absent for probe-only results).
    pub verdict: Option<String>,
    pub worst_node: Option<String>,
    pub rtt: Vec<JsonLink>,
    pub put: Vec<JsonPut>,
    /// The largest advice of all nodes.
    pub heartbeat_interval_ms: Option<u64>,
    pub election_timeout_ms: Option<u64>,
}

/// The cluster runs among `results`, for the JSON summary.
pub fn json(results: &[Loaded]) -> Vec<JsonCluster> {
    groups(results)
        .iter()
        .map(|g| {
            let members = g.members();
            let rtt = members
                .iter()
                .flat_map(|f| members.iter().map(move |t| (f, t)))
                .filter(|(f, t)| f != t)
                .map(|(f, t)| JsonLink {
                    from: f.clone(),
                    to: t.clone(),
                    rtt_p99_ns: g.rtt_p99(f, t),
                })
                .collect();
            let put = g
                .nodes
                .iter()
                .map(|(l, c)| JsonPut {
                    node: c.self_name.clone(),
                    role: c.role.clone(),
                    p50_ns: c.put_latency_ns.as_ref().and_then(|p| p.percentile(50.0)),
                    p99_ns: c.put_latency_ns.as_ref().and_then(|p| p.percentile(99.0)),
                    verdict: l.doc.verdict.map(|v| v.as_str().to_string()),
                })
                .collect();
            let verdict = g.verdict();
            let advice = g.advice();
            JsonCluster {
                token: g.token.clone(),
                run_id: g.run_id.clone(),
                nodes: g.nodes.iter().map(|(_, c)| c.self_name.clone()).collect(),
                members,
                verdict: verdict.as_ref().map(|v| v.0.clone()),
                worst_node: verdict.map(|v| v.1),
                rtt,
                put,
                heartbeat_interval_ms: advice.as_ref().map(|a| a.0),
                election_timeout_ms: advice.map(|a| a.1),
            }
        })
        .collect()
}
