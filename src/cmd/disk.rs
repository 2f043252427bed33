//! `nodefit disk`: one fio-style workload, printed as fio prints it or as results JSON.

use super::{emit, Outcome, OutputFormat};
use crate::options::disk::{DiskOptions, JobSpec};
use crate::results::ResultsDocument;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DiskCmd {
    #[command(flatten)]
    pub options: DiskOptions,
    /// Output format
    #[arg(long, value_enum, default_value = "normal")]
    pub output_format: OutputFormat,
    /// Write the output to FILE instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// No progress line
    #[arg(long, short)]
    pub quiet: bool,
    /// Free space to leave on the disk: a size (2g) or a share of it (10%); 0 turns the check off
    /// [env: NODEFIT_MIN_FREE] [default: the larger of 10% and 2 GiB]
    #[arg(long, value_name = "SIZE|PCT")]
    pub min_free: Option<crate::disk::headroom::MinFree>,
    /// Also write the result as Prometheus metrics to PATH, for node_exporter's textfile collector
    /// (written atomically: a temporary file in the same directory, then rename)
    #[arg(long, value_name = "PATH")]
    pub prometheus_textfile: Option<PathBuf>,
}

pub fn run(cmd: DiskCmd) -> anyhow::Result<Outcome> {
    let mut spec = JobSpec::resolve(&cmd.options)?;
    let mut dirs: Vec<PathBuf> = crate::disk::layout::job_paths(&spec)
        .iter()
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    dirs.dedup();
    for d in &dirs {
        if let Some(line) = crate::util::scratch::clean_before_run(d) {
            eprintln!("nodefit: {line}");
        }
    }
    // Beside a stopped etcd's data: in a directory of the run's own; a running etcd's: refused.
    let _workdir = match (&spec.directory, &spec.filename) {
        (Some(d), _) => {
            let w = super::workdir::choose(d)?;
            spec.directory = Some(w.path.clone());
            Some(w)
        }
        (None, Some(f)) => {
            super::workdir::refuse_running_etcd(f)?;
            None
        }
        (None, None) => None,
    };
    // Outputs that are one file, or the measured file itself, are refused before anything runs.
    let mut files: Vec<(&str, &std::path::Path)> = Vec::new();
    if let Some(f) = &cmd.options.filename {
        files.push(("--filename", f));
    }
    if let Some(p) = &cmd.output {
        files.push(("--output", p));
    }
    if let Some(p) = &cmd.prometheus_textfile {
        files.push(("--prometheus-textfile", p));
    }
    if let Some(e) = super::same_file(&files) {
        anyhow::bail!("{e}");
    }
    // An output file that can't be written is found out now, not after minutes of measuring.
    if let Some(p) = &cmd.output {
        crate::util::atomic::check_writable(p)
            .map_err(|e| anyhow::anyhow!("cannot write --output {}: {e}", p.display()))?;
    }
    if let Some(p) = &cmd.prometheus_textfile {
        crate::export::prometheus::check_path(p)?;
    }
    let started = std::time::SystemTime::now();
    let mut doc = ResultsDocument::new(started);
    let opts = crate::disk::RunOptions {
        progress: super::progress(cmd.quiet),
        label: None,
        min_free: super::workdir::min_free(cmd.min_free)?,
        early_stop: None,
    };
    let results = crate::disk::run_workloads(std::slice::from_ref(&spec), &opts)?;
    doc.workloads = results;
    doc.finish();
    let interrupted = crate::util::signals::stop_requested();
    if let Some(w) = doc.workloads.iter().find(|w| !w.complete) {
        doc.complete = false;
        doc.incomplete_reason = w.error.clone();
    }
    let bytes = match cmd.output_format {
        OutputFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&doc)?;
            v.push(b'\n');
            v
        }
        OutputFormat::Normal => crate::ui::disk::disk_text(&doc).into_bytes(),
    };
    emit(cmd.output.as_deref(), &bytes)?;
    if let Some(p) = &cmd.prometheus_textfile {
        crate::export::prometheus::write_document(p, &doc)?;
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else if doc.complete {
        Outcome::Done
    } else {
        // Disk full or an I/O error mid-run: the partial result is out, but the run failed, and
        // exit 2 promises a one-line error on stderr (the reason in stdout or --output may be
        // going to a file or a pipe nobody reads).
        eprintln!(
            "nodefit: error: run cut short: {} (partial result written)",
            doc.incomplete_reason.as_deref().unwrap_or("unknown error")
        );
        Outcome::CouldNotRun
    })
}
