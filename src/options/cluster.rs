//! The cluster run's options as typed (`nodefit etcd --cluster …`): flattened next to
//! [`EtcdOptions`](super::etcd::EtcdOptions) in `nodefit etcd`'s command line, and read from
//! qualify's `--etcd-arg` words. The domain (`crate::cluster`) only reads them.

use std::path::PathBuf;
use std::time::Duration;

/// Default peer port: not etcd's 2380, so a real etcd on the node never collides.
pub const DEFAULT_PEER_PORT: u16 = 12380;
/// Default client port (on 127.0.0.1 only).
pub const DEFAULT_CLIENT_PORT: u16 = 12379;

/// The environment variable that names the secret file when `--cluster-secret-file` is not given
/// (so an orchestrator can pass it without a command-line word).
pub const SECRET_FILE_ENV: &str = "NODEFIT_CLUSTER_SECRET_FILE";

fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::util::units::parse_duration(s).map_err(|e| e.to_string())
}

/// Options for a cluster run (flattened into `nodefit etcd`'s options).
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct ClusterOptions {
    /// Qualify these nodes as one etcd cluster: name=address,… (the same list on every node; each runs this command at roughly the same time)
    #[arg(long, help_heading = "Cluster")]
    pub cluster: Option<String>,
    /// This node's name in --cluster (default: the host name)
    #[arg(long, help_heading = "Cluster")]
    pub node_name: Option<String>,
    /// Port of the throwaway member's peer URL on this node's address
    #[arg(long, default_value_t = DEFAULT_PEER_PORT, help_heading = "Cluster")]
    pub peer_port: u16,
    /// Port of the throwaway member's client URL (127.0.0.1 only)
    #[arg(long, default_value_t = DEFAULT_CLIENT_PORT, help_heading = "Cluster")]
    pub client_port: u16,
    /// How long to wait for every member to come
    #[arg(long, default_value = "5m", value_parser = parse_dur, help_heading = "Cluster")]
    pub join_timeout: Duration,
    /// Cluster token (default: derived from --cluster and --peer-port, so every node agrees)
    #[arg(long, help_heading = "Cluster")]
    pub cluster_token: Option<String>,
    /// File holding this run's cluster secret (the same on every node; mode 0600, at least 16 bytes): every node derives the same per-run CA from it, and only its holders can talk to the peer ports. Also NODEFIT_CLUSTER_SECRET_FILE. Never put the secret itself on the command line
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub cluster_secret_file: Option<PathBuf>,
    /// Peer TLS certificate (your own CA instead of a cluster secret; with --peer-key-file and --peer-trusted-ca-file)
    #[arg(long, help_heading = "Cluster")]
    pub peer_cert_file: Option<PathBuf>,
    /// Peer TLS key
    #[arg(long, help_heading = "Cluster")]
    pub peer_key_file: Option<PathBuf>,
    /// CA that signed every peer's certificate
    #[arg(long, help_heading = "Cluster")]
    pub peer_trusted_ca_file: Option<PathBuf>,
    /// Peer traffic in plain http (only with --insecure-peers)
    #[arg(long, help_heading = "Cluster")]
    pub no_peer_tls: bool,
    /// Run without peer authentication (etcd's --peer-auto-tls, or plain http with --no-peer-tls): anyone who reaches the peer ports can read the member list and send raft messages for the whole run. Recorded in the result
    #[arg(long, help_heading = "Cluster")]
    pub insecure_peers: bool,
}

impl Default for ClusterOptions {
    /// The command line's defaults (a test holds the two together).
    fn default() -> Self {
        ClusterOptions {
            cluster: None,
            node_name: None,
            peer_port: DEFAULT_PEER_PORT,
            client_port: DEFAULT_CLIENT_PORT,
            join_timeout: Duration::from_secs(300),
            cluster_token: None,
            cluster_secret_file: None,
            peer_cert_file: None,
            peer_key_file: None,
            peer_trusted_ca_file: None,
            no_peer_tls: false,
            insecure_peers: false,
        }
    }
}

impl ClusterOptions {
    /// True when `--cluster` was given.
    pub fn is_set(&self) -> bool {
        self.cluster.is_some()
    }

    /// The secret file: `--cluster-secret-file`, else [`SECRET_FILE_ENV`] (when set and not empty).
    pub fn secret_file(&self) -> Option<PathBuf> {
        self.cluster_secret_file.clone().or_else(|| {
            std::env::var_os(SECRET_FILE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    /// The `nodefit etcd` flags that give these options (those that differ from the defaults), so a
    /// probe can be shown as the command that repeats it.
    pub fn to_args(&self) -> Vec<String> {
        let d = ClusterOptions::default();
        let mut w: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: String| {
            w.push(format!("--{name}"));
            w.push(value);
        };
        for (name, v) in [
            ("cluster", &self.cluster),
            ("node-name", &self.node_name),
            ("cluster-token", &self.cluster_token),
        ] {
            if let Some(v) = v {
                flag(name, v.clone());
            }
        }
        if self.peer_port != d.peer_port {
            flag("peer-port", self.peer_port.to_string());
        }
        if self.client_port != d.client_port {
            flag("client-port", self.client_port.to_string());
        }
        if self.join_timeout != d.join_timeout {
            flag(
                "join-timeout",
                format!("{}ms", self.join_timeout.as_millis()),
            );
        }
        for (name, v) in [
            ("cluster-secret-file", &self.cluster_secret_file),
            ("peer-cert-file", &self.peer_cert_file),
            ("peer-key-file", &self.peer_key_file),
            ("peer-trusted-ca-file", &self.peer_trusted_ca_file),
        ] {
            if let Some(p) = v {
                flag(name, p.display().to_string());
            }
        }
        if self.no_peer_tls {
            w.push("--no-peer-tls".into());
        }
        if self.insecure_peers {
            w.push("--insecure-peers".into());
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    #[command(no_binary_name = true)]
    struct Wrapper {
        #[command(flatten)]
        o: ClusterOptions,
    }

    #[test]
    fn default_matches_cli_defaults() {
        use clap::Parser;
        let none: [&str; 0] = [];
        assert_eq!(
            Wrapper::try_parse_from(none).unwrap().o,
            ClusterOptions::default()
        );
    }

    #[test]
    fn to_args_gives_back_the_same_options() {
        use clap::Parser;
        let o = ClusterOptions {
            cluster: Some("cp1=10.0.0.1,cp2=10.0.0.2".into()),
            node_name: Some("cp2".into()),
            peer_port: 1,
            client_port: 2,
            join_timeout: Duration::from_millis(8500),
            cluster_token: Some("t".into()),
            cluster_secret_file: Some("/s".into()),
            peer_cert_file: Some("/c".into()),
            peer_key_file: Some("/k".into()),
            peer_trusted_ca_file: Some("/ca".into()),
            no_peer_tls: true,
            insecure_peers: true,
        };
        assert_eq!(Wrapper::try_parse_from(o.to_args()).unwrap().o, o);
        assert!(ClusterOptions::default().to_args().is_empty());
    }
}
