//! The etcd probe's options as typed: the one struct that `nodefit etcd` flattens into its command
//! line, that a profile's `[etcd]` table deserialises into (same names, snake_case) and that
//! qualify overrides field by field. Resolution into the probe's load lives with the probe
//! (`crate::etcd::config`), next to the errors it can raise.

use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// Operation each request performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// Put one key (etcd benchmark `put`, etcdctl check perf).
    #[default]
    Put,
    /// A transaction with one put (etcd benchmark `txn-put`).
    TxnPut,
    /// A linearizable read of one key (etcd benchmark `range`).
    Range,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::TxnPut => "txn-put",
            OpKind::Range => "range",
        }
    }
}

/// `etcdctl check perf` load presets: same rates, clients and duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadPreset {
    /// 150 writes/s, 50 clients, 60 s.
    S,
    /// 1000 writes/s, 200 clients, 60 s.
    M,
    /// 8000 writes/s, 500 clients, 60 s.
    L,
    /// 15000 writes/s, 1000 clients, 60 s.
    Xl,
}

impl LoadPreset {
    /// (rate, clients) as in etcdctl/ctlv3/command/check.go.
    pub fn numbers(self) -> (f64, u32) {
        match self {
            LoadPreset::S => (150.0, 50),
            LoadPreset::M => (1000.0, 200),
            LoadPreset::L => (8000.0, 500),
            LoadPreset::Xl => (15000.0, 1000),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LoadPreset::S => "s",
            LoadPreset::M => "m",
            LoadPreset::L => "l",
            LoadPreset::Xl => "xl",
        }
    }
}

/// Embedded cluster sizes the probe can start.
pub const MEMBER_COUNTS: [u32; 3] = [1, 3, 5];

fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::util::units::parse_duration(s).map_err(|e| e.to_string())
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_dur(&s).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

/// Options of the etcd probe (`nodefit etcd`, a profile's `[etcd]` table, qualify's probe).
#[derive(Clone, Debug, PartialEq, clap::Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdOptions {
    /// Probe a running cluster at these client URLs (comma-separated) instead of an embedded etcd
    #[arg(long, value_delimiter = ',', help_heading = "Target")]
    pub endpoints: Vec<String>,
    /// CA bundle to verify the servers (PEM)
    #[arg(long, help_heading = "Target")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM)
    #[arg(long, help_heading = "Target")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM)
    #[arg(long, help_heading = "Target")]
    pub key: Option<PathBuf>,
    /// User name, or name:password (a password on the command line shows in `ps`: prefer
    /// --password-file)
    #[arg(long, help_heading = "Target")]
    pub user: Option<String>,
    /// Password (when --user has none; prefer --password-file)
    #[arg(long, help_heading = "Target", conflicts_with = "password_file")]
    pub password: Option<String>,
    /// File whose first line is the password (when --user has none); never shown anywhere
    #[arg(long, help_heading = "Target")]
    pub password_file: Option<PathBuf>,
    /// Time allowed to connect (and to give up on an unreachable cluster)
    #[arg(long, default_value = "5s", value_parser = parse_dur, help_heading = "Target")]
    #[serde(deserialize_with = "de_duration")]
    pub dial_timeout: Duration,
    /// Time allowed for each request
    #[arg(long, default_value = "5s", value_parser = parse_dur, help_heading = "Target")]
    #[serde(deserialize_with = "de_duration")]
    pub command_timeout: Duration,
    /// Embedded etcd: directory (on the disk under test) for its data dirs
    #[arg(long, default_value = ".", help_heading = "Embedded etcd")]
    pub directory: PathBuf,
    /// Embedded etcd: the etcd binary (default: the etcd next to nodefit, else the first on PATH)
    #[arg(long, help_heading = "Embedded etcd")]
    pub etcd_bin: Option<PathBuf>,
    /// Embedded etcd: number of members (1, 3 or 5)
    #[arg(long, default_value_t = 1, help_heading = "Embedded etcd")]
    pub members: u32,
    /// Operation per request
    #[arg(long, value_enum, default_value = "put", help_heading = "Workload")]
    pub op: OpKind,
    /// Key size in bytes, prefix included
    #[arg(long, default_value_t = 256, help_heading = "Workload")]
    pub key_size: u32,
    /// Value size in bytes
    #[arg(long, default_value_t = 1024, help_heading = "Workload")]
    pub val_size: u32,
    /// Number of distinct keys (random keys drawn from it)
    #[arg(long, default_value_t = 100_000, help_heading = "Workload")]
    pub key_space: u64,
    /// Keys in order instead of random
    #[arg(long, help_heading = "Workload")]
    pub sequential_keys: bool,
    /// Preset with etcdctl check perf's numbers (s: 150/s 50 clients; m: 1000/s 200; l: 8000/s 500; xl: 15000/s 1000; 60 s). Default: s
    #[arg(long, value_enum, help_heading = "Workload")]
    pub load: Option<LoadPreset>,
    /// Requests per second (overrides the preset)
    #[arg(long, help_heading = "Workload")]
    pub rate: Option<f64>,
    /// Concurrent clients (overrides the preset)
    #[arg(long, help_heading = "Workload")]
    pub clients: Option<u32>,
    /// gRPC connections shared by the clients (default: one per 100 clients)
    #[arg(long, help_heading = "Workload")]
    pub conns: Option<u32>,
    /// Length of the run (default: the preset's 60 s, unless --total is given)
    #[arg(long, value_parser = parse_dur, help_heading = "Workload")]
    #[serde(deserialize_with = "de_opt_duration")]
    pub duration: Option<Duration>,
    /// Number of requests to send
    #[arg(long, help_heading = "Workload")]
    pub total: Option<u64>,
    /// Key prefix (default /nodefit/<run-id>/); deleted at the end
    #[arg(long, help_heading = "Safety")]
    pub prefix: Option<String>,
    /// Use the prefix even if it already holds keys (they will be deleted at the end)
    #[arg(long, help_heading = "Safety")]
    pub force: bool,
    /// Allow more than 2000 requests/s against --endpoints (a live cluster)
    #[arg(long, help_heading = "Safety")]
    pub accept_production_load: bool,
    /// Prometheus URLs, one per member in member-name order (default: <client URL>/metrics)
    #[arg(long, value_delimiter = ',', help_heading = "Observation")]
    pub metrics_urls: Vec<String>,
}

impl Default for EtcdOptions {
    /// The command line's defaults (a test holds the two together).
    fn default() -> Self {
        EtcdOptions {
            endpoints: Vec::new(),
            cacert: None,
            cert: None,
            key: None,
            user: None,
            password: None,
            password_file: None,
            dial_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            directory: PathBuf::from("."),
            etcd_bin: None,
            members: 1,
            op: OpKind::Put,
            key_size: 256,
            val_size: 1024,
            key_space: 100_000,
            sequential_keys: false,
            load: None,
            rate: None,
            clients: None,
            conns: None,
            duration: None,
            total: None,
            prefix: None,
            force: false,
            accept_production_load: false,
            metrics_urls: Vec::new(),
        }
    }
}

/// A duration as `nodefit etcd` reads it back: whole seconds, milliseconds or microseconds.
fn duration_word(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

impl EtcdOptions {
    /// True when probing a user's cluster rather than an embedded etcd.
    pub fn is_live(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// The `nodefit etcd` flags that give these options (those that differ from the defaults), so a
    /// probe can be shown as the command that repeats it; `mask_password` hides the password.
    pub fn to_args(&self, mask_password: bool) -> Vec<String> {
        let d = EtcdOptions::default();
        let mut w: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: String| {
            w.push(format!("--{name}"));
            w.push(value);
        };
        let path = |p: &PathBuf| p.display().to_string();
        if !self.endpoints.is_empty() {
            flag("endpoints", self.endpoints.join(","));
        }
        for (name, v) in [
            ("cacert", &self.cacert),
            ("cert", &self.cert),
            ("key", &self.key),
        ] {
            if let Some(p) = v {
                flag(name, path(p));
            }
        }
        if let Some(u) = &self.user {
            flag(
                "user",
                match u.split_once(':') {
                    Some((name, _)) if mask_password => format!("{name}:***"),
                    _ => u.clone(),
                },
            );
        }
        if let Some(p) = &self.password_file {
            flag("password-file", path(p));
        }
        if let Some(p) = &self.password {
            flag(
                "password",
                if mask_password {
                    "***".into()
                } else {
                    p.clone()
                },
            );
        }
        if self.dial_timeout != d.dial_timeout {
            flag("dial-timeout", duration_word(self.dial_timeout));
        }
        if self.command_timeout != d.command_timeout {
            flag("command-timeout", duration_word(self.command_timeout));
        }
        if self.directory != d.directory {
            flag("directory", path(&self.directory));
        }
        if let Some(p) = &self.etcd_bin {
            flag("etcd-bin", path(p));
        }
        if self.members != d.members {
            flag("members", self.members.to_string());
        }
        if self.op != d.op {
            flag("op", self.op.as_str().into());
        }
        if self.key_size != d.key_size {
            flag("key-size", self.key_size.to_string());
        }
        if self.val_size != d.val_size {
            flag("val-size", self.val_size.to_string());
        }
        if self.key_space != d.key_space {
            flag("key-space", self.key_space.to_string());
        }
        if let Some(l) = self.load {
            flag("load", l.as_str().into());
        }
        if let Some(r) = self.rate {
            flag("rate", r.to_string());
        }
        if let Some(c) = self.clients {
            flag("clients", c.to_string());
        }
        if let Some(c) = self.conns {
            flag("conns", c.to_string());
        }
        if let Some(t) = self.duration {
            flag("duration", duration_word(t));
        }
        if let Some(t) = self.total {
            flag("total", t.to_string());
        }
        if let Some(p) = &self.prefix {
            flag("prefix", p.clone());
        }
        if !self.metrics_urls.is_empty() {
            flag("metrics-urls", self.metrics_urls.join(","));
        }
        for (name, on) in [
            ("sequential-keys", self.sequential_keys),
            ("force", self.force),
            ("accept-production-load", self.accept_production_load),
        ] {
            if on {
                w.push(format!("--{name}"));
            }
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
        o: EtcdOptions,
    }

    #[test]
    fn default_matches_cli_defaults_and_an_empty_table() {
        use clap::Parser;
        let none: [&str; 0] = [];
        assert_eq!(
            Wrapper::try_parse_from(none).unwrap().o,
            EtcdOptions::default()
        );
        let t: EtcdOptions = toml::from_str("").unwrap();
        assert_eq!(t, EtcdOptions::default());
    }

    #[test]
    fn to_args_gives_back_the_same_options() {
        use clap::Parser;
        let o = EtcdOptions {
            endpoints: vec!["https://127.0.0.1:1".into(), "https://127.0.0.1:2".into()],
            cacert: Some("/ca".into()),
            cert: Some("/c".into()),
            key: Some("/k".into()),
            user: Some("u".into()),
            password: Some("p".into()),
            password_file: None,
            dial_timeout: Duration::from_millis(1500),
            command_timeout: Duration::from_secs(7),
            directory: "/d".into(),
            etcd_bin: Some("/bin/etcd".into()),
            members: 3,
            op: OpKind::Range,
            key_size: 64,
            val_size: 2048,
            key_space: 10,
            sequential_keys: true,
            load: Some(LoadPreset::Xl),
            rate: Some(12.5),
            clients: Some(3),
            conns: Some(2),
            duration: Some(Duration::from_micros(2_500_001)),
            total: Some(99),
            prefix: Some("/x/".into()),
            force: true,
            accept_production_load: true,
            metrics_urls: vec!["http://127.0.0.1:3/metrics".into()],
        };
        let back = Wrapper::try_parse_from(o.to_args(false)).unwrap().o;
        assert_eq!(back, o);
        assert!(EtcdOptions::default().to_args(false).is_empty());
        assert!(o.to_args(true).contains(&"***".to_string()));
    }

    /// A password given inside --user never reaches a shown command line either.
    #[test]
    fn a_password_in_user_is_masked() {
        let o = EtcdOptions {
            user: Some("root:s3cret".into()),
            ..EtcdOptions::default()
        };
        let shown = o.to_args(true).join(" ");
        assert!(
            !shown.contains("s3cret") && shown.contains("root:***"),
            "{shown}"
        );
        assert!(o.to_args(false).join(" ").contains("root:s3cret"));
    }

    #[test]
    fn a_table_uses_the_flags_names() {
        let t: EtcdOptions = toml::from_str(
            "load = \"m\"\nduration = \"20s\"\nmembers = 5\nop = \"txn-put\"\nval_size = 2048",
        )
        .unwrap();
        assert_eq!(t.load, Some(LoadPreset::M));
        assert_eq!(t.duration, Some(Duration::from_secs(20)));
        assert_eq!((t.members, t.op, t.val_size), (5, OpKind::TxnPut, 2048));
        assert!(toml::from_str::<EtcdOptions>("args = []").is_err());
        assert!(toml::from_str::<EtcdOptions>("duration = \"soon\"").is_err());
    }
}
