//! `nodefit etcd --cluster` end to end: real etcd members, one per network namespace (the nodes),
//! started at the same time as separate nodefit processes; real added delay on one node's link.
//! Every case checks that no process, listener, data dir or log is left behind.

use crate::support::netns;
use crate::support::schema;
use crate::support::BIN;

use netns::{Netns, Node};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

struct Run {
    /// The nodefit process id (an earlier nodefit wrote its member log to
    /// `$TMPDIR/nodefit-cluster-<node>-<pid>.log`; none may be there).
    pid: u32,
    out: Output,
    dir: tempfile::TempDir,
}

fn finish(c: Child, dir: tempfile::TempDir) -> Run {
    Run {
        pid: c.id(),
        out: c.wait_with_output().expect("nodefit finishes"),
        dir,
    }
}

/// Member logs a nodefit process of this pid left in the temp dir (earlier nodefit wrote them there).
fn member_logs(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("nodefit-cluster-") && n.ends_with(&format!("-{pid}.log"))
        })
        .collect()
}

fn start(node: &Node, spec: &str, dir: &Path, extra: &[&str]) -> Child {
    node.command(BIN)
        .args(["etcd", "--cluster", spec, "--node-name", &node.name])
        .arg("--directory")
        .arg(dir)
        .args(["--output-format", "json", "--quiet"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nodefit starts")
}

/// Run nodefit on `nodes` at the same time; return each one's output and directory.
fn run_on(net: &Netns, nodes: &[&Node], extra: &[&str]) -> Vec<Run> {
    run_with_textfiles(net, nodes, extra, None)
}

/// As [`run_on`]; with `textfiles`, each node also writes `--prometheus-textfile
/// <textfiles>/<node>.prom`.
fn run_with_textfiles(
    net: &Netns,
    nodes: &[&Node],
    extra: &[&str],
    textfiles: Option<&Path>,
) -> Vec<Run> {
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = nodes.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<Child> = nodes
        .iter()
        .zip(&dirs)
        .map(|(n, d)| {
            let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            if let Some(t) = textfiles {
                args.push("--prometheus-textfile".into());
                args.push(t.join(format!("{}.prom", n.name)).display().to_string());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            start(n, &spec, d.path(), &args)
        })
        .collect();
    children
        .into_iter()
        .zip(dirs)
        .map(|(c, dir)| finish(c, dir))
        .collect()
}

fn doc(r: &Run) -> Value {
    assert!(
        r.out.status.success(),
        "exit {:?}: {}",
        r.out.status.code(),
        String::from_utf8_lossy(&r.out.stderr)
    );
    let v: Value = serde_json::from_slice(&r.out.stdout).expect("JSON on stdout");
    schema::validate(&v);
    v
}

/// Nothing left: no process in any namespace, no listener, an empty directory, no member log.
fn assert_clean(net: &Netns, runs: &[Run]) {
    for n in &net.nodes {
        assert!(
            n.pids().is_empty(),
            "{}: processes left: {:?}",
            n.name,
            n.pids()
        );
        assert!(
            n.listeners().is_empty(),
            "{}: listening: {:?}",
            n.name,
            n.listeners()
        );
    }
    for r in runs {
        let left: Vec<PathBuf> = std::fs::read_dir(r.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            left.is_empty(),
            "left in the directory under test: {left:?}"
        );
    }
    for r in runs {
        let logs = member_logs(r.pid);
        assert!(logs.is_empty(), "member logs left: {logs:?}");
    }
}

fn ms(v: &Value) -> f64 {
    v.as_f64().expect("number") / 1e6
}

fn p99_to(doc: &Value, peer: &str) -> f64 {
    let p = doc["cluster"]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == peer)
        .unwrap_or_else(|| panic!("peer {peer}"));
    ms(&p["rtt_ns"]["percentiles"]["99"])
}

/// The shipped profile's cluster checks against one node's document.
fn judge(doc: &Value) -> nodefit::score::Assessment {
    let mut p = nodefit::score::profile::Profile::find("k8s-control-plane").unwrap();
    p.checks.retain(|c| c.metric.root() == "cluster");
    assert_eq!(p.checks.len(), 5);
    nodefit::score::cluster::judge(&p, doc, &[])
}

const LOAD: &[&str] = &[
    "--rate",
    "50",
    "--clients",
    "10",
    "--duration",
    "8s",
    "--join-timeout",
    "60s",
];

/// Three nodes, no delay. Returns the runs (their results) for the side-by-side report.
fn three_nodes_no_delay(net: &Netns) -> Vec<Run> {
    let all: Vec<&Node> = net.nodes.iter().collect();
    let textfiles = tempfile::tempdir().unwrap();
    let runs = run_with_textfiles(net, &all, LOAD, Some(textfiles.path()));
    let docs: Vec<Value> = runs.iter().map(doc).collect();
    assert_clean(net, &runs);
    for (d, n) in docs.iter().zip(&net.nodes) {
        let path = textfiles.path().join(format!("{}.prom", n.name));
        let text = std::fs::read_to_string(&path).expect("each node wrote its textfile");
        assert_textfile_matches(&text, d, &n.name);
        promtool_is_clean(&path);
    }
    let run_id = docs[0]["cluster"]["run_id"].clone();
    let mut leaders = 0;
    for (d, n) in docs.iter().zip(&net.nodes) {
        let c = &d["cluster"];
        eprintln!(
            "{}: {}",
            n.name,
            serde_json::to_string(&c["recommended"]).unwrap()
        );
        assert_eq!(c["self"], n.name.as_str());
        assert_eq!(c["run_id"], run_id, "one run, agreed through the cluster");
        assert_eq!(c["members"].as_array().unwrap().len(), 3);
        assert_eq!(c["errors_total"], 0);
        assert_eq!(c["leader_changes"], 0);
        assert!(c["unfinished"].is_null(), "{}", c["unfinished"]);
        if c["role"] == "leader" {
            leaders += 1;
        }
        let peers = c["peers"].as_array().unwrap();
        assert_eq!(peers.len(), 2);
        for p in peers {
            // About 2000 on a quiet machine; a loaded one (the fresh-root check with other work
            // beside it) got 936. Hundreds still make a p99 of the link.
            assert!(p["rtt_ns"]["samples"].as_u64().unwrap() >= 500, "{p}");
            assert!(ms(&p["rtt_ns"]["percentiles"]["99"]) < 50.0, "{p}");
        }
        // The network and consensus musts pass. (The put p99 check is a `should` about the disk
        // and CPU under test: on a shared 2-core CI machine it may fail, making the node MARGINAL.)
        let o = judge(d);
        eprintln!("{}: {} {:?}", n.name, o.verdict.as_str(), o.reasons);
        assert_ne!(o.verdict.as_str(), "UNFIT", "{:?}", o.reasons);
        for c in &o.checks {
            assert!(
                c.severity.as_str() != "must" || c.verdict.as_str() == "pass",
                "{c:?}"
            );
        }
        assert_eq!(c["recommended"]["heartbeat_interval_ms"], 100);
        assert_eq!(c["recommended"]["election_timeout_ms"], 1000);
        assert!(c["put_latency_ns"]["count"].as_u64().unwrap() > 0);
        // The cluster section has every member's own figures (from the done keys); the etcd
        // section this node's member alone (the node is judged on its own disk).
        let m = c["members"].as_array().unwrap();
        assert!(
            m.iter().all(|m| m["reported"] == true
                && m["wal_fsync"]["count"].as_u64().unwrap_or(0) > 0),
            "{m:?}"
        );
        let own = d["etcd"]["members"].as_array().unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0]["name"], n.name.as_str());
    }
    assert_eq!(leaders, 1, "exactly one node started as leader");
    runs
}

/// One sample's value: the line that starts with `series` followed by a space.
fn sample(text: &str, series: &str) -> f64 {
    let hits: Vec<&str> = text
        .lines()
        .filter(|l| l.strip_prefix(series).is_some_and(|r| r.starts_with(' ')))
        .collect();
    assert_eq!(hits.len(), 1, "want one sample {series}, got {hits:?}");
    hits[0].rsplit(' ').next().unwrap().parse().unwrap()
}

/// `promtool check metrics` finds nothing to say about the file (skipped, with the reason, without
/// promtool).
fn promtool_is_clean(path: &Path) {
    let Ok(file) = std::fs::File::open(path) else {
        panic!("{} unreadable", path.display());
    };
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(file)
        .output()
    {
        Ok(o) => assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "promtool check metrics {}: {}{}",
            path.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("promtool not run ({e}): apt-get install prometheus"),
    }
}

/// The Prometheus textfile of an `etcd --cluster` run says what its result says.
fn assert_textfile_matches(text: &str, doc: &Value, node: &str) {
    let base = format!("command=\"etcd\",node=\"{node}\"");
    let c = &doc["cluster"];
    assert_eq!(
        sample(text, &format!("nodefit_cluster_members{{{base}}}")),
        c["members"].as_array().unwrap().len() as f64
    );
    assert_eq!(
        sample(text, &format!("nodefit_cluster_errors{{{base}}}")),
        c["errors_total"].as_f64().unwrap()
    );
    assert_eq!(
        sample(
            text,
            &format!("nodefit_cluster_recommended_election_timeout_seconds{{{base}}}")
        ),
        c["recommended"]["election_timeout_ms"].as_f64().unwrap() / 1e3
    );
    let role = c["role"].as_str().unwrap();
    assert_eq!(
        sample(
            text,
            &format!("nodefit_cluster_role{{{base},role=\"{role}\"}}")
        ),
        1.0
    );
    for p in c["peers"].as_array().unwrap() {
        let peer = format!(
            "{base},peer=\"{}\",address=\"{}\"",
            p["name"].as_str().unwrap(),
            p["address"].as_str().unwrap()
        );
        for (key, q) in [("50", "0.5"), ("99", "0.99"), ("99.9", "0.999")] {
            assert_eq!(
                sample(
                    text,
                    &format!("nodefit_cluster_peer_rtt_seconds{{{peer},quantile=\"{q}\"}}")
                ),
                p["rtt_ns"]["percentiles"][key].as_f64().unwrap() / 1e9,
                "{node} → {peer} p{key}"
            );
        }
        assert_eq!(
            sample(
                text,
                &format!("nodefit_cluster_peer_rtt_seconds_count{{{peer}}}")
            ),
            p["rtt_ns"]["samples"].as_f64().unwrap()
        );
    }
    assert_eq!(
        sample(
            text,
            &format!("nodefit_etcd_errors{{{base},target=\"cluster\",op=\"put\"}}")
        ),
        doc["etcd"]["errors_total"].as_f64().unwrap()
    );
}

/// cp3 `D` ms away. Returns the runs (their results) for the side-by-side report.
fn one_node_far_away(net: &Netns, d_ms: f64) -> Vec<Run> {
    let all: Vec<&Node> = net.nodes.iter().collect();
    let runs = run_on(net, &all, LOAD);
    let docs: Vec<Value> = runs.iter().map(doc).collect();
    assert_clean(net, &runs);
    let (a, b, far) = (&docs[0], &docs[1], &docs[2]);
    for (from, to) in [(a, "cp3"), (b, "cp3"), (far, "cp1"), (far, "cp2")] {
        let p99 = p99_to(from, to);
        let p = from["cluster"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == to)
            .unwrap();
        assert!(
            p["rtt_ns"]["samples"].as_u64().unwrap() >= 500,
            "a far peer is sampled as often: {p}"
        );
        eprintln!("{} → {to}: rtt p99 {p99:.1} ms", from["cluster"]["self"]);
        assert!(p99 >= 2.0 * d_ms, "{p99} < 2·D");
    }
    assert_eq!(a["cluster"]["peers"][0]["name"], "cp2");
    let near_p50 = ms(&a["cluster"]["peers"][0]["rtt_ns"]["percentiles"]["50"]);
    assert!(
        near_p50 < d_ms,
        "the near link stays near: p50 {near_p50} ms"
    );
    // Every put through the far node needs the network: as a follower it forwards to the leader
    // (2·D), as the leader it waits for a follower's ack (2·D).
    let put_p50 = |d: &Value| ms(&d["cluster"]["put_latency_ns"]["percentiles"]["50"]);
    eprintln!(
        "put p50: cp1 {:.1} ms ({}), cp2 {:.1} ms ({}), cp3 {:.1} ms ({})",
        put_p50(a),
        a["cluster"]["role"],
        put_p50(b),
        b["cluster"]["role"],
        put_p50(far),
        far["cluster"]["role"]
    );
    assert!(
        put_p50(far) >= 2.0 * d_ms,
        "far node put p50 {} ms",
        put_p50(far)
    );
    // `nodefit report` over the three results: one cluster, the slow links flagged in the matrix.
    let t = tempfile::tempdir().unwrap();
    for (i, r) in runs.iter().enumerate() {
        std::fs::write(
            t.path().join(format!("cp{}.result.json", i + 1)),
            &r.out.stdout,
        )
        .unwrap();
    }
    let md = std::process::Command::new(BIN)
        .args(["report", "--format", "md"])
        .arg(t.path())
        .output()
        .unwrap();
    assert!(
        md.status.success(),
        "{}",
        String::from_utf8_lossy(&md.stderr)
    );
    let md = String::from_utf8_lossy(&md.stdout);
    eprintln!("{}", &md[md.find("## Cluster").unwrap()..]);
    assert_eq!(
        md.matches("## Cluster cp1, cp2, cp3").count(),
        1,
        "one cluster"
    );
    assert!(md.contains("3 of 3 nodes' results"));
    let row = |from: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| **{from}** |")))
            .unwrap()
            .to_string()
    };
    assert_eq!(row("cp1").matches('⚠').count(), 1, "{}", row("cp1"));
    assert_eq!(row("cp3").matches('⚠').count(), 2, "{}", row("cp3"));
    assert!(md.contains("--heartbeat-interval=") && md.contains("--election-timeout="));
    for d in [a, b, far] {
        assert!(
            d["cluster"]["unfinished"].is_null(),
            "{}",
            d["cluster"]["unfinished"]
        );
        // The verdict's reasons name the slow links.
        let o = judge(d);
        assert_eq!(o.verdict.as_str(), "UNFIT", "{:?}", o.reasons);
        let me = d["cluster"]["self"].as_str().unwrap();
        let expect: Vec<String> = if me == "cp3" {
            vec!["cp3 → cp1: rtt p99".into(), "cp3 → cp2: rtt p99".into()]
        } else {
            vec![format!("{me} → cp3: rtt p99")]
        };
        let r = o
            .reasons
            .iter()
            .find(|r| r.contains("cluster_peer_rtt_p99"))
            .unwrap();
        eprintln!("{me}: {r}");
        for e in expect {
            assert!(r.contains(&e), "{r}");
        }
        assert!(
            !r.contains(&format!("{me} → cp{}", if me == "cp1" { 2 } else { 1 })) || me == "cp3"
        );
        let r = &d["cluster"]["recommended"];
        eprintln!("{}: {}", d["cluster"]["self"], r);
        assert!(r["basis"]["rtt_p99_ns"].as_f64().unwrap() >= 2.0 * d_ms * 1e6);
    }
    runs
}

/// Both clusters, then `nodefit report` over all six results: two clusters side by side.
#[test]
fn no_delay_and_one_node_far_away() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let near = three_nodes_no_delay(&net);
    drop(net);
    let Some(net) = Netns::new(3, &[0, 0, 30]) else {
        return;
    };
    let far = one_node_far_away(&net, 30.0);
    drop(net);
    let t = tempfile::tempdir().unwrap();
    for (tag, runs) in [("near", &near), ("far", &far)] {
        for (i, r) in runs.iter().enumerate() {
            let f = t.path().join(format!("{tag}-cp{}.result.json", i + 1));
            std::fs::write(f, &r.out.stdout).unwrap();
        }
    }
    let report = |format: &str| {
        let o = std::process::Command::new(BIN)
            .args(["report", "--format", format])
            .arg(t.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let md = report("md");
    eprintln!("{}", &md[md.find("## Clusters side by side").unwrap()..]);
    assert_eq!(md.matches("## Cluster cp1, cp2, cp3 (run ").count(), 2);
    let side = &md[md.find("## Clusters side by side").unwrap()..];
    let rows: Vec<&str> = side
        .lines()
        .filter(|l| l.starts_with("| cp1, cp2, cp3"))
        .collect();
    assert_eq!(rows.len(), 2, "{side}");
    let near_id = doc(&near[0])["cluster"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let far_id = doc(&far[0])["cluster"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(near_id, far_id, "every run has its own id");
    let far_row = rows.iter().find(|r| r.contains(&far_id)).unwrap();
    assert!(
        far_row.contains("→ cp3") || far_row.contains("cp3 →"),
        "{far_row}"
    );
    let js: Value = serde_json::from_str(&report("json")).unwrap();
    let clusters = js["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    let far_c = clusters
        .iter()
        .find(|c| c["run_id"] == far_id.as_str())
        .unwrap();
    assert_eq!(far_c["rtt"].as_array().unwrap().len(), 6, "3 × 2 links");
    let slow = far_c["rtt"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rtt_p99_ns"].as_u64().unwrap() > 50_000_000)
        .count();
    assert_eq!(slow, 4, "{far_c}");
    let html = report("html");
    assert_eq!(html.matches("<table class=\"heatmap\">").count(), 2);
    // Links beyond 50 ms are red in the heat map: at least the four links to and from cp3.
    assert!(html.matches("background:#ef9a9a").count() >= 4);
}

#[test]
fn a_member_that_never_starts() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let two = [&net.nodes[0], &net.nodes[1]];
    let runs = run_on(
        &net,
        &two,
        &["--rate", "50", "--duration", "2s", "--join-timeout", "8s"],
    );
    for r in &runs {
        let err = String::from_utf8_lossy(&r.out.stderr);
        assert_eq!(r.out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("member cp3 (198.18.0.12) did not join within 8s"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(r.out.stdout.is_empty());
    }
    assert_clean(&net, &runs);
}

/// nodefit on every node at once, each with its directory from `dirs`.
fn start_all(net: &Netns, dirs: &[tempfile::TempDir], extra: &[&str]) -> Vec<Child> {
    let spec = net.cluster_spec();
    net.nodes
        .iter()
        .zip(dirs)
        .map(|(n, d)| start(n, &spec, d.path(), extra))
        .collect()
}

/// Wait (up to 60 s) until a member answers as leader; its name.
fn wait_for_leader(net: &Netns) -> String {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(l) = leader(net) {
            return l;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no leader");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The leader's name, asked of `node`'s member with etcdctl.
fn leader(net: &Netns) -> Option<String> {
    for n in &net.nodes {
        let out = n
            .etcdctl()
            .args([
                "--endpoints",
                "http://127.0.0.1:12379",
                "endpoint",
                "status",
                "-w",
                "json",
            ])
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let s = &v[0]["Status"];
        if s["leader"].as_u64().is_some() && s["leader"] == s["header"]["member_id"] {
            return Some(n.name.clone());
        }
    }
    None
}

#[test]
fn leader_killed_mid_probe() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let extra = [
        "--rate",
        "50",
        "--duration",
        "10s",
        "--join-timeout",
        "60s",
        "--command-timeout",
        "2s",
    ];
    let mut children: Vec<Option<Child>> = start_all(&net, &dirs, &extra)
        .into_iter()
        .map(Some)
        .collect();
    // Wait until the probe runs on every node (a leader answers, every load has put keys).
    let victim = wait_for_leader(&net);
    net.wait_for_load(net.node(&victim), 10);
    let vi = net.nodes.iter().position(|n| n.name == victim).unwrap();
    let mut v = children[vi].take().unwrap();
    v.kill().unwrap();
    let _ = v.wait();
    // Killed outright, it could not clean up: its data dir stays in its directory (the next run
    // there removes it; see tests/it/leftovers.rs), but nothing of it lands in the temp dir (the
    // member's log is its stderr, kept in nodefit's memory).
    let logs = member_logs(v.id());
    assert!(logs.is_empty(), "a killed node left member logs: {logs:?}");
    let mut runs = Vec::new();
    let mut victim_dir = None;
    for (i, (c, dir)) in children.into_iter().zip(dirs).enumerate() {
        if i == vi {
            victim_dir = Some(dir); // killed outright: it holds what the run could not clean
            continue;
        }
        runs.push(finish(c.unwrap(), dir));
    }
    let docs: Vec<Value> = runs.iter().map(doc).collect();
    for d in &docs {
        let c = &d["cluster"];
        eprintln!(
            "{}: leader {} → {}, changes {}, errors {}, unfinished {}",
            c["self"], victim, c["leader"], c["leader_changes"], c["errors_total"], c["unfinished"]
        );
        assert!(c["leader_changes"].as_u64().unwrap() >= 1, "{c}");
        assert_ne!(c["leader"], victim.as_str());
        assert_eq!(c["unfinished"], serde_json::json!([victim]));
        let p = c["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == victim.as_str())
            .unwrap();
        assert!(
            p["rtt_errors"].as_u64().unwrap() > 0,
            "handshakes to the dead node fail"
        );
    }
    // The survivors left nothing; the victim's member died with it (parent-death signal).
    assert_clean(&net, &runs);
    // What the victim left (its member's data dir, its run record) is a leftover the next run in
    // that directory removes; here `nodefit clean`.
    let vd = victim_dir.unwrap();
    let left = |d: &Path| std::fs::read_dir(d).unwrap().count();
    assert!(left(vd.path()) > 0, "the killed run left its data dir");
    let o = Command::new(BIN)
        .args(["clean", "--directory"])
        .arg(vd.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(left(vd.path()), 0, "left after clean: {err}");
}

/// Not a check: prints every node's text output, for docs/cluster.md. Run with
/// `NODEFIT_DEMO_DELAY_MS=30 cargo test --test it cluster_etcd::demo -- --ignored --nocapture`.
#[test]
#[ignore]
fn demo() {
    let d: u64 = std::env::var("NODEFIT_DEMO_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let Some(net) = Netns::new(3, &[0, 0, d]) else {
        return;
    };
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // With NODEFIT_DEMO_QUALIFY_OUT=DIR: `qualify --quick --cluster` instead, results in DIR/<node>/.
    let qualify_out = std::env::var("NODEFIT_DEMO_QUALIFY_OUT").ok();
    // With NODEFIT_DEMO_JSON_OUT=DIR: the results documents go to DIR/<node>.result.json.
    let json_out = std::env::var("NODEFIT_DEMO_JSON_OUT").ok();
    let children: Vec<Child> = net
        .nodes
        .iter()
        .zip(&dirs)
        .map(|(n, dir)| {
            let mut c = n.command(BIN);
            match &qualify_out {
                Some(out) => c
                    .args([
                        "qualify",
                        "--quick",
                        "--cluster",
                        &spec,
                        "--node-name",
                        &n.name,
                    ])
                    .arg("--output-dir")
                    .arg(Path::new(out).join(&n.name))
                    .arg("--etcd-arg=--join-timeout=120s"),
                None => c
                    .args(["etcd", "--cluster", &spec, "--node-name", &n.name])
                    .args(["--duration", "20s", "--join-timeout", "60s"]),
            };
            if let Some(out) = &json_out {
                c.args(["--output-format", "json", "--output"])
                    .arg(Path::new(out).join(format!("{}.result.json", n.name)));
            }
            c.arg("--directory")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (c, n) in children.into_iter().zip(&net.nodes) {
        let out = c.wait_with_output().unwrap();
        println!(
            "===== {} (exit {:?})\n$ nodefit etcd --cluster {spec} --node-name {} --directory DIR --duration 20s\n{}{}",
            n.name,
            out.status.code(),
            n.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn ctrl_c_on_one_node() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let extra = ["--rate", "50", "--duration", "8s", "--join-timeout", "60s"];
    let children: Vec<Child> = start_all(&net, &dirs, &extra);
    wait_for_leader(&net);
    net.wait_for_load(&net.nodes[1], 10);
    // Ctrl-C on cp2: its load stops, it publishes what it has and stops its member.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(children[1].id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let runs: Vec<Run> = children
        .into_iter()
        .zip(dirs)
        .map(|(c, dir)| finish(c, dir))
        .collect();
    let code = runs[1].out.status.code();
    assert_eq!(
        code,
        Some(130),
        "{}",
        String::from_utf8_lossy(&runs[1].out.stderr)
    );
    let v: Value = serde_json::from_slice(&runs[1].out.stdout).expect("partial result");
    schema::validate(&v);
    assert_eq!(v["complete"], false);
    for r in [&runs[0], &runs[2]] {
        let d = doc(r);
        assert_eq!(d["complete"], true);
    }
    assert_clean(&net, &runs);
}

/// Nodes started with different loads (here one node's rate) make no run of one load: every node
/// refuses at the start barrier, naming the odd load, and cleans up.
#[test]
fn nodes_with_different_loads_are_refused() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<Child> = net
        .nodes
        .iter()
        .zip(&dirs)
        .enumerate()
        .map(|(i, (n, d))| {
            let rate = if i == 1 { "60" } else { "50" };
            let extra = ["--rate", rate, "--duration", "3s", "--join-timeout", "60s"];
            start(n, &spec, d.path(), &extra)
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .zip(dirs)
        .map(|(c, d)| finish(c, d))
        .collect();
    for r in &runs {
        let err = String::from_utf8_lossy(&r.out.stderr);
        assert_eq!(r.out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("another load") && err.contains("at 60/s") && err.contains("at 50/s"),
            "{err}"
        );
    }
    assert_clean(&net, &runs);
}

/// Members on different etcd versions make no cluster of one version: every node refuses at the
/// start barrier with one line naming both versions, and cleans up. The odd node runs the bundled
/// etcd through a wrapper that answers `--version` with another version (a real etcd all the same,
/// so the cluster forms and the refusal is the barrier's, not a failed start).
#[test]
fn members_with_different_etcd_versions_are_refused() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let wrap = tempfile::tempdir().unwrap();
    let other = wrap.path().join("etcd");
    std::fs::write(
        &other,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'etcd Version: 3.5.0-other'; exit 0; fi\nexec {} \"$@\"\n",
            netns::bundled_etcd().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<Child> = net
        .nodes
        .iter()
        .zip(&dirs)
        .enumerate()
        .map(|(i, (n, d))| {
            let mut extra = vec!["--rate", "50", "--duration", "3s", "--join-timeout", "60s"];
            if i == 1 {
                extra.extend(["--etcd-bin", other.to_str().unwrap()]);
            }
            start(n, &spec, d.path(), &extra)
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .zip(dirs)
        .map(|(c, d)| finish(c, d))
        .collect();
    for r in &runs {
        let err = String::from_utf8_lossy(&r.out.stderr);
        assert_eq!(r.out.status.code(), Some(2), "{err}");
        let line = err
            .lines()
            .find(|l| l.contains("the same etcd"))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(
            line.contains("etcd 3.5.0-other") && line.contains("etcd 3.5.1"),
            "{line}"
        );
    }
    assert_clean(&net, &runs);
}

/// A node killed outright after it joined (its member dies with it): the nodes still waiting do
/// not count it in and probe a cluster a member short — they stop at the barrier, naming it.
#[test]
fn a_node_killed_after_joining_is_not_counted() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let extra = ["--rate", "50", "--duration", "3s", "--join-timeout", "60s"];
    let mut first = start(&net.nodes[0], &spec, dirs[0].path(), &extra);
    let second = start(&net.nodes[1], &spec, dirs[1].path(), &extra);
    let t0 = std::time::Instant::now();
    while net.nodes[1].ready_keys() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "cp1 and cp2 never joined"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    first.kill().unwrap();
    let _ = first.wait();
    // Its member goes with it (parent-death signal).
    let t1 = std::time::Instant::now();
    while !net.nodes[0].pids().is_empty() {
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "cp1's member lives on"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let third = start(&net.nodes[2], &spec, dirs[2].path(), &extra);
    let mut dirs = dirs.into_iter();
    let _killed = dirs.next();
    let runs: Vec<Run> = [second, third]
        .into_iter()
        .zip(dirs)
        .map(|(c, d)| finish(c, d))
        .collect();
    for r in &runs {
        eprintln!("{}", String::from_utf8_lossy(&r.out.stderr));
    }
    for r in &runs {
        let err = String::from_utf8_lossy(&r.out.stderr);
        assert_eq!(r.out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("member cp1 (198.18.0.10) joined and then went away"),
            "{err}"
        );
    }
    assert_clean(&net, &runs);
}

/// This node's own etcd member killed mid-probe (as etcd dies on ENOSPC or a failed fsync): the
/// node says its member exited, with an incomplete result and exit 2; its peers count the failed
/// handshakes to it and do not judge the cluster fit.
#[test]
fn own_member_killed_mid_probe() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let extra = ["--rate", "50", "--duration", "10s", "--join-timeout", "60s"];
    let children: Vec<Child> = start_all(&net, &dirs, &extra);
    wait_for_leader(&net);
    net.wait_for_load(&net.nodes[1], 10);
    let victim = &net.nodes[1];
    let etcd = victim.etcd_pids();
    assert_eq!(etcd.len(), 1, "{:?}", victim.pids());
    // SAFETY: a plain kill(2) of the etcd this test's nodefit started in its own namespace.
    assert_eq!(unsafe { libc::kill(etcd[0], libc::SIGKILL) }, 0);
    let runs: Vec<Run> = children
        .into_iter()
        .zip(dirs)
        .map(|(c, d)| finish(c, d))
        .collect();
    let v = &runs[1];
    let err = String::from_utf8_lossy(&v.out.stderr);
    assert_eq!(v.out.status.code(), Some(2), "{err}");
    let vdoc: Value = serde_json::from_slice(&v.out.stdout).expect("the partial result");
    schema::validate(&vdoc);
    assert_eq!(vdoc["complete"], false);
    assert!(
        vdoc["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("the local etcd member was killed (signal: 9 (SIGKILL))"),
        "{}",
        vdoc["incomplete_reason"]
    );
    for r in [&runs[0], &runs[2]] {
        let d = doc(r);
        let to_victim = d["cluster"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "cp2")
            .unwrap()
            .clone();
        assert!(to_victim["rtt_errors"].as_u64().unwrap() > 0, "{to_victim}");
        let o = judge(&d);
        assert_eq!(o.verdict.as_str(), "UNFIT", "{:?}", o.reasons);
        assert!(
            o.checks
                .iter()
                .any(|c| c.id == "cluster_peer_failures" && c.verdict.as_str() == "fail"),
            "{:?}",
            o.reasons
        );
    }
    assert_clean(&net, &runs);
}
