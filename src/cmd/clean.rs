//! `nodefit clean`: remove what killed nodefit runs left in a directory (the same step every run
//! takes first), or list it with `--dry-run`.

use super::Outcome;
use crate::util::scratch::{self, LeftoverKind};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CleanCmd {
    /// Directory nodefit ran in (its --directory)
    #[arg(long, default_value = ".")]
    pub directory: PathBuf,
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(cmd: CleanCmd) -> anyhow::Result<Outcome> {
    let dir = &cmd.directory;
    let md = std::fs::metadata(dir)
        .map_err(|e| anyhow::anyhow!("--directory {}: {e}", dir.display()))?;
    if !md.is_dir() {
        anyhow::bail!("--directory {} is not a directory", dir.display());
    }
    let found = if cmd.dry_run {
        scratch::find_leftovers(dir)?
    } else {
        scratch::remove_leftovers(dir)?
    };
    // Runs still going: their records stay, and so does what they made (never a leftover).
    let live = scratch::live_runs(dir)
        .into_iter()
        .filter(|p| !found.iter().any(|l| &l.path == p))
        .count();
    let live_note = if live > 0 {
        format!("; {live} live run(s) there keep their files")
    } else {
        String::new()
    };
    if found.is_empty() {
        println!(
            "nothing of killed nodefit runs is left in {}{live_note}",
            dir.display()
        );
        return Ok(Outcome::Done);
    }
    let verb = if cmd.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for l in &found {
        let kind = match l.kind {
            LeftoverKind::ScratchFile => "scratch file",
            LeftoverKind::EtcdDataDir => "embedded etcd data dir",
            LeftoverKind::WorkDir => "nodefit working dir",
            LeftoverKind::RunRecord => "run record",
        };
        println!(
            "{verb} {} ({kind}, {})",
            l.path.display(),
            crate::util::units::format_bytes(l.bytes as f64)
        );
    }
    let total: u64 = found.iter().map(|l| l.bytes).sum();
    println!(
        "{verb} {} item(s), {} in all{live_note}",
        found.len(),
        crate::util::units::format_bytes(total as f64)
    );
    Ok(Outcome::Done)
}
