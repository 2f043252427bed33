//! Ownership of what nodefit leaves in a directory, so a run killed outright (SIGKILL, OOM, reboot)
//! never leaves the etcd disk filling up — and a sweep never removes anything else.
//!
//! Every run that writes into a directory first holds a *run record* there: `.nodefit-run-<id>.lock`,
//! created already locked (`flock`, released by the kernel when the process dies, however it dies)
//! and listing each entry the run is about to create (`- NAME`) and, once created, which file it is
//! (`= DEV INO NAME`). Everything the run creates carries the mark `user.nodefit.scratch = run:<id>`
//! (an extended attribute) where the file system has them.
//!
//! A leftover of a run whose record is not locked by a live process is: a file or
//! `nodefit-etcd-*` / `nodefit-cluster-*` directory marked as that run's, or an entry its record
//! identified. Either way it must be owned by the running user; a record is believed only when it is
//! a plain file the running user owns and nobody else may write, and only for entries named as
//! nodefit names them (never `..`, never a path), still the device and inode it recorded, and marked
//! as that run's where the file system has marks. Removal goes through the directory's descriptor
//! ([`super::unlink_at`]): never through a symlink, never across a mount. Files kept on purpose
//! (`--keep`) are marked `kept` and are not leftovers.

use super::unlink_at::{self, Identity};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

/// The extended attribute that marks nodefit's own files and directories.
pub const MARK_XATTR: &str = "user.nodefit.scratch";
const RECORD_PREFIX: &str = ".nodefit-run-";
const RECORD_SUFFIX: &str = ".lock";
/// A record this young is never taken for dead: its run may be between creating and locking it.
const RECORD_GRACE: Duration = Duration::from_secs(10);
const ETCD_DIR_PREFIX: &str = "nodefit-etcd-";
/// A cluster run's member data dir (`nodefit etcd --cluster`).
const CLUSTER_DIR_PREFIX: &str = "nodefit-cluster-";
/// A run's own working subdirectory, where `--directory` holds etcd data (`disk::etcd_dir`).
pub const WORK_DIR_PREFIX: &str = "nodefit-work-";
/// Far more than any run lists; a larger "record" is read no further.
const MAX_RECORD_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("cannot create nodefit's run record in {dir}: {cause}")]
    Record { dir: PathBuf, cause: std::io::Error },
    #[error("cannot read directory {dir}: {cause}")]
    ReadDir { dir: PathBuf, cause: std::io::Error },
    #[error("cannot remove {path}: {cause}")]
    Remove {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// This process's run id: one per process, shared by every directory it writes to, the embedded
/// etcd's data dir and its default key prefix.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let r: u32 = rand::RngExt::random(&mut rand::rng());
        format!("{secs:x}-{r:08x}")
    })
}

/// What a mark says about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Created by the run with this id.
    Run(String),
    /// Kept on purpose (`--keep`), or marked by a nodefit that did not record runs: never a leftover.
    Kept,
}

impl Mark {
    fn parse(v: &[u8]) -> Mark {
        match std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.strip_prefix("run:"))
        {
            Some(id) if !id.is_empty() => Mark::Run(id.to_string()),
            _ => Mark::Kept,
        }
    }
}

/// The mark on `path` (not following a symlink): `Ok(None)` when unmarked, `Err` when the file
/// system has no extended attributes.
pub fn read_mark(path: &Path) -> Result<Option<Mark>, std::io::Error> {
    let c = cstr(path)?;
    let name = cname();
    let mut buf = [0u8; 128];
    // SAFETY: valid C strings and a buffer of the given length.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    if n >= 0 {
        return Ok(Some(Mark::parse(&buf[..n as usize])));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENODATA) => Ok(None),
        _ => Err(e),
    }
}

/// Mark `path` (a file or directory nodefit created) as this run's. Best effort: a file system
/// without user extended attributes relies on the run record's list instead.
pub fn mark_path(path: &Path, mark: &Mark) {
    let value = match mark {
        Mark::Run(id) => format!("run:{id}"),
        Mark::Kept => "kept".to_string(),
    };
    let (Ok(c), name) = (cstr(path), cname()) else {
        return;
    };
    // SAFETY: valid C strings and value buffer.
    unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            name.as_ptr(),
            value.as_ptr() as *const libc::c_void,
            value.len(),
            0,
        );
    }
}

fn cstr(path: &Path) -> Result<std::ffi::CString, std::io::Error> {
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn cname() -> std::ffi::CString {
    std::ffi::CString::new(MARK_XATTR).unwrap_or_default()
}

/// A run's claim on a directory: the locked record. Dropping the last handle removes the record
/// (after the run has removed what it created).
#[derive(Debug)]
pub struct RunRecord {
    dir: PathBuf,
    path: PathBuf,
    file: Mutex<File>,
}

impl RunRecord {
    /// Claim `dir` for this process's run (one record per directory and process; later claims of the
    /// same directory share it).
    pub fn claim(dir: &Path) -> Result<Arc<RunRecord>, ScratchError> {
        static CLAIMS: OnceLock<Mutex<HashMap<PathBuf, Weak<RunRecord>>>> = OnceLock::new();
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let claims = CLAIMS.get_or_init(Default::default);
        let mut claims = claims.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = claims.get(&key).and_then(Weak::upgrade) {
            return Ok(r);
        }
        let r = Arc::new(Self::create(&key)?);
        claims.insert(key, Arc::downgrade(&r));
        Ok(r)
    }

    fn create(dir: &Path) -> Result<RunRecord, ScratchError> {
        let err = |cause| ScratchError::Record {
            dir: dir.to_path_buf(),
            cause,
        };
        let id = run_id();
        let path = dir.join(format!("{RECORD_PREFIX}{id}{RECORD_SUFFIX}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(err)?;
        // Between this create and the lock another run's scan would see an unlocked record: it
        // leaves records younger than RECORD_GRACE alone. The lock lives as long as `file` is open.
        match file.try_lock() {
            Ok(()) => {}
            // File systems without flock (some FUSE, NFS without lockd) fall back to the pid and
            // start time written below.
            Err(std::fs::TryLockError::Error(e)) if locks_unsupported(&e) => {}
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(err(e.into()));
            }
        }
        let mut f = &file;
        let pid = std::process::id();
        let start = process_start_time(pid).unwrap_or_default();
        writeln!(f, "# nodefit run {id} pid {pid} start {start}")
            .and_then(|()| f.sync_data())
            .map_err(err)?;
        Ok(RunRecord {
            dir: dir.to_path_buf(),
            path,
            file: Mutex::new(file),
        })
    }

    pub fn id(&self) -> &'static str {
        run_id()
    }

    /// Note `path` (its last component: the record sits in the same directory) before creating it,
    /// so a later run sees what this one was about to make. Only [`RunRecord::identify`] makes it
    /// removable.
    pub fn note(&self, path: &Path) -> Result<(), std::io::Error> {
        let name = path.file_name().unwrap_or(path.as_os_str());
        self.append(&[b"- ", name.as_bytes()])
    }

    /// Record which file `path` is, right after creating it (from its open descriptor): a later
    /// sweep removes a listed entry only while it is still this device and inode.
    pub fn identify(&self, path: &Path, id: Identity) -> Result<(), std::io::Error> {
        let name = path.file_name().unwrap_or(path.as_os_str());
        let head = format!("= {} {} ", id.dev, id.ino);
        self.append(&[head.as_bytes(), name.as_bytes()])
    }

    fn append(&self, parts: &[&[u8]]) -> Result<(), std::io::Error> {
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut line = parts.concat();
        line.push(b'\n');
        f.write_all(&line)?;
        f.sync_data()
    }

    /// The mark this run puts on what it creates.
    pub fn mark(&self) -> Mark {
        Mark::Run(run_id().to_string())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Create `dir/name` as this run's scratch directory (an etcd data dir): noted in the run record
/// before it exists and marked as this run's, so a later run (or `nodefit clean`) removes it if
/// this process is killed outright. The record lives as long as the returned handle.
pub fn create_scratch_dir(dir: &Path, name: &str) -> Result<(Arc<RunRecord>, PathBuf), String> {
    let record = RunRecord::claim(dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    record
        .note(&path)
        .map_err(|e| format!("cannot record {}: {e}", path.display()))?;
    std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    mark_path(&path, &record.mark());
    std::fs::symlink_metadata(&path)
        .and_then(|md| record.identify(&path, Identity::of_metadata(&md)))
        .map_err(|e| format!("cannot record {}: {e}", path.display()))?;
    Ok((record, path))
}

/// This run's own working directory `dir/nodefit-work-<run id>` (recorded and marked as
/// [`create_scratch_dir`] does): removed with everything in it when dropped.
#[derive(Debug)]
pub struct OwnDir {
    path: PathBuf,
    identity: Identity,
    _record: Arc<RunRecord>,
}

impl OwnDir {
    pub fn create(dir: &Path) -> Result<OwnDir, String> {
        let (record, path) = create_scratch_dir(dir, &format!("{WORK_DIR_PREFIX}{}", run_id()))?;
        let md = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(OwnDir {
            path,
            identity: Identity::of_metadata(&md),
            _record: record,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OwnDir {
    fn drop(&mut self) {
        let (Some(parent), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        if let Ok(fd) = unlink_at::open_dir(parent) {
            let _ = unlink_at::remove_entry(&fd, name, self.identity, running_user());
        }
    }
}

impl Drop for RunRecord {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a leftover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverKind {
    ScratchFile,
    EtcdDataDir,
    /// A run's `nodefit-work-*` directory and what is in it.
    WorkDir,
    RunRecord,
}

/// A leftover of a run whose process is gone.
#[derive(Debug, Clone)]
pub struct Leftover {
    pub path: PathBuf,
    pub kind: LeftoverKind,
    /// Bytes it holds (files in a directory summed; what `du --apparent-size` says).
    pub bytes: u64,
    /// Which file it was when found: removal leaves it alone if the name now holds another.
    pub identity: Identity,
}

fn locks_unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) | Some(libc::ENOLCK)
    )
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with the pid,
/// it names one process even after the pid is reused.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The pid and start time a record names, if it names them.
fn record_owner(f: &File) -> Option<(u32, u64)> {
    use std::io::Read;
    let mut text = String::new();
    f.take(4096).read_to_string(&mut text).ok()?;
    let first = text.lines().next()?;
    let mut words = first.split_whitespace();
    let mut pid = None;
    let mut start = None;
    while let Some(w) = words.next() {
        match w {
            "pid" => pid = words.next().and_then(|v| v.parse().ok()),
            "start" => start = words.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    Some((pid?, start?))
}

/// Is the run record at `path` held by a live process? Locked: yes. Unlocked, or on a file system
/// without locks: the process it names (pid and start time) decides; a record that names none yet
/// is live while young (its run is between creating and locking it).
fn record_is_live(path: &Path) -> bool {
    let Ok(f) = open_record(path) else {
        return false;
    };
    // Our own records are locked through another open file description, so this says "live" for
    // them too.
    match f.try_lock_shared() {
        Err(std::fs::TryLockError::WouldBlock) => return true, // its owner holds it
        Err(std::fs::TryLockError::Error(e)) if !locks_unsupported(&e) => return true,
        _ => {}
    }
    match record_owner(&f) {
        Some((pid, start)) => process_start_time(pid) == Some(start),
        None => std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < RECORD_GRACE),
    }
}

/// Is the run `id` still going, by its record in `dir`?
pub fn run_is_live(dir: &Path, id: &str) -> bool {
    record_is_live(&dir.join(format!("{RECORD_PREFIX}{id}{RECORD_SUFFIX}")))
}

fn id_of_record(name: &str) -> Option<&str> {
    name.strip_prefix(RECORD_PREFIX)?
        .strip_suffix(RECORD_SUFFIX)
}

fn size_of(path: &Path) -> u64 {
    let Ok(md) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if md.is_dir() {
        std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| size_of(&e.path())).sum())
            .unwrap_or(0)
    } else {
        md.len()
    }
}

/// The running user: only what it owns is ever removed.
fn running_user() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Open a run record for reading: never through a symlink, never blocking on a FIFO.
fn open_record(path: &Path) -> Result<File, std::io::Error> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// A run record that may be believed, with its identity and text. Anyone who can write the
/// directory can plant a file with a record's name: only a plain file owned by the running user
/// that nobody else may write speaks for a run of this user's.
fn trusted_record(path: &Path) -> Option<(Identity, Vec<u8>)> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let f = open_record(path).ok()?;
    let md = f.metadata().ok()?;
    if !md.is_file() || md.uid() != running_user() || md.mode() & 0o022 != 0 {
        return None;
    }
    let mut text = Vec::new();
    f.take(MAX_RECORD_BYTES).read_to_end(&mut text).ok()?;
    Some((Identity::of_metadata(&md), text))
}

/// Names nodefit gives what it creates in a directory: `NAME.JOB.0` files (fio's naming; NAME is
/// `nodefit` unless `--name` says otherwise) and `nodefit-etcd-*` / `nodefit-cluster-*` data
/// dirs, `nodefit-work-*` working directories. A record listing anything else (`..`, a path, a stranger's file) is not believed.
/// `--filename` files have a name of the user's choosing: only their mark makes them leftovers.
fn is_nodefit_name(name: &str, is_dir: bool) -> bool {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return false;
    }
    if is_dir {
        return [ETCD_DIR_PREFIX, CLUSTER_DIR_PREFIX, WORK_DIR_PREFIX]
            .iter()
            .any(|p| name.starts_with(p));
    }
    let Some((stem, job)) = name.strip_suffix(".0").and_then(|r| r.rsplit_once('.')) else {
        return false;
    };
    !stem.is_empty() && !job.is_empty() && job.bytes().all(|b| b.is_ascii_digit())
}

/// The entries a record identified after creating them: `= DEV INO NAME` lines.
fn identified(text: &[u8]) -> Vec<(Identity, String)> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let line = std::str::from_utf8(line.strip_prefix(b"= ")?).ok()?;
            let mut words = line.splitn(3, ' ');
            let dev = words.next()?.parse().ok()?;
            let ino = words.next()?.parse().ok()?;
            Some((Identity { dev, ino }, words.next()?.to_string()))
        })
        .collect()
}

/// Is the file at `path` the run `id`'s by its mark? On a file system without extended attributes
/// the record's identity is the only mark there is.
fn marked_as(path: &Path, id: &str) -> bool {
    match read_mark(path) {
        Ok(Some(Mark::Run(m))) => m == id,
        Ok(_) => false,
        Err(e) => matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::ENOSYS)),
    }
}

/// Find the leftovers in `dir` (see the module comment). Reads only; removes nothing.
pub fn find_leftovers(dir: &Path) -> Result<Vec<Leftover>, ScratchError> {
    use std::os::unix::fs::MetadataExt;
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|cause| ScratchError::ReadDir {
            dir: dir.to_path_buf(),
            cause,
        })?
        .flatten()
        .collect();
    let uid = running_user();
    let mut live: Vec<String> = Vec::new();
    let mut dead_records = Vec::new();
    for e in &entries {
        let name = e.file_name();
        let Some(id) = name.to_str().and_then(id_of_record) else {
            continue;
        };
        let path = e.path();
        if record_is_live(&path) {
            live.push(id.to_string());
        } else if let Some((identity, text)) = trusted_record(&path) {
            dead_records.push((id.to_string(), path, identity, text));
        }
    }
    let is_dead = |id: &str| !live.iter().any(|l| l == id);
    let mut out: Vec<Leftover> = Vec::new();
    let mut push = |path: PathBuf, md: &std::fs::Metadata| {
        if out.iter().any(|l| l.path == path) {
            return;
        }
        out.push(Leftover {
            bytes: size_of(&path),
            kind: match path.file_name().and_then(|n| n.to_str()) {
                _ if !md.is_dir() => LeftoverKind::ScratchFile,
                Some(n) if n.starts_with(WORK_DIR_PREFIX) => LeftoverKind::WorkDir,
                _ => LeftoverKind::EtcdDataDir,
            },
            identity: Identity::of_metadata(md),
            path,
        });
    };
    // Marked files and etcd data dirs of dead runs, owned by the running user.
    for e in &entries {
        let path = e.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let is_etcd_dir = md.is_dir()
            && e.file_name()
                .to_str()
                .is_some_and(|n| is_nodefit_name(n, true));
        if !(md.is_file() || is_etcd_dir) || md.uid() != uid {
            continue;
        }
        if let Ok(Some(Mark::Run(id))) = read_mark(&path) {
            if is_dead(&id) {
                push(path, &md);
            }
        }
    }
    // Entries identified in dead records: the same file still, named as nodefit names its own.
    for (id, _, _, text) in &dead_records {
        for (identity, name) in identified(text) {
            let path = dir.join(&name);
            let Ok(md) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let believed = (md.is_file() || md.is_dir())
                && is_nodefit_name(&name, md.is_dir())
                && Identity::of_metadata(&md) == identity
                && md.uid() == uid
                && marked_as(&path, id);
            if believed {
                push(path, &md);
            }
        }
    }
    for (_, record, identity, _) in dead_records {
        out.push(Leftover {
            bytes: size_of(&record),
            path: record,
            kind: LeftoverKind::RunRecord,
            identity,
        });
    }
    // Records last, so an interrupted clean still finds the files next time.
    out.sort_by_key(|l| l.kind == LeftoverKind::RunRecord);
    Ok(out)
}

/// Remove what `find_leftovers` finds, each through the directory's descriptor and only while it is
/// still the file found; returns what was removed.
pub fn remove_leftovers(dir: &Path) -> Result<Vec<Leftover>, ScratchError> {
    let found = find_leftovers(dir)?;
    let fd = unlink_at::open_dir(dir).map_err(|cause| ScratchError::ReadDir {
        dir: dir.to_path_buf(),
        cause,
    })?;
    let uid = running_user();
    let mut removed = Vec::new();
    for l in found {
        let Some(name) = l.path.file_name() else {
            continue;
        };
        match unlink_at::remove_entry(&fd, name, l.identity, uid) {
            Ok(true) => removed.push(l),
            Ok(false) => {}
            Err(cause) => {
                return Err(ScratchError::Remove {
                    path: l.path.clone(),
                    cause,
                })
            }
        }
    }
    Ok(removed)
}

/// One line that says what was (or would be) removed, e.g.
/// `removed leftovers of a killed nodefit run in D: nodefit.0.0 (100.0 MiB), nodefit-etcd-…/ (61.2 MiB)`.
pub fn describe(dir: &Path, leftovers: &[Leftover], verb: &str) -> String {
    let items: Vec<String> = leftovers
        .iter()
        .filter(|l| l.kind != LeftoverKind::RunRecord)
        .map(|l| {
            let name = l
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let slash = if matches!(l.kind, LeftoverKind::EtcdDataDir | LeftoverKind::WorkDir) {
                "/"
            } else {
                ""
            };
            format!(
                "{name}{slash} ({})",
                super::units::format_bytes(l.bytes as f64)
            )
        })
        .collect();
    let records = leftovers.len() - items.len();
    let mut s = format!(
        "{verb} leftovers of killed nodefit runs in {}: ",
        dir.display()
    );
    if items.is_empty() {
        s.push_str(&format!("{records} run record(s)"));
    } else {
        s.push_str(&items.join(", "));
        if records > 0 {
            s.push_str(&format!(" and {records} run record(s)"));
        }
    }
    s
}

/// The run records in `dir` of runs that are still going (their files are theirs, not leftovers).
pub fn live_runs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let live =
                run_is_live(dir, id_of_record(&name)?) && trusted_record(&e.path()).is_some();
            live.then(|| e.path())
        })
        .collect()
}

/// Before a run writes into `dir`: remove the leftovers of killed runs there and say what went, in
/// one line (`None` when there were none). A failure to remove is a warning, not a reason not to run.
pub fn clean_before_run(dir: &Path) -> Option<String> {
    match remove_leftovers(dir) {
        Ok(found) if found.is_empty() => None,
        Ok(found) => Some(describe(dir, &found, "removed")),
        Err(ScratchError::ReadDir { .. }) => None, // the run's own checks name the directory's problem
        Err(e) => Some(format!(
            "warning: leftovers of a killed nodefit run remain: {e}"
        )),
    }
}
