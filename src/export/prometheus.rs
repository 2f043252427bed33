//! A results document as Prometheus metrics in node_exporter's textfile format, so nightly runs land
//! where platform teams already look (`--prometheus-textfile PATH` on `qualify`, `disk` and `etcd`,
//! with or without `--cluster`).
//!
//! [`render`] is a pure function of the document; [`write_textfile`] puts the text in place
//! atomically ([`crate::util::atomic`]: a temporary file in the same directory, fsync, rename), because
//! node_exporter reads the directory at every scrape and must never see half a file.
//!
//! Conventions (<https://prometheus.io/docs/practices/naming/>): prefix `nodefit_`, base units in
//! the name (`_seconds`, `_bytes`, `_per_second`, `_ratio`), percentiles as a `quantile` label
//! (`"0.99"`), every family a gauge, no client timestamps (node_exporter rejects them). Figures are
//! the document's own, converted to base units and nothing else: nanoseconds are divided by 1e9,
//! percentages by 100. Every series carries `command` (qualify, disk or etcd) and `node`, so the
//! files of several commands in one textfile directory never collide.

use crate::results::cluster::{ClusterResult, PeerResult};
use crate::results::etcd::EtcdResult;
use crate::results::{CheckResult, ResultsDocument, WorkloadResult};
use crate::util::stats::LatencySummary;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The textfile could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TextfileError {
    #[error("--prometheus-textfile {0}: is a symbolic link; nodefit writes the file itself (atomically) and does not follow links")]
    Symlink(PathBuf),
    #[error("--prometheus-textfile {0}: exists and is not a regular file")]
    NotAFile(PathBuf),
    #[error("--prometheus-textfile {0}: has no file name")]
    NoFileName(PathBuf),
    #[error("--prometheus-textfile {path}: directory {dir} {problem}")]
    Directory {
        path: PathBuf,
        dir: PathBuf,
        problem: String,
    },
    // `err`, not `source`: main prints the error chain (`{:#}`), which would repeat it.
    #[error("--prometheus-textfile {path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
}

/// Label pairs of one sample, in order.
type Labels = Vec<(String, String)>;

/// One metric family: its name, help text, type and samples (name suffix, label pairs, value), in
/// order. Latency percentiles are summaries (the format reserves `quantile` for them), with
/// `_count` (operations measured) and `_sum` (count × the exact mean).
struct Family {
    name: String,
    help: &'static str,
    summary: bool,
    samples: Vec<(&'static str, Labels, f64)>,
}

/// Families in first-use order; samples of one family are written together, as the format requires.
#[derive(Default)]
struct Families {
    list: Vec<Family>,
}

impl Families {
    fn add(&mut self, name: &str, help: &'static str, labels: Vec<(String, String)>, value: f64) {
        self.push(name, help, false, "", labels, value);
    }

    fn push(
        &mut self,
        name: &str,
        help: &'static str,
        summary: bool,
        suffix: &'static str,
        labels: Vec<(String, String)>,
        value: f64,
    ) {
        match self.list.iter_mut().find(|f| f.name == name) {
            Some(f) => f.samples.push((suffix, labels, value)),
            None => self.list.push(Family {
                name: name.to_string(),
                help,
                summary,
                samples: vec![(suffix, labels, value)],
            }),
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.list {
            let _ = writeln!(s, "# HELP {} {}", f.name, escape_help(f.help));
            let kind = if f.summary { "summary" } else { "gauge" };
            let _ = writeln!(s, "# TYPE {} {kind}", f.name);
            for (suffix, labels, v) in &f.samples {
                s.push_str(&f.name);
                s.push_str(suffix);
                if !labels.is_empty() {
                    s.push('{');
                    for (i, (k, val)) in labels.iter().enumerate() {
                        if i > 0 {
                            s.push(',');
                        }
                        let _ = write!(s, "{k}=\"{}\"", escape_label(val));
                    }
                    s.push('}');
                }
                let _ = writeln!(s, " {}", number(*v));
            }
        }
        s
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: Rust's shortest round-trip form (no rounding), or the format's spellings of
/// the non-finite values.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A percentile key as the results document writes it ("99.9") to a quantile ("0.999"), by moving
/// the decimal point in the text, so no floating-point division blurs "0.999" into "0.9990000000000001".
pub fn quantile_label(percentile_key: &str) -> Option<String> {
    let (int, frac) = match percentile_key.split_once('.') {
        Some((i, f)) => (i, f),
        None => (percentile_key, ""),
    };
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let digits = format!("{int}{frac}");
    let point = int.len() as isize - 2; // digits before the new decimal point
    let (whole, fraction) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else {
        let p = point as usize;
        (digits[..p].to_string(), digits[p..].to_string())
    };
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0".into() } else { whole };
    Some(if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    })
}

/// A check's unit to (metric name suffix, factor to the base unit).
fn unit_suffix(unit: &str) -> (&'static str, f64) {
    match unit {
        "ns" => ("_seconds", 1e-9),
        "ops/s" => ("_per_second", 1.0),
        "bytes" => ("_bytes", 1.0),
        "pct" => ("_ratio", 0.01),
        "cpus" => ("_cpus", 1.0),
        // "count" and anything unknown: a plain number.
        _ => ("", 1.0),
    }
}

fn to_base(v: f64, factor: f64) -> f64 {
    if factor == 1.0 {
        v
    } else if factor == 1e-9 {
        v / 1e9
    } else {
        v * factor
    }
}

fn epoch_seconds(rfc3339: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339(rfc3339).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

/// Which command wrote the document, from what it holds.
fn command_of(doc: &ResultsDocument) -> &'static str {
    if doc.profile.is_some() || !doc.checks.is_empty() {
        "qualify"
    } else if doc.etcd.is_some() && doc.workloads.is_empty() {
        "etcd"
    } else {
        "disk"
    }
}

fn labels(base: &[(String, String)], more: &[(&str, String)]) -> Vec<(String, String)> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|(k, val)| (k.to_string(), val.clone())));
    v
}

fn latency(
    f: &mut Families,
    name: &str,
    help: &'static str,
    base: &[(String, String)],
    l: &LatencySummary,
) {
    // The document's keys sort as text ("5" after "40"); the format wants quantiles ascending.
    let mut qs: Vec<(f64, String, u64)> = l
        .percentiles
        .iter()
        .filter_map(|(k, ns)| Some((k.parse::<f64>().ok()?, quantile_label(k)?, *ns)))
        .collect();
    qs.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, q, ns) in qs {
        f.push(
            name,
            help,
            true,
            "",
            labels(base, &[("quantile", q)]),
            ns as f64 / 1e9,
        );
    }
    f.push(
        name,
        help,
        true,
        "_sum",
        base.to_vec(),
        // The exact sum is a whole number of nanoseconds; count × mean recovers it up to float error.
        (l.mean * l.count as f64).round() / 1e9,
    );
    f.push(name, help, true, "_count", base.to_vec(), l.count as f64);
}

fn workload(f: &mut Families, base: &[(String, String)], w: &WorkloadResult) {
    let wl = labels(
        base,
        &[
            ("workload", w.spec.name.clone()),
            ("round", w.round.unwrap_or(1).to_string()),
        ],
    );
    for (op, l) in [
        ("write", &w.latency_ns.write),
        ("read", &w.latency_ns.read),
        ("sync", &w.latency_ns.sync),
    ] {
        if let Some(l) = l {
            latency(
                f,
                "nodefit_disk_latency_seconds",
                "Disk workload latency by operation (sync = fsync/fdatasync alone) and percentile, from nodefit's HDR histogram (3 significant digits).",
                &labels(&wl, &[("op", op.to_string())]),
                l,
            );
        }
    }
    f.add(
        "nodefit_disk_ops_per_second",
        "Disk workload data operations (reads + writes) per second over the measured runtime.",
        wl.clone(),
        w.iops,
    );
    f.add(
        "nodefit_disk_bandwidth_bytes_per_second",
        "Disk workload bytes read and written per second over the measured runtime.",
        wl.clone(),
        w.bw_bytes,
    );
    f.add(
        "nodefit_disk_runtime_seconds",
        "Length of the disk workload's measured phase.",
        wl,
        w.runtime_ns as f64 / 1e9,
    );
}

fn check(f: &mut Families, base: &[(String, String)], c: &CheckResult) {
    let l = labels(
        base,
        &[
            ("check", c.id.clone()),
            ("severity", c.severity.as_str().to_string()),
        ],
    );
    f.add(
        "nodefit_check_pass",
        "1 when the check passed, 0 when it was marginal, failed or was skipped (see nodefit_check_status).",
        l.clone(),
        if c.verdict.as_str() == "pass" {
            1.0
        } else {
            0.0
        },
    );
    for status in ["pass", "marginal", "fail", "skipped"] {
        f.add(
            "nodefit_check_status",
            "1 for the check's verdict (pass, marginal, fail, skipped), 0 for the others.",
            labels(&l, &[("status", status.to_string())]),
            if c.verdict.as_str() == status {
                1.0
            } else {
                0.0
            },
        );
    }
    let (suffix, factor) = unit_suffix(&c.unit);
    if let Some(obs) = c.observed {
        f.add(
            &format!("nodefit_check_observed{suffix}"),
            "The check's observed value (median over rounds where repeated), in base units.",
            l.clone(),
            to_base(obs, factor),
        );
    }
    if c.verdict.as_str() != "skipped" {
        f.add(
            &format!("nodefit_check_limit{suffix}"),
            "The limit the check's observed value is held against, in base units.",
            l,
            to_base(c.limit, factor),
        );
    }
}

/// The document as textfile metrics. `commit` is the git commit of the nodefit writing the file.
pub fn render(doc: &ResultsDocument, commit: &str) -> String {
    let mut f = Families::default();
    let command = command_of(doc);
    let node = doc
        .node_name
        .clone()
        .unwrap_or_else(|| doc.hostname.clone());
    let base = vec![
        ("command".to_string(), command.to_string()),
        ("node".to_string(), node),
    ];
    run(&mut f, doc, &base, commit);
    if command == "qualify" {
        qualification(&mut f, doc, &base);
    }
    for w in &doc.workloads {
        workload(&mut f, &base, w);
    }
    if let Some(e) = &doc.etcd {
        etcd(&mut f, &base, e);
    }
    if let Some(c) = &doc.cluster {
        cluster(&mut f, &base, c);
    }
    f.text()
}

/// What every file says about its run: who wrote it, when, and whether the run completed.
fn run(f: &mut Families, doc: &ResultsDocument, base: &[(String, String)], commit: &str) {
    let profile = doc
        .profile
        .as_ref()
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    f.add(
        "nodefit_info",
        "Always 1: the nodefit version and commit that wrote this file, the profile and the node.",
        labels(
            base,
            &[
                ("version", doc.tool.version.clone()),
                ("commit", commit.to_string()),
                ("profile", profile),
            ],
        ),
        1.0,
    );
    if let Some(t) = epoch_seconds(&doc.started_at) {
        f.add(
            "nodefit_run_timestamp_seconds",
            "When the run started, seconds since the Unix epoch.",
            base.to_vec(),
            t,
        );
        if let Some(end) = epoch_seconds(&doc.finished_at) {
            f.add(
                "nodefit_run_duration_seconds",
                "From the start to the end of the run (whole seconds, as the results document stamps them).",
                base.to_vec(),
                end - t,
            );
        }
    }
    f.add(
        "nodefit_run_complete",
        "1 when the run completed, 0 when it was cut short (interrupted, disk full, I/O error).",
        base.to_vec(),
        if doc.complete { 1.0 } else { 0.0 },
    );
}

/// A qualification's verdict (all three states), score, warnings and checks.
fn qualification(f: &mut Families, doc: &ResultsDocument, base: &[(String, String)]) {
    // All three states, so `nodefit_verdict{verdict="FIT"} == 0` also catches an incomplete run
    // (no verdict at all).
    for v in ["FIT", "MARGINAL", "UNFIT"] {
        f.add(
            "nodefit_verdict",
            "1 for the qualification's verdict, 0 for the others (all 0 when the run was incomplete).",
            labels(base, &[("verdict", v.to_string())]),
            if doc.verdict.map(|x| x.as_str()) == Some(v) {
                1.0
            } else {
                0.0
            },
        );
    }
    if let Some(s) = doc.score {
        f.add(
            "nodefit_score",
            "Qualification score, 0-100 from headroom against the limits.",
            base.to_vec(),
            s,
        );
    }
    f.add(
        "nodefit_warnings",
        "Number of warnings in the result (fsync honesty, incomplete run, insufficient samples, ...).",
        base.to_vec(),
        doc.warnings.len() as f64,
    );
    for c in &doc.checks {
        check(f, base, c);
    }
}

/// The etcd probe: latency from due time and service time, rates, errors, leader changes.
fn etcd(f: &mut Families, base: &[(String, String)], e: &EtcdResult) {
    let el = labels(
        base,
        &[("target", e.target.kind.clone()), ("op", e.load.op.clone())],
    );
    if let Some(l) = &e.latency_ns {
        latency(
            f,
            "nodefit_etcd_latency_seconds",
            "etcd request latency from when each request was due on the open-loop schedule to its reply (corrects coordinated omission).",
            &el,
            l,
        );
    }
    if let Some(l) = &e.service_time_ns {
        latency(
            f,
            "nodefit_etcd_service_time_seconds",
            "etcd request service time, send to reply (what etcdctl check perf reports).",
            &el,
            l,
        );
    }
    f.add(
        "nodefit_etcd_target_rate_per_second",
        "Requests per second the etcd probe's schedule asked for.",
        el.clone(),
        e.target_rate,
    );
    f.add(
        "nodefit_etcd_achieved_rate_per_second",
        "Successful etcd requests per second over the probe's runtime.",
        el.clone(),
        e.achieved_rate,
    );
    f.add(
        "nodefit_etcd_errors",
        "Failed etcd requests during the probe.",
        el.clone(),
        e.errors_total as f64,
    );
    f.add(
        "nodefit_etcd_leader_changes",
        "etcd leader changes observed during the probe.",
        el,
        e.leader_changes as f64,
    );
}

/// A cluster run (`--cluster`): this node's links to its peers and the advised etcd timing. No run
/// id or token as labels: they change every run, and a new series per night is what a textfile
/// must not make.
fn cluster(f: &mut Families, base: &[(String, String)], c: &ClusterResult) {
    f.add(
        "nodefit_cluster_members",
        "Members of the throwaway etcd cluster this node ran with (--cluster).",
        base.to_vec(),
        c.members.len() as f64,
    );
    f.add(
        "nodefit_cluster_unfinished_members",
        "Members whose node did not report its figures at the end (died or stopped early).",
        base.to_vec(),
        c.unfinished.len() as f64,
    );
    if let Some(role) = &c.role {
        f.add(
            "nodefit_cluster_role",
            "Always 1: this node's member's role when the probe started (leader or follower).",
            labels(base, &[("role", role.clone())]),
            1.0,
        );
    }
    f.add(
        "nodefit_cluster_leader_changes",
        "etcd leader changes this node's member saw during the cluster probe.",
        base.to_vec(),
        c.leader_changes as f64,
    );
    f.add(
        "nodefit_cluster_errors",
        "Failed requests through this node's member during the cluster probe.",
        base.to_vec(),
        c.errors_total as f64,
    );
    for p in &c.peers {
        peer(f, base, p);
    }
    f.add(
        "nodefit_cluster_recommended_heartbeat_interval_seconds",
        "Advised etcd --heartbeat-interval from the worst peer RTT p99 measured from this node (never below etcd's default).",
        base.to_vec(),
        c.recommended.heartbeat_interval_ms as f64 / 1e3,
    );
    f.add(
        "nodefit_cluster_recommended_election_timeout_seconds",
        "Advised etcd --election-timeout from the worst peer RTT p99 measured from this node (never below etcd's default).",
        base.to_vec(),
        c.recommended.election_timeout_ms as f64 / 1e3,
    );
}

/// One peer of a cluster run: the TCP handshake RTT this node measured, its failures, and etcd's
/// own estimate of the peer's round trip.
fn peer(f: &mut Families, base: &[(String, String)], p: &PeerResult) {
    let pl = labels(
        base,
        &[("peer", p.name.clone()), ("address", p.address.clone())],
    );
    if let Some(r) = &p.rtt_ns {
        latency(
            f,
            "nodefit_cluster_peer_rtt_seconds",
            "TCP handshake round trip from this node to the peer's etcd peer port (HDR histogram of every sample).",
            &pl,
            &r.summary,
        );
    }
    f.add(
        "nodefit_cluster_peer_rtt_errors",
        "TCP handshakes to the peer that failed (refused, unreachable, no answer within 1 s).",
        pl.clone(),
        p.rtt_errors as f64,
    );
    if let Some(e) = &p.etcd_peer_rtt_ns {
        // A gauge, not a summary: the format keeps `quantile` for summaries, and these are
        // bucket estimates, not a summary's quantiles.
        for (pct, v) in [("50", e.p50_ns), ("99", e.p99_ns)] {
            if let Some(ns) = v {
                f.add(
                    "nodefit_cluster_etcd_peer_rtt_estimate_seconds",
                    "etcd's own etcd_network_peer_round_trip_time_seconds for the peer, from this node's member: an estimate within Prometheus buckets (see _observations for how many it rests on).",
                    labels(&pl, &[("percentile", pct.to_string())]),
                    ns as f64 / 1e9,
                );
            }
        }
        f.add(
            "nodefit_cluster_etcd_peer_rtt_observations",
            "Observations of etcd's peer RTT histogram behind the estimate (etcd probes peers every few seconds).",
            pl.clone(),
            e.count as f64,
        );
    }
}

/// Refuse, before any measuring, a path the textfile could not be written to: a symlink, something
/// that is not a regular file, a missing or unwritable directory.
pub fn check_path(path: &Path) -> Result<(), TextfileError> {
    if path.file_name().is_none() {
        return Err(TextfileError::NoFileName(path.to_path_buf()));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(TextfileError::Symlink(path.to_path_buf()))
        }
        Ok(m) if !m.is_file() => return Err(TextfileError::NotAFile(path.to_path_buf())),
        _ => {}
    }
    let dir = parent_dir(path);
    let dir_problem = |problem: String| TextfileError::Directory {
        path: path.to_path_buf(),
        dir: dir.clone(),
        problem,
    };
    match std::fs::metadata(&dir) {
        Ok(m) if !m.is_dir() => Err(dir_problem("is not a directory".into())),
        Ok(_) => {
            if nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_err() {
                Err(dir_problem("is not writable".into()))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(dir_problem(format!("cannot be used: {e}"))),
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `text` to `path` atomically with [`crate::util::atomic::write`]: a temporary
/// `.NAME.nodefit-tmp-<pid>-<random>` in the same directory (node_exporter reads only `*.prom`, so
/// never sees it), fsync, rename over `path`, fsync of the directory; mode 0644, so a node_exporter
/// running as another user can read it; never through a symlink; a killed writer's temporary file
/// is removed by the next write.
pub fn write_textfile(path: &Path, text: &str) -> Result<(), TextfileError> {
    check_path(path)?;
    crate::util::atomic::write(path, text.as_bytes()).map_err(|err| TextfileError::Io {
        path: path.to_path_buf(),
        err,
    })
}

/// Render `doc` and write it to `path` (the `--prometheus-textfile` hook of the measuring commands).
pub fn write_document(path: &Path, doc: &ResultsDocument) -> Result<(), TextfileError> {
    write_textfile(path, &render(doc, crate::util::build_info::COMMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_from_percentile_keys_exactly() {
        for (k, q) in [
            ("50", "0.5"),
            ("99", "0.99"),
            ("99.9", "0.999"),
            ("99.99", "0.9999"),
            ("5", "0.05"),
            ("1", "0.01"),
            ("100", "1"),
            ("0.5", "0.005"),
            ("99.95", "0.9995"),
        ] {
            assert_eq!(quantile_label(k).as_deref(), Some(q), "{k}");
        }
        for bad in ["", "p99", "9 9", "-1", "1e2"] {
            assert_eq!(quantile_label(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_and_help_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.0004844), "0.0004844");
        assert_eq!(number(3.0), "3");
    }

    #[test]
    fn an_incomplete_qualification_has_no_verdict_and_says_so() {
        let mut doc = ResultsDocument::new(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000),
        );
        doc.node_name = Some("cp-\"1\"".into());
        doc.profile = Some(serde_json::json!({"name": "k8s-control-plane"}));
        doc.complete = false;
        let text = render(&doc, "abc1234");
        let base = "command=\"qualify\",node=\"cp-\\\"1\\\"\"";
        assert!(
            text.contains(&format!("nodefit_run_complete{{{base}}} 0\n")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "nodefit_run_timestamp_seconds{{{base}}} 1796000000\n"
        )));
        for v in ["FIT", "MARGINAL", "UNFIT"] {
            assert!(
                text.contains(&format!("nodefit_verdict{{{base},verdict=\"{v}\"}} 0\n")),
                "{text}"
            );
        }
        assert!(!text.contains("nodefit_score"));
        assert!(text.contains("commit=\"abc1234\""));
        // No client timestamps, HELP and TYPE once per family.
        assert_eq!(text.matches("# TYPE nodefit_verdict gauge").count(), 1);
    }

    #[test]
    fn check_units_map_to_base_units() {
        assert_eq!(unit_suffix("ns").0, "_seconds");
        assert_eq!(to_base(7331839.0, unit_suffix("ns").1), 0.007331839);
        assert_eq!(to_base(5.0, unit_suffix("pct").1), 0.05);
        assert_eq!(unit_suffix("count").0, "");
    }
}
