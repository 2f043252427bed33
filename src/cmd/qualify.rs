//! `nodefit qualify`: the profile and the node's options in, the verdict table (or the results
//! document) out. A failed qualification is an outcome (exit 1), not an error; exit 2 means the run
//! could not be made, 130 that it was interrupted (the partial result is still written).

use super::{emit, Outcome, OutputFormat};
use crate::qualify::{probe_options, QualifyConfig};
use crate::results::Verdict;
use crate::score::profile::{Profile, DEFAULT_PROFILE};
use std::io::Write;
use std::path::PathBuf;

/// When MARGINAL should count as not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 on MARGINAL as well as UNFIT
    Marginal,
    /// Exit 1 on UNFIT only (the default)
    Unfit,
}

#[derive(Debug, clap::Args)]
pub struct QualifyArgs {
    /// Profile name (see `nodefit profiles`) or path to a profile .toml file
    #[arg(long, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Directory on the disk to qualify (etcd's data directory's disk, e.g. /var/lib/etcd)
    #[arg(long, default_value = ".")]
    pub directory: PathBuf,
    /// Probe this etcd cluster instead of an embedded local etcd (comma-separated URLs)
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// Name of the node in the results [default: host name]
    #[arg(long)]
    pub node_name: Option<String>,
    /// Qualify these nodes as one etcd cluster: name=address,… (run on every node at about the same time; this node is --node-name). More options: --etcd-arg=--join-timeout=…, see `nodefit etcd --help`
    #[arg(long, conflicts_with_all = ["endpoints", "no_etcd"])]
    pub cluster: Option<String>,
    /// With --cluster: the file holding this run's cluster secret, the same on every node (mode 0600, at least 16 bytes; or NODEFIT_CLUSTER_SECRET_FILE): only its holders can talk to the peer ports
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub cluster_secret_file: Option<PathBuf>,
    /// With --cluster: run without peer authentication (anyone who reaches the peer ports can read and disturb the run; recorded in the result)
    #[arg(long, requires = "cluster")]
    pub insecure_peers: bool,
    /// Where result.json goes [default: reports/<node-name>/<UTC timestamp>/]
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Halve every workload's time and size bounds and the etcd probe's duration (smoke checks)
    #[arg(long)]
    pub quick: bool,
    /// Rounds of every disk workload (overrides the profile)
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Exit 1 also on MARGINAL
    #[arg(long, value_enum, default_value = "unfit")]
    pub fail_on: FailOn,
    /// Output format: a table and verdict, or the result document
    #[arg(long, value_enum, default_value = "normal")]
    pub output_format: OutputFormat,
    /// No progress lines
    #[arg(long, short)]
    pub quiet: bool,
    /// Extra option for the etcd probe, in `nodefit etcd`'s words (repeatable), e.g.
    /// --etcd-arg=--cacert=/etc/etcd/ca.crt
    #[arg(long = "etcd-arg", allow_hyphen_values = true)]
    pub etcd_args: Vec<String>,
    /// Skip the etcd probe (its checks are reported as skipped)
    #[arg(long, conflicts_with = "endpoints")]
    pub no_etcd: bool,
    /// Free space to leave on the disk after the scratch files and the embedded etcd's WAL
    /// preallocation and database allowance: a size (2g) or a share of it (10%); 0 turns the check
    /// off [env: NODEFIT_MIN_FREE] [default: the larger of 10% and 2 GiB]
    #[arg(long, value_name = "SIZE|PCT")]
    pub min_free: Option<crate::disk::headroom::MinFree>,
    /// Also write the result as Prometheus metrics to PATH, for node_exporter's textfile collector
    /// (written atomically: a temporary file in the same directory, then rename)
    #[arg(long, value_name = "PATH")]
    pub prometheus_textfile: Option<PathBuf>,
    /// Confidence of every check's interval, between 0.5 and 0.9999
    #[arg(long, default_value_t = crate::util::stats::interval::DEFAULT_CONFIDENCE, value_parser = parse_confidence)]
    pub confidence: f64,
    /// Run every disk workload to its full budget instead of stopping once its checks are decided
    #[arg(long)]
    pub no_adaptive: bool,
}

/// `--confidence`: a level between 0.5 and 0.9999 (0.95, not 95).
fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number (e.g. 0.95)"))?;
    if (0.5..=0.9999).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} is outside 0.5..=0.9999 (write 0.95, not 95)"))
    }
}

/// The probe the profile and the flags ask for: the embedded or live probe's options, with
/// `--etcd-arg` words applied last (ripgrep's low → high), and with `--cluster` the cluster options —
/// refused now (bad list, unreachable peer), not after the disk phase.
fn resolve_probe(
    a: &QualifyArgs,
    profile: &Profile,
) -> anyhow::Result<(
    Option<crate::options::etcd::EtcdOptions>,
    Option<crate::options::cluster::ClusterOptions>,
)> {
    let mut cluster = None;
    let etcd = match (&profile.etcd, a.no_etcd) {
        (Some(e), false) => {
            let o = probe_options(e, &a.directory, &a.endpoints, a.quick);
            // `--cluster` (and `--node-name`) go first, so an `--etcd-arg` may still change them.
            let mut cluster_words: Vec<String> = Vec::new();
            if let Some(spec) = &a.cluster {
                cluster_words.extend(["--cluster".to_string(), spec.clone()]);
                if let Some(n) = &a.node_name {
                    cluster_words.extend(["--node-name".to_string(), n.clone()]);
                }
                if let Some(f) = &a.cluster_secret_file {
                    cluster_words.push("--cluster-secret-file".to_string());
                    cluster_words.push(f.display().to_string());
                }
                if a.insecure_peers {
                    cluster_words.push("--insecure-peers".to_string());
                }
            }
            let (mut o, co) =
                super::etcd::probe_options_with_words(&o, &cluster_words, &a.etcd_args)
                    .map_err(|e| anyhow::anyhow!("bad --etcd-arg: {e}"))?;
            if co.is_set() {
                if a.etcd_args.iter().any(|w| w.starts_with("--members")) {
                    anyhow::bail!(
                        "--cluster: --members does not apply (the cluster has one member per node in --cluster)"
                    );
                }
                // One member per candidate node, whatever the profile's local probe uses.
                o.members = 1;
                let mut co = co;
                if co.node_name.is_none() {
                    co.node_name = a.node_name.clone();
                }
                // Refused now, not after the disk phase.
                let (nodes, me, _) = crate::cluster::preflight(&o, &co)
                    .map_err(|e| anyhow::anyhow!("--cluster: {e}"))?;
                // Every peer reachable on the peer port, also before the disk phase.
                crate::cluster::reach::check_peers(&nodes, me, co.peer_port, co.join_timeout)
                    .map_err(|e| anyhow::anyhow!("--cluster: {e}"))?;
                cluster = Some(co);
            }
            Some(o)
        }
        _ => None,
    };
    if a.cluster.is_some() && cluster.is_none() {
        anyhow::bail!(
            "--cluster: profile {} has no etcd probe ([etcd] table), so there is nothing to run across the nodes",
            profile.name
        );
    }
    Ok((etcd, cluster))
}

pub fn run(a: QualifyArgs) -> anyhow::Result<Outcome> {
    let profile = Profile::find(&a.profile)?;
    if let Some(p) = &a.prometheus_textfile {
        crate::export::prometheus::check_path(p)?;
        if let Some(dir) = &a.output_dir {
            let (json, html) = (dir.join("result.json"), dir.join("report.html"));
            let files = [
                ("--prometheus-textfile", p.as_path()),
                ("--output-dir's", json.as_path()),
                ("--output-dir's", html.as_path()),
            ];
            if let Some(e) = super::same_file(&files) {
                anyhow::bail!("{e}");
            }
        }
    }
    let quiet = a.quiet || a.output_format == OutputFormat::Json;
    let (etcd, cluster) = resolve_probe(&a, &profile)?;
    if let Some(line) = crate::util::scratch::clean_before_run(&a.directory) {
        eprintln!("nodefit: {line}");
    }
    // Beside a stopped etcd's data: in a directory of the run's own; a running etcd's: refused.
    let workdir = super::workdir::choose(&a.directory)?;
    let mut etcd = etcd;
    if let Some(o) = etcd.as_mut().filter(|o| !o.is_live()) {
        o.directory = workdir.path.clone();
    }
    let q = crate::qualify::run(QualifyConfig {
        profile,
        directory: workdir.path.clone(),
        min_free: super::workdir::min_free(a.min_free)?,
        node_name: a.node_name.clone(),
        output_dir: a.output_dir.clone(),
        quick: a.quick,
        rounds: a.rounds,
        etcd,
        no_etcd: a.no_etcd,
        cluster,
        progress: super::progress(quiet),
        confidence: a.confidence,
        adaptive: !a.no_adaptive,
    })?;
    if let (true, true, Some(e)) = (quiet, q.etcd_failed_explicitly, &q.etcd_error) {
        eprintln!("nodefit: qualify: etcd probe failed: {e}");
    }
    if let (Err(e), None) = (&q.report, &q.result_error) {
        eprintln!("nodefit: warning: report.html not written: {e}");
    }
    match a.output_format {
        OutputFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(&q.doc)?;
            bytes.push(b'\n');
            emit(None, &bytes)?;
        }
        OutputFormat::Normal => {
            use std::io::IsTerminal;
            let colour = std::io::stdout().is_terminal();
            let text = crate::ui::verdict::render(&q.doc, &q.reasons, colour);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            if q.doc
                .cluster
                .as_ref()
                .is_some_and(|c| c.peers_unauthenticated())
            {
                writeln!(out, "WARNING: cluster peers were not authenticated (--insecure-peers): anyone who reached the peer ports could read and disturb the run")?;
            }
            if q.result_error.is_none() {
                writeln!(out, "result: {}", q.result_path.display())?;
            }
            if let Ok(r) = &q.report {
                writeln!(out, "report: {}", r.display())?;
            }
            out.flush()?;
        }
    }
    if let Some(p) = &a.prometheus_textfile {
        crate::export::prometheus::write_document(p, &q.doc)?;
    }
    if let Some(e) = &q.result_error {
        eprintln!("nodefit: qualify: {e} (the verdict above was not saved)");
        return Ok(Outcome::CouldNotRun);
    }
    if q.interrupted {
        return Ok(Outcome::Interrupted);
    }
    if !q.doc.complete || q.etcd_failed_explicitly {
        // Exit 2 always comes with its one line on stderr (the etcd failure may have said it).
        if !(quiet && q.etcd_failed_explicitly) {
            eprintln!(
                "nodefit: qualify: run cut short: {} (partial result written, no verdict)",
                q.doc
                    .incomplete_reason
                    .as_deref()
                    .or(q.etcd_error.as_deref())
                    .unwrap_or("stopped early")
            );
        }
        return Ok(Outcome::CouldNotRun);
    }
    Ok(match q.verdict {
        Verdict::Fit => Outcome::Fit,
        Verdict::Unfit => Outcome::NotFit,
        Verdict::Marginal if a.fail_on == FailOn::Marginal => Outcome::NotFit,
        Verdict::Marginal => Outcome::Fit,
    })
}
