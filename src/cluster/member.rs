//! This node's throwaway etcd member: data dir on the disk under test, peer URL on the node's
//! address, client URL on 127.0.0.1 only, peers authenticated by default (a CA derived from the
//! cluster secret, see `peer_ca`), the cluster capped ([`BACKEND_QUOTA_BYTES`] …). [`Member`] stops
//! the process (SIGTERM, then SIGKILL) and removes its data dir when dropped — on success,
//! error and Ctrl-C alike — and the member dies with nodefit if nodefit is killed outright. The
//! data dir is noted in the directory's run record and marked (`util::scratch`), so the next
//! nodefit run there (or `nodefit clean`) removes what a killed run left.

use super::spec::{host_port, NodeSpec};
use super::ClusterError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// etcd's `--quota-backend-bytes` for the throwaway member: 1 GiB. A probe writes its keys once
/// under one prefix (the default profile's 60 s at 150/s of 1 KiB values is ≈ 9 MiB); the cap
/// keeps a runaway load from filling the disk under test, which is a live node's disk (etcd's
/// own default is 2 GiB).
pub const BACKEND_QUOTA_BYTES: u64 = 1 << 30;
/// etcd's `--max-request-bytes`: 2 MiB. A probe request is one key and one value (a larger
/// `--key-size` + `--val-size` is refused before the run); etcd's default is 1.5 MiB.
pub const MAX_REQUEST_BYTES: u64 = 2 << 20;
/// etcd's `--snapshot-count`: 10000 (etcd 3.5's default; 3.4's is 100000), so the member keeps
/// fewer raft entries in memory and in its WAL between snapshots.
pub const SNAPSHOT_COUNT: u64 = 10_000;

/// How peers talk to each other.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerTls {
    /// A per-run CA derived from the cluster secret (`--cluster-secret-file`), each member's own
    /// certificate signed by it, with client-certificate auth between peers.
    Secret(std::sync::Arc<super::secret::ClusterSecret>),
    /// etcd's `--peer-auto-tls` (`--insecure-peers`): self-signed certificates made by each member
    /// (encrypted, not authenticated).
    Auto,
    /// The user's certificates (`--peer-cert-file`, `--peer-key-file`, `--peer-trusted-ca-file`),
    /// with client-certificate auth between peers.
    Files {
        cert: PathBuf,
        key: PathBuf,
        ca: PathBuf,
    },
    /// Plain http (`--no-peer-tls --insecure-peers`).
    Off,
}

impl PeerTls {
    pub fn as_str(&self) -> &'static str {
        match self {
            PeerTls::Secret(_) => "secret",
            PeerTls::Auto => "auto",
            PeerTls::Files { .. } => "files",
            PeerTls::Off => "off",
        }
    }
    /// Whether anyone who reaches a peer port can talk to the member.
    pub fn is_insecure(&self) -> bool {
        matches!(self, PeerTls::Auto | PeerTls::Off)
    }
    fn scheme(&self) -> &'static str {
        match self {
            PeerTls::Off => "http",
            _ => "https",
        }
    }
}

/// What to start.
#[derive(Clone, Debug)]
pub struct MemberPlan {
    pub bin: PathBuf,
    pub directory: PathBuf,
    pub nodes: Vec<NodeSpec>,
    pub me: usize,
    pub peer_port: u16,
    pub client_port: u16,
    pub token: String,
    pub tls: PeerTls,
}

impl MemberPlan {
    /// Peer URL of node `i`.
    pub fn peer_url(&self, i: usize) -> String {
        format!(
            "{}://{}",
            self.tls.scheme(),
            host_port(self.nodes[i].addr, self.peer_port)
        )
    }
    /// What makes this run this run, for the peer CA's derivation: the sorted `--cluster` list,
    /// the peer port and the token (the same on every node).
    pub fn identity(&self) -> String {
        let mut parts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{}={}", n.name, n.addr))
            .collect();
        parts.sort();
        format!(
            "nodefit cluster v1\n{}\n{}\n{}",
            parts.join(","),
            self.peer_port,
            self.token
        )
    }
    /// This node's client URL (loopback only).
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }
}

/// The running member.
#[derive(Debug)]
pub struct Member {
    child: Option<Child>,
    /// `<directory>/nodefit-cluster-<name>-<pid>`: etcd's data in `etcd/`, the peer certificates
    /// and key (0600) in `peer-tls/`; removed as one.
    pub data_dir: PathBuf,
    /// This node's peer credentials, when the run has a cluster secret.
    pub credentials: Option<super::peer_ca::PeerCredentials>,
    /// The member's log: its stderr, kept in memory (a file would be one more thing a killed run
    /// leaves behind, and on the disk under test it would add writes to the measurement).
    log: crate::etcd::embedded::MemberLog,
    pub client_url: String,
    /// This run's claim on the directory (the data dir is noted in it and marked as this run's,
    /// so a later run removes it if this one is killed outright); dropped after `stop`.
    _record: std::sync::Arc<crate::util::scratch::RunRecord>,
}

pub(super) fn check_bind(addr: SocketAddr, what: &str) -> Result<(), ClusterError> {
    match TcpListener::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(ClusterError::Invalid(format!(
            "{what} {addr} is already in use (another etcd or nodefit?); choose another port"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            Err(ClusterError::Invalid(format!(
                "{what} {addr}: {} is not an address of this host (check --cluster and --node-name)",
                addr.ip()
            )))
        }
        Err(e) => Err(ClusterError::Invalid(format!("{what} {addr}: {e}"))),
    }
}

impl Member {
    /// Start the member (it then waits for its peers on its own).
    pub fn start(plan: &MemberPlan) -> Result<Member, ClusterError> {
        let me = &plan.nodes[plan.me];
        crate::etcd::embedded::etcd_version(&plan.bin).map_err(ClusterError::Etcd)?;
        if !plan.directory.is_dir() {
            return Err(ClusterError::Invalid(format!(
                "--directory {} is not a directory",
                plan.directory.display()
            )));
        }
        check_bind(SocketAddr::new(me.addr, plan.peer_port), "peer address")?;
        check_bind(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), plan.client_port),
            "client address",
        )?;
        let tag = format!("nodefit-cluster-{}-{}", me.name, std::process::id());
        let (record, data_dir) = crate::util::scratch::create_scratch_dir(&plan.directory, &tag)
            .map_err(ClusterError::Member)?;
        let mut m = Member {
            _record: record,
            child: None,
            log: crate::etcd::embedded::MemberLog::default(),
            data_dir,
            credentials: None,
            client_url: plan.client_url(),
        };
        let etcd_dir = m.data_dir.join("etcd");
        let initial: Vec<String> = (0..plan.nodes.len())
            .map(|i| format!("{}={}", plan.nodes[i].name, plan.peer_url(i)))
            .collect();
        let peer = plan.peer_url(plan.me);
        let mut cmd = Command::new(&plan.bin);
        cmd.arg("--name")
            .arg(&me.name)
            .arg("--data-dir")
            .arg(&etcd_dir)
            .arg("--listen-client-urls")
            .arg(&m.client_url)
            .arg("--advertise-client-urls")
            .arg(&m.client_url)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(initial.join(","))
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--initial-cluster-token")
            .arg(&plan.token)
            // Compacted every 5 minutes, as kube-apiserver does (see etcd/embedded.rs).
            .args(["--auto-compaction-mode", "periodic"])
            .args(["--auto-compaction-retention", "5m"])
            // A throwaway on someone's live disk: capped (see the constants).
            .arg(format!("--quota-backend-bytes={BACKEND_QUOTA_BYTES}"))
            .arg(format!("--max-request-bytes={MAX_REQUEST_BYTES}"))
            .arg(format!("--snapshot-count={SNAPSHOT_COUNT}"))
            .arg("--logger")
            .arg("zap")
            .arg("--log-outputs")
            .arg("stderr")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match &plan.tls {
            PeerTls::Secret(secret) => {
                let ca = super::peer_ca::PeerCa::derive(secret, &plan.identity())?;
                let c = ca.issue(me, &m.data_dir.join("peer-tls"))?;
                cmd.arg("--peer-cert-file")
                    .arg(&c.cert_file)
                    .arg("--peer-key-file")
                    .arg(&c.key_file)
                    .arg("--peer-trusted-ca-file")
                    .arg(&c.ca_file)
                    .arg("--peer-client-cert-auth");
                m.credentials = Some(c);
            }
            PeerTls::Auto => {
                cmd.arg("--peer-auto-tls");
            }
            PeerTls::Files { cert, key, ca } => {
                cmd.arg("--peer-cert-file")
                    .arg(cert)
                    .arg("--peer-key-file")
                    .arg(key)
                    .arg("--peer-trusted-ca-file")
                    .arg(ca)
                    .arg("--peer-client-cert-auth");
            }
            PeerTls::Off => {}
        }
        // Own process group (a terminal's Ctrl-C reaches nodefit only, which stops the member in
        // step with its peers); parent-death signal (the member goes if nodefit is killed).
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            ClusterError::Member(format!("cannot start {}: {e}", plan.bin.display()))
        })?;
        m.log = crate::etcd::embedded::MemberLog::follow(child.stderr.take());
        m.child = Some(child);
        Ok(m)
    }

    /// Fail if the member has exited (with the line of its log that says why).
    pub fn check_alive(&mut self) -> Result<(), ClusterError> {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                // Killed by a signal, the member wrote nothing about it: its last log line would
                // only mislead.
                return Err(ClusterError::Member(if st.signal().is_some() {
                    format!("the local etcd member was killed ({st})")
                } else {
                    format!(
                        "the local etcd member exited ({st}): {}",
                        crate::etcd::embedded::failure_reason(&self.log.wait_lines())
                    )
                }));
            }
        }
        Ok(())
    }

    /// Stop the member (SIGTERM, 5 s grace, SIGKILL) and remove its data dir.
    pub fn stop(&mut self) -> Result<(), String> {
        if let Some(c) = self.child.take() {
            crate::etcd::embedded::stop_processes(&mut [c], Duration::from_secs(5));
        }
        if self.data_dir.exists() {
            std::fs::remove_dir_all(&self.data_dir)
                .map_err(|e| format!("cannot remove {}: {e}", self.data_dir.display()))?;
        }
        Ok(())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
