//! The cluster page of `nodefit report` (Markdown, HTML, JSON) on real `--cluster` results
//! (tests/fixtures/cluster/README.md says how they were made): incomplete and missing nodes are
//! marked and keep the cluster verdict from FIT, failed handshakes show in the RTT matrix,
//! under-sampled percentiles are in parentheses as in the disk tables, a result given twice counts
//! once, and nodes are ordered by name in every output.

use nodefit::report::view::node as model;
use nodefit::report::{html::Html, json::Json, load, markdown::Markdown, Renderer, ReportInput};
use serde_json::Value;
use std::path::Path;

const COMPLETE: &str = "tests/fixtures/cluster/complete";
const INTERRUPTED: &str = "tests/fixtures/cluster/interrupted";

/// `dir/<node>.result.json`, read as `nodefit report` reads it, after `edit` on its JSON.
fn node(dir: &str, name: &str, edit: impl FnOnce(&mut Value)) -> load::Loaded {
    let path = Path::new(dir).join(format!("{name}.result.json"));
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    load::parse(&path, &serde_json::to_vec(&v).unwrap()).unwrap()
}

fn plain(dir: &str, name: &str) -> load::Loaded {
    node(dir, name, |_| {})
}

/// Derived: the verdict `qualify --cluster` would have added (these are probe-only results).
fn fit(v: &mut Value) {
    v["verdict"] = "FIT".into();
}

struct Out {
    md: String,
    html: String,
    json: Value,
}

fn render(results: Vec<load::Loaded>) -> Out {
    let input = ReportInput {
        results,
        problems: Vec::new(),
    };
    let s = |r: &dyn Renderer| String::from_utf8(r.render(&input).unwrap()).unwrap();
    let json = serde_json::from_str(&s(&Json)).unwrap();
    // The cluster page only, as the renderers embed it (it comes first; the comparison and the
    // per-node sections follow: the_cluster_section_comes_first).
    Out {
        md: nodefit::report::markdown::cluster(&input.results),
        html: nodefit::report::html::cluster(&input.results),
        json,
    }
}

/// The Markdown line starting with `prefix`.
fn line<'a>(md: &'a str, prefix: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in\n{md}"))
}

/// The HTML line starting with `prefix` (a table row: `<tr><th>cp1</th>` in the matrix,
/// `<tr><td>cp1` in the put table).
fn html_row<'a>(html: &'a str, prefix: &str) -> &'a str {
    html.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix:?} in\n{html}"))
}

fn cluster(o: &Out) -> &Value {
    let c = o.json["clusters"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    &c[0]
}

#[test]
fn an_interrupted_node_is_marked_and_keeps_the_cluster_from_fit() {
    // All three FIT (derived), cp2's run interrupted (real).
    let o = render(
        ["cp1", "cp2", "cp3"]
            .iter()
            .map(|n| node(INTERRUPTED, n, fit))
            .collect(),
    );
    let mark = "(incomplete: interrupted)";
    assert!(line(&o.md, "| cp2 ").contains(mark), "put row unmarked");
    assert!(!line(&o.md, "| cp1 ").contains("incomplete"));
    assert!(
        line(&o.md, "| **cp2**").contains(mark),
        "matrix row unmarked"
    );
    assert!(
        html_row(&o.html, "<tr><td>cp2 ").contains(mark),
        "HTML put row"
    );
    assert!(
        html_row(&o.html, "<tr><th>cp2 <small>").contains(mark),
        "HTML matrix row"
    );
    let verdict = line(&o.md, "**Cluster verdict:");
    assert!(
        verdict.contains("INCOMPLETE: cp2's run is incomplete (interrupted)"),
        "{verdict}"
    );
    assert!(!verdict.contains("FIT"), "{verdict}");
    assert!(!o.html.contains("Cluster verdict: FIT"));
    let c = cluster(&o);
    assert_eq!(c["verdict"], "INCOMPLETE");
    assert_eq!(c["incomplete"], serde_json::json!(["cp2"]));
    let put = |n: &str| {
        c["put"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["node"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(put("cp2")["complete"], false);
    assert_eq!(put("cp2")["incomplete_reason"], "interrupted");
    assert_eq!(put("cp1")["complete"], true);
    let link = c["rtt"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["from"] == "cp2" && l["to"] == "cp1")
        .unwrap();
    assert_eq!(link["incomplete"], true);
}

#[test]
fn a_missing_node_keeps_the_cluster_from_fit() {
    // All FIT (derived) and complete: with every node's result the cluster is FIT…
    let all = render(
        ["cp1", "cp2", "cp3"]
            .iter()
            .map(|n| node(COMPLETE, n, fit))
            .collect(),
    );
    assert!(
        line(&all.md, "**Cluster verdict:").contains("FIT (the worst node's: cp1)"),
        "{}",
        line(&all.md, "**Cluster verdict:")
    );
    assert_eq!(cluster(&all)["verdict"], "FIT");
    // …with two of three it is not.
    let two = render(vec![node(COMPLETE, "cp2", fit), node(COMPLETE, "cp3", fit)]);
    let verdict = line(&two.md, "**Cluster verdict:");
    assert!(
        verdict.contains("INCOMPLETE: cp1 has no result") && verdict.contains("2 of 3"),
        "{verdict}"
    );
    assert!(two
        .html
        .contains("Cluster verdict: INCOMPLETE: cp1 has no result"));
    assert!(line(&two.md, "| cp1 ").contains("no result"));
    let c = cluster(&two);
    assert_eq!(c["verdict"], "INCOMPLETE");
    assert!(c["worst_node"].is_null());
    assert_eq!(c["missing"], serde_json::json!(["cp1"]));
    // An UNFIT node stands whatever is missing (derived verdict).
    let unfit = render(vec![
        node(COMPLETE, "cp2", |v| v["verdict"] = "UNFIT".into()),
        node(COMPLETE, "cp3", fit),
    ]);
    assert_eq!(cluster(&unfit)["verdict"], "UNFIT");
    assert!(line(&unfit.md, "**Cluster verdict:").contains("also cp1 has no result"));
}

#[test]
fn failed_handshakes_show_in_the_matrix() {
    // Real: cp3's and cp1's handshakes to the stopped cp2 failed after some succeeded. Derived:
    // cp1's link to cp2 without its successful handshakes (rtt_ns removed, errors kept), as when
    // the peer never answered.
    let o = render(vec![
        node(INTERRUPTED, "cp1", |v| {
            let peers = v["cluster"]["peers"].as_array_mut().unwrap();
            let p = peers.iter_mut().find(|p| p["name"] == "cp2").unwrap();
            p.as_object_mut().unwrap().remove("rtt_ns");
        }),
        plain(INTERRUPTED, "cp2"),
        plain(INTERRUPTED, "cp3"),
    ]);
    let cp3 = line(&o.md, "| **cp3**");
    assert!(cp3.contains(" · 1484 failed"), "{cp3}");
    let cp1 = line(&o.md, "| **cp1**");
    let no_answer = "no answer (1479 failed: Connection refused (os error 111))";
    assert!(cp1.contains(no_answer), "{cp1}");
    assert!(cp1.starts_with("| **cp1** | — | no answer"), "{cp1}");
    let h1 = html_row(&o.html, "<tr><th>cp1</th>");
    assert!(h1.contains(no_answer), "{h1}");
    assert!(html_row(&o.html, "<tr><th>cp3</th>").contains(" · 1484 failed"));
    let c = cluster(&o);
    let link = |f: &str, t: &str| {
        c["rtt"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["from"] == f && l["to"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(link("cp1", "cp2")["rtt_errors"], 1479);
    assert!(link("cp1", "cp2")["rtt_p99_ns"].is_null());
    assert_eq!(link("cp3", "cp2")["rtt_errors"], 1484);
    assert_eq!(
        link("cp3", "cp2")["rtt_last_error"],
        "Connection refused (os error 111)"
    );
}

#[test]
fn an_undersampled_put_p99_is_in_parentheses_as_in_the_disk_tables() {
    // Real: 400 puts on cp3 (p99 listed under insufficient_samples), 3 000 on the complete run's.
    let cp3 = plain(INTERRUPTED, "cp3");
    let lat = cp3
        .doc
        .cluster
        .as_ref()
        .unwrap()
        .put_latency_ns
        .clone()
        .unwrap();
    assert!(lat.insufficient_samples.contains(&"99".to_string()));
    let p99 = lat.percentile(99.0).unwrap() as f64;
    let marked = model::percentile_text(p99, false);
    assert!(marked.starts_with('('), "{marked}");
    let o = render(vec![
        plain(INTERRUPTED, "cp1"),
        plain(INTERRUPTED, "cp2"),
        cp3,
    ]);
    let row = line(&o.md, "| cp3 ");
    assert!(row.contains(&format!("| {marked} |")), "{row}");
    assert!(o.md.contains(model::UNDERSAMPLED_NOTE));
    assert!(html_row(&o.html, "<tr><td>cp3</td>").contains(&format!("<td>{marked}</td>")));
    let put = cluster(&o)["put"].as_array().unwrap().clone();
    let p3 = put.iter().find(|p| p["node"] == "cp3").unwrap();
    assert_eq!(p3["p99_insufficient_samples"], true);
    // Enough samples: plain.
    let full = render(
        ["cp1", "cp2", "cp3"]
            .iter()
            .map(|n| plain(COMPLETE, n))
            .collect(),
    );
    let row = line(&full.md, "| cp3 ");
    assert!(!row.contains('('), "{row}");
    assert!(!full.md.contains(model::UNDERSAMPLED_NOTE));
    assert_eq!(cluster(&full)["put"][2]["p99_insufficient_samples"], false);
}

#[test]
fn a_result_given_twice_counts_once() {
    let o = render(vec![
        plain(COMPLETE, "cp1"),
        plain(COMPLETE, "cp2"),
        plain(COMPLETE, "cp2"),
        plain(COMPLETE, "cp3"),
    ]);
    let verdict = line(&o.md, "**Cluster verdict:");
    assert!(verdict.contains("3 of 3 nodes' results"), "{verdict}");
    assert_eq!(o.md.lines().filter(|l| l.starts_with("| cp2 ")).count(), 1);
    assert!(o.md.contains("cp2.result.json was given twice"), "{}", o.md);
    assert!(o.html.contains("cp2.result.json was given twice"));
    assert_eq!(
        o.html
            .lines()
            .filter(|l| l.starts_with("<tr><td>cp2</td>"))
            .count(),
        1
    );
    let c = cluster(&o);
    assert_eq!(c["nodes"], serde_json::json!(["cp1", "cp2", "cp3"]));
    assert_eq!(c["put"].as_array().unwrap().len(), 3);
    assert_eq!(c["duplicates_ignored"].as_array().unwrap().len(), 1);
}

#[test]
fn nodes_are_ordered_by_name_in_every_output() {
    // Derived: cp3's members in the order `--cluster cp3=…,cp2=…,cp1=…` would give, its file first.
    let o = render(vec![
        node(COMPLETE, "cp3", |v| {
            v["cluster"]["members"].as_array_mut().unwrap().reverse()
        }),
        plain(COMPLETE, "cp2"),
        plain(COMPLETE, "cp1"),
    ]);
    assert!(o.md.contains("## Cluster cp1, cp2, cp3 (run "), "{}", o.md);
    assert!(o.md.contains("| from \\ to | cp1 | cp2 | cp3 |"));
    let at = |t: &str, s: &str| t.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(at(&o.md, "| **cp1**") < at(&o.md, "| **cp2**"));
    assert!(at(&o.md, "| **cp2**") < at(&o.md, "| **cp3**"));
    assert!(at(&o.md, "| cp1 |") < at(&o.md, "| cp2 |"));
    assert!(at(&o.md, "| cp2 |") < at(&o.md, "| cp3 |"));
    assert!(o
        .html
        .contains("<tr><th>from \\ to</th><th>cp1</th><th>cp2</th><th>cp3</th></tr>"));
    assert!(at(&o.html, "<tr><td>cp1</td>") < at(&o.html, "<tr><td>cp2</td>"));
    assert!(at(&o.html, "<tr><td>cp2</td>") < at(&o.html, "<tr><td>cp3</td>"));
    let c = cluster(&o);
    let names = serde_json::json!(["cp1", "cp2", "cp3"]);
    assert_eq!(c["members"], names);
    assert_eq!(c["nodes"], names);
    let put: Vec<&Value> = c["put"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["node"])
        .collect();
    assert_eq!(put, ["cp1", "cp2", "cp3"]);
    assert_eq!(c["rtt"][0]["from"], "cp1");
    assert_eq!(c["rtt"][0]["to"], "cp2");
}

/// A run whose peers were not authenticated (`--insecure-peers`; these fixtures were made with
/// etcd's `--peer-auto-tls`, before the field existed) is flagged in every output, naming the
/// nodes; the same results marked as run with a cluster secret are not.
#[test]
fn an_unauthenticated_run_is_flagged() {
    let o = render(vec![
        plain(COMPLETE, "cp1"),
        plain(COMPLETE, "cp2"),
        plain(COMPLETE, "cp3"),
    ]);
    let warn = line(&o.md, "> **Warning:** peers not authenticated");
    assert!(warn.contains("on cp1, cp2, cp3"), "{warn}");
    assert!(o
        .html
        .contains("Warning: peers not authenticated (--insecure-peers) on cp1, cp2, cp3"));
    assert_eq!(cluster(&o)["insecure_peers"], true);

    let secret = |v: &mut Value| {
        v["cluster"]["peer_tls"] = "secret".into();
        v["cluster"]["insecure_peers"] = false.into();
    };
    let o = render(vec![
        node(COMPLETE, "cp1", secret),
        node(COMPLETE, "cp2", secret),
        node(COMPLETE, "cp3", |v| {
            v["cluster"]["insecure_peers"] = true.into();
            v["cluster"]["peer_tls"] = "auto".into();
        }),
    ]);
    let warn = line(&o.md, "> **Warning:** peers not authenticated");
    assert!(warn.contains("on cp3:"), "only the insecure node: {warn}");
    let o = render(vec![
        node(COMPLETE, "cp1", secret),
        node(COMPLETE, "cp2", secret),
        node(COMPLETE, "cp3", secret),
    ]);
    assert!(!o.md.contains("not authenticated"), "{}", o.md);
    assert!(!o.html.contains("not authenticated"));
    assert_eq!(cluster(&o)["insecure_peers"], false);
}

/// The answer first: on a cluster run's report the cluster section comes before the comparison
/// and the per-node sections (Markdown: right under the title).
#[test]
fn the_cluster_section_comes_first() {
    let input = ReportInput {
        results: vec![
            plain(INTERRUPTED, "cp1"),
            plain(INTERRUPTED, "cp2"),
            plain(INTERRUPTED, "cp3"),
        ],
        problems: Vec::new(),
    };
    let md = String::from_utf8(Markdown.render(&input).unwrap()).unwrap();
    let cluster = md.find("\n## Cluster ").expect("a cluster section");
    let title_end = md.find('\n').unwrap();
    let next = md[title_end + 1..]
        .find("\n#")
        .map(|i| i + title_end + 1)
        .unwrap();
    assert_eq!(
        next, cluster,
        "the first section under the title is the cluster's"
    );
    let html = String::from_utf8(Html.render(&input).unwrap()).unwrap();
    let cluster = html.find("<section class=\"cluster\">").unwrap();
    let h2 = html.find("<h2").unwrap();
    assert!(
        cluster < h2 || html[cluster..].starts_with("<section class=\"cluster\">\n<h2"),
        "HTML: a section before the cluster's"
    );
    assert_eq!(
        html.find("<h2").unwrap(),
        html.find("<section class=\"cluster\">\n<h2").unwrap()
            + "<section class=\"cluster\">\n".len()
    );
}
