//! Peer TLS with your own CA (`--peer-cert-file`, `--peer-key-file`, `--peer-trusted-ca-file`,
//! peer client-cert auth): three namespaces, one certificate per node signed by a test CA made with
//! the `openssl` CLI, the cluster forms and the run completes; with a certificate from another CA,
//! the odd node's member is refused by its peers and every node gives up after the join timeout.

use crate::support::certs;
use crate::support::netns;
use crate::support::schema;
use crate::support::BIN;

use netns::Netns;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;

/// Run all three nodes with their certificates (node i signed by `signers[i]`).
fn run(net: &Netns, certs: &Path, signers: [&str; 3], join: &str) -> Vec<std::process::Output> {
    for (n, s) in net.nodes.iter().zip(signers) {
        certs::make_leaf(
            certs,
            &n.name,
            s,
            "serverAuth,clientAuth",
            &format!("IP:{}", n.addr),
        );
    }
    let spec = net.cluster_spec();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<_> = net
        .nodes
        .iter()
        .zip(&dirs)
        .map(|(n, d)| {
            n.command(BIN)
                .args(["etcd", "--cluster", &spec, "--node-name", &n.name])
                .arg("--directory")
                .arg(d.path())
                .arg("--peer-cert-file")
                .arg(certs.join(format!("{}.crt", n.name)))
                .arg("--peer-key-file")
                .arg(certs.join(format!("{}.key", n.name)))
                .arg("--peer-trusted-ca-file")
                .arg(certs.join("ca.crt"))
                .args(["--rate", "50", "--clients", "10", "--duration", "3s"])
                .args(["--join-timeout", join, "--output-format", "json", "--quiet"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (n, d) in net.nodes.iter().zip(&dirs) {
        assert!(n.pids().is_empty() && n.listeners().is_empty());
        assert!(std::fs::read_dir(d.path()).unwrap().next().is_none());
    }
    outs
}

#[test]
fn peers_with_your_own_ca() {
    let Some(net) = Netns::new(3, &[]) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    certs::make_ca(t.path(), "ca");
    certs::make_ca(t.path(), "otherca");
    for o in run(&net, t.path(), ["ca", "ca", "ca"], "60s") {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        schema::validate(&v);
        assert_eq!(v["cluster"]["peer_tls"], "files");
        assert!(v["cluster"]["members"][0]["peer_url"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
        assert_eq!(v["cluster"]["errors_total"], 0);
    }
    // cp3's certificate comes from another CA: its peers refuse it, and it refuses them.
    let outs = run(&net, t.path(), ["ca", "ca", "otherca"], "6s");
    let err3 = String::from_utf8_lossy(&outs[2].stderr);
    assert_eq!(outs[2].status.code(), Some(2), "{err3}");
    assert!(err3.contains("did not join within 6s"), "{err3}");
    for o in &outs[..2] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("member cp3 (198.18.0.12) did not join"),
            "{err}"
        );
    }
}
