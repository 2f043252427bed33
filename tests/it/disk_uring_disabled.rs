//! With io_uring switched off (kernel.io_uring_disabled=2, as hardened kernels and some container
//! runtimes do), `--ioengine io_uring` must fail with a clear error that suggests the sync engine,
//! and leave nothing behind. A test binary of its own: cargo runs test binaries one after another,
//! so the system-wide switch never overlaps another suite's io_uring runs.

use crate::support::nodefit;

const SWITCH: &str = "/proc/sys/kernel/io_uring_disabled";

/// Restores the switch on drop, also when an assertion fails.
struct Disabled(String);

impl Drop for Disabled {
    fn drop(&mut self) {
        let _ = std::fs::write(SWITCH, &self.0);
    }
}

#[test]
fn io_uring_unavailable_says_so_and_suggests_sync() {
    let Ok(before) = std::fs::read_to_string(SWITCH) else {
        skip!("{SWITCH} does not exist (kernel older than 6.6)");
    };
    if std::fs::write(SWITCH, "2").is_err() {
        skip!("cannot write {SWITCH} (needs root and a writable /proc/sys)");
    }
    let _restore = Disabled(before.trim().to_string());
    let dir = tempfile::tempdir().unwrap();
    let out = nodefit()
        .args([
            "disk",
            "--directory",
            dir.path().to_str().unwrap(),
            "--ioengine",
            "io_uring",
            "--size",
            "64k",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("io_uring is not available"), "{err}");
    assert!(err.contains("--ioengine sync"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "scratch files left"
    );
}
