//! `nodefit qualify --cluster` end to end on three network namespaces: a short test profile (a
//! second of disk work, an 8 s probe), every node judged with the cluster checks, result.json with
//! the cluster section, nothing left behind.

use crate::support::netns;
use crate::support::schema;
use crate::support::BIN;

use netns::Netns;
use serde_json::Value;
use std::process::Stdio;

const PROFILE: &str = r#"name = "cluster-e2e"
description = "cluster end-to-end test profile"
rounds = 1

[[disk]]
id = "wal"
title = "WAL-like"
rw = "write"
bs = "2300"
size = "1m"
runtime = "1s"
ioengine = "sync"
fdatasync = 1

[etcd]
duration = "8s"
rate = 50
clients = 10

[[check]]
id = "wal_synced_writes"
title = "synced writes/s"
metric = "workloads[wal].iops"
comparison = ">="
limit = 1
unit = "ops/s"
severity = "must"
source = "etcd hardware guide (op-guide/hardware), Disks"

[[check]]
id = "cluster_peer_rtt_p99"
title = "Network RTT p99 to each peer"
metric = "cluster.peers[*].rtt_ns.percentiles.99"
comparison = "<="
limit = 50_000_000
unit = "ns"
severity = "must"
source = "OpenShift documentation, 'Recommended etcd practices'"

[[check]]
id = "cluster_leader_changes"
title = "Leader changes"
metric = "cluster.leader_changes"
comparison = "=="
limit = 0
unit = "count"
severity = "must"
source = "etcd FAQ"

[[check]]
id = "cluster_errors"
title = "Errors"
metric = "cluster.errors_total"
comparison = "=="
limit = 0
unit = "count"
severity = "must"
source = "etcdctl check perf"
"#;

/// `nodefit qualify --cluster` on every node at once (each with its own directory and output
/// directory from `dirs` and `outs`), quiet, stdout and stderr piped.
fn qualify_all(
    net: &Netns,
    profile: &std::path::Path,
    dirs: &[tempfile::TempDir],
    outs: &[tempfile::TempDir],
    extra: &[&str],
) -> Vec<std::process::Child> {
    let spec = net.cluster_spec();
    net.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            n.command(BIN)
                .arg("qualify")
                .arg("--profile")
                .arg(profile)
                .arg("--directory")
                .arg(dirs[i].path())
                .arg("--output-dir")
                .arg(outs[i].path())
                .args(["--cluster", &spec, "--node-name", &n.name, "--quiet"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

#[test]
fn qualify_three_nodes() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let profile = t.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let outs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children = qualify_all(
        &net,
        &profile,
        &dirs,
        &outs,
        &["--output-format", "json", "--etcd-arg=--join-timeout=60s"],
    );
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    let results: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (i, out) in results.iter().enumerate() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        schema::validate(&doc);
        let name = &net.nodes[i].name;
        assert_eq!(doc["node_name"], name.as_str());
        assert_eq!(doc["cluster"]["self"], name.as_str());
        assert_eq!(doc["verdict"], "FIT", "{:?}", doc["checks"]);
        let ids: Vec<&str> = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "wal_synced_writes",
                "cluster_peer_rtt_p99",
                "cluster_leader_changes",
                "cluster_errors"
            ]
        );
        assert!(doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] == "pass"));
        // --cluster judges with the same intervals as a single node: the worst link's RTT p99
        // carries its order-statistic interval.
        let rtt = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "cluster_peer_rtt_p99")
            .unwrap();
        assert_eq!(rtt["confidence"], 0.95, "{rtt}");
        let (lo, hi, obs) = (
            rtt["observed_ci"][0].as_f64().unwrap(),
            rtt["observed_ci"][1].as_f64().unwrap(),
            rtt["observed"].as_f64().unwrap(),
        );
        assert!(lo <= obs && obs <= hi, "{rtt}");
        let written: Value =
            serde_json::from_slice(&std::fs::read(outs[i].path().join("result.json")).unwrap())
                .unwrap();
        assert_eq!(written["cluster"]["run_id"], doc["cluster"]["run_id"]);
        assert!(std::fs::read_dir(dirs[i].path()).unwrap().next().is_none());
    }
    for n in &net.nodes {
        assert!(n.pids().is_empty() && n.listeners().is_empty());
    }
    // No member log left in the temp dir.
    for (n, pid) in net.nodes.iter().zip(pids) {
        let log = std::env::temp_dir().join(format!("nodefit-cluster-{}-{pid}.log", n.name));
        assert!(!log.exists(), "{} left", log.display());
    }
}

#[test]
fn qualify_alone_stops_before_its_disk_phase_naming_the_unreachable_peer() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let profile = t.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let n = &net.nodes[0];
    let t0 = std::time::Instant::now();
    let o = n
        .command(BIN)
        .arg("qualify")
        .arg("--profile")
        .arg(&profile)
        .arg("--directory")
        .arg(dir.path())
        .arg("--output-dir")
        .arg(out.path())
        .args([
            "--cluster",
            &net.cluster_spec(),
            "--node-name",
            &n.name,
            "--quiet",
        ])
        .arg("--etcd-arg=--join-timeout=3s")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    // The peers' hosts are there but nothing of nodefit listens on them: named with link and
    // port after the window (--join-timeout), before any disk workload ran.
    assert!(
        err.contains("cp1 → cp2 (198.18.0.11:12380): connection refused")
            && err.contains("(and 1 more peer(s))")
            && err.contains("open TCP 12380 between the nodes"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t0.elapsed()
    );
    // Nothing measured, written or left.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
    assert!(n.pids().is_empty() && n.listeners().is_empty());
}

/// A typo in `--cluster` costs nothing: refused before the disk phase, nothing measured or written.
#[test]
fn qualify_refuses_a_bad_cluster_before_measuring() {
    let t = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    for (spec, extra, says) in [
        ("cp1=bad,cp2=127.0.0.2", "", "not an IP address"),
        (
            "cp1=127.0.0.1,cp2=127.0.0.2",
            "--node-name=cp9",
            "this node is 'cp9'",
        ),
        (
            "cp1=127.0.0.1,cp2=127.0.0.2",
            "--etcd-arg=--peer-port=0",
            "must be ports from 1 to 65535",
        ),
        (
            "cp1=127.0.0.1,cp2=127.0.0.2",
            "--etcd-arg=--prefix=/mine/",
            "--prefix",
        ),
        // No peer authentication chosen: refused up front, naming the three ways.
        (
            "cp1=127.0.0.1,cp2=127.0.0.2",
            "",
            "--cluster-secret-file FILE",
        ),
        (
            "cp1=127.0.0.1,cp2=127.0.0.2",
            "--cluster-secret-file=/nonexistent/nodefit.secret",
            "No such file",
        ),
    ] {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env_remove("NODEFIT_CLUSTER_SECRET_FILE")
            .arg("qualify")
            .arg("--directory")
            .arg(dir.path())
            .arg("--output-dir")
            .arg(&out)
            .args(["--cluster", spec, "--quiet"]);
        if extra.starts_with("--node-name") {
            cmd.arg(extra);
        } else {
            cmd.args(["--node-name", "cp1"]);
            if !extra.is_empty() {
                cmd.arg(extra);
            }
        }
        let o = cmd.stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{spec} {extra}: {err}");
        assert!(err.contains(says), "{spec} {extra}: {err}");
        assert!(!out.exists(), "{spec} {extra}: something was written");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}

/// cp1's own etcd member killed mid-probe: its qualification has no verdict (the result is
/// incomplete and says the member was killed, exit 2), where it used to blame the disk.
#[test]
fn qualify_whose_own_member_dies_has_no_verdict() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let profile = t.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let outs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children = qualify_all(
        &net,
        &profile,
        &dirs,
        &outs,
        &["--etcd-arg=--join-timeout=60s", "--etcd-arg=--duration=12s"],
    );
    // Once cp1's member serves (the probe is on), kill it.
    let victim = &net.nodes[0];
    let t0 = std::time::Instant::now();
    let etcd = loop {
        let found = victim.etcd_pids();
        if victim.ready_keys() == 3 && found.len() == 1 {
            break found[0];
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(90),
            "the probe never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    net.wait_for_load(victim, 10);
    // SAFETY: a plain kill(2) of the etcd this test's nodefit started in its own namespace.
    assert_eq!(unsafe { libc::kill(etcd, libc::SIGKILL) }, 0);
    let results: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let err = String::from_utf8_lossy(&results[0].stderr);
    assert_eq!(results[0].status.code(), Some(2), "{err}");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(outs[0].path().join("result.json")).unwrap())
            .unwrap();
    schema::validate(&doc);
    assert_eq!(doc["complete"], false);
    assert!(doc["verdict"].is_null(), "{}", doc["verdict"]);
    assert!(
        doc["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("the local etcd member was killed"),
        "{}",
        doc["incomplete_reason"]
    );
    // The others finish and count the failed handshakes to cp1 (the shipped profiles fail
    // `cluster_peer_failures` on them; this test's short profile has no such check).
    for (i, out) in results.iter().enumerate().skip(1) {
        let doc: Value =
            serde_json::from_slice(&std::fs::read(outs[i].path().join("result.json")).unwrap())
                .unwrap();
        let to_cp1 = doc["cluster"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "cp1")
            .cloned()
            .unwrap();
        assert!(
            to_cp1["rtt_errors"].as_u64().unwrap() > 0,
            "{to_cp1} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for n in &net.nodes {
        assert!(n.pids().is_empty() && n.listeners().is_empty());
    }
}
