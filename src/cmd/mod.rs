//! The command layer: the only place with clap, stdout and exit codes. One file per subcommand;
//! each turns its arguments into the domain's plain config, runs it, prints what it printed before,
//! and returns an [`Outcome`] that `main` maps to the exit code in one place.

pub mod clean;
pub mod disk;
pub mod etcd;
pub mod profiles;
pub mod qualify;
pub mod report;
pub mod trend;
pub mod watch;
pub mod workdir;

use crate::report::load::{load_all, Loaded};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Is this node fit to carry the Kubernetes control plane?
#[derive(Debug, Parser)]
#[command(name = "nodefit", version = crate::util::build_info::LONG_VERSION, about, long_about = None)]
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
    Etcd(etcd::EtcdCmd),
    /// Qualify this node for the control plane: disk workloads, etcd probe, fingerprint, verdict
    Qualify(qualify::QualifyArgs),
    /// List or show the qualification profiles
    Profiles(profiles::ProfilesArgs),
    /// Render results as an HTML, Markdown or JSON report (one node, or several side by side)
    Report(report::ReportArgs),
    /// Chart a history of results and detect regressions
    Trend(trend::TrendArgs),
    /// Remove what killed nodefit runs left in a directory (scratch files, etcd data dirs)
    Clean(clean::CleanCmd),
    /// Watch a candidate node for hours to days: flush stalls, degraded periods, predicted etcd symptoms
    Watch(watch::WatchArgs),
}

/// Output format shared by the measuring commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Normal,
    Json,
}

/// How a command ended; `main` turns it into the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to the end with nothing to flag (a measurement, a report, help). Exit 0.
    Done,
    /// Qualified: fit (or MARGINAL without `--fail-on marginal`). Exit 0.
    Fit,
    /// Qualified: not fit. Exit 1.
    NotFit,
    /// `trend --fail-on-regression` found one. Exit 1.
    Regression,
    /// Stopped by SIGINT/SIGTERM; what ran is written, marked incomplete. Exit 130.
    Interrupted,
    /// Could not run, or could not finish (bad options, unreadable input, I/O error). Exit 2.
    CouldNotRun,
}

/// Parse the command line and run the command.
pub fn run() -> Outcome {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayVersion => {
                    // Not println!: `nodefit --version | head -n 1` closes the pipe first.
                    use std::io::Write;
                    let _ = writeln!(std::io::stdout(), "{}", etcd_version_line());
                    Outcome::Done
                }
                clap::error::ErrorKind::DisplayHelp => Outcome::Done,
                _ => Outcome::CouldNotRun,
            };
        }
    };
    crate::util::signals::install();
    let result = match cli.command {
        Command::Disk(a) => disk::run(a),
        Command::Etcd(a) => etcd::run(a),
        Command::Qualify(a) => qualify::run(a),
        Command::Profiles(a) => profiles::run(a),
        Command::Report(a) => report::run(a),
        Command::Trend(a) => trend::run(a),
        Command::Clean(a) => clean::run(a),
        Command::Watch(a) => watch::run(a),
    };
    result.unwrap_or_else(|e| {
        // Errors may quote a file, a peer or etcd: no escape sequence reaches the terminal.
        let text = crate::util::text::printable_lines(&format!("{e:#}"));
        eprintln!("nodefit: error: {text}");
        Outcome::CouldNotRun
    })
}

/// The second line of `nodefit --version`: the etcd the probes would run, as found now (asked at
/// run time rather than stamped at build time, so it names the binary actually used: the one next to
/// nodefit, the first on PATH, or what is missing), e.g. "etcd 3.5.1 (/opt/nodefit/etcd)".
fn etcd_version_line() -> String {
    use crate::etcd::binary;
    match binary::locate(None).and_then(|bin| binary::version_line(&bin).map(|v| (bin, v))) {
        Ok((bin, line)) => format!("etcd {} ({})", binary::version_number(&line), bin.display()),
        Err(e) => format!("etcd: none usable: {e}"),
    }
}

/// Write `bytes` to `path`, or stdout when there is none.
pub fn emit(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(p) => crate::util::atomic::write(p, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// When the file an output option names already exists and is one of the inputs (an argument given
/// as a file, or a results file found below a directory argument), the one-line error refusing it:
/// writing there would replace the user's measurements with the report. Compared by device and
/// inode, so a symlink, a hard link or `./` spelling of the same file is caught too.
pub fn output_clobbers_input(
    option: &str,
    output: &Path,
    inputs: &[PathBuf],
    loaded: &[Loaded],
) -> Option<String> {
    let out = file_id(output)?;
    let clash = inputs
        .iter()
        .filter(|p| !p.is_dir())
        .chain(loaded.iter().map(|l| &l.path))
        .find(|p| file_id(p) == Some(out))?;
    Some(format!(
        "{option} {}: is the input results file {}; refusing to overwrite it (write the report elsewhere)",
        output.display(),
        clash.display()
    ))
}

/// Device and inode of the file `p` leads to (through links), when it exists.
fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// The first two of `files` (option, path) that name the same file: the same path once made
/// absolute and tidied, or the same device and inode (a link to it). Two outputs that are one file
/// keep only the last one written; an output that is the measured file destroys it.
pub fn same_file(files: &[(&str, &Path)]) -> Option<String> {
    let key = |p: &Path| {
        let abs = std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf());
        let tidy: PathBuf = abs.components().collect();
        (tidy, file_id(p))
    };
    let keys: Vec<_> = files.iter().map(|(_, p)| key(p)).collect();
    for i in 0..files.len() {
        for j in i + 1..files.len() {
            let (a, b) = (&keys[i], &keys[j]);
            if a.0 == b.0 || (a.1.is_some() && a.1 == b.1) {
                return Some(format!(
                    "{} {} and {} {} are the same file; give each its own path",
                    files[i].0,
                    files[i].1.display(),
                    files[j].0,
                    files[j].1.display()
                ));
            }
        }
    }
    None
}

/// The one-line error for a `--png-dir` that exists but is not a directory, found before anything is
/// read or written (after the fact, the report or trend text is already out and the io error alone,
/// "File exists", does not say which option is wrong).
pub fn png_dir_problem(dir: Option<&Path>) -> Option<String> {
    let dir = dir?;
    match (std::fs::symlink_metadata(dir), std::fs::metadata(dir)) {
        (Ok(l), Err(_)) if l.file_type().is_symlink() => Some(format!(
            "--png-dir {}: is a symbolic link to nothing",
            dir.display()
        )),
        (_, Ok(m)) if !m.is_dir() => Some(format!(
            "--png-dir {}: exists and is not a directory",
            dir.display()
        )),
        _ => None,
    }
}

/// True when stderr is a terminal (progress lines, colour).
pub fn stderr_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// The progress sink for a command: narration unless `quiet`, live lines on a terminal.
pub fn progress(quiet: bool) -> crate::util::progress::Progress {
    std::sync::Arc::new(crate::ui::progress::Terminal {
        notes: !quiet,
        live: !quiet && stderr_is_tty(),
    })
}

/// The results files of `nodefit report` / `nodefit trend`: a warning for each unreadable one and
/// the rest loaded; None (could not run) when `strict` and something was unreadable, or when
/// nothing was readable at all.
pub fn load_inputs(inputs: &[PathBuf], strict: bool) -> Option<(Vec<Loaded>, Vec<String>)> {
    let (results, problems) = load_all(inputs);
    let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    for p in &problems {
        // Names and reasons come from the files: no escape sequence reaches the terminal.
        eprintln!("nodefit: warning: {}", crate::util::text::printable(p));
    }
    if strict && !problems.is_empty() {
        eprintln!(
            "nodefit: error: {} input(s) could not be read (--strict)",
            problems.len()
        );
        return None;
    }
    if results.is_empty() {
        eprintln!("nodefit: error: no readable results among the inputs");
        return None;
    }
    Some((results, problems))
}
