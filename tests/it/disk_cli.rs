//! End-to-end tests of `nodefit disk`: the binary against real files in temp dirs. They check
//! behaviour — counts, cadence of flushes, cleanup, errors and exit codes — never speed.

use crate::support::nodefit;
use crate::support::scratch::second_block_written;
use crate::support::skip::skipped;
use crate::support::wait::wait_until;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn run(args: &[&str]) -> Output {
    nodefit().args(args).output().expect("nodefit runs")
}

fn run_json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "disk",
        "--directory",
        dir.to_str().unwrap(),
        "--output-format",
        "json",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "nodefit {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    validate(&doc);
    doc
}

use crate::support::schema;
use schema::validate;

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn etcd_recipe_counts_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run_json(
        dir.path(),
        &[
            "--rw",
            "write",
            "--ioengine",
            "sync",
            "--fdatasync",
            "1",
            "--bs",
            "2300",
            "--size",
            "2m",
            "--name",
            "mytest",
        ],
    );
    assert_eq!(doc["schema_version"], 3);
    assert_eq!(doc["complete"], true);
    let w = &doc["workloads"][0];
    let writes = (2 * 1024 * 1024) / 2300;
    assert_eq!(w["ops"], writes);
    assert_eq!(w["latency_ns"]["write"]["count"], writes);
    // fio issues a flush after every N writes, including after the last one.
    assert_eq!(w["sync_ops"], writes);
    assert_eq!(w["latency_ns"]["sync"]["count"], writes);
    assert!(w["latency_ns"].get("read").is_none());
    assert_eq!(w["bytes_written"], writes * 2300);
    assert_eq!(w["spec"]["bs"], 2300);
    assert_eq!(w["spec"]["fallocate"], "native");
    let s = &w["latency_ns"]["sync"];
    let p50 = s["percentiles"]["50"].as_u64().unwrap();
    let p99 = s["percentiles"]["99"].as_u64().unwrap();
    assert!(
        s["min"].as_u64().unwrap() <= p50
            && p50 <= p99
            && p99 <= s["max"].as_u64().unwrap() * 1001 / 1000
    );
    // ops / runtime is the reported IOPS.
    let iops = w["iops"].as_f64().unwrap();
    let expect = writes as f64 / (w["runtime_ns"].as_f64().unwrap() / 1e9);
    assert!((iops - expect).abs() / expect < 1e-6);
    assert!(
        entries(dir.path()).is_empty(),
        "scratch files left: {:?}",
        entries(dir.path())
    );
}

#[test]
fn flush_every_n_writes_null_and_real() {
    for engine in ["null", "sync", "io_uring"] {
        for (n, depth) in [(4u64, "1"), (3, "1"), (8, "16")] {
            let dir = tempfile::tempdir().unwrap();
            let doc = run_json(
                dir.path(),
                &[
                    "--ioengine",
                    engine,
                    "--bs",
                    "4k",
                    "--size",
                    "400k",
                    "--fsync",
                    &n.to_string(),
                    "--iodepth",
                    depth,
                ],
            );
            let w = &doc["workloads"][0];
            assert_eq!(w["ops"], 100, "{engine} n={n}");
            // As fio: a flush after every n writes, but none after the very last write when the
            // file holds a whole number of blocks (fio ends the job before flushing then).
            let expect = if 100 % n == 0 { 100 / n - 1 } else { 100 / n };
            assert_eq!(w["sync_ops"], expect, "{engine} n={n} depth={depth}");
        }
    }
}

#[test]
fn embedded_histogram_decodes_to_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run_json(
        dir.path(),
        &["--ioengine", "null", "--size", "1m", "--bs", "4k"],
    );
    let w = &doc["workloads"][0]["latency_ns"]["write"];
    let summary: nodefit::util::stats::LatencySummary = serde_json::from_value(w.clone()).unwrap();
    let h = summary.decode_histogram().unwrap();
    assert_eq!(h.len(), 256);
    assert_eq!(summary.count, 256);
}

#[test]
fn random_writes_touch_every_block_once_per_pass() {
    let dir = tempfile::tempdir().unwrap();
    run_json(
        dir.path(),
        &[
            "--rw",
            "randwrite",
            "--bs",
            "4k",
            "--size",
            "256k",
            "--fallocate",
            "zero",
            "--keep",
            "--name",
            "cover",
        ],
    );
    let data = std::fs::read(dir.path().join("cover.0.0")).unwrap();
    assert_eq!(data.len(), 256 * 1024);
    for (i, block) in data.chunks(4096).enumerate() {
        assert!(block.iter().any(|&b| b != 0), "block {i} was never written");
    }
}

#[test]
fn reads_mixed_and_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run_json(
        dir.path(),
        &["--rw", "randread", "--bs", "8k", "--size", "512k"],
    );
    let w = &doc["workloads"][0];
    assert_eq!(w["bytes_read"], 512 * 1024);
    assert_eq!(w["latency_ns"]["read"]["count"], 64);
    assert!(w["latency_ns"].get("write").is_none());

    let doc = run_json(
        dir.path(),
        &[
            "--rw",
            "randrw",
            "--rwmixread",
            "70",
            "--bs",
            "4k",
            "--size",
            "4m",
        ],
    );
    let w = &doc["workloads"][0];
    let r = w["latency_ns"]["read"]["count"].as_u64().unwrap();
    let wr = w["latency_ns"]["write"]["count"].as_u64().unwrap();
    assert_eq!(r + wr, 1024);
    // 1024 draws at 70 %: the share lies within ±6 % with overwhelming probability.
    assert!(
        (0.64..0.76).contains(&(r as f64 / 1024.0)),
        "read share {r}/1024"
    );

    let doc = run_json(
        dir.path(),
        &[
            "--numjobs",
            "3",
            "--bs",
            "4k",
            "--size",
            "64k",
            "--ioengine",
            "io_uring",
            "--iodepth",
            "4",
        ],
    );
    let w = &doc["workloads"][0];
    assert_eq!(w["ops"], 48);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn direct_io_on_io_uring() {
    // Under target/, not /tmp: a tmpfs /tmp has no O_DIRECT.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = run(&[
        "disk",
        "--directory",
        dir.path().to_str().unwrap(),
        "--direct",
        "--ioengine",
        "io_uring",
        "--iodepth",
        "8",
        "--rw",
        "randwrite",
        "--bs",
        "4k",
        "--size",
        "1m",
        "--output-format",
        "json",
    ]);
    let err = stderr(&out);
    if err.contains("does not support O_DIRECT") {
        skip!(
            "the file system of {} has no O_DIRECT: {err}",
            dir.path().display()
        );
    }
    assert!(out.status.success(), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["workloads"][0]["ops"], 256);
}

#[test]
fn time_based_ramp_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run_json(
        dir.path(),
        &[
            "--ioengine",
            "null",
            "--size",
            "64k",
            "--time-based",
            "--runtime",
            "1s",
            "--ramp-time",
            "500ms",
            "--rate-iops",
            "200",
        ],
    );
    let w = &doc["workloads"][0];
    // Time-based: keeps going over the 16-block file; the measured phase excludes the ramp.
    let ops = w["ops"].as_u64().unwrap();
    let runtime = w["runtime_ns"].as_u64().unwrap();
    assert!(runtime >= 1_000_000_000, "runtime {runtime}");
    // Rate limit: 200/s over ~1 s measured.
    let rate = ops as f64 / (runtime as f64 / 1e9);
    assert!((150.0..=230.0).contains(&rate), "rate {rate}");
    assert!(ops > 16, "time-based must loop over the file");
}

/// Every second of the time series carries real percentiles, one job or several: a lone job's
/// p50/p99 used to be lost when its seconds were folded, leaving zeros in the JSON.
#[test]
fn per_second_percentiles_are_filled_for_one_and_two_jobs() {
    for numjobs in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let doc = run_json(
            dir.path(),
            &[
                "--rw",
                "write",
                "--fdatasync",
                "1",
                "--bs",
                "4k",
                "--size",
                "1m",
                "--numjobs",
                numjobs,
                "--runtime",
                "2",
                "--time-based",
            ],
        );
        let w = &doc["workloads"][0];
        let max = w["latency_ns"]["write"]["max"]
            .as_u64()
            .unwrap()
            .max(w["latency_ns"]["sync"]["max"].as_u64().unwrap());
        let ts = w["timeseries"].as_array().unwrap();
        assert!(!ts.is_empty(), "numjobs {numjobs}: {w}");
        for s in ts {
            if s["ops"].as_u64().unwrap() + s["sync_ops"].as_u64().unwrap() == 0 {
                continue;
            }
            let (p50, p99) = (s["p50_ns"].as_u64().unwrap(), s["p99_ns"].as_u64().unwrap());
            // A percentile is read back as its histogram bucket's value, within 0.1 % of the
            // exact latency, so it may sit just above the exact max.
            assert!(
                p50 > 0 && p50 <= p99 && p99 <= max * 1001 / 1000,
                "numjobs {numjobs}: second {s} (max {max})"
            );
        }
    }
}

#[test]
fn runtime_bounds_a_size_bound_job() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run_json(
        dir.path(),
        &[
            "--size",
            "64m",
            "--bs",
            "4k",
            "--runtime",
            "300ms",
            "--rate-iops",
            "100",
            "--fdatasync",
            "1",
        ],
    );
    let w = &doc["workloads"][0];
    let ops = w["ops"].as_u64().unwrap();
    assert!(
        ops < 16384,
        "runtime must stop the job before the size is done ({ops} ops)"
    );
    assert_eq!(doc["complete"], true);
}

#[test]
fn normal_output_looks_like_fio() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "disk",
        "--directory",
        dir.path().to_str().unwrap(),
        "--fdatasync",
        "1",
        "--size",
        "256k",
        "--bs",
        "2300",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "write: IOPS=",
        "clat percentiles (nsec)",
        "sync percentiles (nsec)",
        "99.00th=[",
        "cpu",
        "fio --name=nodefit --rw=write",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // 113 writes cannot support p99.9: the output says so.
    assert!(text.contains("too few samples"), "{text}");
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    let outdir = tempfile::tempdir().unwrap();
    let file = outdir.path().join("r.json");
    let out = run(&[
        "disk",
        "--directory",
        dir.path().to_str().unwrap(),
        "--size",
        "64k",
        "--output-format",
        "json",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    validate(&doc);
}

fn assert_refused(args: &[&str], want: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(want),
        "{args:?}: stderr {err:?} should mention {want:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_exits_2_with_a_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert_refused(&["disk", "--directory", d, "--frobnicate"], "--frobnicate");
    assert_refused(
        &["disk", "--directory", d, "--bs", "4q"],
        "malformed size '4q'",
    );
    assert_refused(
        &["disk", "--directory", d, "--bs", "0"],
        "--bs must be greater than 0",
    );
    assert_refused(
        &["disk", "--directory", d, "--bs", "8k", "--size", "4k"],
        "smaller than --bs",
    );
    assert_refused(
        &["disk", "--directory", "/nonexistent/nodefit"],
        "does not exist",
    );
    assert_refused(&["disk", "--filename", "/dev/null"], "raw devices");
    let existing = dir.path().join("precious");
    std::fs::write(&existing, b"data").unwrap();
    assert_refused(
        &["disk", "--filename", existing.to_str().unwrap()],
        "--allow-existing",
    );
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        b"data",
        "existing file must be untouched"
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    assert_refused(
        &[
            "disk",
            "--filename",
            link.to_str().unwrap(),
            "--allow-existing",
        ],
        "symbolic link",
    );
    std::fs::remove_file(&link).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_refused(
        &[
            "disk",
            "--filename",
            sub.to_str().unwrap(),
            "--allow-existing",
        ],
        "not a regular file",
    );
    std::fs::remove_dir(&sub).unwrap();
    std::fs::remove_file(&existing).unwrap();
    if nodefit::disk::layout::logical_block_size(dir.path()).is_some_and(|l| 2300 % l != 0) {
        assert_refused(
            &["disk", "--directory", d, "--direct", "--bs", "2300"],
            "logical block size",
        );
    }
    assert!(
        entries(dir.path()).is_empty(),
        "left: {:?}",
        entries(dir.path())
    );
}

/// fio would issue both kinds of flush; nodefit issues one, so it refuses the pair rather than
/// run something other than the fio command it prints.
#[test]
fn fsync_and_fdatasync_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = [
        "disk",
        "--directory",
        d,
        "--size",
        "64k",
        "--fsync",
        "2",
        "--fdatasync",
        "1",
    ];
    assert_refused(&args, "--fsync and --fdatasync cannot be combined");
    assert_eq!(stderr(&run(&args)).lines().count(), 1);
    assert!(entries(dir.path()).is_empty());
    // 0 means never, so one of them at 0 is no combination.
    let doc = run_json(
        dir.path(),
        &["--size", "64k", "--fsync", "0", "--fdatasync", "4"],
    );
    // 16 writes, a flush after the 4th, 8th and 12th (none after the last: no partial block).
    assert_eq!(doc["workloads"][0]["sync_ops"], 3);
}

#[test]
fn allow_existing_uses_the_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mine");
    std::fs::write(&f, vec![1u8; 64 * 1024]).unwrap();
    let out = run(&[
        "disk",
        "--filename",
        f.to_str().unwrap(),
        "--allow-existing",
        "--size",
        "64k",
        "--output-format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        f.exists(),
        "a file nodefit did not create must not be removed"
    );
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A small tmpfs mounted for one test; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(opts: &str) -> Option<Tmpfs> {
        if !is_root() {
            skipped("mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                opts,
                "nodefit-test",
                dir.path().to_str().unwrap(),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            skipped("cannot mount tmpfs here");
            return None;
        }
        Some(Tmpfs { dir })
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn read_only_directory_is_refused() {
    let Some(fs) = Tmpfs::mount("ro,size=1m") else {
        return;
    };
    assert_refused(
        &[
            "disk",
            "--directory",
            fs.path().to_str().unwrap(),
            "--size",
            "64k",
        ],
        "not writable",
    );
}

#[test]
fn not_enough_space_is_refused_before_writing() {
    let Some(fs) = Tmpfs::mount("size=1m") else {
        return;
    };
    assert_refused(
        &[
            "disk",
            "--directory",
            fs.path().to_str().unwrap(),
            "--size",
            "8m",
        ],
        "not enough free space",
    );
    assert!(entries(fs.path()).is_empty());
}

#[test]
fn disk_full_mid_run_reports_what_was_measured() {
    let Some(fs) = Tmpfs::mount("size=4m") else {
        return;
    };
    let child = nodefit()
        .args([
            "disk",
            "--directory",
            fs.path().to_str().unwrap(),
            "--size",
            "3m",
            // The point is a disk that fills mid-run: no headroom kept.
            "--min-free",
            "0",
            "--bs",
            "4k",
            "--fallocate",
            "none",
            "--rate-iops",
            "100",
            "--output-format",
            "json",
            "--quiet",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it write, then fill the file system behind its back.
    let scratch = fs.path().join("nodefit.0.0");
    wait_until(
        Duration::from_secs(30),
        "the first write to the scratch file",
        || second_block_written(&scratch),
    );
    let _ = std::fs::write(fs.path().join("filler"), vec![0u8; 4 << 20]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("partial result is still JSON");
    validate(&doc);
    assert_eq!(doc["complete"], false);
    let w = &doc["workloads"][0];
    assert!(w["error"].as_str().unwrap().contains("ENOSPC"), "{w}");
    assert!(w["ops"].as_u64().unwrap() > 0);
    // Exit 2 comes with one line on stderr naming the error, not only the JSON on stdout.
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.starts_with("nodefit: error:") && err.contains("ENOSPC"),
        "{err:?}"
    );
    let left: Vec<String> = entries(fs.path())
        .into_iter()
        .filter(|e| e != "filler")
        .collect();
    assert!(left.is_empty(), "scratch files left: {left:?}");
}

#[test]
fn sigint_stops_promptly_with_a_partial_result() {
    let dir = tempfile::tempdir().unwrap();
    let child = nodefit()
        .args([
            "disk",
            "--directory",
            dir.path().to_str().unwrap(),
            "--size",
            "1m",
            "--time-based",
            "--runtime",
            "60",
            "--rate-iops",
            "500",
            "--output-format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let scratch = dir.path().join("nodefit.0.0");
    wait_until(
        Duration::from_secs(30),
        "the first write to the scratch file",
        || second_block_written(&scratch),
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    // An interrupt is not an error: no error line, unlike a run cut short by a fault.
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&doc);
    assert_eq!(doc["complete"], false);
    assert!(doc["workloads"][0]["ops"].as_u64().unwrap() > 0);
    assert!(
        entries(dir.path()).is_empty(),
        "left: {:?}",
        entries(dir.path())
    );
}

/// Ctrl-C while a read file is being laid out is an interrupt like one mid-run: exit 130, a result
/// marked incomplete on stdout, no scratch file left (it used to be exit 2 with an I/O error).
#[test]
fn sigint_during_layout_exits_130_with_an_incomplete_result() {
    let dir = tempfile::tempdir().unwrap();
    let child = nodefit()
        .args([
            "disk",
            "--directory",
            dir.path().to_str().unwrap(),
            "--rw",
            "read",
            "--size",
            "2g",
            "--output-format",
            "json",
            "--quiet",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Signal as soon as the layout has begun and is well short of its end.
    let file = dir.path().join("nodefit.0.0");
    let t0 = std::time::Instant::now();
    while std::fs::metadata(&file).map_or(true, |m| m.len() == 0) {
        assert!(t0.elapsed().as_secs() < 30, "layout never started");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(std::fs::metadata(&file).unwrap().len() < 1 << 30);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    validate(&doc);
    assert_eq!(doc["complete"], false);
    let w = &doc["workloads"][0];
    assert_eq!(w["complete"], false);
    assert_eq!(w["ops"], 0);
    let why = w["error"].as_str().unwrap();
    assert!(
        why.contains("interrupted") && why.contains("laying out"),
        "{why}"
    );
    assert!(!stderr(&out).contains("I/O error"), "{}", stderr(&out));
    assert!(
        entries(dir.path()).is_empty(),
        "left: {:?}",
        entries(dir.path())
    );
}

#[test]
fn unwritable_output_is_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        &[
            "disk",
            "--directory",
            dir.path().to_str().unwrap(),
            "--output",
            "/nonexistent/dir/r.json",
        ],
        "cannot write --output",
    );
    assert!(entries(dir.path()).is_empty());
}

/// Outputs that are one file, or the measured file itself, are refused before anything runs: the
/// user's data and the first output would be lost to the last write.
#[test]
fn outputs_that_are_the_same_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data.bin");
    std::fs::write(&data, vec![7u8; 64 * 1024]).unwrap();
    let data_s = data.to_str().unwrap();
    let p = d.join("p.txt");
    let p_s = p.to_str().unwrap();
    let link = d.join("link.txt");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    for (args, says) in [
        (
            vec![
                "--filename",
                data_s,
                "--allow-existing",
                "--rw",
                "read",
                "--bs",
                "4k",
                "--output",
                data_s,
            ],
            "--filename",
        ),
        (
            vec![
                "--filename",
                data_s,
                "--allow-existing",
                "--rw",
                "read",
                "--bs",
                "4k",
                "--prometheus-textfile",
                link.to_str().unwrap(),
            ],
            "the same file",
        ),
        (
            vec![
                "--directory",
                d.to_str().unwrap(),
                "--size",
                "64k",
                "--output",
                p_s,
                "--prometheus-textfile",
                p_s,
            ],
            "the same file",
        ),
    ] {
        let mut all = vec!["disk", "-q"];
        all.extend(args.iter());
        let o = run(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(says) && err.contains("same file"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&data).unwrap(),
            vec![7u8; 64 * 1024],
            "data.bin changed"
        );
        assert!(!p.exists());
    }
    let o = run(&[
        "trend",
        "tests/fixtures/results/node-a",
        "-o",
        p_s,
        "--markdown",
        p_s,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("same file"));
}

/// A ramp that uses up the whole run measures nothing: that is said, and is not a result (exit 2).
#[test]
fn a_ramp_that_eats_the_run_is_not_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "disk",
        "--directory",
        dir.path().to_str().unwrap(),
        "--size",
        "256k",
        "--ramp-time",
        "30s",
        "--output-format",
        "json",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing measured"));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["workloads"][0]["ops"], 0);
}
