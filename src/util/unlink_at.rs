//! Removing one entry nodefit made, through the file descriptor of the directory it is in: never
//! following a symbolic link, never crossing into another file system, and only while the entry is
//! still the file nodefit recorded (device and inode) and belongs to the running user. A name
//! swapped after the sweep looked at it (`rm -r` races, planted symlinks) is left alone.

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::UnlinkatFlags;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};

/// Which file a directory entry is: the pair that names it on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
}

impl Identity {
    pub fn of(st: &FileStat) -> Identity {
        Identity {
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }

    pub fn of_metadata(md: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: md.dev(),
            ino: md.ino(),
        }
    }
}

/// Deeper than any tree nodefit makes (an etcd data dir is four levels): a deeper one is not ours.
const MAX_DEPTH: u32 = 16;

/// Open the directory `path` for removals inside it.
pub fn open_dir(path: &std::path::Path) -> std::io::Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
}

/// Remove `name` from the directory open as `dir` if it is still `expected` and owned by `uid`: a
/// file or symlink is unlinked; a directory is emptied through its own descriptor first (entries on
/// another device refuse the removal). `Ok(false)`: gone already, or no longer the recorded file —
/// left alone.
pub fn remove_entry(
    dir: &OwnedFd,
    name: &OsStr,
    expected: Identity,
    uid: u32,
) -> std::io::Result<bool> {
    let st = match nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(nix::errno::Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if Identity::of(&st) != expected || st.st_uid != uid {
        return Ok(false);
    }
    if !is_dir(&st) {
        return unlink(dir, name, UnlinkatFlags::NoRemoveDir);
    }
    let sub = nix::fcntl::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // The name may have been swapped between the stat and the open: the descriptor decides.
    if Identity::of(&nix::sys::stat::fstat(&sub)?) != expected {
        return Ok(false);
    }
    empty_dir(sub, expected.dev, 0)?;
    unlink(dir, name, UnlinkatFlags::RemoveDir)
}

fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

fn unlink(dir: &OwnedFd, name: &OsStr, how: UnlinkatFlags) -> std::io::Result<bool> {
    match nix::unistd::unlinkat(dir, name, how) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ENOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Remove everything inside the directory open as `fd`, which is on device `dev`.
fn empty_dir(fd: OwnedFd, dev: u64, depth: u32) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(std::io::Error::other(format!(
            "deeper than {MAX_DEPTH} levels; not a tree nodefit made"
        )));
    }
    let mut d = nix::dir::Dir::from_fd(fd)?;
    let names: Vec<std::ffi::OsString> = d
        .iter()
        .filter_map(Result::ok)
        .map(|e| {
            use std::os::unix::ffi::OsStrExt;
            OsStr::from_bytes(e.file_name().to_bytes()).to_os_string()
        })
        .filter(|n| n != "." && n != "..")
        .collect();
    let dir_fd = d.as_fd().try_clone_to_owned()?;
    for name in names {
        let st = match nix::sys::stat::fstatat(
            &dir_fd,
            name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => st,
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        if st.st_dev != dev {
            return Err(std::io::Error::other(format!(
                "{} is on another file system (a mount point); not removing across it",
                name.to_string_lossy()
            )));
        }
        if is_dir(&st) {
            let sub = nix::fcntl::openat(
                &dir_fd,
                name.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            empty_dir(sub, dev, depth + 1)?;
            unlink(&dir_fd, &name, UnlinkatFlags::RemoveDir)?;
        } else {
            unlink(&dir_fd, &name, UnlinkatFlags::NoRemoveDir)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn uid() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn a_directory_tree_goes_and_a_symlink_inside_is_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"x").unwrap();
        let tree = t.path().join("nodefit-etcd-x");
        std::fs::create_dir_all(tree.join("m0.etcd/member/wal")).unwrap();
        std::fs::write(tree.join("m0.etcd/member/wal/0.wal"), b"w").unwrap();
        std::os::unix::fs::symlink(outside.path(), tree.join("m0.etcd/link")).unwrap();
        let id = Identity::of_metadata(&std::fs::symlink_metadata(&tree).unwrap());
        let dir = open_dir(t.path()).unwrap();
        assert!(remove_entry(&dir, OsStr::new("nodefit-etcd-x"), id, uid()).unwrap());
        assert!(!tree.exists());
        assert!(outside.path().join("keep").exists());
    }

    #[test]
    fn an_entry_that_is_no_longer_the_recorded_file_is_left_alone() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("nodefit.0.0");
        std::fs::write(&p, b"a").unwrap();
        let id = Identity::of_metadata(&std::fs::symlink_metadata(&p).unwrap());
        // Swapped for another file under the same name.
        std::fs::write(t.path().join("other"), b"b").unwrap();
        std::fs::rename(t.path().join("other"), &p).unwrap();
        let dir = open_dir(t.path()).unwrap();
        assert!(!remove_entry(&dir, OsStr::new("nodefit.0.0"), id, uid()).unwrap());
        assert!(p.exists());
        // Right identity, wrong owner.
        let id = Identity::of_metadata(&std::fs::symlink_metadata(&p).unwrap());
        let owner = std::fs::metadata(&p).unwrap().uid();
        assert!(!remove_entry(&dir, OsStr::new("nodefit.0.0"), id, owner + 1).unwrap());
        assert!(remove_entry(&dir, OsStr::new("nodefit.0.0"), id, owner).unwrap());
        assert!(!p.exists());
    }
}
