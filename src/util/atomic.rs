//! Output files written so that a crash never leaves half a file: the bytes go to a temporary file
//! in the same directory, are fsynced, and are renamed over the target (then the directory is
//! fsynced). `report` and `trend` therefore only ever see whole documents. A symbolic link at the
//! output path is refused rather than followed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn refuse_link(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a symbolic link; nodefit does not write through links (name the target itself)",
        )),
        Ok(md) if md.is_dir() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a directory",
        )),
        _ => Ok(()),
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let r: u32 = rand::RngExt::random(&mut rand::rng());
    parent_of(path).join(format!(
        ".{name}.nodefit-tmp-{}-{r:08x}",
        std::process::id()
    ))
}

/// Write `bytes` to `path` atomically (see the module comment).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    refuse_link(path)?;
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself must reach the disk too.
        if let Ok(d) = std::fs::File::open(parent_of(path)) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    if result.is_ok() {
        remove_stale_temps(path);
    }
    result
}

/// Temp files of earlier writes to the same path whose writer was killed mid-write: the pid in
/// their name no longer runs.
fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.nodefit-tmp-");
    let Ok(entries) = std::fs::read_dir(parent_of(path)) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Check now, before minutes of measuring, that `path` can be written: not a link, and its
/// directory takes a new file. Leaves nothing behind.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    refuse_link(path)?;
    let tmp = temp_name(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    std::fs::remove_file(&tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("result.json");
        write(&p, b"first").unwrap();
        write(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_a_symlink_and_leaves_its_target_alone() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = d.path().join("out.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write(&link, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(check_writable(&link).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_killed_writers_temp_file_is_removed_by_the_next_write() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("result.json");
        // pid 0 never names a running writer.
        let stale = d.path().join(".result.json.nodefit-tmp-0-deadbeef");
        std::fs::write(&stale, b"half a docu").unwrap();
        let unrelated = d.path().join(".other.json.nodefit-tmp-0-deadbeef");
        std::fs::write(&unrelated, b"x").unwrap();
        write(&p, b"{}").unwrap();
        assert!(!stale.exists());
        assert!(
            unrelated.exists(),
            "only temps of the same output are touched"
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let e = write(Path::new("/nonexistent-nodefit-dir/x.json"), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
