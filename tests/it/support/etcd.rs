//! Test fixture: a real etcd cluster (the etcd nodefit ships, see bundled.rs) of N members on free loopback ports
//! with data dirs in a temp dir, optionally serving TLS with client-certificate auth; every member
//! is killed when the fixture is dropped. Also: test certificates made with the `openssl` CLI.

#![allow(dead_code)]

pub use super::bundled;
use super::certs;

use certs::{make_ca, make_leaf};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Certificates for a TLS cluster: a CA, a server cert for 127.0.0.1, a client cert, and an
/// unrelated CA (for the wrong-CA case).
/// The names a loopback server answers to.
const LOOPBACK: &str = "IP:127.0.0.1,DNS:localhost";

pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
}

impl Certs {
    pub fn generate(dir: &Path) -> Certs {
        make_ca(dir, "ca");
        make_ca(dir, "otherca");
        make_leaf(dir, "server", "ca", "serverAuth,clientAuth", LOOPBACK);
        make_leaf(dir, "client", "ca", "clientAuth", LOOPBACK);
        Certs {
            ca: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            other_ca: dir.join("otherca.crt"),
        }
    }
}

/// A running cluster; members die with it.
pub struct EtcdCluster {
    pub dir: tempfile::TempDir,
    children: Vec<Option<Child>>,
    pub client_urls: Vec<String>,
    pub names: Vec<String>,
    tls: Option<(PathBuf, PathBuf, PathBuf)>, // ca, client cert, client key (for etcdctl)
    user: Option<String>,
}

impl EtcdCluster {
    pub fn start(members: usize) -> EtcdCluster {
        Self::start_with(members, None)
    }

    /// Client port serves TLS with client-certificate auth.
    pub fn start_tls(certs: &Certs) -> EtcdCluster {
        Self::start_with(1, Some(certs))
    }

    fn start_with(members: usize, certs: Option<&Certs>) -> EtcdCluster {
        let dir = tempfile::tempdir().unwrap();
        let scheme = if certs.is_some() { "https" } else { "http" };
        let client_urls: Vec<String> = (0..members)
            .map(|_| format!("{scheme}://127.0.0.1:{}", free_port()))
            .collect();
        let peers: Vec<String> = (0..members)
            .map(|_| format!("http://127.0.0.1:{}", free_port()))
            .collect();
        let names: Vec<String> = (0..members).map(|i| format!("t{i}")).collect();
        let cluster: Vec<String> = names
            .iter()
            .zip(&peers)
            .map(|(n, p)| format!("{n}={p}"))
            .collect();
        let mut children = Vec::new();
        for i in 0..members {
            let mut cmd = Command::new(bundled::etcd());
            cmd.args([
                "--name",
                &names[i],
                "--data-dir",
                dir.path().join(&names[i]).to_str().unwrap(),
                "--listen-client-urls",
                &client_urls[i],
                "--advertise-client-urls",
                &client_urls[i],
                "--listen-peer-urls",
                &peers[i],
                "--initial-advertise-peer-urls",
                &peers[i],
                "--initial-cluster",
                &cluster.join(","),
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                "nodefit-test",
                "--logger",
                "zap",
                "--log-outputs",
                dir.path()
                    .join(format!("{}.log", names[i]))
                    .to_str()
                    .unwrap(),
            ]);
            if let Some(c) = certs {
                cmd.arg("--cert-file").arg(&c.server_cert);
                cmd.arg("--key-file").arg(&c.server_key);
                cmd.arg("--trusted-ca-file").arg(&c.ca);
                cmd.arg("--client-cert-auth");
            }
            // If the test process is killed outright (a CI timeout), Drop never runs: the
            // parent-death signal takes the member down with it. (It fires when the spawning
            // thread exits; the fixture always lives and dies on that thread.)
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            children.push(Some(cmd.spawn().expect("the bundled etcd starts")));
        }
        let c = EtcdCluster {
            dir,
            children,
            client_urls,
            names,
            tls: certs.map(|c| (c.ca.clone(), c.client_cert.clone(), c.client_key.clone())),
            user: None,
        };
        c.wait_healthy();
        c
    }

    pub fn endpoints(&self) -> String {
        self.client_urls.join(",")
    }

    /// Run etcdctl against the live members.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let live: Vec<String> = self
            .client_urls
            .iter()
            .zip(&self.children)
            .filter(|(_, c)| c.is_some())
            .map(|(u, _)| u.clone())
            .collect();
        self.etcdctl_at(&live.join(","), args)
    }

    pub fn etcdctl_at(&self, endpoints: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(bundled::etcdctl());
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg("--dial-timeout=3s");
        if let Some((ca, cert, key)) = &self.tls {
            cmd.arg(format!("--cacert={}", ca.display()))
                .arg(format!("--cert={}", cert.display()))
                .arg(format!("--key={}", key.display()));
        }
        if let Some(u) = &self.user {
            cmd.arg(format!("--user={u}"));
        }
        cmd.args(args).output().expect("etcdctl runs")
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.etcdctl(&["endpoint", "health"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "etcd not healthy: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Create root with `password` and enable auth; etcdctl then uses root.
    pub fn enable_auth(&mut self, password: &str) {
        let out = self.etcdctl(&["user", "add", &format!("root:{password}")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self.etcdctl(&["auth", "enable"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.user = Some(format!("root:{password}"));
    }

    /// Index of the current leader.
    pub fn leader(&self) -> Option<usize> {
        let out = self.etcdctl(&["endpoint", "status", "-w", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        for (i, e) in v.as_array()?.iter().enumerate() {
            let st = &e["Status"];
            if st["leader"] == st["header"]["member_id"] {
                let ep = e["Endpoint"].as_str()?;
                return self.client_urls.iter().position(|u| u == ep).or(Some(i));
            }
        }
        None
    }

    /// Kill member `i` (SIGKILL) now.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Number of keys under `prefix` (etcdctl 3.4 has no --count-only).
    pub fn count(&self, prefix: &str) -> u64 {
        let out = self.etcdctl(&["get", prefix, "--prefix", "--keys-only"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count() as u64
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for c in self.children.iter_mut() {
            if let Some(mut c) = c.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
