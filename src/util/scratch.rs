//! Ownership of what nodefit leaves in a directory, so a run killed outright (SIGKILL, OOM, reboot)
//! never leaves the etcd disk filling up.
//!
//! Every run that writes into a directory first holds a *run record* there: `.nodefit-run-<id>.lock`,
//! created already locked (`flock`, released by the kernel when the process dies, however it dies)
//! and listing each path the run is about to create. Everything the run creates carries the mark
//! `user.nodefit.scratch = run:<id>` (an extended attribute) where the file system has them.
//! A leftover is a marked file or `nodefit-etcd-*` / `nodefit-cluster-*` directory, or a path
//! listed in a record, whose run's record is not locked by a live process. Nothing without the mark (or, on a file system
//! without extended attributes, not listed in a dead run's record) is ever touched; files kept on
//! purpose (`--keep`) are marked `kept` and are not leftovers.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
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
        // leaves records younger than RECORD_GRACE alone.
        // SAFETY: a valid fd; LOCK_NB never blocks. The lock lives as long as `file` is open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            // File systems without flock (some FUSE, NFS without lockd) fall back to the pid and
            // start time written below.
            if !locks_unsupported(&e) {
                let _ = std::fs::remove_file(&path);
                return Err(err(e));
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

    /// Record `path` before creating it, so even a file system without extended attributes lets
    /// a later run find it if this one is killed.
    pub fn note(&self, path: &Path) -> Result<(), std::io::Error> {
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(path.as_os_str().as_bytes())?;
        f.write_all(b"\n")?;
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
    Ok((record, path))
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
    RunRecord,
}

/// A leftover of a run whose process is gone.
#[derive(Debug, Clone)]
pub struct Leftover {
    pub path: PathBuf,
    pub kind: LeftoverKind,
    /// Bytes it holds (files in a directory summed; what `du --apparent-size` says).
    pub bytes: u64,
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
fn record_owner(path: &Path) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
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
    let Ok(f) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    else {
        return false;
    };
    // SAFETY: a valid fd; LOCK_NB never blocks. Our own records are locked through another open
    // file description, so this says "live" for them too.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } != 0
        && !locks_unsupported(&std::io::Error::last_os_error())
    {
        return true; // EWOULDBLOCK: its owner holds it
    }
    match record_owner(path) {
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

/// Find the leftovers in `dir` (see the module comment). Reads only; removes nothing.
pub fn find_leftovers(dir: &Path) -> Result<Vec<Leftover>, ScratchError> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|cause| ScratchError::ReadDir {
            dir: dir.to_path_buf(),
            cause,
        })?
        .flatten()
        .collect();
    let mut live: Vec<String> = Vec::new();
    let mut dead_records: Vec<(String, PathBuf)> = Vec::new();
    let mut out = Vec::new();
    for e in &entries {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = e.path();
        if let Some(id) = id_of_record(name) {
            if record_is_live(&path) {
                live.push(id.to_string());
            } else {
                dead_records.push((id.to_string(), path));
            }
        }
    }
    let is_dead = |id: &str| !live.iter().any(|l| l == id);
    let push = |out: &mut Vec<Leftover>, path: PathBuf, is_dir: bool| {
        if out.iter().any(|l: &Leftover| l.path == path) {
            return;
        }
        out.push(Leftover {
            bytes: size_of(&path),
            kind: if is_dir {
                LeftoverKind::EtcdDataDir
            } else {
                LeftoverKind::ScratchFile
            },
            path,
        });
    };
    // Marked files and etcd data dirs of dead runs.
    for e in &entries {
        let path = e.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let is_etcd_dir = md.is_dir()
            && e.file_name().to_str().is_some_and(|n| {
                n.starts_with(ETCD_DIR_PREFIX) || n.starts_with(CLUSTER_DIR_PREFIX)
            });
        if !(md.is_file() || is_etcd_dir) {
            continue;
        }
        if let Ok(Some(Mark::Run(id))) = read_mark(&path) {
            if is_dead(&id) {
                push(&mut out, path, is_etcd_dir);
            }
        }
    }
    // Paths listed in dead records: marked as that run's, or on a file system without marks.
    for (id, record) in &dead_records {
        let listed = std::fs::read(record).unwrap_or_default();
        for line in listed.split(|b| *b == b'\n') {
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(line));
            // Only direct children of this directory: a record can't send us anywhere else.
            let parent = path.parent().and_then(|p| p.canonicalize().ok());
            if parent.is_none() || parent != dir.canonicalize().ok() {
                continue;
            }
            let Ok(md) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !(md.is_file() || md.is_dir()) {
                continue;
            }
            let ours = match read_mark(&path) {
                Ok(Some(Mark::Run(m))) => &m == id,
                Ok(_) => false,
                Err(_) => true, // no extended attributes here: the record is the mark
            };
            if ours {
                push(&mut out, path, md.is_dir());
            }
        }
        out.push(Leftover {
            path: record.clone(),
            kind: LeftoverKind::RunRecord,
            bytes: size_of(record),
        });
    }
    // Records last, so an interrupted clean still finds the files next time.
    out.sort_by_key(|l| l.kind == LeftoverKind::RunRecord);
    Ok(out)
}

/// Remove what `find_leftovers` finds; returns what was removed.
pub fn remove_leftovers(dir: &Path) -> Result<Vec<Leftover>, ScratchError> {
    let found = find_leftovers(dir)?;
    for l in &found {
        let r = if l.kind == LeftoverKind::EtcdDataDir {
            std::fs::remove_dir_all(&l.path)
        } else {
            std::fs::remove_file(&l.path)
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(cause) => {
                return Err(ScratchError::Remove {
                    path: l.path.clone(),
                    cause,
                })
            }
        }
    }
    Ok(found)
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
            let slash = if l.kind == LeftoverKind::EtcdDataDir {
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
            run_is_live(dir, id_of_record(&name)?).then(|| e.path())
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
