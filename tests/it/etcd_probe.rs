//! End-to-end tests of the etcd probe against real etcd processes (single member, embedded):
//! library call and binary, JSON consistency and schema, prefix safety and cleanup, exit 2 cases.
//! They check behaviour — counts, cleanup, exit codes — never speed.

use crate::support::etcd as etcd_support;
use crate::support::nodefit;

use etcd_support::{free_port, EtcdCluster};
use nodefit::options::etcd::EtcdOptions;
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

fn run(args: &[&str]) -> Output {
    nodefit().args(args).output().expect("nodefit runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

use crate::support::schema;
use schema::validate;

/// Invariants every etcd section must hold.
fn check_consistent(e: &Value) {
    let errors: u64 = e["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(e["errors_total"].as_u64().unwrap(), errors);
    for k in ["deadline", "unavailable", "no_leader", "auth", "other"] {
        assert!(e["errors"][k].is_u64(), "errors.{k} missing");
    }
    let ops = e["ops"].as_u64().unwrap();
    assert_eq!(e["requests"].as_u64().unwrap(), ops + errors);
    let secs = e["runtime_ns"].as_u64().unwrap() as f64 / 1e9;
    let achieved = e["achieved_rate"].as_f64().unwrap();
    assert!(
        (achieved - ops as f64 / secs).abs() < 1e-6 * achieved.max(1.0),
        "achieved {achieved} vs {ops}/{secs}"
    );
    if ops > 0 {
        assert_eq!(e["latency_ns"]["count"].as_u64().unwrap(), ops);
        assert_eq!(e["service_time_ns"]["count"].as_u64().unwrap(), ops);
        // Latency counts from the due time, so it is never below the service time.
        assert!(e["latency_ns"]["min"].as_u64() >= e["service_time_ns"]["min"].as_u64());
    }
    let series_ops: u64 = e["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ops"].as_u64().unwrap())
        .sum();
    assert_eq!(series_ops, ops);
    assert_eq!(
        e["leader_changes"].as_u64().unwrap(),
        e["leader_change_events"].as_array().unwrap().len() as u64
    );
}

#[test]
fn library_probe_single_member() {
    let c = EtcdCluster::start(1);
    let args = EtcdOptions {
        endpoints: vec![c.endpoints()],
        rate: Some(100.0),
        clients: Some(10),
        duration: Some(Duration::from_secs(2)),
        prefix: Some("/nodefit-test/lib/".into()),
        ..Default::default()
    };
    let r = nodefit::etcd::probe_blocking(&args, &nodefit::util::progress::silent())
        .expect("probe runs");
    assert!(r.complete, "{:?}", r.error);
    assert!(r.cleaned_up);
    assert_eq!(r.target.kind, "endpoints");
    assert_eq!(r.target.member_count, 1);
    assert_eq!(r.target_rate, 100.0);
    assert_eq!(r.load.clients, 10);
    assert_eq!(r.load.duration_s, Some(2.0));
    assert_eq!(r.errors_total, 0, "{:?}", r.error_samples);
    // 2 s at 100/s: 200 requests scheduled; all of them are sent on an idle local etcd unless
    // the client fell behind, which `unsent` then accounts for.
    assert_eq!(r.requests + r.behind_schedule.unsent, 200);
    assert!(r.ops > 0);
    let m = &r.members[0];
    assert_eq!(m.endpoint, c.client_urls[0]);
    assert_eq!(m.is_leader, Some(true));
    let (b, a) = (m.before.as_ref().unwrap(), m.after.as_ref().unwrap());
    assert!(
        a.raft_index >= b.raft_index + r.ops,
        "every put moves the raft index"
    );
    assert!(m.version.as_deref().unwrap().starts_with("3."));
    let wal = m.wal_fsync.as_ref().expect("wal fsync estimate");
    assert!(wal.count > 0);
    assert_eq!(wal.source, "prometheus buckets (estimate)");
    assert!(m.backend_commit.is_some());
    assert!(m.peer_rtt.is_none(), "no peers with one member");
    // The prefix is gone: read the cluster afterwards.
    assert_eq!(c.count("/nodefit-test/lib/"), 0);
    let v = serde_json::to_value(&r).unwrap();
    check_consistent(&v);
}

#[test]
fn binary_json_with_total() {
    let c = EtcdCluster::start(1);
    let out = run(&[
        "etcd",
        "--endpoints",
        &c.endpoints(),
        "--rate",
        "200",
        "--clients",
        "8",
        "--total",
        "150",
        "--op",
        "txn-put",
        "--prefix",
        "/nodefit-test/bin/",
        "--output-format",
        "json",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    validate(&doc);
    assert_eq!(doc["complete"], true);
    let e = &doc["etcd"];
    check_consistent(e);
    assert_eq!(e["requests"], 150);
    assert_eq!(e["load"]["total"], 150);
    assert_eq!(e["load"]["op"], "txn-put");
    assert!(e["load"].get("duration_s").is_none());
    assert_eq!(e["target_rate"], 200.0);
    assert_eq!(e["behind_schedule"]["unsent"], 0);
    assert!(e["latency_ns"]["percentiles"]["99"].is_u64());
    assert_eq!(c.count("/nodefit-test/bin/"), 0);
}

#[test]
fn non_empty_prefix_refused_then_forced() {
    let c = EtcdCluster::start(1);
    let out = c.etcdctl(&["put", "/users-data/x", "precious"]);
    assert!(out.status.success());
    // Keys beside the prefix: a string prefix of theirs, a sibling, Kubernetes' own.
    for k in ["/users-data-more/y", "/users/z", "/registry/pods/default/p"] {
        assert!(c.etcdctl(&["put", k, "theirs"]).status.success());
    }
    let out = run(&[
        "etcd",
        "--endpoints",
        &c.endpoints(),
        "--prefix",
        "/users-data/",
        "--total",
        "5",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already holds 1 key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.count("/users-data/"), 1, "nothing touched");
    // With --force the run goes ahead and the prefix is cleaned afterwards.
    let out = run(&[
        "etcd",
        "--endpoints",
        &c.endpoints(),
        "--prefix",
        "/users-data/",
        "--total",
        "5",
        "--rate",
        "50",
        "--force",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(c.count("/users-data/"), 0);
    // Only its own prefix went.
    for k in ["/users-data-more/", "/users/", "/registry/"] {
        assert_eq!(c.count(k), 1, "{k} lost a key");
    }
    // Kubernetes' prefix (or one above it) is refused whatever --force says.
    for p in ["/registry/", "/registry/pods"] {
        let out = run(&[
            "etcd",
            "--endpoints",
            &c.endpoints(),
            "--prefix",
            p,
            "--total",
            "5",
            "--force",
            "-q",
        ]);
        assert_eq!(out.status.code(), Some(2), "{p}: {}", stderr(&out));
        assert!(stderr(&out).contains("Kubernetes"), "{}", stderr(&out));
    }
    assert_eq!(c.count("/registry/"), 1, "Kubernetes' key was touched");
}

#[test]
fn unreachable_endpoint_exits_2_within_dial_timeout() {
    let port = free_port(); // nothing listens there any more
    let t0 = Instant::now();
    let out = run(&[
        "etcd",
        "--endpoints",
        &format!("http://127.0.0.1:{port}"),
        "--dial-timeout",
        "2s",
        "--duration",
        "1s",
        "-q",
    ]);
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(msg.contains("cannot reach etcd"), "{msg}");
    assert_eq!(msg.trim().lines().count(), 1, "one line: {msg}");
    // Behaviour, not speed: it gives up by the dial timeout rather than retrying for long.
    assert!(took < Duration::from_secs(2 + 5), "took {took:?}");
}

#[test]
fn live_cluster_high_rate_needs_consent() {
    let out = run(&[
        "etcd",
        "--endpoints",
        "http://127.0.0.1:1",
        "--rate",
        "5000",
        "--duration",
        "1s",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--accept-production-load"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn embedded_run_leaves_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "etcd",
        "--directory",
        dir.path().to_str().unwrap(),
        "--rate",
        "100",
        "--clients",
        "5",
        "--duration",
        "1s",
        "--output-format",
        "json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&doc);
    let e = &doc["etcd"];
    check_consistent(e);
    assert_eq!(e["target"]["kind"], "embedded");
    assert_eq!(e["target"]["member_count"], 1);
    assert!(e["ops"].as_u64().unwrap() > 0);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn embedded_missing_binary_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "etcd",
        "--directory",
        dir.path().to_str().unwrap(),
        "--etcd-bin",
        "/nonexistent/etcd",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("'/nonexistent/etcd' not found")
            && stderr(&out).contains("--etcd-bin PATH"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// Options that belong to the other target are refused up front instead of ignored (or, for the
/// embedded etcd, instead of a member that never gets healthy and a 10 s wait).
#[test]
fn options_of_the_other_target_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, says) in [
        (
            vec!["--directory", d, "--user", "root:x"],
            "--user is for --endpoints",
        ),
        (
            vec!["--directory", d, "--cacert", "/x.crt"],
            "--cacert is for --endpoints",
        ),
        (
            vec!["--endpoints", "http://127.0.0.1:1", "--members", "3"],
            "--members 3 is for the embedded etcd",
        ),
        (
            vec!["--directory", d, "--peer-port", "1"],
            "needs --cluster",
        ),
    ] {
        let mut all = vec!["etcd", "-q"];
        all.extend(args.iter());
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}

#[test]
fn ctrl_c_cleans_up_and_reports_partial_result() {
    let c = EtcdCluster::start(1);
    let dir = tempfile::tempdir().unwrap();
    let child = nodefit()
        .args([
            "etcd",
            "--endpoints",
            &c.endpoints(),
            "--prefix",
            "/nodefit-test/ctrlc/",
            "--rate",
            "50",
            "--clients",
            "5",
            "--duration",
            "30s",
            "--output-format",
            "json",
            "-q",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the load is writing, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.count("/nodefit-test/ctrlc/") == 0 {
        assert!(Instant::now() < deadline, "the probe never wrote");
        std::thread::sleep(Duration::from_millis(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("partial result is printed");
    validate(&doc);
    assert_eq!(doc["complete"], false);
    let e = &doc["etcd"];
    assert_eq!(e["complete"], false);
    assert_eq!(e["cleaned_up"], true);
    check_consistent(e);
    assert!(e["ops"].as_u64().unwrap() > 0);
    assert_eq!(
        c.count("/nodefit-test/ctrlc/"),
        0,
        "prefix deleted after Ctrl-C"
    );
}

/// With no --etcd-bin, nodefit runs the etcd next to itself, before any on PATH; with neither, it
/// says every place it tried. (A hard link of the test build in a directory of its own stands for an
/// unpacked tarball: the same binary, another directory.)
#[test]
fn no_etcd_anywhere_names_the_places_tried() {
    use std::path::Path;
    let bin = Path::new(env!("CARGO_BIN_EXE_nodefit"));
    let home = tempfile::tempdir_in(bin.parent().unwrap()).unwrap();
    let copy = home.path().join("nodefit");
    std::fs::hard_link(bin, &copy).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let disk = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(&copy)
            .args(args)
            .env("PATH", empty.path())
            .output()
            .unwrap()
    };
    let out = run(&["etcd", "--directory", disk.path().to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    let beside = home.path().join("etcd");
    assert!(
        e.contains(&format!("tried {} (next to nodefit)", beside.display()))
            && e.contains(&format!(
                "each directory of PATH ({})",
                empty.path().display()
            ))
            && e.contains("--etcd-bin PATH")
            && e.lines().count() == 1,
        "{e}"
    );
    assert!(std::fs::read_dir(disk.path()).unwrap().next().is_none());
    let v = run(&["--version"]);
    assert!(v.status.success());
    let text = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("etcd: none usable: no etcd binary")),
        "{text}"
    );

    // The bundled etcd beside it is found with no flag, and named by `--version`.
    std::os::unix::fs::symlink(etcd_support::bundled::etcd(), &beside).unwrap();
    let v = run(&["--version"]);
    let text = String::from_utf8_lossy(&v.stdout).into_owned();
    assert_eq!(
        text.lines().nth(1),
        Some(
            format!(
                "etcd {} ({})",
                etcd_support::bundled::ETCD_VERSION,
                beside.display()
            )
            .as_str()
        ),
        "{text}"
    );
}
