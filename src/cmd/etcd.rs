//! `nodefit etcd`: the probe's options (etcdctl's names for connection options, etcd benchmark's
//! for the workload) plus where the output goes; a summary or the results document out. With
//! `--cluster`, the cluster probe instead. Done (0), could not run (2), Ctrl-C (130).

use super::{emit, Outcome, OutputFormat};
use crate::options::cluster::ClusterOptions;
use crate::options::etcd::EtcdOptions;
use crate::results::ResultsDocument;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct EtcdCmd {
    #[command(flatten)]
    pub options: EtcdOptions,
    /// Output format
    #[arg(long, value_enum, default_value = "normal", help_heading = "Output")]
    pub output_format: OutputFormat,
    /// Write the output to FILE instead of stdout
    #[arg(long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// No progress line
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
    /// Also write the result as Prometheus metrics to PATH, for node_exporter's textfile collector
    /// (written atomically: a temporary file in the same directory, then rename)
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub prometheus_textfile: Option<PathBuf>,
    /// Free space to leave on the disk after the embedded etcd's WAL preallocation and database
    /// allowance: a size (2g) or a share of it (10%); 0 turns the check off [env: NODEFIT_MIN_FREE]
    /// [default: the larger of 10% and 2 GiB]
    #[arg(long, value_name = "SIZE|PCT")]
    pub min_free: Option<crate::disk::headroom::MinFree>,
    /// Cluster qualification (`--cluster` and its options)
    #[command(flatten)]
    pub cluster: ClusterOptions,
    /// With --cluster: judge this node's view with the profile's etcd and cluster checks (verdict,
    /// score and checks in the result; the disk checks are left to `qualify`); the exit status
    /// stays the probe's
    #[arg(
        long,
        value_name = "NAME|FILE",
        requires = "cluster",
        help_heading = "Cluster"
    )]
    pub profile: Option<String>,
}

#[derive(clap::Parser)]
#[command(name = "etcd", no_binary_name = true, args_override_self = true)]
struct Words {
    #[command(flatten)]
    options: EtcdOptions,
    #[command(flatten)]
    cluster: ClusterOptions,
}

/// Parse option words exactly as `nodefit etcd` would (without the subcommand name).
pub fn options_from_words(words: &[String]) -> Result<EtcdOptions, clap::Error> {
    probe_options_from_words(words).map(|(o, _)| o)
}

/// Parse option words exactly as `nodefit etcd` would, the cluster options too.
pub fn probe_options_from_words(
    words: &[String],
) -> Result<(EtcdOptions, ClusterOptions), clap::Error> {
    use clap::Parser;
    Words::try_parse_from(words).map(|w| (w.options, w.cluster))
}

/// `base` with more option words applied on top, as if they followed its own flags on one
/// command line (a later single-valued flag wins; list flags add to the list).
pub fn options_with_words(
    base: &EtcdOptions,
    words: &[String],
) -> Result<EtcdOptions, clap::Error> {
    let mut all = base.to_args(false);
    all.extend(words.iter().cloned());
    options_from_words(&all)
}

/// As [`options_with_words`], with the cluster options the words give (`cluster_words` go before
/// `words`, so a later word wins as on one command line).
pub fn probe_options_with_words(
    base: &EtcdOptions,
    cluster_words: &[String],
    words: &[String],
) -> Result<(EtcdOptions, ClusterOptions), clap::Error> {
    let mut all = base.to_args(false);
    all.extend(cluster_words.iter().cloned());
    all.extend(words.iter().cloned());
    probe_options_from_words(&all)
}

/// `nodefit etcd`: probe, then print a summary or the results document.
pub fn run(mut cmd: EtcdCmd) -> anyhow::Result<Outcome> {
    if let Some(p) = &cmd.prometheus_textfile {
        crate::export::prometheus::check_path(p)?;
        if let Some(o) = &cmd.output {
            if let Some(e) = super::same_file(&[("--output", o), ("--prometheus-textfile", p)]) {
                anyhow::bail!("{e}");
            }
        }
    }
    let mut _workdir = None;
    if !cmd.options.is_live() {
        if let Some(line) = crate::util::scratch::clean_before_run(&cmd.options.directory) {
            eprintln!("nodefit: {line}");
        }
        let members = if cmd.cluster.is_set() {
            1
        } else {
            cmd.options.members
        };
        let w = super::workdir::choose(&cmd.options.directory)?;
        let need = crate::disk::headroom::Need {
            scratch: 0,
            etcd_members: members,
        };
        super::workdir::check_headroom(&w.path, need, cmd.min_free)?;
        cmd.options.directory = w.path.clone();
        _workdir = Some(w);
    }
    if cmd.cluster.is_set() {
        return run_cluster(cmd);
    }
    if cmd.cluster != ClusterOptions::default() {
        eprintln!(
            "nodefit: etcd: invalid option: {} is for cluster runs and needs --cluster",
            cmd.cluster.to_args().join(" ")
        );
        return Ok(Outcome::CouldNotRun);
    }
    let started = std::time::SystemTime::now();
    let progress = super::progress(cmd.quiet);
    let result = match crate::etcd::probe_blocking(&cmd.options, &progress) {
        Ok(r) => r,
        Err(e) => return Ok(could_not_probe("etcd", &e)),
    };
    let mut doc = ResultsDocument::new(started);
    let text = crate::ui::etcd::text(&result);
    doc.etcd = Some(result);
    finish(&cmd, doc, text)
}

/// `nodefit etcd --cluster …`: run the cluster probe, print this node's view or the results
/// document (with its `etcd` and `cluster` sections).
fn run_cluster(cmd: EtcdCmd) -> anyhow::Result<Outcome> {
    let started = std::time::SystemTime::now();
    let progress = super::progress(cmd.quiet);
    let (etcd, cluster) =
        match crate::cluster::probe_blocking(&cmd.options, &cmd.cluster, &progress) {
            Ok(r) => r,
            Err(e) => return Ok(could_not_probe("etcd --cluster", &e)),
        };
    let mut doc = ResultsDocument::new(started);
    doc.node_name = Some(cluster.self_name.clone());
    let mut text = crate::ui::etcd::text(&etcd);
    text.push_str(&crate::ui::cluster::text(&cluster));
    doc.etcd = Some(etcd);
    doc.cluster = Some(cluster);
    if let Some(name) = &cmd.profile {
        judge(&mut doc, name)?;
    }
    finish(&cmd, doc, text)
}

/// `--profile`: the profile's etcd and cluster checks held against this node's view; a verdict
/// and score only when the probe completed (an incomplete run keeps its checks, no verdict).
fn judge(doc: &mut ResultsDocument, name: &str) -> anyhow::Result<()> {
    let profile = crate::score::profile::Profile::find(name)?;
    let p = crate::score::cluster::probe_only(&profile);
    let outcome = crate::score::cluster::judge(&p, &serde_json::to_value(&*doc)?, &[]);
    let complete = doc.etcd.as_ref().is_some_and(|e| e.complete);
    doc.profile = Some(profile.summary_json());
    if complete {
        doc.verdict = Some(outcome.verdict);
        doc.score = Some(outcome.score);
    }
    doc.checks = outcome.checks;
    doc.warnings.extend(outcome.warnings);
    Ok(())
}

/// A probe that could not run (or was stopped before it had anything): the one-line reason.
fn could_not_probe(what: &str, e: &dyn std::fmt::Display) -> Outcome {
    // The reason may quote etcd's or a peer's words.
    eprintln!(
        "nodefit: {what}: {}",
        crate::util::text::printable(&e.to_string())
    );
    if crate::util::signals::stop_requested() {
        Outcome::Interrupted
    } else {
        Outcome::CouldNotRun
    }
}

/// Mark the document incomplete when the probe was, print the summary `text` or the document, write
/// the Prometheus textfile; the outcome from how the probe ended.
fn finish(cmd: &EtcdCmd, mut doc: ResultsDocument, text: String) -> anyhow::Result<Outcome> {
    let interrupted = crate::util::signals::stop_requested();
    let (complete, error) = doc
        .etcd
        .as_ref()
        .map(|e| (e.complete, e.error.clone()))
        .unwrap_or((false, None));
    if !complete {
        doc.complete = false;
        doc.incomplete_reason = error;
    }
    doc.finish();
    let bytes = match cmd.output_format {
        OutputFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&doc)?;
            v.push(b'\n');
            v
        }
        OutputFormat::Normal => text.into_bytes(),
    };
    emit(cmd.output.as_deref(), &bytes)?;
    if let Some(p) = &cmd.prometheus_textfile {
        crate::export::prometheus::write_document(p, &doc)?;
    }
    if !complete && !interrupted {
        eprintln!(
            "nodefit: etcd: run cut short: {} (partial result written)",
            doc.incomplete_reason.as_deref().unwrap_or("stopped early")
        );
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else if complete {
        Outcome::Done
    } else {
        Outcome::CouldNotRun
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::etcd::LoadPreset;
    use std::time::Duration;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_parse_like_the_cli() {
        let a = options_from_words(&words(&[
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
        assert!(options_from_words(&words(&["--bogus"])).is_err());
    }

    #[test]
    fn later_words_override_and_keep_the_rest() {
        let base = EtcdOptions {
            members: 3,
            duration: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let o = options_with_words(&base, &words(&["--duration=5s", "--dial-timeout=1s"])).unwrap();
        assert_eq!(o.members, 3);
        assert_eq!(o.duration, Some(Duration::from_secs(5)));
        assert_eq!(o.dial_timeout, Duration::from_secs(1));
    }
}
