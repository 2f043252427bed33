//! `nodefit watch`: a WAL-shaped burst every interval for hours or days; a line per window (or JSON
//! lines), the Prometheus textfile rewritten every minute, and at the end (or on SIGINT/SIGTERM,
//! over the time watched, exit 130) the summary and the same verdict table and exit codes as
//! `qualify`.

use super::Outcome;
use crate::results::{ResultsDocument, Verdict};
use crate::score::profile::{Profile, DEFAULT_PROFILE};
use crate::watch::{Live, WatchConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How the watch is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WatchFormat {
    /// A line per window, then the summary and the verdict table
    Normal,
    /// The result document at the end
    Json,
    /// A JSON line per window, then one with the result document
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Directory on the disk to watch (etcd's data directory's disk, e.g. /var/lib/etcd)
    #[arg(long, default_value = ".")]
    pub directory: PathBuf,
    /// Free space to leave on the disk: a size (2g) or a share of it (10%); 0 turns the check off
    /// [env: NODEFIT_MIN_FREE] [default: the larger of 10% and 2 GiB]
    #[arg(long, value_name = "SIZE|PCT")]
    pub min_free: Option<crate::disk::headroom::MinFree>,
    /// How long to watch (e.g. 24h, 30m)
    #[arg(long, default_value = "24h")]
    pub duration: String,
    /// Time between two bursts
    #[arg(long, default_value = "10s")]
    pub interval: String,
    /// Busy time ÷ wall time the bursts are sized for (0.05 = 5 %)
    #[arg(long, default_value_t = 0.05)]
    pub duty_cycle: f64,
    /// Profile name or file (recorded with the result; the watch checks are built in)
    #[arg(long, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Name of the node in the results [default: host name]
    #[arg(long)]
    pub node_name: Option<String>,
    /// Where result.json goes [default: reports/<node-name>/watch-<UTC timestamp>/]
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// No line per window
    #[arg(long, short)]
    pub quiet: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "normal")]
    pub output_format: WatchFormat,
    /// Write the json/jsonl output to FILE instead of stdout (jsonl lines are appended as they come)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rewrite Prometheus metrics of the watch to PATH every minute (atomically)
    #[arg(long, value_name = "PATH")]
    pub prometheus_textfile: Option<PathBuf>,
    /// etcd WAL fdatasyncs per second assumed for the predicted symptoms
    #[arg(long, default_value_t = 10.0)]
    pub etcd_syncs_per_s: f64,
    /// Election timeout for the leader-election prediction, ms (etcd's default: 1000)
    #[arg(long, default_value_t = 1000)]
    pub election_timeout_ms: u64,
    /// Exit 1 also on MARGINAL
    #[arg(long, value_enum, default_value = "unfit")]
    pub fail_on: super::qualify::FailOn,
}

/// Where the per-window output goes.
struct Sink {
    format: WatchFormat,
    quiet: bool,
    file: Option<std::fs::File>,
    textfile: Option<PathBuf>,
    node: String,
    last_textfile: Option<Instant>,
}

impl Sink {
    fn line(&mut self, text: &str) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => writeln!(f, "{text}"),
            None => writeln!(std::io::stdout().lock(), "{text}"),
        }
    }

    fn window(&mut self, live: &Live) {
        let degraded = || {
            let s = live
                .tally
                .section(live.config, live.burst.clone(), live.elapsed_s);
            let open = s.periods.last().is_some_and(|p| p.end_s >= s.watched_s);
            (s, open)
        };
        let due = self
            .last_textfile
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        match self.format {
            WatchFormat::Normal if !self.quiet => {
                let (s, open) = degraded();
                eprintln!(
                    "{}",
                    crate::ui::watch::window_line(
                        live.window,
                        live.elapsed_s,
                        live.eta_s,
                        s.duty_cycle,
                        open
                    )
                );
            }
            WatchFormat::Jsonl => {
                let v = serde_json::json!({ "type": "window", "window": live.window });
                if let Err(e) = self.line(&v.to_string()) {
                    eprintln!("nodefit: watch: cannot write a JSON line: {e}");
                }
            }
            _ => {}
        }
        if let (Some(p), true) = (&self.textfile, due) {
            let (s, _) = degraded();
            let text = crate::export::watch_prometheus::render(&s, &self.node, false);
            if let Err(e) = crate::export::prometheus::write_textfile(p, &text) {
                eprintln!("nodefit: watch: {e}");
            }
            self.last_textfile = Some(Instant::now());
        }
    }
}

fn config(a: &WatchArgs) -> anyhow::Result<WatchConfig> {
    let parse = |what: &str, v: &str| {
        crate::util::units::parse_duration(v).map_err(|e| anyhow::anyhow!("--{what} {v}: {e}"))
    };
    if !(a.etcd_syncs_per_s > 0.0 && a.etcd_syncs_per_s.is_finite()) {
        anyhow::bail!("--etcd-syncs-per-s must be a positive number");
    }
    if a.election_timeout_ms == 0 {
        anyhow::bail!("--election-timeout-ms must be above 0");
    }
    Ok(WatchConfig {
        directory: a.directory.clone(),
        duration: parse("duration", &a.duration)?,
        interval: parse("interval", &a.interval)?,
        duty_budget: a.duty_cycle,
        etcd_syncs_per_s: a.etcd_syncs_per_s,
        election_timeout_ms: a.election_timeout_ms,
        min_free: super::workdir::min_free(a.min_free)?,
    })
}

pub fn run(a: WatchArgs) -> anyhow::Result<Outcome> {
    let profile = Profile::find(&a.profile)?;
    let mut c = config(&a)?;
    c.burst_spec()?;
    if let Some(p) = &a.prometheus_textfile {
        crate::export::prometheus::check_path(p)?;
    }
    if a.output.is_some() && a.output_format == WatchFormat::Normal {
        anyhow::bail!("--output needs --output-format json or jsonl");
    }
    let file = match (&a.output, a.output_format) {
        (Some(p), WatchFormat::Jsonl) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| anyhow::anyhow!("--output {}: {e}", p.display()))?,
        ),
        _ => None,
    };
    if let Some(line) = crate::util::scratch::clean_before_run(&a.directory) {
        eprintln!("nodefit: {line}");
    }
    // Beside a stopped etcd's data: in a directory of the watch's own; a running etcd's: refused.
    let workdir = super::workdir::choose(&a.directory)?;
    c.directory = workdir.path.clone();
    let started = SystemTime::now();
    let node = a
        .node_name
        .clone()
        .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
    let mut sink = Sink {
        format: a.output_format,
        quiet: a.quiet,
        file,
        textfile: a.prometheus_textfile.clone(),
        node: node.clone(),
        last_textfile: None,
    };
    if a.output_format == WatchFormat::Normal && !a.quiet {
        eprintln!(
            "nodefit watch: sequential 2300 B writes + fdatasync every {} for {} on {} (burst: up to {} writes or {:?})",
            a.interval,
            a.duration,
            a.directory.display(),
            crate::watch::MAX_BURST_OPS,
            c.burst_runtime()
        );
    }
    let w = crate::watch::run(&c, &mut |live| sink.window(live))?;
    let mut doc = ResultsDocument::new(started);
    doc.node_name = Some(node.clone());
    doc.profile = Some(profile.summary_json());
    doc.complete = !w.interrupted && w.error.is_none();
    doc.incomplete_reason = match (&w.error, w.interrupted) {
        (Some(e), _) => Some(e.clone()),
        (None, true) => Some("interrupted (SIGINT/SIGTERM)".into()),
        _ => None,
    };
    doc.watch = Some(w.section);
    let outcome = judge(&mut doc)?;
    doc.finish();
    let result_path = write_result(&a, &doc, &node)?;
    if let Some(p) = &a.prometheus_textfile {
        if let Some(s) = &doc.watch {
            let text = crate::export::watch_prometheus::render(s, &node, doc.complete);
            crate::export::prometheus::write_textfile(p, &text)?;
        }
    }
    print_end(&a, &mut sink, &doc, &outcome.reasons, &result_path)?;
    if let Some(e) = &w.error {
        eprintln!("nodefit: watch: stopped early: {e} (partial result written)");
        return Ok(Outcome::CouldNotRun);
    }
    if w.interrupted {
        return Ok(Outcome::Interrupted);
    }
    Ok(match outcome.verdict {
        Verdict::Fit => Outcome::Fit,
        Verdict::Unfit => Outcome::NotFit,
        Verdict::Marginal if a.fail_on == super::qualify::FailOn::Marginal => Outcome::NotFit,
        Verdict::Marginal => Outcome::Fit,
    })
}

/// The watch checks held against the document: checks, verdict and score set on it.
fn judge(doc: &mut ResultsDocument) -> anyhow::Result<crate::score::Assessment> {
    let json = serde_json::to_value(&*doc)?;
    let checks = crate::watch::checks::builtin()
        .iter()
        .map(|c| crate::score::evaluate(c, &json, &[]))
        .collect();
    let outcome = crate::score::summarize(checks);
    doc.verdict = Some(outcome.verdict);
    doc.score = Some(outcome.score);
    doc.checks = outcome.checks.clone();
    doc.warnings = outcome.warnings.clone();
    if !doc.complete {
        doc.warnings.push(format!(
            "incomplete watch ({}): the verdict covers the time watched",
            doc.incomplete_reason.as_deref().unwrap_or("stopped early")
        ));
    }
    Ok(outcome)
}

fn write_result(a: &WatchArgs, doc: &ResultsDocument, node: &str) -> anyhow::Result<PathBuf> {
    let dir = a.output_dir.clone().unwrap_or_else(|| {
        let stamp: String = doc
            .started_at
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        Path::new("reports")
            .join(node)
            .join(format!("watch-{stamp}"))
    });
    let path = dir.join("result.json");
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    std::fs::create_dir_all(&dir)
        .and_then(|()| crate::util::atomic::write(&path, &bytes))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn print_end(
    a: &WatchArgs,
    sink: &mut Sink,
    doc: &ResultsDocument,
    reasons: &[String],
    result_path: &Path,
) -> anyhow::Result<()> {
    match a.output_format {
        WatchFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(doc)?;
            bytes.push(b'\n');
            super::emit(a.output.as_deref(), &bytes)?;
        }
        WatchFormat::Jsonl => {
            let v = serde_json::json!({ "type": "result", "document": doc });
            sink.line(&v.to_string())?;
        }
        WatchFormat::Normal => {
            use std::io::IsTerminal;
            let colour = std::io::stdout().is_terminal();
            let mut out = std::io::stdout().lock();
            if let Some(w) = &doc.watch {
                out.write_all(crate::ui::watch::summary(w).as_bytes())?;
            }
            out.write_all(crate::ui::verdict::render(doc, reasons, colour).as_bytes())?;
            writeln!(out, "result: {}", result_path.display())?;
            out.flush()?;
        }
    }
    Ok(())
}
