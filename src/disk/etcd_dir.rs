//! etcd data directories near a `--directory`. nodefit never writes into the data directory of a
//! running etcd (nor below it), and does not put its files beside an etcd's `member/`: there it
//! works in a subdirectory of its own ([`crate::util::scratch::create_scratch_dir`],
//! `nodefit-work-<run id>`), removed when the run ends and swept if the run is killed.
//!
//! A running etcd holds a lock on its newest WAL file (`member/wal/*.wal`: an open-file-description
//! lock on Linux, `flock` where those are missing): that is what tells a live etcd's data from a
//! stopped one's.

use crate::error::Error;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where a run may put its files, given the etcd data directories around `--directory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// No etcd data directory here: write in `--directory` itself.
    Here,
    /// `--directory` is (or holds, or is inside) a stopped etcd's data directory: write in a
    /// subdirectory of nodefit's own instead of beside its `member/`.
    OwnSubdirectory { etcd_data: PathBuf },
}

/// An etcd data directory is one that holds `member/`.
fn is_etcd_data(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join("member")).is_ok_and(|m| m.is_dir())
}

/// Does a process hold a lock on one of `data`'s WAL files?
pub fn etcd_is_running_on(data: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(data.join("member/wal")) else {
        return false;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
        .any(|e| is_locked(&e.path()))
}

fn is_locked(path: &Path) -> bool {
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    else {
        return false;
    };
    // An OFD or POSIX write lock held by anyone conflicts with the read lock asked about here.
    let mut probe = libc::flock {
        l_type: libc::F_RDLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    if nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_OFD_GETLK(&mut probe)).is_ok()
        && probe.l_type != libc::F_UNLCK as libc::c_short
    {
        return true;
    }
    matches!(f.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock))
}

/// Decide where a run writes, or refuse `dir` when it is or is inside a running etcd's data
/// directory.
/// A directory that can't be read is `Here`: the run's own checks name its problem.
pub fn placement(dir: &Path) -> Result<Placement, Error> {
    let Ok(canon) = dir.canonicalize() else {
        return Ok(Placement::Here);
    };
    let above: Vec<&Path> = canon.ancestors().filter(|a| is_etcd_data(a)).collect();
    if let Some(data) = above.iter().find(|a| etcd_is_running_on(a)) {
        let what = if *data == canon {
            "is the data directory of a running etcd".to_string()
        } else {
            format!(
                "is inside {}, the data directory of a running etcd",
                data.display()
            )
        };
        return Err(Error::LiveEtcd(format!(
            "--directory {} {what} (its WAL files are locked); nodefit never writes there — pass a directory on the same disk outside it, e.g. a new one beside {}",
            dir.display(),
            data.display()
        )));
    }
    if let Some(data) = above.first() {
        return Ok(Placement::OwnSubdirectory {
            etcd_data: data.to_path_buf(),
        });
    }
    let Ok(entries) = std::fs::read_dir(&canon) else {
        return Ok(Placement::Here);
    };
    let child_data = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .find(|p| is_etcd_data(p));
    Ok(match child_data {
        Some(etcd_data) => Placement::OwnSubdirectory { etcd_data },
        None => Placement::Here,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_etcds_data_is_worked_around_and_a_plain_directory_used_as_is() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(placement(t.path()).unwrap(), Placement::Here);
        std::fs::create_dir_all(t.path().join("data/member/wal")).unwrap();
        std::fs::write(t.path().join("data/member/wal/0.wal"), b"w").unwrap();
        let data = t.path().canonicalize().unwrap().join("data");
        for d in [
            t.path().to_path_buf(),
            t.path().join("data"),
            t.path().join("data/member"),
        ] {
            assert_eq!(
                placement(&d).unwrap(),
                Placement::OwnSubdirectory {
                    etcd_data: data.clone()
                },
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_locked_wal_file_means_a_running_etcd() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("member/wal")).unwrap();
        let wal = t.path().join("member/wal/0.wal");
        std::fs::write(&wal, b"w").unwrap();
        assert!(!etcd_is_running_on(t.path()));
        let held = std::fs::File::open(&wal).unwrap();
        held.lock().unwrap();
        assert!(etcd_is_running_on(t.path()));
        let e = placement(&t.path().join("member")).unwrap_err().to_string();
        assert!(e.contains("running etcd"), "{e}");
    }
}
