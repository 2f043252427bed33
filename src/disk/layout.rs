//! Scratch files: where they go, the checks before any byte is written (directory, free space, raw
//! devices, files that aren't ours, O_DIRECT alignment), laying them out as fio does, and removing
//! them afterwards. nodefit writes nowhere else.

use super::headroom::{MinFree, Need};
use crate::error::Error;
use crate::results::spec::{Fallocate, JobSpec, Rw};
use crate::util::scratch::{self, Mark, RunRecord};
use nix::fcntl::{OFlag, PosixFadviseAdvice};
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// One job's file, ready for I/O.
pub struct JobFile {
    pub path: PathBuf,
    pub fd: OwnedFd,
    /// True when nodefit created the file in this run and should remove it.
    pub remove_after: bool,
    /// The access-pattern advice given to the kernel for this file ([`access_hint`]).
    pub access_hint: PosixFadviseAdvice,
}

/// Scratch files created in this run; removes them on drop unless kept, so every exit path —
/// errors, ENOSPC, Ctrl-C — cleans up.
/// The run records of the directories they are in are held until the files are gone, so a
/// concurrent run never takes them for a killed run's leftovers.
#[derive(Default)]
pub struct ScratchFiles {
    created: Vec<PathBuf>,
    keep: bool,
    records: Vec<std::sync::Arc<RunRecord>>,
}

impl ScratchFiles {
    pub fn new(keep: bool) -> Self {
        ScratchFiles {
            created: Vec::new(),
            keep,
            records: Vec::new(),
        }
    }
    fn add(&mut self, p: PathBuf) {
        self.created.push(p);
    }
    pub fn paths(&self) -> &[PathBuf] {
        &self.created
    }
    fn hold(&mut self, record: std::sync::Arc<RunRecord>) {
        if !self
            .records
            .iter()
            .any(|r| std::sync::Arc::ptr_eq(r, &record))
        {
            self.records.push(record);
        }
    }
    pub fn remove_all(&mut self) {
        if self.keep {
            // Kept on purpose: reusable by a later run, never a leftover.
            for p in self.created.drain(..) {
                scratch::mark_path(&p, &Mark::Kept);
            }
            return;
        }
        for p in self.created.drain(..) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

impl Drop for ScratchFiles {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Logical block size of the device holding `path`, from sysfs; `None` when it isn't a block
/// device (tmpfs, overlay, network file systems).
pub fn logical_block_size(path: &Path) -> Option<u64> {
    let st = nix::sys::stat::stat(path).ok()?;
    let (maj, min) = (libc::major(st.st_dev), libc::minor(st.st_dev));
    if maj == 0 {
        return None;
    }
    let base = PathBuf::from(format!("/sys/dev/block/{maj}:{min}"));
    for q in [
        base.join("queue/logical_block_size"),
        base.join("../queue/logical_block_size"),
    ] {
        if let Ok(s) = std::fs::read_to_string(&q) {
            if let Ok(v) = s.trim().parse() {
                return Some(v);
            }
        }
    }
    None
}

/// Bytes available to an unprivileged writer in the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, Error> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(|e| Error::io(dir, e.into()))?;
    Ok(s.blocks_available() as u64 * s.fragment_size() as u64)
}

/// Whether an existing file is nodefit's to reuse: kept on purpose, or this run's. A file marked
/// by a live concurrent run is refused (its owner would remove it under us).
fn ownership(path: &Path) -> Result<bool, Error> {
    match scratch::read_mark(path) {
        Ok(Some(Mark::Kept)) => Ok(true),
        Ok(Some(Mark::Run(id))) if id == scratch::run_id() => Ok(true),
        Ok(Some(Mark::Run(id))) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if scratch::run_is_live(dir, &id) {
                Err(Error::InUse(path.to_path_buf()))
            } else {
                Ok(true)
            }
        }
        Ok(None) | Err(_) => Ok(false),
    }
}

/// Paths of a spec's files: NAME.JOB.0 in the directory, as fio names them, or the one --filename.
pub fn job_paths(spec: &JobSpec) -> Vec<PathBuf> {
    if let Some(f) = &spec.filename {
        return vec![f.clone()];
    }
    let dir = spec.directory.clone().unwrap_or_else(|| PathBuf::from("."));
    (0..spec.numjobs)
        .map(|j| dir.join(format!("{}.{}.0", spec.name, j)))
        .collect()
}

/// Check the target directory before anything is written.
pub fn check_directory(dir: &Path) -> Result<(), Error> {
    let md = std::fs::metadata(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NoDirectory(dir.to_path_buf())
        } else {
            Error::io(dir, e)
        }
    })?;
    if !md.is_dir() {
        return Err(Error::NotADirectory(dir.to_path_buf()));
    }
    if let Err(e) = nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
        return Err(Error::ReadOnly(dir.to_path_buf(), e.desc().to_string()));
    }
    // access() says yes as root on a read-only mount's permissions; statvfs knows the mount flag.
    if let Ok(s) = nix::sys::statvfs::statvfs(dir) {
        if s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
            return Err(Error::ReadOnly(
                dir.to_path_buf(),
                "read-only file system".into(),
            ));
        }
    }
    Ok(())
}

/// Validate every file of every spec and the free space they need (with `min_free` left over),
/// before creating any.
pub fn preflight(specs: &[JobSpec], min_free: MinFree) -> Result<(), Error> {
    let mut need_by_dir: Vec<(PathBuf, u64)> = Vec::new();
    for spec in specs {
        for path in job_paths(spec) {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            check_directory(&dir)?;
            let mut need = spec.size;
            match std::fs::symlink_metadata(&path) {
                Ok(md) => {
                    let ft = md.file_type();
                    if ft.is_block_device() || ft.is_char_device() {
                        return Err(Error::RawDevice(path));
                    }
                    if ft.is_symlink() {
                        return Err(Error::Symlink(path));
                    }
                    if !ft.is_file() {
                        return Err(Error::NotAFile(path));
                    }
                    if !ownership(&path)? && !spec.allow_existing {
                        return Err(Error::ExistingFile(path));
                    }
                    need = need.saturating_sub(md.len());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
            if spec.direct {
                if let Some(lbs) = logical_block_size(&dir) {
                    if spec.bs % lbs != 0 {
                        return Err(Error::DirectAlignment {
                            path: dir.clone(),
                            bs: spec.bs,
                            logical: lbs,
                        });
                    }
                }
            }
            if spec.ioengine == crate::results::spec::EngineKind::Null {
                need = 0;
            }
            let canon = dir.canonicalize().unwrap_or(dir);
            match need_by_dir.iter_mut().find(|(d, _)| *d == canon) {
                Some((_, n)) => *n += need,
                None => need_by_dir.push((canon, need)),
            }
        }
    }
    for (dir, need) in need_by_dir {
        // A file system that states no size (ramfs, some FUSE) has no free figure to hold to.
        if super::headroom::size_unknown(&dir)? {
            continue;
        }
        let free = free_bytes(&dir)?;
        if need > free {
            return Err(Error::NoSpace { dir, need, free });
        }
        let need = Need {
            scratch: need,
            etcd_members: 0,
        };
        super::headroom::check(&dir, &need, min_free)?;
    }
    Ok(())
}

fn open_flags(spec: &JobSpec) -> OFlag {
    // O_NOFOLLOW: a symlink planted at the path after the checks can't redirect the writes.
    let mut f = OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    if spec.direct {
        f |= OFlag::O_DIRECT;
    }
    f
}

/// Create (or reuse) and lay out one job's file, then open it for the workload.
pub fn prepare(spec: &JobSpec, path: &Path, scratch: &mut ScratchFiles) -> Result<JobFile, Error> {
    let exists = path.exists();
    let remove_after = !exists;
    if !exists {
        // Recorded before it exists, so a run killed at any moment leaves nothing unaccounted for.
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let record = RunRecord::claim(&dir).map_err(|e| Error::Scratch(e.to_string()))?;
        record.note(path).map_err(|e| Error::io(path, e))?;
        scratch.hold(record.clone());
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| Error::io(path, e.into()))?;
        scratch.add(path.to_path_buf());
        scratch::mark_path(path, &record.mark());
        let st = nix::sys::stat::fstat(&fd).map_err(|e| Error::io(path, e.into()))?;
        record
            .identify(path, crate::util::unlink_at::Identity::of(&st))
            .map_err(|e| Error::io(path, e))?;
        lay_out(spec, path, &fd)?;
    } else if spec.rw.reads() {
        // A reused file must hold `size` bytes of data before it can be read back.
        let md = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if md.len() < spec.size {
            let fd = nix::fcntl::open(
                path,
                OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )
            .map_err(|e| Error::io(path, e.into()))?;
            fill(path, &fd, md.len(), spec.size, true)?;
        }
    }
    let fd = match nix::fcntl::open(path, open_flags(spec), Mode::empty()) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::EINVAL) if spec.direct => {
            return Err(Error::DirectUnsupported {
                path: path.to_path_buf(),
                err: std::io::Error::from_raw_os_error(libc::EINVAL),
            })
        }
        Err(e) => return Err(Error::io(path, e.into())),
    };
    // fio's invalidate=1: start reads from the device, not from the page cache layout left behind.
    let _ = nix::fcntl::posix_fadvise(
        &fd,
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
    // fio's fadvise_hint=1 (its default), right after the invalidation as in fio's
    // td_io_open_file: without FADV_RANDOM, buffered random reads are served by readahead of
    // their neighbours and measure the page cache, not the disk. Advisory: fio only warns when
    // it fails and carries on, so a refusal here is not an error either. fio applies it with
    // O_DIRECT too, where the page cache is bypassed and it changes nothing.
    let access_hint = access_hint(spec.rw);
    let _ = nix::fcntl::posix_fadvise(&fd, 0, spec.size as i64, access_hint);
    Ok(JobFile {
        path: path.to_path_buf(),
        fd,
        remove_after,
        access_hint,
    })
}

/// The access-pattern advice fio gives a file with its default `fadvise_hint=1`: random for
/// random patterns (randread, randwrite, randrw), sequential otherwise.
pub fn access_hint(rw: Rw) -> PosixFadviseAdvice {
    if rw.random() {
        PosixFadviseAdvice::POSIX_FADV_RANDOM
    } else {
        PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL
    }
}

fn lay_out(spec: &JobSpec, path: &Path, fd: &OwnedFd) -> Result<(), Error> {
    if spec.ioengine == crate::results::spec::EngineKind::Null {
        return Ok(());
    }
    if spec.rw.reads() {
        // Reads need data to read: write the file out in full, as fio does.
        return fill(path, fd, 0, spec.size, true);
    }
    match spec.fallocate {
        Fallocate::Native => {
            match nix::fcntl::fallocate(
                fd,
                nix::fcntl::FallocateFlags::empty(),
                0,
                spec.size as i64,
            ) {
                Ok(()) => Ok(()),
                Err(nix::errno::Errno::ENOSPC) => Err(Error::NoSpace {
                    dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
                    need: spec.size,
                    free: free_bytes(path.parent().unwrap_or(Path::new("."))).unwrap_or(0),
                }),
                // File systems without fallocate (some FUSE, NFSv3) grow the file with the writes,
                // which is what fio falls back to as well.
                Err(nix::errno::Errno::EOPNOTSUPP) => Ok(()),
                Err(e) => Err(Error::io(path, e.into())),
            }
        }
        Fallocate::None => Ok(()),
        Fallocate::Zero => fill(path, fd, 0, spec.size, false),
    }
}

/// Write bytes from `from` to `to` (random data or zeros) and fsync.
fn fill(path: &Path, fd: &OwnedFd, from: u64, to: u64, random: bool) -> Result<(), Error> {
    let chunk = 1 << 20;
    let mut buf = vec![0u8; chunk];
    if random {
        use rand::RngExt as _;
        rand::rng().fill(&mut buf[..]);
    }
    let mut off = from;
    while off < to {
        if crate::util::signals::stop_requested() {
            return Err(Error::Interrupted(path.to_path_buf()));
        }
        let n = ((to - off) as usize).min(chunk);
        match nix::sys::uio::pwrite(fd, &buf[..n], off as i64) {
            Ok(w) => off += w as u64,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ENOSPC) => {
                let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
                let free = free_bytes(&dir).unwrap_or(0);
                return Err(Error::NoSpace {
                    dir,
                    need: to - off,
                    free,
                });
            }
            Err(e) => return Err(Error::io(path, e.into())),
        }
    }
    nix::unistd::fsync(fd).map_err(|e| Error::io(path, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::disk::DiskOptions;

    #[test]
    fn access_hint_is_random_for_random_patterns_as_fio() {
        use PosixFadviseAdvice::{POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL};
        for (rw, want) in [
            (Rw::Randread, POSIX_FADV_RANDOM),
            (Rw::Randwrite, POSIX_FADV_RANDOM),
            (Rw::Randrw, POSIX_FADV_RANDOM),
            (Rw::Read, POSIX_FADV_SEQUENTIAL),
            (Rw::Write, POSIX_FADV_SEQUENTIAL),
            (Rw::Rw, POSIX_FADV_SEQUENTIAL),
        ] {
            assert_eq!(access_hint(rw), want, "{rw:?}");
        }
    }

    /// The file a job gets has been given its pattern's advice.
    #[test]
    fn prepared_files_carry_the_access_hint() {
        let dir = tempfile::tempdir().unwrap();
        for (rw, want) in [
            ("randread", PosixFadviseAdvice::POSIX_FADV_RANDOM),
            ("read", PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL),
        ] {
            let spec = JobSpec::resolve(&DiskOptions {
                rw: Some(rw.into()),
                size: Some("64k".into()),
                directory: Some(dir.path().to_path_buf()),
                ..DiskOptions::default()
            })
            .unwrap();
            let mut scratch = ScratchFiles::new(false);
            let path = dir.path().join(rw);
            let f = prepare(&spec, &path, &mut scratch).unwrap();
            assert_eq!(f.access_hint, want, "{rw}");
        }
    }
}
