//! End-to-end tests of the etcd probe on 3-member clusters: per-member observation (peer RTT
//! present), an embedded 3-member run, and a member killed mid-probe — the probe finishes, counts
//! its errors and reports the leader change.

use crate::support::etcd as etcd_support;

use etcd_support::EtcdCluster;
use nodefit::options::etcd::EtcdOptions;
use std::time::Duration;

fn args(c: &EtcdCluster, prefix: &str, secs: u64) -> EtcdOptions {
    EtcdOptions {
        endpoints: c.client_urls.clone(),
        rate: Some(100.0),
        clients: Some(10),
        duration: Some(Duration::from_secs(secs)),
        command_timeout: Duration::from_secs(2),
        prefix: Some(prefix.into()),
        ..Default::default()
    }
}

#[test]
fn three_members_each_observed() {
    let c = EtcdCluster::start(3);
    let r = nodefit::etcd::probe_blocking(
        &args(&c, "/nodefit-test/three/", 2),
        &nodefit::util::progress::silent(),
    )
    .expect("probe runs");
    assert!(r.complete, "{:?}", r.error);
    assert_eq!(r.errors_total, 0, "{:?}", r.error_samples);
    assert_eq!(r.target.member_count, 3);
    assert_eq!(r.members.len(), 3);
    assert_eq!(
        r.members
            .iter()
            .filter(|m| m.is_leader == Some(true))
            .count(),
        1,
        "exactly one leader"
    );
    for m in &r.members {
        assert!(c.client_urls.contains(&m.endpoint));
        assert!(m.before.is_some() && m.after.is_some());
        let wal = m.wal_fsync.as_ref().expect("wal fsync estimate");
        assert!(wal.count > 0, "every member fsyncs its WAL");
        // etcd probes peers every few seconds: the estimate is there, its window says which.
        let rtt = m
            .peer_rtt
            .as_ref()
            .expect("peer RTT estimate with > 1 member");
        assert_eq!(rtt.source, "prometheus buckets (estimate)");
        assert!(rtt.window == "probe" || rtt.window == "since_start");
    }
    assert_eq!(c.count("/nodefit-test/three/"), 0);
}

#[test]
fn embedded_three_members() {
    let dir = tempfile::tempdir().unwrap();
    let a = EtcdOptions {
        directory: dir.path().to_path_buf(),
        // The library runs in the test binary, which has no etcd beside it: name the bundled one.
        etcd_bin: Some(etcd_support::bundled::etcd()),
        members: 3,
        rate: Some(100.0),
        clients: Some(10),
        duration: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let r =
        nodefit::etcd::probe_blocking(&a, &nodefit::util::progress::silent()).expect("probe runs");
    assert!(r.complete, "{:?}", r.error);
    assert_eq!(r.target.kind, "embedded");
    assert_eq!(r.target.member_count, 3);
    assert_eq!(r.members.len(), 3);
    assert!(r.members.iter().all(|m| m.peer_rtt.is_some()));
    // The etcd version the probe used is recorded: the binary's line and each member's status.
    let want = etcd_support::bundled::ETCD_VERSION;
    let bin = r.target.etcd_bin.as_deref().unwrap_or_default();
    assert!(bin.ends_with(&format!("(etcd Version: {want})")), "{bin}");
    for m in &r.members {
        assert_eq!(m.version.as_deref(), Some(want), "{}", m.name);
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    // The document validates against the checked-in schema (nulls for unobserved estimates too).
    let mut doc = nodefit::results::ResultsDocument::new(std::time::SystemTime::now());
    doc.etcd = Some(r);
    doc.finish();
    let doc = serde_json::to_value(&doc).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/results.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}

#[test]
fn leader_killed_mid_probe() {
    let mut c = EtcdCluster::start(3);
    let leader = c.leader().expect("a leader");
    let a = args(&c, "/nodefit-test/kill/", 5);
    let probe = std::thread::spawn(move || {
        nodefit::etcd::probe_blocking(&a, &nodefit::util::progress::silent())
    });
    // Kill once the load is well under way (its leader watcher polls every 250 ms).
    crate::support::wait::wait_until(Duration::from_secs(60), "50 keys put by the probe", || {
        c.count("/nodefit-test/kill/") >= 50
    });
    c.kill(leader);
    let r = probe.join().unwrap().expect("the probe finishes");
    eprintln!(
        "ops {} errors {:?} samples {:?} leader changes {:?}",
        r.ops, r.errors, r.error_samples, r.leader_change_events
    );
    assert!(r.complete, "{:?}", r.error);
    assert_eq!(r.errors_total, r.errors.values().sum::<u64>());
    assert_eq!(r.requests, r.ops + r.errors_total);
    assert!(r.ops > 0);
    // The survivors elected a new leader; the watcher saw it and time-stamped it.
    assert!(r.leader_changes >= 1, "{:?}", r.leader_change_events);
    let ev = &r.leader_change_events[0];
    assert!(ev.t_s > 0.0 && ev.t_s < 8.0, "{ev:?}");
    assert_ne!(ev.from, ev.to);
    let dead = &r.members[r
        .members
        .iter()
        .position(|m| m.endpoint == c.client_urls[leader])
        .unwrap()];
    assert!(dead.before.is_some());
    assert!(dead.after.is_none(), "a killed member answers no status");
    let new_term = r
        .members
        .iter()
        .filter_map(|m| m.after.as_ref())
        .map(|s| s.raft_term)
        .max()
        .unwrap();
    let old_term = dead.before.as_ref().unwrap().raft_term;
    assert!(new_term > old_term);
    assert_eq!(c.count("/nodefit-test/kill/"), 0);
}
