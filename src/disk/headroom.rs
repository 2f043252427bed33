//! The free space a run leaves on the disk it measures. nodefit runs on nodes whose etcd may share
//! the disk: filling it to the last byte would hand the real etcd an ENOSPC. Before anything is
//! written, the run's whole need — its scratch files, and the probe etcd's WAL preallocation and
//! database allowance when one runs there — must fit with `--min-free` still free (default
//! max(10 % of the file system, 2 GiB)); otherwise the run is refused naming the figures.

use crate::error::Error;
use crate::util::units::format_bytes;
use std::path::{Path, PathBuf};

/// The default floor: 2 GiB, or 10 % of the file system when that is more.
pub const DEFAULT_FLOOR_BYTES: u64 = 2 << 30;
pub const DEFAULT_PERCENT: f64 = 10.0;
/// etcd preallocates each WAL segment file at 64 MiB (`wal.SegmentSizeBytes`) when it opens it.
pub const ETCD_WAL_PREALLOC_BYTES: u64 = 64 << 20;
/// What the probe's etcd database may grow to per member: the probe writes at most
/// `--total` keys of `--value-size` bytes into a fresh member (the default load, 100 000 keys of
/// 256 bytes, is 25 MB before bbolt's overhead); 256 MiB leaves room for bbolt's page overhead and
/// the free pages a compaction leaves behind.
pub const ETCD_DB_ALLOWANCE_BYTES: u64 = 256 << 20;

/// How much free space a run must leave: `--min-free SIZE|PCT`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MinFree {
    /// max(10 %, 2 GiB)
    #[default]
    Default,
    Bytes(u64),
    /// A share of the file system's size, in percent.
    Percent(f64),
}

impl std::str::FromStr for MinFree {
    type Err = Error;
    fn from_str(text: &str) -> Result<MinFree, Error> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(MinFree::Percent(v)),
                _ => Err(Error::Invalid(format!(
                    "--min-free '{text}': a percentage must be between 0% and 100%"
                ))),
            };
        }
        crate::util::units::parse_size(t)
            .map(MinFree::Bytes)
            .map_err(|_| {
                Error::Invalid(format!(
                    "--min-free '{text}': expected a size (e.g. 2g, 0) or a percentage (e.g. 10%)"
                ))
            })
    }
}

impl MinFree {
    /// The bytes to keep free on a file system of `total` bytes.
    pub fn bytes(self, total: u64) -> u64 {
        let share = |p: f64| (total as f64 * p / 100.0).ceil() as u64;
        match self {
            MinFree::Default => share(DEFAULT_PERCENT).max(DEFAULT_FLOOR_BYTES),
            MinFree::Bytes(b) => b,
            MinFree::Percent(p) => share(p),
        }
    }

    /// `--min-free 0` (or 0%): the user turned the check off.
    pub fn is_off(self) -> bool {
        matches!(self, MinFree::Bytes(0)) || matches!(self, MinFree::Percent(p) if p == 0.0)
    }

    fn describe(self) -> String {
        match self {
            MinFree::Default => "max(10 %, 2 GiB), the default".to_string(),
            MinFree::Bytes(b) => format!("--min-free {}", format_bytes(b as f64)),
            MinFree::Percent(p) => format!("--min-free {p}%"),
        }
    }
}

/// What a run will put in one directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Need {
    /// Scratch files not there yet (bytes).
    pub scratch: u64,
    /// Local etcd members whose data dirs go there (embedded: `--members`; cluster: 1).
    pub etcd_members: u32,
}

impl Need {
    pub fn etcd_bytes(&self) -> u64 {
        self.etcd_members as u64 * (ETCD_WAL_PREALLOC_BYTES + ETCD_DB_ALLOWANCE_BYTES)
    }
    pub fn total(&self) -> u64 {
        self.scratch + self.etcd_bytes()
    }
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.scratch > 0 || self.etcd_members == 0 {
            parts.push(format!(
                "scratch files {}",
                format_bytes(self.scratch as f64)
            ));
        }
        if self.etcd_members > 0 {
            parts.push(format!(
                "etcd {} member(s) × ({} WAL preallocation + {} database allowance)",
                self.etcd_members,
                format_bytes(ETCD_WAL_PREALLOC_BYTES as f64),
                format_bytes(ETCD_DB_ALLOWANCE_BYTES as f64)
            ));
        }
        parts.join(", ")
    }
}

/// The file system's size and what an unprivileged writer may still use of it.
fn space(dir: &Path) -> Result<(u64, u64), Error> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(|e| Error::io(dir, e.into()))?;
    let frag = s.fragment_size() as u64;
    Ok((s.blocks() as u64 * frag, s.blocks_available() as u64 * frag))
}

/// Does the file system holding `dir` state no size at all (ramfs, some FUSE file systems)? Then
/// there is no figure to check against, and none is made up.
pub fn size_unknown(dir: &Path) -> Result<bool, Error> {
    Ok(space(dir)?.0 == 0)
}

/// Refuse, naming the figures, a run whose need in `dir` would leave less than `min` free. A file
/// system that states no size is not checked, nor is anything with `--min-free 0` (a disk meant to
/// fill, as the fault tests fill one).
pub fn check(dir: &Path, need: &Need, min: MinFree) -> Result<(), Error> {
    let (total, free) = space(dir)?;
    if total == 0 || min.is_off() {
        return Ok(());
    }
    let keep = min.bytes(total);
    if free >= need.total().saturating_add(keep) {
        return Ok(());
    }
    Err(Error::Headroom {
        dir: dir.to_path_buf(),
        text: format!(
            "{} free of {}; this run needs {} ({}) and keeps {} free ({}) so etcd on this disk never meets a full one; free space, point --directory elsewhere, or lower --min-free (0 turns it off)",
            format_bytes(free as f64),
            format_bytes(total as f64),
            format_bytes(need.total() as f64),
            need.describe(),
            format_bytes(keep as f64),
            min.describe()
        ),
    })
}

/// Sum the needs of several places by file system directory (canonical path), as `check` wants them.
pub fn add(needs: &mut Vec<(PathBuf, Need)>, dir: &Path, need: Need) {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    match needs.iter_mut().find(|(d, _)| *d == canon) {
        Some((_, n)) => {
            n.scratch += need.scratch;
            n.etcd_members += need.etcd_members;
        }
        None => needs.push((canon, need)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_free_reads_sizes_and_percentages_and_refuses_the_rest() {
        assert_eq!("0".parse::<MinFree>().unwrap(), MinFree::Bytes(0));
        assert_eq!("2g".parse::<MinFree>().unwrap(), MinFree::Bytes(2 << 30));
        assert_eq!("15%".parse::<MinFree>().unwrap(), MinFree::Percent(15.0));
        for bad in ["", "-1", "150%", "x%", "lots"] {
            assert!(bad.parse::<MinFree>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_is_the_larger_of_ten_percent_and_two_gib() {
        assert_eq!(MinFree::Default.bytes(1 << 30), 2 << 30);
        assert_eq!(MinFree::Default.bytes(100 << 30), 10 << 30);
        assert_eq!(MinFree::Percent(0.0).bytes(100 << 30), 0);
    }
}
