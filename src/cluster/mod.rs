//! Cluster qualification: the same command on every candidate node forms a throwaway etcd across
//! them (one member per node, data on the disk under test), all nodes probe write consensus at the
//! same time through their own member, each measures the network to every peer (TCP handshake RTT)
//! and reads etcd's own per-peer round-trip histogram, and the result advises etcd's heartbeat
//! interval and election timeout.
//!
//! Coordination goes through the throwaway cluster itself (keys under `/nodefit-cluster/`): a
//! ready key per node (the start barrier), a done key per node (teardown in step, and each member's
//! figures for everyone's result). Promises: nothing listens and no data dir is left after the
//! run, on success, error, Ctrl-C or a peer's death.
//!
//! This module is the domain alone (no clap, no printing). The rest of the feature sits in its
//! layers: the options in `options/cluster.rs`, the `cluster` section in `results/cluster.rs`, the
//! command (`nodefit etcd --cluster`) in `cmd/etcd.rs` with its text in `ui/cluster.rs`, the
//! cluster checks in `score/cluster.rs` and the report's cluster page in `report/view/cluster.rs` (laid out by `report/{html,markdown,json}.rs`).

pub mod member;
pub mod peer_ca;
pub mod peer_check;
pub mod reach;
pub mod rtt;
mod run;
pub mod secret;
pub mod spec;

use crate::etcd::EtcdError;
pub use crate::options::cluster::{
    ClusterOptions, DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT, SECRET_FILE_ENV,
};
pub use crate::results::cluster::*;

pub use run::probe_blocking;

/// etcd's default heartbeat interval, ms.
pub const ETCD_DEFAULT_HEARTBEAT_MS: u64 = 100;
/// etcd's default election timeout, ms.
pub const ETCD_DEFAULT_ELECTION_MS: u64 = 1000;

/// Everything that can be refused before anything is measured or started: the node list and this
/// node in it, the ports (real, different, free on this node's address), the peer TLS files, the
/// load, and options that mean nothing in a throwaway cluster. `qualify --cluster` calls it before
/// its disk phase, so a typo costs seconds, not the whole disk run.
pub fn preflight(
    args: &crate::options::etcd::EtcdOptions,
    c: &ClusterOptions,
) -> Result<(Vec<spec::NodeSpec>, usize, member::PeerTls), ClusterError> {
    let nodes = spec::parse(c.cluster.as_deref().unwrap_or(""))?;
    let me = spec::find_self(&nodes, c.node_name.as_deref())?;
    if args.is_live() {
        return Err(ClusterError::Invalid(
            "--cluster and --endpoints exclude each other".into(),
        ));
    }
    let meaningless = [
        (
            args.prefix.is_some(),
            "--prefix (each node writes under /nodefit/<run id>/<node>/ in the throwaway cluster)",
        ),
        (
            !args.metrics_urls.is_empty(),
            "--metrics-urls (each node reads its own member's /metrics)",
        ),
        (
            args.user.is_some() || args.password.is_some() || args.password_file.is_some(),
            "--user/--password (the throwaway cluster has no users)",
        ),
        (
            args.cacert.is_some() || args.cert.is_some() || args.key.is_some(),
            "--cacert/--cert/--key (client TLS of a live cluster; peers use --peer-cert-file …)",
        ),
        (
            args.members != 1,
            "--members (the cluster has one member per node in --cluster)",
        ),
    ];
    if let Some((_, what)) = meaningless.iter().find(|(given, _)| *given) {
        return Err(ClusterError::Invalid(format!(
            "{what} does not apply with --cluster"
        )));
    }
    if c.peer_port == 0 || c.client_port == 0 {
        return Err(ClusterError::Invalid(
            "--peer-port and --client-port must be ports from 1 to 65535 (0 would be any free port, which the peers could not know)".into(),
        ));
    }
    if c.peer_port == c.client_port {
        return Err(ClusterError::Invalid(
            "--peer-port and --client-port must differ".into(),
        ));
    }
    if c.join_timeout.is_zero() {
        return Err(ClusterError::Invalid("--join-timeout must be > 0".into()));
    }
    let tls = peer_tls(c)?;
    crate::etcd::embedded::etcd_version(&args.etcd_binary()?)?;
    if let member::PeerTls::Files { cert, key, ca } = &tls {
        for (flag, f) in [
            ("--peer-cert-file", cert),
            ("--peer-key-file", key),
            ("--peer-trusted-ca-file", ca),
        ] {
            if !f.is_file() {
                return Err(ClusterError::Invalid(format!(
                    "{flag} {}: no such file",
                    f.display()
                )));
            }
        }
    }
    args.resolve_load(format!("/nodefit/{:016x}/{}/", 0, nodes[me].name))?;
    // Room for the request's own framing besides the key and the value.
    let request = u64::from(args.key_size) + u64::from(args.val_size) + 4096;
    if request > member::MAX_REQUEST_BYTES {
        return Err(ClusterError::Invalid(format!(
            "--key-size {} + --val-size {} do not fit the throwaway cluster's request cap of {} bytes (--max-request-bytes)",
            args.key_size,
            args.val_size,
            member::MAX_REQUEST_BYTES
        )));
    }
    member::check_bind(
        std::net::SocketAddr::new(nodes[me].addr, c.peer_port),
        "peer address",
    )?;
    member::check_bind(
        std::net::SocketAddr::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            c.client_port,
        ),
        "client address",
    )?;
    Ok((nodes, me, tls))
}

/// The peer TLS mode the options ask for: a cluster secret, the user's own CA, or — only when
/// asked for in so many words — no peer authentication. [`SECRET_FILE_ENV`] is a default that an
/// explicit `--peer-*-file` or `--insecure-peers` overrides; `--cluster-secret-file` conflicts
/// with them. The secret file is read and checked here, before anything starts.
pub fn peer_tls(o: &ClusterOptions) -> Result<member::PeerTls, ClusterError> {
    let files = (&o.peer_cert_file, &o.peer_key_file, &o.peer_trusted_ca_file);
    let some_files = files.0.is_some() || files.1.is_some() || files.2.is_some();
    if let Some(path) = &o.cluster_secret_file {
        let other = [
            (some_files, "--peer-*-file"),
            (o.insecure_peers, "--insecure-peers"),
            (o.no_peer_tls, "--no-peer-tls"),
        ];
        if let Some((_, flag)) = other.iter().find(|(given, _)| *given) {
            return Err(ClusterError::Invalid(format!(
                "--cluster-secret-file and {flag} exclude each other (the secret's own CA authenticates the peers)"
            )));
        }
        let secret = secret::ClusterSecret::read(path, "--cluster-secret-file")?;
        return Ok(member::PeerTls::Secret(std::sync::Arc::new(secret)));
    }
    if !(some_files || o.insecure_peers || o.no_peer_tls) {
        if let Some(path) = o.secret_file() {
            let secret = secret::ClusterSecret::read(&path, SECRET_FILE_ENV)?;
            return Ok(member::PeerTls::Secret(std::sync::Arc::new(secret)));
        }
    }
    match (files, o.insecure_peers, o.no_peer_tls) {
        ((Some(c), Some(k), Some(ca)), false, false) => Ok(member::PeerTls::Files {
            cert: c.clone(),
            key: k.clone(),
            ca: ca.clone(),
        }),
        _ if some_files && (o.insecure_peers || o.no_peer_tls) => Err(ClusterError::Invalid(
            "--peer-*-file and --no-peer-tls/--insecure-peers exclude each other".into(),
        )),
        _ if some_files => Err(ClusterError::Invalid(
            "--peer-cert-file, --peer-key-file and --peer-trusted-ca-file go together".into(),
        )),
        (_, true, true) => Ok(member::PeerTls::Off),
        (_, true, false) => Ok(member::PeerTls::Auto),
        (_, false, true) => Err(ClusterError::Invalid(
            "--no-peer-tls lets anyone who reaches the peer ports read and write the cluster: add --insecure-peers to mean it, or use --cluster-secret-file".into(),
        )),
        (_, false, false) => Err(ClusterError::Invalid(format!(
            "a cluster run needs its peers authenticated: give every node the same --cluster-secret-file FILE (or {SECRET_FILE_ENV}), or your own CA (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file), or --insecure-peers to run without"
        ))),
    }
}

/// Errors that keep a cluster run from running or finishing. One line each, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid option: {0}")]
    Invalid(String),
    #[error("{0}")]
    Etcd(#[from] EtcdError),
    #[error("cluster member: {0}")]
    Member(String),
    #[error("{missing} did not join within {timeout_s}s (is nodefit running there with the same --cluster, and is port {peer_port} reachable?)")]
    JoinTimeout {
        missing: String,
        timeout_s: f64,
        peer_port: u16,
    },
    #[error("{0}")]
    Left(String),
    /// A peer does not hold this run's cluster secret.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{other} runs etcd {theirs} and {me} runs etcd {mine}: the members of one run must run the same etcd (copy the same nodefit tarball to every node, it carries its etcd, or give every node the same --etcd-bin)")]
    EtcdVersions {
        other: String,
        theirs: String,
        me: String,
        mine: String,
    },
    #[error("interrupted")]
    Interrupted,
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

/// etcd's tuning guide: heartbeat ≈ 0.5–1.5 × RTT (we take 1 × the worst p99), election timeout
/// ≥ 10 × RTT; etcd itself requires election ≥ 5 × heartbeat; never below etcd's defaults.
pub fn recommend(worst: Option<(&str, u64)>) -> Recommended {
    let rule = "heartbeat = max(100 ms, 1 × worst peer RTT p99); election = max(1000 ms, 10 × worst peer RTT p99, 5 × heartbeat) (etcd tuning guide; etcd requires election >= 5 × heartbeat)".to_string();
    let Some((link, rtt)) = worst else {
        return Recommended {
            heartbeat_interval_ms: ETCD_DEFAULT_HEARTBEAT_MS,
            election_timeout_ms: ETCD_DEFAULT_ELECTION_MS,
            basis: Basis {
                rule,
                rtt_p99_ns: None,
                link: None,
            },
        };
    };
    let ms_up = |ns: u64| ns.div_ceil(1_000_000);
    let hb = ETCD_DEFAULT_HEARTBEAT_MS.max(ms_up(rtt));
    let el = ETCD_DEFAULT_ELECTION_MS
        .max(ms_up(rtt.saturating_mul(10)))
        .max(hb * 5);
    Recommended {
        heartbeat_interval_ms: hb,
        election_timeout_ms: el,
        basis: Basis {
            rule,
            rtt_p99_ns: Some(rtt),
            link: Some(link.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_authentication_is_chosen_in_so_many_words() {
        let o = |f: &dyn Fn(&mut ClusterOptions)| {
            let mut o = ClusterOptions::default();
            f(&mut o);
            peer_tls(&o)
        };
        // (With the environment variable set, the bare case would read its file instead.)
        if std::env::var_os(SECRET_FILE_ENV).is_none() {
            let e = o(&|_| {}).unwrap_err().to_string();
            assert!(
                e.contains("--cluster-secret-file FILE")
                    && e.contains("--insecure-peers to run without"),
                "{e}"
            );
        }
        assert_eq!(
            o(&|o| o.insecure_peers = true).unwrap(),
            member::PeerTls::Auto
        );
        let off = o(&|o| {
            o.insecure_peers = true;
            o.no_peer_tls = true;
        });
        assert_eq!(off.unwrap(), member::PeerTls::Off);
        let e = o(&|o| o.no_peer_tls = true).unwrap_err().to_string();
        assert!(e.contains("add --insecure-peers to mean it"), "{e}");
        let files = |o: &mut ClusterOptions| {
            o.peer_cert_file = Some("/c".into());
            o.peer_key_file = Some("/k".into());
            o.peer_trusted_ca_file = Some("/ca".into());
        };
        assert_eq!(o(&files).unwrap().as_str(), "files");
        let e = o(&|o| {
            files(o);
            o.insecure_peers = true;
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("exclude each other"), "{e}");
        let e = o(&|o| o.peer_key_file = Some("/k".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("go together"), "{e}");
        let e = o(&|o| {
            o.cluster_secret_file = Some("/s".into());
            o.insecure_peers = true;
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--cluster-secret-file and --insecure-peers"),
            "{e}"
        );
        assert!(member::PeerTls::Auto.is_insecure() && member::PeerTls::Off.is_insecure());
    }

    #[test]
    fn recommendation_rules() {
        let d = recommend(None);
        assert_eq!(
            (d.heartbeat_interval_ms, d.election_timeout_ms),
            (100, 1000)
        );
        // Small RTT: etcd's defaults.
        let r = recommend(Some(("a → b", 400_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (100, 1000)
        );
        // 61.2 ms: heartbeat 62 ms is below the default, election 612 ms too.
        let r = recommend(Some(("a → b", 61_200_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (100, 1000)
        );
        // 150 ms: heartbeat 150, election max(1500, 750) = 1500.
        let r = recommend(Some(("a → b", 150_000_000)));
        assert_eq!(
            (r.heartbeat_interval_ms, r.election_timeout_ms),
            (150, 1500)
        );
        assert_eq!(
            r.flags(),
            "--heartbeat-interval=150 --election-timeout=1500"
        );
        for rtt in [1, 99_000_001, 250_000_000, 1_000_000_000] {
            let r = recommend(Some(("x", rtt)));
            assert!(r.election_timeout_ms >= 5 * r.heartbeat_interval_ms);
            assert!(r.election_timeout_ms * 1_000_000 >= 10 * rtt);
            assert!(r.heartbeat_interval_ms >= 100 && r.election_timeout_ms >= 1000);
        }
    }
}
