//! Which etcd binary the embedded and cluster probes run, and what version it is.
//!
//! Lookup order: the path the user named (`--etcd-bin`, or a profile's `etcd_bin`) wins — they said
//! so in so many words; else `etcd` next to the running nodefit (the tarball carries its pinned etcd
//! there, and `scripts/bundled-etcd.sh` links it next to target/{debug,release}/nodefit); else the
//! first `etcd` on `PATH`. Nothing is installed or started to find it.

use super::EtcdError;
use crate::options::etcd::EtcdOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long `etcd --version` may take before the binary is called broken (a static etcd answers in
/// milliseconds; a hung NFS mount or a wrong-architecture binary under binfmt may not answer at all).
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The etcd binary to run: `explicit` if the user named one, else `etcd` next to this executable,
/// else the first `etcd` on `PATH`. The error names every place tried.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, EtcdError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("etcd")));
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path_var).map(|d| d.join("etcd"));
    if let Some(found) = beside
        .iter()
        .cloned()
        .chain(on_path)
        .find(|p| is_executable(p))
    {
        return Ok(found);
    }
    let beside = beside.map_or_else(
        || "next to nodefit (its own path is unreadable)".to_string(),
        |p| p.display().to_string(),
    );
    Err(EtcdError::BinaryNotFound {
        beside,
        path: path_var.to_string_lossy().into_owned(),
    })
}

impl EtcdOptions {
    /// The etcd binary this probe runs: `--etcd-bin` if given, else as [`locate`] finds it.
    pub fn etcd_binary(&self) -> Result<PathBuf, EtcdError> {
        locate(self.etcd_bin.as_deref())
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line `bin --version` prints ("etcd Version: 3.5.1"), within [`VERSION_TIMEOUT`].
pub fn version_line(bin: &Path) -> Result<String, EtcdError> {
    version_line_within(bin, VERSION_TIMEOUT)
}

fn version_line_within(bin: &Path, timeout: Duration) -> Result<String, EtcdError> {
    let mut cmd = Command::new(bin);
    cmd.arg("--version");
    let out =
        crate::util::subprocess::output_within(&mut cmd, timeout).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                EtcdError::BinaryMissing(bin.display().to_string())
            }
            std::io::ErrorKind::TimedOut => EtcdError::Embedded(format!(
                "{} --version did not answer within {:?}",
                bin.display(),
                timeout
            )),
            _ => EtcdError::Embedded(format!("cannot run {}: {e}", bin.display())),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The line is printed and recorded: no escape sequence from an unknown binary reaches a terminal.
    Ok(crate::util::text::printable(
        text.lines()
            .next()
            .unwrap_or("etcd (unknown version)")
            .trim(),
    ))
}

/// The version number in a `--version` line: "etcd Version: 3.5.1" → "3.5.1"; the line itself when
/// it has no such shape (an etcd built differently still gets compared, by its whole line).
pub fn version_number(line: &str) -> &str {
    line.rsplit_once("Version:").map_or(line, |(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_even_when_missing() {
        let p = Path::new("/nonexistent/etcd");
        assert_eq!(locate(Some(p)).unwrap(), p);
    }

    #[test]
    fn version_number_of_etcd_lines() {
        assert_eq!(version_number("etcd Version: 3.5.1"), "3.5.1");
        assert_eq!(version_number("etcd Version: 3.4.23"), "3.4.23");
        assert_eq!(version_number("something else"), "something else");
    }

    #[test]
    fn version_line_of_a_missing_binary_is_binary_missing() {
        let e = version_line(Path::new("/nonexistent/etcd")).unwrap_err();
        assert!(matches!(e, EtcdError::BinaryMissing(_)), "{e}");
    }

    #[test]
    fn version_line_times_out_on_a_binary_that_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("etcd");
        std::fs::write(&fake, "#!/bin/sh\nexec sleep 60\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = std::time::Instant::now();
        let e = version_line_within(&fake, Duration::from_millis(300)).unwrap_err();
        assert!(e.to_string().contains("did not answer"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}
