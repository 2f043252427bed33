//! End-to-end tests of the etcd probe against secured clusters: TLS with client-certificate auth
//! (certificates made here with the openssl CLI; wrong CA and missing CA → exit 2) and user/password
//! auth (right password works, wrong password → exit 2 with a clear message).

use crate::support::etcd as etcd_support;
use crate::support::nodefit;

use etcd_support::{Certs, EtcdCluster};
use std::process::Output;

fn run(args: &[&str]) -> Output {
    nodefit().args(args).output().expect("nodefit runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn tls_client_cert_auth() {
    let certs_dir = tempfile::tempdir().unwrap();
    let certs = Certs::generate(certs_dir.path());
    let c = EtcdCluster::start_tls(&certs);
    let ep = c.endpoints();
    let (ca, cert, key) = (
        certs.ca.to_str().unwrap(),
        certs.client_cert.to_str().unwrap(),
        certs.client_key.to_str().unwrap(),
    );
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--cacert",
        ca,
        "--cert",
        cert,
        "--key",
        key,
        "--rate",
        "100",
        "--clients",
        "5",
        "--total",
        "50",
        "--prefix",
        "/nodefit-test/tls/",
        "--output-format",
        "json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &doc["etcd"];
    assert_eq!(e["ops"], 50);
    assert_eq!(e["errors_total"], 0);
    // Metrics were scraped over https with the same CA and client certificate.
    let m = &e["members"][0];
    assert!(m["wal_fsync"]["count"].as_u64().unwrap() > 0, "{m}");
    assert!(m.get("metrics_error").is_none(), "{m}");
    assert_eq!(c.count("/nodefit-test/tls/"), 0);

    // Wrong CA: the server's certificate does not verify.
    let other = certs.other_ca.to_str().unwrap();
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--cacert",
        other,
        "--cert",
        cert,
        "--key",
        key,
        "--dial-timeout",
        "3s",
        "--total",
        "5",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert_eq!(msg.trim().lines().count(), 1, "one line: {msg}");
    assert!(msg.contains("nodefit: etcd:"), "{msg}");

    // No client certificate: the server refuses the handshake.
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--cacert",
        ca,
        "--dial-timeout",
        "3s",
        "--total",
        "5",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Plain http against a TLS port: no answer it understands.
    let plain = ep.replace("https://", "http://");
    let out = run(&[
        "etcd",
        "--endpoints",
        &plain,
        "--dial-timeout",
        "2s",
        "--total",
        "5",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach etcd"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn password_auth() {
    let mut c = EtcdCluster::start(1);
    c.enable_auth("s3cret");
    let ep = c.endpoints();
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "root:s3cret",
        "--rate",
        "100",
        "--clients",
        "5",
        "--total",
        "30",
        "--prefix",
        "/nodefit-test/auth/",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // --user NAME with --password works the same way.
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "root",
        "--password",
        "s3cret",
        "--total",
        "10",
        "--rate",
        "100",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(c.count("/nodefit-test/auth/"), 0);
    // --password-file: the password from a file, never on the command line nor in any output.
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), "s3cret\n").unwrap();
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "root",
        "--password-file",
        pw.path().to_str().unwrap(),
        "--total",
        "10",
        "--rate",
        "100",
        "--output-format",
        "json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(text).contains("s3cret"),
            "the password shows"
        );
    }
    std::fs::write(pw.path(), "n0tit\n").unwrap();
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "root",
        "--password-file",
        pw.path().to_str().unwrap(),
        "--total",
        "10",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("n0tit"), "{}", stderr(&out));

    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "root:wrong",
        "--total",
        "10",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(msg.contains("--user"), "says what to check: {msg}");
    assert_eq!(msg.trim().lines().count(), 1, "one line: {msg}");

    // A user whose role covers /bob/ only: the default prefix is refused as a matter of rights
    // (not of the password), and a prefix inside its range works.
    for args in [
        vec!["role", "add", "bob-rw"],
        vec![
            "role",
            "grant-permission",
            "bob-rw",
            "--prefix=true",
            "readwrite",
            "/bob/",
        ],
        vec!["user", "add", "bob:b0b"],
        vec!["user", "grant-role", "bob", "bob-rw"],
    ] {
        let o = c.etcdctl(&args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "bob:b0b",
        "--total",
        "10",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(
        msg.contains("role does not cover the keys") && msg.contains("--prefix"),
        "{msg}"
    );
    assert!(!msg.contains("check --user/--password"), "{msg}");
    let out = run(&[
        "etcd",
        "--endpoints",
        &ep,
        "--user",
        "bob:b0b",
        "--total",
        "10",
        "--rate",
        "100",
        "--prefix",
        "/bob/nodefit/",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(c.count("/bob/"), 0);
}

/// `--user` against a cluster without auth: say so, not "cannot reach".
#[test]
fn user_against_a_cluster_without_auth() {
    let c = EtcdCluster::start(1);
    let out = run(&[
        "etcd",
        "--endpoints",
        &c.endpoints(),
        "--user",
        "root:x",
        "--total",
        "10",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(msg.contains("authentication turned off"), "{msg}");
}
