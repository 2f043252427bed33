//! Where a measuring command writes, decided once before anything is written: `--directory`
//! itself, or a subdirectory of the run's own when etcd data is there (a running etcd's data
//! directory is refused; see `disk::etcd_dir`); and the free space the run must leave
//! (`--min-free`, see `disk::headroom`).

use crate::disk::etcd_dir::{placement, Placement};
use crate::disk::headroom::{self, MinFree, Need};
use crate::util::scratch::OwnDir;
use std::path::{Path, PathBuf};

/// The directory a run writes in; a subdirectory of its own goes when this is dropped.
pub struct Workdir {
    pub path: PathBuf,
    _own: Option<OwnDir>,
}

/// Choose where a run given `--directory dir` writes (saying so on stderr when it is not `dir`).
pub fn choose(dir: &Path) -> anyhow::Result<Workdir> {
    match placement(dir)? {
        Placement::Here => Ok(Workdir {
            path: dir.to_path_buf(),
            _own: None,
        }),
        Placement::OwnSubdirectory { etcd_data } => {
            let own = OwnDir::create(dir).map_err(anyhow::Error::msg)?;
            eprintln!(
                "nodefit: {} holds etcd data ({}): working in {} instead of beside it (removed when the run ends)",
                dir.display(),
                etcd_data.display(),
                own.path().display()
            );
            Ok(Workdir {
                path: own.path().to_path_buf(),
                _own: Some(own),
            })
        }
    }
}

/// Refuse a file the user named (`--filename`) inside a running etcd's data directory; such a file
/// is not moved anywhere else.
pub fn refuse_running_etcd(file: &Path) -> anyhow::Result<()> {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.is_dir() {
        placement(parent)?;
    }
    Ok(())
}

/// The environment variable that sets `--min-free` for every run that does not pass it (a fleet's
/// policy; the test suite sets 0 in `.cargo/config.toml`, its runs being on shared build disks).
pub const MIN_FREE_ENV: &str = "NODEFIT_MIN_FREE";

/// `--min-free` as given, else `$NODEFIT_MIN_FREE`, else the default.
pub fn min_free(flag: Option<MinFree>) -> anyhow::Result<MinFree> {
    if let Some(m) = flag {
        return Ok(m);
    }
    match std::env::var(MIN_FREE_ENV) {
        Ok(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("{MIN_FREE_ENV}: {e}")),
        Err(_) => Ok(MinFree::Default),
    }
}

/// Refuse now, naming the figures, a run that would leave less than `min` free where it writes.
pub fn check_headroom(dir: &Path, need: Need, min: Option<MinFree>) -> anyhow::Result<()> {
    headroom::check(dir, &need, min_free(min)?)?;
    Ok(())
}
