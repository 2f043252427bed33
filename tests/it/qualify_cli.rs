//! End-to-end `nodefit qualify` and `nodefit profiles`: the binary on temp dirs with short test
//! profiles (a second or two of disk work), the embedded etcd, an unreachable cluster, Ctrl-C, and
//! result.json checked field by field and against the schema. Behaviour only, never speed.

use crate::support::nodefit;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const DISK: &str = r#"
[[disk]]
id = "wal"
title = "sequential 2300 B writes, fdatasync after each"
rw = "write"
bs = "2300"
size = "1m"
runtime = "2s"
fdatasync = 1

[[disk]]
id = "commit_contended"
concurrent_group = "contention"
rw = "randwrite"
bs = "4k"
size = "1m"
runtime = "1s"
fdatasync = 8

[[disk]]
id = "wal_contended"
concurrent_group = "contention"
rw = "write"
bs = "2300"
size = "1m"
runtime = "1s"
fdatasync = 1

[[check]]
id = "wal_synced_writes"
title = "synced writes/s"
metric = "workloads[wal].iops"
comparison = ">="
limit = 1
unit = "ops/s"
severity = "must"
source = "etcd hardware guide (op-guide/hardware), Disks"

[[check]]
id = "wal_p50"
title = "fdatasync p50"
metric = "workloads[wal].latency_ns.sync.percentiles.50"
comparison = "<="
limit = 10_000_000_000
unit = "ns"
severity = "must"
source = "etcd FAQ, disk section (deliberately loose limit for the test)"
"#;

fn profile(dir: &Path, extra: &str) -> String {
    let p = dir.join("test-profile.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"e2e\"\ndescription = \"end-to-end test profile\"\nrounds = 2\n{DISK}{extra}"
        ),
    )
    .unwrap();
    p.display().to_string()
}

fn run(args: &[&str], cwd: &Path) -> Output {
    nodefit().args(args).current_dir(cwd).output().unwrap()
}

use crate::support::bundled;
use crate::support::schema;
use schema::validate;

fn read_doc(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn qualify_without_etcd_writes_a_complete_result() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let out = t.path().join("out");
    let p = profile(t.path(), "");
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--directory",
            data.to_str().unwrap(),
            "--no-etcd",
            "--node-name",
            "node-7",
            "--output-dir",
            out.to_str().unwrap(),
            "--quiet",
        ],
        t.path(),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for col in [
        "CHECK",
        "OBSERVED",
        "LIMIT",
        "VERDICT",
        "SOURCE",
        "wal_synced_writes",
    ] {
        assert!(stdout.contains(col), "{col} missing from:\n{stdout}");
    }
    assert!(stdout.contains("VERDICT: FIT"), "{stdout}");
    assert!(
        !stdout.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
    let doc = read_doc(&out.join("result.json"));
    validate(&doc);
    assert_eq!(doc["node_name"], "node-7");
    assert_eq!(doc["verdict"], "FIT");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["profile"]["name"], "e2e");
    assert_eq!(doc["profile"]["file"], p.as_str());
    assert_eq!(doc["profile"]["description"], "end-to-end test profile");
    for k in ["started_at", "finished_at"] {
        assert!(doc[k].as_str().unwrap().ends_with('Z'), "{k}");
    }
    let score = doc["score"].as_f64().unwrap();
    assert!((50.0..=100.0).contains(&score), "{score}");
    // 2 rounds x 3 workloads, the contended pair tagged with their group.
    let w = doc["workloads"].as_array().unwrap();
    assert_eq!(w.len(), 6);
    assert_eq!(w.iter().filter(|w| w["spec"]["name"] == "wal").count(), 2);
    assert_eq!(w.iter().filter(|w| w["round"] == 2).count(), 3);
    assert!(
        w.iter()
            .filter(|w| w["concurrent_group"] == "contention")
            .count()
            == 4
    );
    let c = &doc["checks"][0];
    assert_eq!(c["id"], "wal_synced_writes");
    assert_eq!(c["verdict"], "pass");
    assert_eq!(c["rounds"].as_array().unwrap().len(), 2);
    assert!(c["source"].as_str().unwrap().contains("hardware"));
    let fp = &doc["fingerprint"];
    for k in [
        "hostname",
        "kernel",
        "cpu",
        "memory",
        "virtualization",
        "block_device",
        "filesystem",
    ] {
        assert!(fp.get(k).is_some(), "fingerprint.{k}");
    }
    assert!(
        fp["cpu_time"]["steal_pct"].is_number(),
        "{}",
        fp["cpu_time"]
    );
    assert!(
        entries(&data).is_empty(),
        "scratch left: {:?}",
        entries(&data)
    );
    assert!(
        out.join("report.html").is_file(),
        "report.html beside result.json"
    );
    assert!(stdout.contains("report.html"));
}

#[test]
fn flushes_on_tmpfs_raise_the_fsync_honesty_warning() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        skip!("no /dev/shm (tmpfs) here");
    }
    let t = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir_in(shm).unwrap();
    let out = t.path().join("out");
    let p = profile(t.path(), "");
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--directory",
            data.path().to_str().unwrap(),
            "--no-etcd",
            "--rounds",
            "1",
            "--quiet",
            "--output-dir",
            out.to_str().unwrap(),
        ],
        t.path(),
    );
    assert!(o.status.code().is_some());
    let doc = read_doc(&out.join("result.json"));
    let w: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let h = w
        .iter()
        .find(|w| w.starts_with("fsync honesty (heuristic)"))
        .unwrap_or_else(|| panic!("{w:?}"));
    assert!(h.contains("tmpfs"), "{h}");
    assert_eq!(doc["fingerprint"]["filesystem"]["fstype"], "tmpfs");
}

#[test]
fn json_output_default_output_dir_and_fail_on_marginal() {
    let t = tempfile::tempdir().unwrap();
    // A should check nobody passes: MARGINAL.
    let p = profile(
        t.path(),
        r#"
[[check]]
id = "many_cpus"
title = "CPUs"
metric = "fingerprint.cpu.count"
comparison = ">="
limit = 100000
unit = "cpus"
severity = "should"
source = "etcd hardware guide (op-guide/hardware), CPUs (deliberately unreachable)"
"#,
    );
    let args = [
        "qualify",
        "--profile",
        &p,
        "--no-etcd",
        "--node-name",
        "n1",
        "--rounds",
        "1",
    ];
    let mut with_json = args.to_vec();
    with_json.extend(["--output-format", "json"]);
    let o = run(&with_json, t.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).expect("stdout is the result document");
    validate(&doc);
    assert_eq!(doc["verdict"], "MARGINAL");
    assert_eq!(doc["workloads"].as_array().unwrap().len(), 3);
    // Default output directory: reports/<node>/<UTC stamp>/result.json under the cwd.
    let stamps = entries(&t.path().join("reports/n1"));
    assert_eq!(stamps.len(), 1);
    let stamp = &stamps[0];
    assert!(
        stamp.len() == 16 && stamp.ends_with('Z') && stamp.contains('T'),
        "{stamp}"
    );
    let saved = read_doc(&t.path().join("reports/n1").join(stamp).join("result.json"));
    assert_eq!(saved, doc);
    let mut strict = args.to_vec();
    strict.extend(["--fail-on", "marginal", "--quiet"]);
    let o = run(&strict, t.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("many_cpus"));
}

#[test]
fn unfit_exits_1_and_names_check_limit_and_source() {
    let t = tempfile::tempdir().unwrap();
    let p = profile(
        t.path(),
        r#"
[[check]]
id = "impossible_rate"
title = "synced writes/s"
metric = "workloads[wal].iops"
comparison = ">="
limit = 1e12
unit = "ops/s"
severity = "must"
source = "deliberately impossible test limit, etcd hardware guide"
"#,
    );
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--no-etcd",
            "--quiet",
            "--rounds",
            "1",
        ],
        t.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let s = String::from_utf8_lossy(&o.stdout);
    let line = s
        .lines()
        .find(|l| l.contains("FAIL [must] impossible_rate"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        line.contains("observed")
            && line.contains("limit >=")
            && line.contains("source: deliberately"),
        "{line}"
    );
    assert!(s.contains("VERDICT: UNFIT"));
}

#[test]
fn embedded_etcd_probe_feeds_the_etcd_checks() {
    // nodefit runs the bundled etcd next to it; missing, the set-up did not run: fail, do not skip.
    bundled::etcd();
    let t = tempfile::tempdir().unwrap();
    let p = profile(
        t.path(),
        r#"
[etcd]
load = "s"
duration = "3s"

[[check]]
id = "etcd_errors"
title = "etcd errors"
metric = "etcd.errors_total"
comparison = "=="
limit = 0
unit = "count"
severity = "must"
source = "etcdctl check perf (etcdctl/ctlv3/command/check.go)"

[[check]]
id = "etcd_rate"
title = "rate"
metric = "etcd.achieved_rate"
comparison = ">="
limit = 0.5
limit_of = "etcd.target_rate"
unit = "ops/s"
severity = "should"
source = "etcdctl check perf (etcdctl/ctlv3/command/check.go), loosened for a shared test machine"
"#,
    );
    let out = t.path().join("out");
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--rounds",
            "1",
            "--quiet",
            "--output-dir",
            out.to_str().unwrap(),
        ],
        t.path(),
    );
    let doc = read_doc(&out.join("result.json"));
    validate(&doc);
    assert!(
        doc["etcd"].is_object(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let checks = doc["checks"].as_array().unwrap();
    let rate = checks.iter().find(|c| c["id"] == "etcd_rate").unwrap();
    assert_ne!(rate["verdict"], "skipped", "{rate}");
    assert_eq!(rate["limit_basis"], "0.5 × etcd.target_rate");
    assert!(
        (rate["limit"].as_f64().unwrap() - 75.0).abs() < 1e-6,
        "{rate}"
    );
    assert!(matches!(o.status.code(), Some(0) | Some(1)));
    // Nothing of etcd's or the disk workloads' left in the directory under test.
    let left: Vec<String> = entries(t.path())
        .into_iter()
        .filter(|e| e != "out" && e != "test-profile.toml")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unreachable_cluster_asked_for_explicitly_exits_2_with_checks_skipped() {
    let t = tempfile::tempdir().unwrap();
    let p = profile(
        t.path(),
        r#"
[etcd]
load = "s"
duration = "2s"

[[check]]
id = "etcd_errors"
title = "etcd errors"
metric = "etcd.errors_total"
comparison = "=="
limit = 0
unit = "count"
severity = "must"
source = "etcdctl check perf (etcdctl/ctlv3/command/check.go)"
"#,
    );
    let out = t.path().join("out");
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--rounds",
            "1",
            "--quiet",
            "--endpoints",
            "http://127.0.0.1:1",
            "--etcd-arg=--dial-timeout=1s",
            "--output-dir",
            out.to_str().unwrap(),
        ],
        t.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let doc = read_doc(&out.join("result.json"));
    let c = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "etcd_errors")
        .unwrap();
    assert_eq!(c["verdict"], "skipped");
    assert!(
        c["note"].as_str().unwrap().contains("etcd probe failed"),
        "{c}"
    );
}

#[test]
fn ctrl_c_writes_a_partial_result_and_exits_130() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let p = t.path().join("long.toml");
    std::fs::write(
        &p,
        DISK.replace("runtime = \"2s\"", "runtime = \"30s\"")
            .replace("size = \"1m\"", "size = \"512m\"")
            .replacen(
                "",
                "name = \"long\"\ndescription = \"long\"\nrounds = 1\n",
                1,
            ),
    )
    .unwrap();
    let out = t.path().join("out");
    let child = nodefit()
        .args([
            "qualify",
            "--no-etcd",
            "--quiet",
            "--profile",
            p.to_str().unwrap(),
            "--directory",
        ])
        .arg(&data)
        .arg("--output-dir")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first scratch file exists, then interrupt.
    for _ in 0..200 {
        if !entries(&data).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    let doc = read_doc(&out.join("result.json"));
    validate(&doc);
    assert_eq!(doc["complete"], false);
    assert!(doc.get("verdict").is_none());
    assert!(doc["incomplete_reason"]
        .as_str()
        .unwrap()
        .contains("interrupt"));
    assert!(
        entries(&data).is_empty(),
        "scratch left: {:?}",
        entries(&data)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("incomplete"));
}

#[test]
fn profiles_list_show_and_errors() {
    let t = tempfile::tempdir().unwrap();
    let o = run(&["profiles"], t.path());
    assert_eq!(o.status.code(), Some(0));
    let s = String::from_utf8_lossy(&o.stdout);
    for n in ["k8s-control-plane (default)", "openshift", "etcd-heavy"] {
        assert!(s.contains(n), "{n} in {s}");
    }
    let o = run(&["profiles", "show", "openshift"], t.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("[[check]]"));
    let o = run(&["qualify", "--profile", "no-such-profile"], t.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no profile named"));
    let bad = t.path().join("bad.toml");
    std::fs::write(&bad, "name = \"b\"\ndescription = \"b\"\nspeed = 3\n").unwrap();
    let o = run(&["qualify", "--profile", bad.to_str().unwrap()], t.path());
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.toml:3:") && e.contains("speed"), "{e}");
    let o = run(
        &["qualify", "--directory", "/nonexistent/nodefit"],
        t.path(),
    );
    assert_eq!(o.status.code(), Some(2));
}

/// An output disk that fills before the end (here: a full 64 KiB tmpfs) loses nothing that can be
/// shown: the verdict table is printed, the error names result.json, exit 2, no empty directory.
#[test]
fn a_full_output_disk_still_shows_the_verdict() {
    if !nix::unistd::geteuid().is_root() {
        skip!("mounting a tmpfs needs root");
    }
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let mnt = t.path().join("mnt");
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "nodefit-test"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        skip!("cannot mount tmpfs here");
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mnt);
    // Fill it: every block taken, so result.json cannot be written (a new empty file still can).
    let _ = std::fs::write(mnt.join("filler"), vec![0u8; 256 * 1024]);
    let out = mnt.join("out").join("sub");
    let p = profile(t.path(), "");
    let o = run(
        &[
            "qualify",
            "--profile",
            &p,
            "--directory",
            data.to_str().unwrap(),
            "--no-etcd",
            "--rounds",
            "1",
            "--output-dir",
            out.to_str().unwrap(),
            "--quiet",
        ],
        t.path(),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("VERDICT:"), "{stdout}");
    assert!(!stdout.contains("result: "), "{stdout}");
    assert!(
        stderr.contains("result.json") && stderr.contains("not saved"),
        "{stderr}"
    );
    assert!(
        !mnt.join("out").exists(),
        "the output directories it made are left"
    );
    assert!(!stderr.contains("report.html not written"), "{stderr}");
    assert!(entries(&data).is_empty());
}
