//! Output files written so that a crash never leaves half a file: the bytes go to a temporary file
//! in the same directory, are fsynced, and are renamed over the target (then the directory is
//! fsynced). `report` and `trend` therefore only ever see whole documents. A symbolic link at the
//! output path is refused rather than followed. A character device or a FIFO there (`--output
//! /dev/null`, a pipe) is written in place, as a shell redirection would: renaming over it would
//! replace the device node with a file. A block device or a socket is refused.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What is at an output path now.
#[derive(Debug, PartialEq)]
enum Target {
    /// Nothing, or a regular file: written atomically.
    File,
    /// A character device or a FIFO: written in place.
    Stream,
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string())
}

fn target_of(path: &Path) -> std::io::Result<Target> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::File),
        Err(e) => return Err(e),
    };
    let t = md.file_type();
    if t.is_symlink() {
        Err(invalid(
            "is a symbolic link; nodefit does not write through links (name the target itself)",
        ))
    } else if t.is_dir() {
        Err(invalid("is a directory"))
    } else if t.is_file() {
        Ok(Target::File)
    } else if t.is_char_device() || t.is_fifo() {
        Ok(Target::Stream)
    } else if t.is_block_device() {
        Err(invalid(
            "is a block device; nodefit never writes to a device it was not asked to measure",
        ))
    } else {
        Err(invalid("is a socket or another special file"))
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
    if target_of(path)? == Target::Stream {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        return f.write_all(bytes).and_then(|()| f.flush());
    }
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
/// directory takes a new file (or, for a device or FIFO, that it may be written; a FIFO is not
/// opened, which would wait for a reader). Leaves nothing behind.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if target_of(path)? == Target::Stream {
        return nix::unistd::access(path, nix::unistd::AccessFlags::W_OK)
            .map_err(|e| std::io::Error::from_raw_os_error(e as i32));
    }
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
    fn a_character_device_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        check_writable(Path::new("/dev/null")).unwrap();
        write(Path::new("/dev/null"), b"discarded").unwrap();
        let md = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(md.file_type().is_char_device(), "/dev/null was replaced");
        // /dev/full fails every write with ENOSPC: the error comes back, the node stays.
        if Path::new("/dev/full").exists() {
            let e = write(Path::new("/dev/full"), b"x").unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
            let md = std::fs::symlink_metadata("/dev/full").unwrap();
            assert!(md.file_type().is_char_device());
        }
    }

    #[test]
    fn a_fifo_gets_the_bytes_and_stays_a_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("out.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        check_writable(&fifo).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write(&fifo, b"{\"complete\": true}").unwrap();
        assert_eq!(reader.join().unwrap(), b"{\"complete\": true}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp file"
        );
    }

    #[test]
    fn a_block_device_is_refused_untouched() {
        use std::os::unix::fs::FileTypeExt;
        let Some(dev) = std::fs::read_dir("/dev").ok().and_then(|d| {
            d.flatten().map(|e| e.path()).find(|p| {
                std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_block_device())
            })
        }) else {
            eprintln!("skipped: no block device under /dev");
            return;
        };
        let e = write(&dev, b"x").unwrap_err();
        assert!(e.to_string().contains("block device"), "{e}");
        assert!(check_writable(&dev).is_err());
    }

    #[test]
    fn a_socket_is_refused_untouched() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("out.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = write(&sock, b"x").unwrap_err();
        assert!(e.to_string().contains("socket"), "{e}");
        assert!(check_writable(&sock).is_err());
        assert!(std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket());
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let e = write(Path::new("/nonexistent-nodefit-dir/x.json"), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
