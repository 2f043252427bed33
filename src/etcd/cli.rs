//! `nodefit etcd`: arguments as typed (etcdctl's names for connection options, etcd benchmark's for
//! the workload), their resolution into a workload, and the command's entry point and text output.

use super::{EtcdError, EtcdResult, LoadInfo, ERROR_KINDS};
use crate::cli::{emit, stderr_is_tty, OutputFormat};
use crate::results::ResultsDocument;
use crate::units::format_ns;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Rate above which a live cluster (`--endpoints`) needs `--accept-production-load`.
pub const LIVE_RATE_LIMIT: f64 = 2000.0;

/// Operation each request performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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

fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::units::parse_duration(s).map_err(|e| e.to_string())
}

/// Options of `nodefit etcd` (and of qualify's etcd step).
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct EtcdArgs {
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
    /// User name, or name:password
    #[arg(long, help_heading = "Target")]
    pub user: Option<String>,
    /// Password (when --user has none)
    #[arg(long, help_heading = "Target")]
    pub password: Option<String>,
    /// Time allowed to connect (and to give up on an unreachable cluster)
    #[arg(long, default_value = "5s", value_parser = parse_dur, help_heading = "Target")]
    pub dial_timeout: Duration,
    /// Time allowed for each request
    #[arg(long, default_value = "5s", value_parser = parse_dur, help_heading = "Target")]
    pub command_timeout: Duration,
    /// Embedded etcd: directory (on the disk under test) for its data dirs
    #[arg(long, default_value = ".", help_heading = "Embedded etcd")]
    pub directory: PathBuf,
    /// Embedded etcd: the etcd binary
    #[arg(long, default_value = "etcd", help_heading = "Embedded etcd")]
    pub etcd_bin: PathBuf,
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
    /// Output format
    #[arg(long, value_enum, default_value = "normal", help_heading = "Output")]
    pub output_format: OutputFormat,
    /// Write the output to FILE instead of stdout
    #[arg(long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// No progress line
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
    /// Cluster qualification (`--cluster` and its options)
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

impl Default for EtcdArgs {
    fn default() -> Self {
        EtcdArgs {
            endpoints: Vec::new(),
            cacert: None,
            cert: None,
            key: None,
            user: None,
            password: None,
            dial_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            directory: PathBuf::from("."),
            etcd_bin: PathBuf::from("etcd"),
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
            output_format: OutputFormat::Normal,
            output: None,
            quiet: false,
            cluster: Default::default(),
        }
    }
}

#[derive(clap::Parser)]
#[command(name = "etcd", no_binary_name = true)]
struct Wrapper {
    #[command(flatten)]
    args: EtcdArgs,
}

impl EtcdArgs {
    /// Parse option words exactly as `nodefit etcd` would (without the subcommand name), so other
    /// commands (qualify) can describe a probe in the CLI's own vocabulary.
    pub fn from_args(words: &[String]) -> Result<EtcdArgs, clap::Error> {
        use clap::Parser;
        Wrapper::try_parse_from(words).map(|w| w.args)
    }

    /// True when probing a user's cluster rather than an embedded etcd.
    pub fn is_live(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Resolve the workload: preset, overrides, defaults and the live-cluster safety rules.
    pub fn resolve_load(&self, prefix: String) -> Result<LoadInfo, EtcdError> {
        let preset = self.load.unwrap_or(LoadPreset::S);
        let (p_rate, p_clients) = preset.numbers();
        let rate = self.rate.unwrap_or(p_rate);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(EtcdError::Invalid(format!(
                "--rate must be > 0, got {rate}"
            )));
        }
        let clients = self.clients.unwrap_or(p_clients);
        if clients == 0 {
            return Err(EtcdError::Invalid("--clients must be at least 1".into()));
        }
        let conns = self
            .conns
            .unwrap_or(clients.div_ceil(100))
            .clamp(1, clients);
        if self.conns == Some(0) {
            return Err(EtcdError::Invalid("--conns must be at least 1".into()));
        }
        let duration = match (self.duration, self.total) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(60)),
        };
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(EtcdError::Invalid("--duration must be > 0".into()));
        }
        if self.total == Some(0) {
            return Err(EtcdError::Invalid("--total must be at least 1".into()));
        }
        if self.key_space == 0 {
            return Err(EtcdError::Invalid("--key-space must be at least 1".into()));
        }
        if self.is_live() && rate > LIVE_RATE_LIMIT && !self.accept_production_load {
            return Err(EtcdError::ConsentRequired {
                rate,
                limit: LIVE_RATE_LIMIT,
            });
        }
        if !self.is_live() && ![1, 3, 5].contains(&self.members) {
            return Err(EtcdError::Invalid(format!(
                "--members must be 1, 3 or 5, got {}",
                self.members
            )));
        }
        if !prefix.starts_with('/') || prefix.len() < 2 {
            return Err(EtcdError::Invalid(format!(
                "--prefix must start with '/' and not be '/' alone, got '{prefix}'"
            )));
        }
        // Keys are deleted by prefix at the end: "/app" would also cover "/apple/…", so the prefix
        // always ends at a path boundary.
        let prefix = if prefix.ends_with('/') {
            prefix
        } else {
            format!("{prefix}/")
        };
        // A key is the prefix plus a zero-padded key number; a --key-size that can't hold both
        // would be reported but not what was sent.
        let digits = self.key_space.saturating_sub(1).max(1).to_string().len();
        if (self.key_size as usize) < prefix.len() + digits {
            return Err(EtcdError::Invalid(format!(
                "--key-size {} is too small: a key is the prefix '{prefix}' ({} bytes) plus a {digits}-digit key number, so at least {} bytes",
                self.key_size,
                prefix.len(),
                prefix.len() + digits
            )));
        }
        let preset_used = if self.rate.is_none() || self.clients.is_none() {
            Some(preset.as_str().to_string())
        } else {
            None
        };
        Ok(LoadInfo {
            op: self.op.as_str().into(),
            preset: preset_used,
            rate,
            clients,
            conns,
            duration_s: duration.map(|d| d.as_secs_f64()),
            total: self.total,
            key_size: self.key_size,
            val_size: self.val_size,
            key_space: self.key_space,
            sequential_keys: self.sequential_keys,
            prefix,
            command_timeout_s: self.command_timeout.as_secs_f64(),
        })
    }
}

/// `nodefit etcd`: probe, then print a summary or the results document.
pub fn run(args: EtcdArgs) -> anyhow::Result<i32> {
    if args.cluster.is_set() {
        return crate::cluster::cli::run(args);
    }
    let started = std::time::SystemTime::now();
    let progress = stderr_is_tty() && !args.quiet;
    let result = match super::probe_blocking(&args, progress) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nodefit: etcd: {e}");
            return Ok(if crate::signals::stop_requested() {
                130
            } else {
                2
            });
        }
    };
    let interrupted = crate::signals::stop_requested();
    let mut doc = ResultsDocument::new(started);
    if !result.complete {
        doc.complete = false;
        doc.incomplete_reason = result.error.clone();
    }
    let complete = result.complete;
    doc.etcd = Some(result);
    doc.finish();
    let bytes = match args.output_format {
        OutputFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&doc)?;
            v.push(b'\n');
            v
        }
        OutputFormat::Normal => match &doc.etcd {
            Some(r) => text(r).into_bytes(),
            None => Vec::new(),
        },
    };
    emit(args.output.as_deref(), &bytes)?;
    Ok(if interrupted {
        130
    } else if complete {
        0
    } else {
        2
    })
}

/// Human summary of a probe.
pub fn text(r: &EtcdResult) -> String {
    let mut s = String::new();
    let l = &r.load;
    let _ = writeln!(
        s,
        "etcd probe: {} ({} member{}) {}",
        r.target.kind,
        r.target.member_count,
        if r.target.member_count == 1 { "" } else { "s" },
        r.target.endpoints.join(",")
    );
    let _ = writeln!(
        s,
        "  load       : op={}, rate={}/s, clients={}, conns={}, {}key={}B, value={}B, prefix={}",
        l.op,
        l.rate,
        l.clients,
        l.conns,
        match (l.duration_s, l.total) {
            (Some(d), Some(t)) => format!("duration={d}s, total={t}, "),
            (Some(d), None) => format!("duration={d}s, "),
            (None, Some(t)) => format!("total={t}, "),
            (None, None) => String::new(),
        },
        l.key_size,
        l.val_size,
        l.prefix
    );
    let _ = writeln!(
        s,
        "  throughput : achieved {:.1}/s of {}/s target ({} ok, {} sent, runtime {:.2}s)",
        r.achieved_rate,
        r.target_rate,
        r.ops,
        r.requests,
        r.runtime_ns as f64 / 1e9
    );
    let errs: Vec<String> = ERROR_KINDS
        .iter()
        .map(|k| format!("{k}={}", r.errors.get(*k).copied().unwrap_or(0)))
        .collect();
    let _ = writeln!(s, "  errors     : {} ({})", r.errors_total, errs.join(", "));
    for m in &r.error_samples {
        let _ = writeln!(s, "               e.g. {m}");
    }
    for (label, lat) in [
        ("latency (from due time)", &r.latency_ns),
        ("service time (send→reply)", &r.service_time_ns),
    ] {
        if let Some(l) = lat {
            let p = |q: f64| {
                l.percentile(q)
                    .map(|v| format_ns(v as f64))
                    .unwrap_or("-".into())
            };
            let _ = writeln!(
                s,
                "  {label:<26}: p50={} p90={} p99={} p99.9={} max={} mean={}{}",
                p(50.0),
                p(90.0),
                p(99.0),
                p(99.9),
                format_ns(l.max as f64),
                format_ns(l.mean),
                if l.insufficient_samples.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  (too few samples for {})",
                        l.insufficient_samples.join(", ")
                    )
                }
            );
        }
    }
    let b = &r.behind_schedule;
    let _ = writeln!(
        s,
        "  schedule   : max lag {}, final lag {}, {:.2}% sent > {} late, {} unsent",
        format_ns(b.max_lag_ns as f64),
        format_ns(b.final_lag_ns as f64),
        b.late_share * 100.0,
        format_ns(b.late_threshold_ns as f64),
        b.unsent
    );
    let _ = writeln!(s, "  leader     : {} change(s)", r.leader_changes);
    for c in &r.leader_change_events {
        let _ = writeln!(
            s,
            "               t={:.2}s {} → {} (term {})",
            c.t_s,
            c.from.as_deref().unwrap_or("none"),
            c.to.as_deref().unwrap_or("none"),
            c.raft_term
        );
    }
    let _ = writeln!(
        s,
        "  members (etcd's histograms, Prometheus bucket estimates):"
    );
    for m in &r.members {
        if m.before.is_some() && m.after.is_none() {
            let _ = writeln!(
                s,
                "    WARNING: member {} ({}) answered before the run but not after it: it stopped or became unreachable during the probe",
                m.name, m.endpoint
            );
        }
        let est = |e: &Option<super::MetricEstimate>| match e {
            Some(e) => format!(
                "p50={} p99={} (n={}{})",
                e.p50_ns.map(|v| format_ns(v as f64)).unwrap_or("-".into()),
                e.p99_ns.map(|v| format_ns(v as f64)).unwrap_or("-".into()),
                e.count,
                if e.window == "probe" {
                    ""
                } else {
                    ", since start"
                }
            ),
            None => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "    {} {} {}{} v{} term={} index={} db={}",
            m.name,
            m.id,
            m.endpoint,
            if m.is_leader == Some(true) {
                " (leader)"
            } else {
                ""
            },
            m.version.as_deref().unwrap_or("?"),
            m.raft_term.map(|v| v.to_string()).unwrap_or("?".into()),
            m.raft_index.map(|v| v.to_string()).unwrap_or("?".into()),
            m.db_size_bytes
                .map(|v| crate::units::format_bytes(v as f64))
                .unwrap_or("?".into())
        );
        let _ = writeln!(s, "      wal fsync      : {}", est(&m.wal_fsync));
        let _ = writeln!(s, "      backend commit : {}", est(&m.backend_commit));
        if r.target.member_count > 1 {
            let _ = writeln!(s, "      peer RTT       : {}", est(&m.peer_rtt));
        }
        if let Some(e) = &m.metrics_error {
            let _ = writeln!(s, "      metrics        : {e}");
        }
    }
    let _ = writeln!(
        s,
        "  client CPU : {:.2}s; prefix {}",
        r.client_cpu_s,
        if r.cleaned_up {
            "deleted"
        } else {
            "NOT deleted"
        }
    );
    if !r.complete || r.error.is_some() {
        let _ = writeln!(
            s,
            "\n{}: {}",
            if r.complete { "NOTE" } else { "INCOMPLETE RUN" },
            r.error.as_deref().unwrap_or("stopped early")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_matches_cli_defaults() {
        assert_eq!(EtcdArgs::from_args(&[]).unwrap(), EtcdArgs::default());
    }

    #[test]
    fn from_args_parses_like_the_cli() {
        let a = EtcdArgs::from_args(&words(&[
            "--load",
            "m",
            "--duration",
            "20s",
            "--directory",
            "/x",
            "--endpoints",
            "http://a:2379,http://b:2379",
        ]))
        .unwrap();
        assert_eq!(a.load, Some(LoadPreset::M));
        assert_eq!(a.duration, Some(Duration::from_secs(20)));
        assert_eq!(a.endpoints.len(), 2);
        let l = a.resolve_load("/p/".into()).unwrap();
        assert_eq!((l.rate, l.clients, l.conns), (1000.0, 200, 2));
        assert!(EtcdArgs::from_args(&words(&["--bogus"])).is_err());
    }

    #[test]
    fn live_cluster_rate_needs_consent() {
        let mut a = EtcdArgs {
            endpoints: vec!["http://127.0.0.1:1".into()],
            rate: Some(5000.0),
            ..Default::default()
        };
        assert!(matches!(
            a.resolve_load("/p/".into()),
            Err(EtcdError::ConsentRequired { .. })
        ));
        a.accept_production_load = true;
        assert!(a.resolve_load("/p/".into()).is_ok());
        // Embedded etcd: no consent needed.
        a.endpoints.clear();
        a.accept_production_load = false;
        assert!(a.resolve_load("/p/".into()).is_ok());
    }

    #[test]
    fn text_summary_names_what_matters() {
        let mut r = EtcdResult {
            target: super::super::TargetInfo {
                kind: "embedded".into(),
                member_count: 1,
                endpoints: vec!["http://127.0.0.1:1".into()],
                ..Default::default()
            },
            target_rate: 150.0,
            achieved_rate: 149.5,
            ops: 299,
            requests: 300,
            errors_total: 1,
            complete: false,
            error: Some("interrupted".into()),
            ..Default::default()
        };
        r.errors.insert("deadline".into(), 1);
        r.members.push(super::super::MemberResult {
            name: "m0".into(),
            id: "abc".into(),
            is_leader: Some(true),
            wal_fsync: Some(super::super::MetricEstimate {
                count: 10,
                p50_ns: Some(1_000_000),
                p99_ns: Some(2_000_000),
                window: "probe".into(),
                source: crate::etcd::metrics::SOURCE.into(),
            }),
            ..Default::default()
        });
        let t = text(&r);
        assert!(t.contains("achieved 149.5/s of 150/s target"), "{t}");
        assert!(t.contains("deadline=1"), "{t}");
        assert!(t.contains("m0 abc"), "{t}");
        assert!(t.contains("(leader)"), "{t}");
        assert!(
            t.contains("wal fsync      : p50=1.00ms p99=2.00ms (n=10)"),
            "{t}"
        );
        assert!(t.contains("INCOMPLETE RUN: interrupted"), "{t}");
    }

    #[test]
    fn total_alone_has_no_duration() {
        let a = EtcdArgs {
            total: Some(10),
            ..Default::default()
        };
        let l = a.resolve_load("/p/".into()).unwrap();
        assert_eq!(l.duration_s, None);
        assert_eq!(l.total, Some(10));
        assert!(a.resolve_load("/".into()).is_err());
        assert_eq!(a.resolve_load("/app".into()).unwrap().prefix, "/app/");
    }
}
