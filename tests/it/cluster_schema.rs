//! The `cluster` section and the schema file agree: a document whose cluster section has every
//! optional part filled in validates (the schema forbids fields it does not name), and so does one
//! with every optional part absent. Needs no root: the real runs are validated in cluster_etcd.rs.

use crate::support::schema;

use nodefit::results::cluster::{ClusterMember, ClusterResult};
use nodefit::results::ResultsDocument;

fn with(c: ClusterResult) -> serde_json::Value {
    let mut doc = ResultsDocument::new(std::time::SystemTime::now());
    doc.cluster = Some(c);
    doc.finish();
    serde_json::to_value(&doc).unwrap()
}

#[test]
fn cluster_section_matches_the_schema() {
    let mut full = ClusterResult::template();
    full.self_name = "cp1".into();
    full.peer_tls = "secret".into();
    full.role = Some("leader".into());
    full.leader = Some("cp1".into());
    full.worst_link = Some("cp1 → cp2".into());
    full.recommended = nodefit::cluster::recommend(Some(("cp1 → cp2", 61_200_000)));
    full.unfinished = vec!["cp3".into()];
    full.peers[0].rtt_last_error = Some("Connection refused (os error 111)".into());
    full.members = vec![ClusterMember {
        name: "cp1".into(),
        address: "10.0.0.11".into(),
        peer_url: "https://10.0.0.11:12380".into(),
        id: Some("8e9e05c52164694d".into()),
        reported: true,
        wal_fsync: Some(nodefit::etcd::metrics::empty_estimate()),
        backend_commit: None,
    }];
    let v = with(full);
    assert_eq!(v["schema_version"], 3);
    assert!(v["cluster"]["peers"][0]["rtt_ns"]["samples"].is_u64());
    assert!(v["cluster"]["put_latency_ns"]["percentiles"]["99.9"].is_u64());
    schema::validate(&v);
    let bare = ClusterResult {
        recommended: nodefit::cluster::recommend(None),
        peer_tls: "off".into(),
        ..Default::default()
    };
    schema::validate(&with(bare));
}
