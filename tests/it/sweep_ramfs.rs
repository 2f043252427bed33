//! The sweep (`nodefit clean`, and the first step of every run) removes only nodefit's own, on a
//! file system without extended attributes (ramfs: no marks, so run records are all it has to go
//! on). Anyone who can write the directory can plant a record; these tests plant them — listing a
//! stranger's directory, `..`, a symlink to a directory, a path — owned by another user, writable by
//! others, and check that nothing of the stranger's goes while a killed run's files still do.
//! Real mounts, real processes, real kills; root only (skips with a printed reason otherwise).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user a stranger's files belong to.
const NOBODY: u32 = 65534;

use crate::support::nodefit;

/// A ramfs mounted for one test; unmounted on drop.
struct Ramfs {
    dir: tempfile::TempDir,
}

impl Ramfs {
    fn mount() -> Option<Ramfs> {
        if !nix::unistd::geteuid().is_root() {
            crate::support::skip::skipped("mounting a ramfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "ramfs", "nodefit-test", dir.path().to_str().unwrap()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            crate::support::skip::skipped("cannot mount a ramfs here");
            return None;
        }
        Some(Ramfs { dir })
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Ramfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

/// Date a file 10 minutes back, past any grace a young record gets.
fn age(path: &Path) {
    let ok = Command::new("touch")
        .args(["-h", "-d", "10 minutes ago"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// `= DEV INO NAME`: the line a run writes after creating NAME, here with the true figures.
fn identity_line(dir: &Path, name: &str) -> String {
    let md = std::fs::symlink_metadata(dir.join(name)).unwrap();
    format!("= {} {} {name}\n", md.dev(), md.ino())
}

fn plant_record(dir: &Path, id: &str, body: &str, uid: u32, mode: u32) -> PathBuf {
    let p = dir.join(format!(".nodefit-run-{id}.lock"));
    std::fs::write(&p, format!("# nodefit run {id}\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    chown(&p, uid);
    age(&p);
    p
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A long disk run in `dir`, killed outright once its file exists: a real leftover.
fn killed_run_in(dir: &Path) {
    let mut child: Child = nodefit()
        .args(["disk", "--directory"])
        .arg(dir)
        .args(["--rw", "write", "--bs", "4k", "--size", "1m"])
        .args(["--runtime", "60", "--time-based", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("nodefit.0.0").exists() {
        assert!(child.try_wait().unwrap().is_none(), "nodefit ended early");
        assert!(Instant::now() < deadline, "no scratch file in {dir:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn forged_records_on_ramfs_remove_nothing_of_a_strangers() {
    let Some(fs) = Ramfs::mount() else {
        return;
    };
    let root = fs.path();
    // A shared, sticky, world-writable directory, as /tmp is.
    let dir = root.join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    // Beside it (what `..` reaches) and elsewhere (what a symlink reaches).
    std::fs::write(root.join("outside"), b"parent's").unwrap();
    std::fs::create_dir(root.join("elsewhere")).unwrap();
    std::fs::write(root.join("elsewhere/data"), b"elsewhere").unwrap();

    // The stranger's own things in the shared directory.
    std::fs::create_dir(dir.join("victim")).unwrap();
    std::fs::write(dir.join("victim/data"), b"stranger's").unwrap();
    std::fs::create_dir(dir.join("nodefit-etcd-stranger")).unwrap();
    std::fs::write(dir.join("nodefit-etcd-stranger/data"), b"stranger's").unwrap();
    for p in [
        "victim",
        "victim/data",
        "nodefit-etcd-stranger",
        "nodefit-etcd-stranger/data",
    ] {
        chown(&dir.join(p), NOBODY);
    }
    std::os::unix::fs::symlink(root.join("elsewhere"), dir.join("nodefit-etcd-link")).unwrap();
    // Root's file kept on purpose: on ramfs it carries no `kept` mark either.
    let kept = nodefit()
        .args(["disk", "--directory"])
        .arg(&dir)
        .args(["--name", "kept", "--size", "64k", "--keep", "--quiet"])
        .output()
        .unwrap();
    assert!(
        kept.status.success(),
        "{}",
        String::from_utf8_lossy(&kept.stderr)
    );

    // A record as root would write it, listing what isn't nodefit's (true identities).
    let mut body = String::from("- ..\n/");
    body.push_str(&format!("{}\n", dir.join("victim").display()));
    for name in ["..", "victim", "nodefit-etcd-stranger", "nodefit-etcd-link"] {
        body.push_str(&identity_line(&dir, name));
    }
    let md = std::fs::metadata(root.join("outside")).unwrap();
    body.push_str(&format!("= {} {} ../outside\n", md.dev(), md.ino()));
    let r1 = plant_record(&dir, "0-deadbeef", &body, 0, 0o600);
    // Records listing root's kept file: one owned by another user, one writable by its group.
    let kept_line = identity_line(&dir, "kept.0.0");
    let r2 = plant_record(&dir, "0-feedface", &kept_line, NOBODY, 0o600);
    let r3 = plant_record(&dir, "0-cafef00d", &kept_line, 0, 0o620);
    let r4 = plant_record(&dir, "0-0ddba11", &kept_line, 0, 0o602);

    // nodefit's own leftovers, from a run killed outright.
    killed_run_in(&dir);
    assert!(dir.join("nodefit.0.0").exists());

    let out = nodefit()
        .args(["clean", "--directory"])
        .arg(&dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("nodefit.0.0"), "{said}");

    let left = names(&dir);
    assert!(
        !left.contains(&"nodefit.0.0".to_string()),
        "the killed run's file stayed: {left:?}"
    );
    let records: Vec<&String> = left
        .iter()
        .filter(|n| n.starts_with(".nodefit-run-"))
        .collect();
    let forged: Vec<String> = [&r1, &r2, &r3, &r4]
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        records.iter().all(|r| forged.contains(r)),
        "the killed run's record stayed: {left:?}"
    );
    for name in [
        "victim",
        "nodefit-etcd-stranger",
        "nodefit-etcd-link",
        "kept.0.0",
    ] {
        assert!(
            left.contains(&name.to_string()),
            "{name} was removed: {left:?}\n{said}"
        );
    }
    // The records not ours stay (the root-owned one is, by its form, a dead run's: it may go, but
    // nothing it listed did).
    for r in &forged[1..] {
        assert!(left.contains(r), "a record not ours was removed: {r}");
    }
    assert_eq!(
        std::fs::read(dir.join("victim/data")).unwrap(),
        b"stranger's"
    );
    assert_eq!(
        std::fs::read(dir.join("nodefit-etcd-stranger/data")).unwrap(),
        b"stranger's"
    );
    assert_eq!(std::fs::read(root.join("outside")).unwrap(), b"parent's");
    assert_eq!(
        std::fs::read(root.join("elsewhere/data")).unwrap(),
        b"elsewhere"
    );
    assert!(std::fs::symlink_metadata(dir.join("nodefit-etcd-link"))
        .unwrap()
        .file_type()
        .is_symlink());
    for word in ["victim", "stranger", "link", "kept", "outside"] {
        assert!(!said.contains(word), "clean claims {word}: {said}");
    }
}

/// A record that lists a real nodefit-named entry but records another inode (the name was taken
/// over after the run died) removes nothing; the same run's true entries still go.
#[test]
fn a_listed_name_that_now_holds_another_file_is_left_alone() {
    let Some(fs) = Ramfs::mount() else {
        return;
    };
    let dir = fs.path();
    killed_run_in(dir);
    // Swap the killed run's file for another with the same name.
    std::fs::rename(dir.join("nodefit.0.0"), dir.join("nodefit.1.0")).unwrap();
    std::fs::write(dir.join("nodefit.0.0"), b"someone else's").unwrap();
    let out = nodefit()
        .args(["clean", "--directory"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(dir.join("nodefit.0.0")).unwrap(),
        b"someone else's"
    );
    assert!(dir.join("nodefit.1.0").exists(), "not listed, not removed");
    assert!(names(dir).iter().all(|n| !n.starts_with(".nodefit-run-")));
}
