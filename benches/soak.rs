//! Soak: nodefit itself over a long run, as it runs nightly on production nodes. Not a CI test.
//!
//! 1. `nodefit disk` time-based (4 KiB sequential writes, fdatasync each) for N minutes;
//! 2. `nodefit etcd --rate 1000` on an embedded etcd for N minutes.
//!
//! For each, the release binary's RSS (VmRSS) and open file descriptors are sampled every second
//! from /proc; the bench prints the RSS range over the run (after a 10 s warm-up), the fd count
//! at 10 s and 5 s before the end (the steady state, not the shutdown), and for the etcd run the achieved rate of every whole
//! minute (from the result's per-second series) against the target. Verdicts: RSS ≤ 64 MB, fds
//! not growing (none more at the end than at 10 s, at most 2 more at any time), every minute within 1 % of the target rate.
//!
//! `NODEFIT_SOAK_MINUTES` (default 30), `NODEFIT_SOAK_DIR` (default target/soak-scratch: put it
//! on the disk you mean), `NODEFIT_SOAK_ONLY` (`disk,etcd`), `NODEFIT_BENCH_BIN` (another binary).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RSS_LIMIT_KB: u64 = 64 * 1000; // 64 MB
const WARMUP: Duration = Duration::from_secs(10);

struct Samples {
    rss_kb: Vec<u64>,
    fds: Vec<usize>,
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// The child's stdout, read on a thread: a long run's JSON (a per-second series) is larger than
/// a pipe holds, and the child would block writing it while we wait for it to exit.
fn read_stdout(child: &mut Child) -> std::thread::JoinHandle<Vec<u8>> {
    let out = child.stdout.take();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut o) = out {
            use std::io::Read;
            let _ = o.read_to_end(&mut buf);
        }
        buf
    })
}

/// Sample the child every second until it exits; returns the samples after the warm-up.
fn sample(child: &mut Child) -> Result<Samples> {
    let pid = child.id();
    let start = Instant::now();
    let mut s = Samples {
        rss_kb: Vec::new(),
        fds: Vec::new(),
    };
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() >= WARMUP {
            if let (Some(r), Some(f)) = (rss_kb(pid), fd_count(pid)) {
                s.rss_kb.push(r);
                s.fds.push(f);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(s)
}

fn report_process(name: &str, s: &Samples) -> bool {
    if s.rss_kb.is_empty() {
        println!("{name}: no samples after the warm-up (run shorter than {WARMUP:?})");
        return false;
    }
    let min = *s.rss_kb.iter().min().unwrap_or(&0);
    let max = *s.rss_kb.iter().max().unwrap_or(&0);
    let first = s.rss_kb[0];
    let last = *s.rss_kb.last().unwrap_or(&0);
    // The last seconds are the shutdown (connections closing, etcd stopping): compare the
    // steady state 10 s in with the steady state 5 s before the end.
    let fd0 = s.fds[0];
    let fd1 = s.fds[s.fds.len().saturating_sub(6)];
    let rss_ok = max <= RSS_LIMIT_KB;
    // A leak grows; one fewer is a connection that closed. The max shows a leak that a late close
    // would hide.
    let steady = &s.fds[..s.fds.len().saturating_sub(5)];
    let fd_max = *steady.iter().max().unwrap_or(&0);
    let fd_ok = fd1 <= fd0 && fd_max <= fd0 + 2;
    println!(
        "{name}: {} one-second samples; RSS first {first} kB, last {last} kB, min {min} kB, max {max} kB (limit {RSS_LIMIT_KB} kB): {}",
        s.rss_kb.len(),
        if rss_ok { "ok" } else { "OVER" }
    );
    println!(
        "{name}: open fds at {}s {fd0}, 5 s before the end {fd1}, max {fd_max}: {}",
        WARMUP.as_secs(),
        if fd_ok { "not growing" } else { "GROWING" }
    );
    rss_ok && fd_ok
}

fn soak_disk(bin: &Path, dir: &Path, minutes: u64) -> Result<bool> {
    let mut child = Command::new(bin)
        .args([
            "disk",
            "--rw",
            "write",
            "--bs",
            "4k",
            "--size",
            "256m",
            "--fdatasync",
            "1",
            "--time-based",
            "--quiet",
            "--output-format",
            "json",
            "--runtime",
        ])
        .arg(format!("{}m", minutes))
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nodefit disk")?;
    let stdout = read_stdout(&mut child);
    let s = sample(&mut child)?;
    let status = child.wait()?;
    let stdout = stdout.join().unwrap_or_default();
    if !status.success() {
        bail!("nodefit disk exited {status}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&stdout)?;
    let w = &doc["workloads"][0];
    println!(
        "disk: {} ops, {:.1} IOPS, fdatasync p99 {} ns over {:.0} s",
        w["ops"],
        w["iops"].as_f64().unwrap_or(0.0),
        w["latency_ns"]["sync"]["percentiles"]["99"],
        w["runtime_ns"].as_f64().unwrap_or(0.0) / 1e9
    );
    Ok(report_process("disk", &s))
}

fn soak_etcd(bin: &Path, dir: &Path, minutes: u64) -> Result<bool> {
    let rate = 1000.0;
    let mut child = Command::new(bin)
        .args([
            "etcd",
            "--rate",
            "1000",
            "--quiet",
            "--output-format",
            "json",
            "--duration",
        ])
        .arg(format!("{}m", minutes))
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nodefit etcd")?;
    let stdout = read_stdout(&mut child);
    let s = sample(&mut child)?;
    let status = child.wait()?;
    let stdout = stdout.join().unwrap_or_default();
    if !status.success() {
        bail!("nodefit etcd exited {status}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&stdout)?;
    let e = &doc["etcd"];
    let series = e["timeseries"].as_array().cloned().unwrap_or_default();
    let mut minutes_ok = true;
    for (m, chunk) in series.chunks(60).enumerate() {
        if chunk.len() < 60 {
            println!(
                "etcd: minute {} has {} s only: not judged",
                m + 1,
                chunk.len()
            );
            continue;
        }
        let ops: u64 = chunk.iter().map(|x| x["ops"].as_u64().unwrap_or(0)).sum();
        let achieved = ops as f64 / 60.0;
        let off = (achieved - rate).abs() / rate;
        let ok = off <= 0.01;
        minutes_ok &= ok;
        println!(
            "etcd: minute {:>2}: {achieved:.1} ops/s ({:+.2} % of {rate}) {}",
            m + 1,
            (achieved - rate) / rate * 100.0,
            if ok { "ok" } else { "OFF" }
        );
    }
    println!(
        "etcd: achieved {} ops/s overall, put p99 {} ns, errors {}, leader changes {}",
        e["achieved_rate"],
        e["latency_ns"]["percentiles"]["99"],
        e["errors_total"],
        e["leader_changes"]
    );
    Ok(report_process("etcd", &s) && minutes_ok)
}

fn main() -> Result<()> {
    let minutes: u64 = std::env::var("NODEFIT_SOAK_MINUTES")
        .ok()
        .map(|s| s.parse())
        .transpose()
        .context("NODEFIT_SOAK_MINUTES is not whole minutes")?
        .unwrap_or(30);
    let dir: PathBuf = std::env::var_os("NODEFIT_SOAK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/soak-scratch"));
    std::fs::create_dir_all(&dir)?;
    let bin = std::env::var_os("NODEFIT_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/nodefit"));
    if !bin.exists() {
        bail!("{} missing: cargo build --release first", bin.display());
    }
    let only = std::env::var("NODEFIT_SOAK_ONLY").unwrap_or_else(|_| "disk,etcd".into());
    println!(
        "soak: {minutes} min each, binary {}, directory {}",
        bin.display(),
        dir.display()
    );
    let mut ok = true;
    for part in only.split(',') {
        ok &= match part.trim() {
            "disk" => soak_disk(&bin, &dir, minutes)?,
            "etcd" => soak_etcd(&bin, &dir, minutes)?,
            other => bail!("NODEFIT_SOAK_ONLY: unknown part {other} (disk, etcd)"),
        };
    }
    println!("soak: {}", if ok { "PASS" } else { "FAIL" });
    Ok(())
}
