//! Command-line interface: argument definitions (as typed) and dispatch to the library. Each
//! subcommand lives in its own file and returns the process exit code.

pub mod clean;
pub mod disk;

use clap::{Parser, Subcommand};

/// Is this node fit to carry the Kubernetes control plane?
#[derive(Debug, Parser)]
#[command(name = "nodefit", version = crate::build_info::LONG_VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
pub enum Command {
    /// Run one fio-style disk workload and report its latency percentiles
    Disk(disk::DiskCmd),
    /// Probe etcd write consensus: an embedded local etcd on the disk under test, or a live cluster
    Etcd(crate::etcd::cli::EtcdArgs),
    /// Qualify this node for the control plane: disk workloads, etcd probe, fingerprint, verdict
    Qualify(crate::qualify::QualifyArgs),
    /// List or show the qualification profiles
    Profiles(crate::score::profile::ProfilesArgs),
    /// Render results as an HTML, Markdown or JSON report (one node, or several side by side)
    Report(crate::report::ReportArgs),
    /// Chart a history of results and detect regressions
    Trend(crate::report::trend::TrendArgs),
    /// Remove what killed nodefit runs left in a directory (scratch files, etcd data dirs)
    Clean(clean::CleanCmd),
}

/// Output format shared by the measuring commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Normal,
    Json,
}

/// Parse the command line and run; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
            let _ = e.print();
            return code;
        }
    };
    crate::signals::install();
    let result = match cli.command {
        Command::Disk(a) => disk::run(a),
        Command::Etcd(a) => crate::etcd::cli::run(a),
        Command::Qualify(a) => crate::qualify::run(a),
        Command::Profiles(a) => crate::score::profile::run_cli(a),
        Command::Report(a) => crate::report::run(a),
        Command::Trend(a) => crate::report::trend::run(a),
        Command::Clean(a) => clean::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nodefit: error: {e:#}");
            2
        }
    }
}

/// Write `bytes` to `path`, or stdout when there is none.
pub fn emit(path: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(p) => crate::atomic::write(p, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// True when stderr is a terminal (progress lines, colour).
pub fn stderr_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
