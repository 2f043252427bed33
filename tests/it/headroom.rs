//! nodefit on a disk a real etcd uses: it leaves `--min-free` free after its own files and its
//! probe etcd's WAL preallocation and database allowance (refused up front, naming the figures), it
//! never writes into a running etcd's data directory, and beside one it works in a subdirectory of
//! its own. Real small file systems (tmpfs; root, else skipped with the reason) and a real etcd.

use crate::support::etcd;

use std::path::Path;
use std::process::{Command, Output};

use crate::support::nodefit;

/// Run with the default floor (the suite's `.cargo/config.toml` turns it off for other tests).
fn run(args: &[&str], dir: &Path) -> Output {
    nodefit()
        .env_remove("NODEFIT_MIN_FREE")
        .args(args)
        .arg("--directory")
        .arg(dir)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

/// A 64 MiB tmpfs for one test; unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        if !nix::unistd::geteuid().is_root() {
            crate::support::skip::skipped("mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "nodefit-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            crate::support::skip::skipped("cannot mount a tmpfs here");
            return None;
        }
        Some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_run_that_would_leave_too_little_free_is_refused_naming_the_figures() {
    let Some(fs) = Tmpfs::mount() else {
        return;
    };
    let d = fs.0.path();
    // 8 MiB fits in 64 MiB, but not with the default 2 GiB kept free.
    let out = run(&["disk", "--size", "8m", "--quiet"], d);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("too little headroom")
            && err.contains("free of 64.0MiB")
            && err.contains("scratch files 8.0MiB")
            && err.contains("keeps 2.0GiB free")
            && err.contains("--min-free"),
        "{err}"
    );
    assert!(
        names(d).is_empty(),
        "written before refusing: {:?}",
        names(d)
    );
    // A floor the user sets: 60 MiB of 64 can't stay free with 8 MiB written; 10% can.
    let out = run(&["disk", "--size", "8m", "--quiet", "--min-free", "60m"], d);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("keeps 60.0MiB free (--min-free 60.0MiB)"),
        "{}",
        stderr(&out)
    );
    let out = run(&["disk", "--size", "8m", "--quiet", "--min-free", "10%"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["disk", "--size", "8m", "--quiet", "--min-free", "0"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(names(d).is_empty(), "{:?}", names(d));
    let out = run(&["disk", "--size", "8m", "--min-free", "lots"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--min-free 'lots'"),
        "{}",
        stderr(&out)
    );

    // The embedded etcd's WAL preallocation and database allowance count, before it starts.
    let out = run(
        &["etcd", "--quiet", "--min-free", "1m", "--members", "3"],
        d,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "etcd 3 member(s) × (64.0MiB WAL preallocation + 256.0MiB database allowance)"
        ),
        "{err}"
    );
    assert!(names(d).is_empty(), "{:?}", names(d));
    // qualify: the largest step's files and the probe's member, before the first round.
    let out = run(&["qualify", "--quick", "--min-free", "1m"], d);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("too little headroom") && err.contains("etcd 1 member(s)"),
        "{err}"
    );
    assert!(names(d).is_empty(), "{:?}", names(d));
}

#[test]
fn a_running_etcds_data_directory_is_refused_and_beside_one_nodefit_works_in_its_own() {
    if Command::new("etcd").arg("--version").output().is_err() {
        skip!("no etcd binary (apt-get install etcd-server)");
    }
    let cluster = etcd::EtcdCluster::start(1);
    let parent = cluster.dir.path();
    let data = parent.join(&cluster.names[0]);
    assert!(data.join("member/wal").is_dir(), "{:?}", names(&data));
    let before_data = names(&data.join("member"));
    let before_parent = names(parent);
    for d in [data.clone(), data.join("member"), data.join("member/wal")] {
        let out = run(&["disk", "--size", "1m", "--quiet", "--min-free", "0"], &d);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{d:?}: {err}");
        assert!(
            err.contains("running etcd") && err.lines().count() == 1,
            "{err}"
        );
        let out = run(
            &["etcd", "--quiet", "--min-free", "0", "--duration", "1s"],
            &d,
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("running etcd"), "{}", stderr(&out));
    }
    // The directory holding the data directory: nodefit works in a subdirectory of its own,
    // says so, and leaves nothing.
    let out = run(
        &["disk", "--size", "1m", "--quiet", "--min-free", "0"],
        parent,
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("holds etcd data") && err.contains("nodefit-work-"),
        "{err}"
    );
    assert_eq!(names(parent), before_parent);
    assert_eq!(names(&data.join("member")), before_data);
    let health = cluster.etcdctl(&["endpoint", "health"]);
    assert!(health.status.success(), "{health:?}");
}
