//! A real slow disk for tests: a small FUSE passthrough file system (flat: files in one directory)
//! that forwards every operation to a backing directory and holds each fsync/fdatasync for a set
//! time before passing it on. Mounted in the test process with `fuser::spawn_mount2`; unmounted
//! when the returned guard drops.

#![allow(dead_code)]

use fuser::{
    FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Faults to inject, armed from the test while the file system is mounted: after `n` more
/// successful writes (or flushes), every following one fails with EIO, as a dying disk's would.
/// Negative means never.
#[derive(Debug)]
pub struct Faults {
    writes_before_eio: AtomicI64,
    fsyncs_before_eio: AtomicI64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            writes_before_eio: AtomicI64::new(-1),
            fsyncs_before_eio: AtomicI64::new(-1),
        }
    }
}

impl Faults {
    pub fn eio_on_write_after(&self, n: i64) {
        self.writes_before_eio.store(n, Ordering::SeqCst);
    }
    pub fn eio_on_fsync_after(&self, n: i64) {
        self.fsyncs_before_eio.store(n, Ordering::SeqCst);
    }
    /// Count one operation against `budget`; true when it must fail.
    fn trips(budget: &AtomicI64) -> bool {
        let left = budget.load(Ordering::SeqCst);
        if left < 0 {
            return false;
        }
        if left == 0 {
            return true;
        }
        budget.fetch_sub(1, Ordering::SeqCst);
        false
    }
}

const TTL: Duration = Duration::from_secs(0);
const ROOT: u64 = 1;

/// The file system: names in the backing directory get inode numbers on first sight.
pub struct SlowFs {
    backing: PathBuf,
    fsync_delay: Duration,
    inodes: HashMap<u64, String>,
    names: HashMap<String, u64>,
    next_ino: u64,
    open: HashMap<u64, File>,
    next_fh: u64,
    faults: Arc<Faults>,
}

impl SlowFs {
    pub fn new(backing: &Path, fsync_delay: Duration) -> SlowFs {
        SlowFs {
            backing: backing.to_path_buf(),
            fsync_delay,
            inodes: HashMap::new(),
            names: HashMap::new(),
            next_ino: 2,
            open: HashMap::new(),
            next_fh: 1,
            faults: Arc::new(Faults::default()),
        }
    }

    fn ino_for(&mut self, name: &str) -> u64 {
        if let Some(i) = self.names.get(name) {
            return *i;
        }
        let i = self.next_ino;
        self.next_ino += 1;
        self.names.insert(name.to_string(), i);
        self.inodes.insert(i, name.to_string());
        i
    }

    fn path(&self, ino: u64) -> Option<PathBuf> {
        if ino == ROOT {
            return Some(self.backing.clone());
        }
        self.inodes.get(&ino).map(|n| self.backing.join(n))
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, i32> {
        let p = self.path(ino).ok_or(libc::ENOENT)?;
        let md = std::fs::metadata(&p).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        let t = |s: i64| SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64);
        Ok(FileAttr {
            ino,
            size: md.len(),
            blocks: md.blocks(),
            atime: t(md.atime()),
            mtime: t(md.mtime()),
            ctime: t(md.ctime()),
            crtime: t(md.ctime()),
            kind: if md.is_dir() {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: (md.mode() & 0o7777) as u16,
            nlink: md.nlink() as u32,
            uid: md.uid(),
            gid: md.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn open_file(&mut self, ino: u64, flags: i32) -> Result<u64, i32> {
        let p = self.path(ino).ok_or(libc::ENOENT)?;
        let acc = flags & libc::O_ACCMODE;
        let f = std::fs::OpenOptions::new()
            .read(acc == libc::O_RDONLY || acc == libc::O_RDWR)
            .write(acc == libc::O_WRONLY || acc == libc::O_RDWR)
            .open(&p)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        let fh = self.next_fh;
        self.next_fh += 1;
        self.open.insert(fh, f);
        Ok(fh)
    }
}

fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Filesystem for SlowFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str().filter(|_| parent == ROOT) else {
            return reply.error(libc::ENOENT);
        };
        if !self.backing.join(name).exists() {
            return reply.error(libc::ENOENT);
        }
        let ino = self.ino_for(name);
        match self.attr(ino) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        if let (Some(size), Some(p)) = (size, self.path(ino)) {
            let r = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .and_then(|f| f.set_len(size));
            if let Err(e) = r {
                return reply.error(errno(e));
            }
        }
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let Some(name) = name.to_str().filter(|_| parent == ROOT) else {
            return reply.error(libc::ENOENT);
        };
        match std::fs::remove_file(self.backing.join(name)) {
            Ok(()) => {
                if let Some(i) = self.names.remove(name) {
                    self.inodes.remove(&i);
                }
                reply.ok()
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        match self.open_file(ino, flags) {
            Ok(fh) => reply.opened(fh, 0),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let Some(name) = name.to_str().filter(|_| parent == ROOT) else {
            return reply.error(libc::EINVAL);
        };
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.backing.join(name);
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).mode(mode & 0o7777);
        if flags & libc::O_EXCL != 0 {
            o.create_new(true);
        } else {
            o.create(true);
        }
        if let Err(e) = o.open(&p) {
            return reply.error(errno(e));
        }
        let ino = self.ino_for(name);
        let fh = match self.open_file(ino, libc::O_RDWR) {
            Ok(fh) => fh,
            Err(e) => return reply.error(e),
        };
        match self.attr(ino) {
            Ok(a) => reply.created(&TTL, &a, 0, fh, 0),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let Some(f) = self.open.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        let mut buf = vec![0u8; size as usize];
        match f.read_at(&mut buf, offset.max(0) as u64) {
            Ok(n) => reply.data(&buf[..n]),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        if Faults::trips(&self.faults.writes_before_eio) {
            return reply.error(libc::EIO);
        }
        let Some(f) = self.open.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        match f.write_all_at(data, offset.max(0) as u64) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _lo: u64, reply: ReplyEmpty) {
        reply.ok()
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.open.remove(&fh);
        reply.ok()
    }

    /// The slow part: every fsync and fdatasync waits `fsync_delay`, then reaches the backing file.
    fn fsync(&mut self, _req: &Request<'_>, _ino: u64, fh: u64, datasync: bool, reply: ReplyEmpty) {
        std::thread::sleep(self.fsync_delay);
        if Faults::trips(&self.faults.fsyncs_before_eio) {
            return reply.error(libc::EIO);
        }
        let Some(f) = self.open.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        let r = if datasync {
            f.sync_data()
        } else {
            f.sync_all()
        };
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn fallocate(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        length: i64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let Some(f) = self.open.get(&fh) else {
            return reply.error(libc::EBADF);
        };
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor and plain integer arguments.
        let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, offset, length) };
        if r == 0 {
            reply.ok()
        } else {
            reply.error(errno(std::io::Error::last_os_error()))
        }
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        if ino != ROOT {
            return reply.error(libc::ENOTDIR);
        }
        let mut entries: Vec<(u64, FileType, String)> = vec![
            (ROOT, FileType::Directory, ".".into()),
            (ROOT, FileType::Directory, "..".into()),
        ];
        let names: Vec<String> = std::fs::read_dir(&self.backing)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for n in names {
            let i = self.ino_for(&n);
            entries.push((i, FileType::RegularFile, n));
        }
        for (k, (i, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(i, (k + 1) as i64, kind, name) {
                break;
            }
        }
        reply.ok()
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        match nix::sys::statvfs::statvfs(&self.backing) {
            Ok(s) => reply.statfs(
                s.blocks(),
                s.blocks_free(),
                s.blocks_available(),
                s.files(),
                s.files_free(),
                s.block_size() as u32,
                255,
                s.fragment_size() as u32,
            ),
            Err(e) => reply.error(e as i32),
        }
    }

    fn access(&mut self, _req: &Request<'_>, _ino: u64, _mask: i32, reply: ReplyEmpty) {
        reply.ok()
    }
}

/// Why a FUSE mount cannot be made here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new("/dev/fuse").exists() {
        return Some("/dev/fuse is missing".into());
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (mounting FUSE needs root or fusermount3 here)".into());
    }
    None
}

/// A mounted SlowFs; unmounts on drop.
pub struct Mounted {
    pub mountpoint: PathBuf,
    /// Arm faults here while mounted.
    pub faults: Arc<Faults>,
    _session: fuser::BackgroundSession,
}

/// Mount a SlowFs over `mountpoint`, backed by `backing`, delaying each flush by `delay`.
pub fn mount(backing: &Path, mountpoint: &Path, delay: Duration) -> std::io::Result<Mounted> {
    let fs = SlowFs::new(backing, delay);
    let faults = fs.faults.clone();
    let session = fuser::spawn_mount2(
        fs,
        mountpoint,
        &[
            MountOption::FSName("slowfs".into()),
            MountOption::Subtype("slowfs".into()),
            MountOption::RW,
        ],
    )?;
    // Wait until the mount is visible (the kernel answers the first stat through us).
    for _ in 0..100 {
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if mi.contains(&mountpoint.display().to_string()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Mounted {
        mountpoint: mountpoint.to_path_buf(),
        faults,
        _session: session,
    })
}
