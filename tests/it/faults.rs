//! Hostile disks, made real: a FUSE file system that starts failing writes or flushes with EIO
//! mid-run, and a tiny loop-device file system that fills up under the embedded etcd. Each fault
//! must end in one clear line on stderr, a partial result marked `complete: false` where there is
//! one, nothing left behind, exit 2 — and never a panic.

use crate::support::nodefit;
use crate::support::scratch::second_block_written;
use crate::support::skip::skipped;
use crate::support::slowfs;
use crate::support::wait::wait_until;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn assert_no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "nodefit panicked: {err}");
    assert_ne!(out.status.code(), Some(101), "panic exit code: {err}");
}

fn left_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Run a disk workload on a FUSE mount whose faults `arm` sets up; returns the output and what
/// the backing directory holds afterwards.
fn disk_on_faulty_fs(arm: impl FnOnce(&slowfs::Faults)) -> Option<(Output, Vec<String>)> {
    if let Some(why) = slowfs::unavailable() {
        skipped(format!("cannot mount FUSE here: {why}"));
        return None;
    }
    let backing = tempfile::tempdir().unwrap();
    let mnt = tempfile::tempdir().unwrap();
    let mounted = match slowfs::mount(backing.path(), mnt.path(), Duration::ZERO) {
        Ok(m) => m,
        Err(e) => {
            skipped(format!("FUSE mount failed: {e}"));
            return None;
        }
    };
    arm(&mounted.faults);
    let out = nodefit()
        .args([
            "disk",
            "--rw",
            "write",
            "--bs",
            "4k",
            "--size",
            "4m",
            "--fdatasync",
            "4",
            "--output-format",
            "json",
            "--quiet",
            "--directory",
        ])
        .arg(&mounted.mountpoint)
        .output()
        .unwrap();
    let left = left_in(backing.path());
    drop(mounted);
    Some((out, left))
}

fn check_partial_failure(out: &Output, left: &[String]) {
    assert_no_panic(out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a partial result on stdout ({e}); stderr: {err}"));
    assert_eq!(doc["complete"], false);
    let w = &doc["workloads"][0];
    assert_eq!(w["complete"], false);
    let why = w["error"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        why.contains("input/output error") || why.contains("i/o error"),
        "the error names the I/O error: {why}"
    );
    // What was measured before the fault is kept, not thrown away.
    assert!(w["ops"].as_u64().unwrap_or(0) > 0, "{w}");
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
}

#[test]
fn eio_on_write_mid_run() {
    let Some((out, left)) = disk_on_faulty_fs(|f| f.eio_on_write_after(200)) else {
        return;
    };
    check_partial_failure(&out, &left);
}

#[test]
fn eio_on_fdatasync_mid_run() {
    let Some((out, left)) = disk_on_faulty_fs(|f| f.eio_on_fsync_after(20)) else {
        return;
    };
    check_partial_failure(&out, &left);
}

/// Why a loop device can't be made here, if it can't.
fn no_loop_devices() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (loop devices and mounts need root)".into());
    }
    for tool in ["losetup", "mkfs.ext4", "etcd"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{tool} is missing"));
        }
    }
    None
}

/// A small ext4 on a loop device, mounted; removed on drop.
struct TinyFs {
    mountpoint: tempfile::TempDir,
    device: String,
    _image_dir: tempfile::TempDir,
}

impl TinyFs {
    fn new(mib: u64) -> Result<TinyFs, String> {
        let image_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = image_dir.path().join("fs.img");
        let f = std::fs::File::create(&image).map_err(|e| e.to_string())?;
        f.set_len(mib << 20).map_err(|e| e.to_string())?;
        drop(f);
        let run = |cmd: &mut Command| -> Result<String, String> {
            let o = cmd.output().map_err(|e| e.to_string())?;
            if !o.status.success() {
                return Err(String::from_utf8_lossy(&o.stderr).into_owned());
            }
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(&image))?;
        let device = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image))?;
        let mountpoint = tempfile::tempdir().map_err(|e| e.to_string())?;
        if let Err(e) = run(Command::new("mount").arg(&device).arg(mountpoint.path())) {
            let _ = Command::new("losetup").args(["-d", &device]).output();
            return Err(e);
        }
        Ok(TinyFs {
            mountpoint,
            device,
            _image_dir: image_dir,
        })
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.mountpoint.path()).output();
        let _ = Command::new("losetup").args(["-d", &self.device]).output();
    }
}

#[test]
fn disk_full_under_the_embedded_etcd_names_etcds_own_error() {
    if let Some(why) = no_loop_devices() {
        skip!("{why}");
    }
    // 40 MiB: etcd cannot even lay out its first 64 MiB WAL segment.
    let fs = match TinyFs::new(40) {
        Ok(f) => f,
        Err(e) => skip!("cannot make a loop-device file system: {e}"),
    };
    let dir = fs.mountpoint.path();
    let out = nodefit()
        .args([
            "etcd",
            "--rate",
            "100",
            "--duration",
            "5s",
            "--quiet",
            // The point is a disk that fills under etcd: no headroom kept.
            "--min-free",
            "0",
            "--directory",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert_no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.to_lowercase().contains("no space left on device"),
        "etcd's own 'no space' must be named: {err}"
    );
    let error_lines = err
        .lines()
        .filter(|l| l.contains("error") || l.contains("etcd:"))
        .count();
    assert!(error_lines >= 1, "{err}");
    let left: Vec<String> = left_in(dir)
        .into_iter()
        .filter(|n| n != "lost+found")
        .collect();
    assert!(left.is_empty(), "left behind on the full disk: {left:?}");
}

#[test]
fn directory_removed_mid_run() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("scratch");
    std::fs::create_dir(&dir).unwrap();
    let child = nodefit()
        .args([
            "disk",
            "--rw",
            "write",
            "--bs",
            "4k",
            "--size",
            "64m",
            "--fdatasync",
            "1",
            "--runtime",
            "60",
            "--time-based",
            "--output-format",
            "json",
            "--quiet",
            "--directory",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let scratch = dir.join("nodefit.0.0");
    wait_until(
        Duration::from_secs(30),
        "the first write to the scratch file",
        || second_block_written(&scratch),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a partial result on stdout ({e}); stderr: {err}"));
    assert_eq!(doc["complete"], false);
    let why = doc["workloads"][0]["error"].as_str().unwrap_or_default();
    assert!(why.contains("vanished mid-run"), "{why}");
    assert!(doc["workloads"][0]["ops"].as_u64().unwrap_or(0) > 0);
    assert!(!dir.exists(), "nothing recreated");
}
