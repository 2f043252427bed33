//! The cluster secret (`--cluster-secret-file`, or the file `NODEFIT_CLUSTER_SECRET_FILE` names):
//! read once, before anything starts, from a file only its owner can read. Never from argv, where
//! every local user would see it in `ps`. What it is for is in `peer_ca`.

use super::ClusterError;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Fewer bytes than this are refused: 16 bytes is 128 bits when they are random.
pub const MIN_SECRET_BYTES: usize = 16;
/// A secret with fewer different byte values than this is refused as not random
/// ("aaaaaaaaaaaaaaaa", "passwordpassword").
pub const MIN_DISTINCT_BYTES: usize = 8;
/// A larger file is refused: it is not a secret file (and /dev/zero would never end).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// How to make a good one, for the error messages.
const HOW: &str =
    "make one with `openssl rand -hex 32 > FILE; chmod 600 FILE` and give every node the same file";

/// The secret's bytes (trailing whitespace and newlines stripped, so `echo`-made files work).
/// Wiped when dropped; never printed (`Debug` says only its length).
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret(Vec<u8>);

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterSecret({} bytes)", self.0.len())
    }
}

impl Drop for ClusterSecret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: b is a valid, aligned &mut u8; volatile so the wipe is not optimised away.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl ClusterSecret {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Read and check the secret file: a regular file owned by the user running nodefit, not
    /// readable or writable by group or others, holding at least [`MIN_SECRET_BYTES`] bytes with
    /// at least [`MIN_DISTINCT_BYTES`] different values. `from` names where the path came from
    /// (the option or the environment variable), for the errors.
    pub fn read(path: &Path, from: &str) -> Result<ClusterSecret, ClusterError> {
        let shown = path.display();
        let bad = |why: String| ClusterError::Invalid(format!("{from} {shown}: {why}"));
        let mut f = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let meta = f.metadata().map_err(|e| bad(e.to_string()))?;
        if !meta.is_file() {
            return Err(bad("not a regular file".into()));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "mode {mode:04o} lets group or others read or change it: chmod 600 it (a secret others can read authenticates nobody)"
            )));
        }
        let euid = nix::unistd::geteuid().as_raw();
        if meta.uid() != euid {
            return Err(bad(format!(
                "owned by uid {}, not by the user running nodefit (uid {euid}), who could change it",
                meta.uid()
            )));
        }
        if meta.len() > MAX_SECRET_FILE_BYTES {
            return Err(bad(format!(
                "{} bytes is no secret file (at most {MAX_SECRET_FILE_BYTES}); {HOW}",
                meta.len()
            )));
        }
        let mut raw = Vec::new();
        f.by_ref()
            .take(MAX_SECRET_FILE_BYTES + 1)
            .read_to_end(&mut raw)
            .map_err(|e| bad(e.to_string()))?;
        let end = raw
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        raw.truncate(end);
        let secret = ClusterSecret(raw);
        if secret.0.len() < MIN_SECRET_BYTES {
            return Err(bad(format!(
                "the secret is {} bytes, fewer than {MIN_SECRET_BYTES}; {HOW}",
                secret.0.len()
            )));
        }
        let mut seen = [false; 256];
        for b in &secret.0 {
            seen[*b as usize] = true;
        }
        let distinct = seen.iter().filter(|s| **s).count();
        if distinct < MIN_DISTINCT_BYTES {
            return Err(bad(format!(
                "the secret has only {distinct} different characters, which is not random; {HOW}"
            )));
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(dir: &Path, name: &str, text: &[u8], mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn reads_a_good_secret_and_strips_the_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = file(d.path(), "s", b"3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1\n", 0o600);
        let s = ClusterSecret::read(&p, "--cluster-secret-file").unwrap();
        assert_eq!(s.bytes(), b"3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1");
        assert_eq!(format!("{s:?}"), "ClusterSecret(32 bytes)");
    }

    #[test]
    fn refuses_open_modes_short_and_weak_secrets() {
        let d = tempfile::tempdir().unwrap();
        let good = b"3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1";
        for (name, text, mode, says) in [
            ("group", &good[..], 0o640, "mode 0640"),
            ("others", &good[..], 0o604, "mode 0604"),
            ("short", &b"3f9c0a7e51d2b8\n"[..], 0o600, "fewer than 16"),
            ("weak", &b"passwordpassword"[..], 0o600, "only 7 different"),
            ("empty", &b"\n\n"[..], 0o600, "0 bytes"),
        ] {
            let p = file(d.path(), name, text, mode);
            let e = ClusterSecret::read(&p, "--cluster-secret-file")
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && !e.contains('\n'), "{name}: {e}");
            assert!(e.contains(&p.display().to_string()), "{e}");
        }
        let e = ClusterSecret::read(d.path(), "--cluster-secret-file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = ClusterSecret::read(&d.path().join("missing"), "--cluster-secret-file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("No such file"), "{e}");
    }
}
