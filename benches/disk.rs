//! nodefit against fio on the same machine, same directory, same file: the benchmark harness of
//! issue 2. It runs the release `nodefit` binary and Debian's `fio` alternately (pair after pair,
//! the order flipped every pair so drift of the disk or the host hits both tools alike) and prints,
//! per metric, the median of each tool, its spread (min–max) and the nodefit/fio ratio next to the
//! target. Every figure comes from the tools' own JSON output; nothing is rounded before the ratio
//! is taken and nothing is cached between runs.
//!
//! Scenarios (fio vocabulary, the same options handed to both tools):
//! - `recipe`: the etcd storage recipe, `--rw write --ioengine sync --fdatasync 1 --bs 2300 --size 22m`,
//!   a fresh file per run in the bench directory, fallocated first by both tools;
//! - `uring`: 4 KiB `randwrite --direct` on io_uring at QD 1, 32 and 64, time-based, on one 1 GiB file
//!   written out once before the first run and shared by every run of both tools;
//! - `null`: the null engine (no I/O), 4 KiB writes, to compare the tools' own cost per operation.
//!
//! Environment: `NODEFIT_BENCH_PAIRS` (default 5, minimum 1), `NODEFIT_BENCH_RECIPE_PAIRS`
//! (default 3 × pairs: a recipe run takes a second), `NODEFIT_BENCH_DIR` (default
//! `target/bench-scratch`; must be on the disk you want to measure, not tmpfs),
//! `NODEFIT_BENCH_RUNTIME` seconds for the time-based runs (default 5), `NODEFIT_BENCH_ONLY` a comma
//! list of scenarios (`recipe,uring,null`; default all), `NODEFIT_BENCH_NULL_SIZE` (default `8g`,
//! i.e. 2 Mi null ops per run), `NODEFIT_BENCH_FIO` (default `fio`), `NODEFIT_BENCH_BIN` (another
//! nodefit binary, e.g. an older build to compare; default the one cargo just built).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What a metric must satisfy, as issue 2 states the targets.
#[derive(Clone, Copy)]
enum Target {
    /// |ratio − 1| ≤ tolerance.
    Within(f64),
    /// ratio ≥ value (higher is better: IOPS, ops/s).
    AtLeast(f64),
    /// ratio ≤ value (lower is better: CPU per IO).
    AtMost(f64),
    /// No target; printed for context.
    Info,
}

impl Target {
    fn text(self) -> String {
        match self {
            Target::Within(t) => format!("±{:.0} %", t * 100.0),
            Target::AtLeast(v) => format!("≥ {v:.2}×"),
            Target::AtMost(v) => format!("≤ {v:.2}×"),
            Target::Info => "-".into(),
        }
    }
    fn verdict(self, ratio: f64) -> &'static str {
        let ok = match self {
            Target::Within(t) => (ratio - 1.0).abs() <= t,
            Target::AtLeast(v) => ratio >= v,
            Target::AtMost(v) => ratio <= v,
            Target::Info => return "",
        };
        if ok {
            "met"
        } else {
            "MISSED"
        }
    }
}

/// One metric of one scenario: every sample of each tool.
struct Metric {
    scenario: String,
    name: &'static str,
    unit: &'static str,
    target: Target,
    nodefit: Vec<f64>,
    fio: Vec<f64>,
}

/// A metric read from one run of one tool.
type Reading = Vec<(&'static str, &'static str, Target, f64)>;

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

fn fmt_val(v: f64, unit: &str) -> String {
    match unit {
        "ns" => {
            if v >= 1e6 {
                format!("{:.3} ms", v / 1e6)
            } else {
                format!("{:.2} µs", v / 1e3)
            }
        }
        "µs" => format!("{v:.2} µs"),
        "ops/s" | "IOPS" => {
            if v >= 1e6 {
                format!("{:.3} M", v / 1e6)
            } else if v >= 1e4 {
                format!("{:.1} k", v / 1e3)
            } else {
                format!("{v:.1}")
            }
        }
        _ => format!("{v:.3}"),
    }
}

/// Run a command, return its stdout parsed as JSON (fio may print warnings before the document).
fn run_json(cmd: &mut Command) -> Result<Value> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text
        .find('{')
        .ok_or_else(|| anyhow!("{shown}: no JSON on stdout: {text}"))?;
    serde_json::from_str(&text[start..]).with_context(|| format!("{shown}: bad JSON"))
}

fn num(v: &Value, path: &[&str]) -> Result<f64> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(*p)
            .ok_or_else(|| anyhow!("field {} missing in JSON", path.join(".")))?;
    }
    cur.as_f64()
        .ok_or_else(|| anyhow!("field {} is not a number", path.join(".")))
}

struct Bench {
    nodefit: PathBuf,
    fio: String,
    dir: PathBuf,
    pairs: usize,
    recipe_pairs: usize,
    runtime_s: u64,
    null_size: String,
    metrics: Vec<Metric>,
}

/// How to run one scenario with each tool, and what to read from each JSON document.
struct Scenario {
    name: String,
    nodefit_args: Vec<String>,
    fio_args: Vec<String>,
    read_nodefit: fn(&Value) -> Result<Reading>,
    read_fio: fn(&Value) -> Result<Reading>,
    /// Files to remove after each run (fresh layout per run).
    cleanup: Vec<PathBuf>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---- readers -----------------------------------------------------------------------------

fn nf_workload(v: &Value) -> Result<&Value> {
    let w = v
        .get("workloads")
        .and_then(|w| w.get(0))
        .ok_or_else(|| anyhow!("nodefit JSON has no workloads[0]"))?;
    if w.get("complete").and_then(Value::as_bool) != Some(true) {
        bail!(
            "nodefit run incomplete: {}",
            w.get("error").unwrap_or(&Value::Null)
        );
    }
    Ok(w)
}

fn fio_job(v: &Value) -> Result<&Value> {
    let j = v
        .get("jobs")
        .and_then(|j| j.get(0))
        .ok_or_else(|| anyhow!("fio JSON has no jobs[0]"))?;
    if num(j, &["error"])? != 0.0 {
        bail!("fio job reported error {}", j["error"]);
    }
    Ok(j)
}

fn read_recipe_nodefit(v: &Value) -> Result<Reading> {
    let w = nf_workload(v)?;
    Ok(vec![
        (
            "IOPS (writes/s)",
            "IOPS",
            Target::Within(0.05),
            num(w, &["iops"])?,
        ),
        (
            "sync p50",
            "ns",
            Target::Within(0.05),
            num(w, &["latency_ns", "sync", "percentiles", "50"])?,
        ),
        (
            "sync p99",
            "ns",
            Target::Within(0.05),
            num(w, &["latency_ns", "sync", "percentiles", "99"])?,
        ),
        ("sync ops (count)", "", Target::Info, num(w, &["sync_ops"])?),
    ])
}

fn read_recipe_fio(v: &Value) -> Result<Reading> {
    let j = fio_job(v)?;
    Ok(vec![
        (
            "IOPS (writes/s)",
            "IOPS",
            Target::Within(0.05),
            num(j, &["write", "iops"])?,
        ),
        (
            "sync p50",
            "ns",
            Target::Within(0.05),
            num(j, &["sync", "lat_ns", "percentile", "50.000000"])?,
        ),
        (
            "sync p99",
            "ns",
            Target::Within(0.05),
            num(j, &["sync", "lat_ns", "percentile", "99.000000"])?,
        ),
        (
            "sync ops (count)",
            "",
            Target::Info,
            num(j, &["sync", "lat_ns", "N"])?,
        ),
    ])
}

/// CPU seconds per operation, in µs: (usr + sys) % of the run × run time ÷ operations.
fn cpu_per_io_us(cpu_pct: f64, runtime_s: f64, ops: f64) -> f64 {
    if ops <= 0.0 {
        return f64::NAN;
    }
    cpu_pct / 100.0 * runtime_s / ops * 1e6
}

fn read_uring_nodefit(v: &Value) -> Result<Reading> {
    let w = nf_workload(v)?;
    let ops = num(w, &["ops"])?;
    let runtime = num(w, &["runtime_ns"])? / 1e9;
    let cpu = num(w, &["cpu", "usr_pct"])? + num(w, &["cpu", "sys_pct"])?;
    Ok(vec![
        ("IOPS", "IOPS", Target::AtLeast(1.0), num(w, &["iops"])?),
        // nodefit times an op from just before it is queued to just after its completion is
        // reaped: that is fio's `lat` (slat + clat). fio's `clat` starts after io_uring_enter has
        // returned, so it leaves out the submission; both are shown against the same nodefit figure.
        (
            "write p50 vs fio lat",
            "ns",
            Target::Info,
            num(w, &["latency_ns", "write", "percentiles", "50"])?,
        ),
        (
            "write p99 vs fio lat",
            "ns",
            Target::Info,
            num(w, &["latency_ns", "write", "percentiles", "99"])?,
        ),
        (
            "write p50 vs fio clat",
            "ns",
            Target::Info,
            num(w, &["latency_ns", "write", "percentiles", "50"])?,
        ),
        (
            "write p99 vs fio clat",
            "ns",
            Target::Info,
            num(w, &["latency_ns", "write", "percentiles", "99"])?,
        ),
        (
            "CPU per IO",
            "µs",
            Target::AtMost(1.0),
            cpu_per_io_us(cpu, runtime, ops),
        ),
    ])
}

fn read_uring_fio(v: &Value) -> Result<Reading> {
    let j = fio_job(v)?;
    let ops = num(j, &["write", "total_ios"])?;
    let runtime = num(j, &["job_runtime"])? / 1e3;
    let cpu = num(j, &["usr_cpu"])? + num(j, &["sys_cpu"])?;
    Ok(vec![
        (
            "IOPS",
            "IOPS",
            Target::AtLeast(1.0),
            num(j, &["write", "iops"])?,
        ),
        (
            "write p50 vs fio lat",
            "ns",
            Target::Info,
            num(j, &["write", "lat_ns", "percentile", "50.000000"])?,
        ),
        (
            "write p99 vs fio lat",
            "ns",
            Target::Info,
            num(j, &["write", "lat_ns", "percentile", "99.000000"])?,
        ),
        (
            "write p50 vs fio clat",
            "ns",
            Target::Info,
            num(j, &["write", "clat_ns", "percentile", "50.000000"])?,
        ),
        (
            "write p99 vs fio clat",
            "ns",
            Target::Info,
            num(j, &["write", "clat_ns", "percentile", "99.000000"])?,
        ),
        (
            "CPU per IO",
            "µs",
            Target::AtMost(1.0),
            cpu_per_io_us(cpu, runtime, ops),
        ),
    ])
}

/// At QD 1 issue 2 sets no target (the targets are for QD 32 and 64): same figures, for context.
fn info_only(mut r: Reading) -> Reading {
    for m in &mut r {
        m.2 = Target::Info;
    }
    r
}

fn read_uring_nodefit_qd1(v: &Value) -> Result<Reading> {
    read_uring_nodefit(v).map(info_only)
}

fn read_uring_fio_qd1(v: &Value) -> Result<Reading> {
    read_uring_fio(v).map(info_only)
}

fn read_null_nodefit(v: &Value) -> Result<Reading> {
    let w = nf_workload(v)?;
    Ok(vec![(
        "ops/s",
        "ops/s",
        Target::AtLeast(1.0),
        num(w, &["iops"])?,
    )])
}

fn read_null_fio(v: &Value) -> Result<Reading> {
    let j = fio_job(v)?;
    Ok(vec![(
        "ops/s",
        "ops/s",
        Target::AtLeast(1.0),
        num(j, &["write", "iops"])?,
    )])
}

// ---- running -----------------------------------------------------------------------------

impl Bench {
    fn record(&mut self, scenario: &str, tool_is_fio: bool, reading: Reading) {
        for (name, unit, target, value) in reading {
            let idx = match self
                .metrics
                .iter()
                .position(|m| m.scenario == scenario && m.name == name)
            {
                Some(i) => i,
                None => {
                    self.metrics.push(Metric {
                        scenario: scenario.to_string(),
                        name,
                        unit,
                        target,
                        nodefit: Vec::new(),
                        fio: Vec::new(),
                    });
                    self.metrics.len() - 1
                }
            };
            let m = &mut self.metrics[idx];
            if tool_is_fio {
                m.fio.push(value);
            } else {
                m.nodefit.push(value);
            }
        }
    }

    fn run_one(&mut self, sc: &Scenario, fio: bool) -> Result<()> {
        let t = Instant::now();
        let (v, reading) = if fio {
            let mut cmd = Command::new(&self.fio);
            cmd.args(&sc.fio_args).arg("--output-format=json");
            let v = run_json(&mut cmd)?;
            let r = (sc.read_fio)(&v)?;
            (v, r)
        } else {
            let mut cmd = Command::new(&self.nodefit);
            cmd.arg("disk")
                .args(&sc.nodefit_args)
                .args(["--output-format", "json", "--quiet"]);
            let v = run_json(&mut cmd)?;
            let r = (sc.read_nodefit)(&v)?;
            (v, r)
        };
        drop(v);
        for p in &sc.cleanup {
            let _ = std::fs::remove_file(p);
        }
        let line: Vec<String> = reading
            .iter()
            .map(|(n, u, _, x)| format!("{n}={}", fmt_val(*x, u)))
            .collect();
        eprintln!(
            "  {:<8} {:<7} {:>5.1}s  {}",
            sc.name,
            if fio { "fio" } else { "nodefit" },
            t.elapsed().as_secs_f64(),
            line.join("  ")
        );
        self.record(&sc.name, fio, reading);
        Ok(())
    }

    fn run_pairs(&mut self, sc: &Scenario, pairs: usize) -> Result<()> {
        eprintln!("== {} ({pairs} pairs)", sc.name);
        for p in 0..pairs {
            // Flip the order every pair so a drifting disk favours neither tool.
            let order = if p % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for fio in order {
                self.run_one(sc, fio)?;
            }
        }
        Ok(())
    }

    fn recipe(&mut self) -> Result<()> {
        let dir = self.dir.join("recipe");
        std::fs::create_dir_all(&dir)?;
        let d = dir.to_string_lossy().to_string();
        let sc = Scenario {
            name: "recipe".into(),
            nodefit_args: args(&[
                "--rw",
                "write",
                "--ioengine",
                "sync",
                "--fdatasync",
                "1",
                "--bs",
                "2300",
                "--size",
                "22m",
                "--name",
                "etcdbench",
                "--directory",
                &d,
            ]),
            fio_args: args(&[
                "--rw=write",
                "--ioengine=sync",
                "--fdatasync=1",
                "--bs=2300",
                "--size=22m",
                "--name=etcdbench",
                &format!("--directory={d}"),
            ]),
            read_nodefit: read_recipe_nodefit,
            read_fio: read_recipe_fio,
            cleanup: vec![dir.join("etcdbench.0.0")],
        };
        for p in &sc.cleanup {
            let _ = std::fs::remove_file(p);
        }
        self.run_pairs(&sc, self.recipe_pairs)
    }

    /// Write the shared 1 GiB file out once (sequential 1 MiB writes, then fsync), so every
    /// randwrite run of both tools overwrites allocated, written blocks.
    fn layout_uring_file(&self, path: &Path) -> Result<()> {
        if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 1 << 30 {
            return Ok(());
        }
        eprintln!(
            "== laying out {} (1 GiB, written once with fio)",
            path.display()
        );
        let mut cmd = Command::new(&self.fio);
        cmd.args([
            "--name=layout",
            "--rw=write",
            "--bs=1m",
            "--size=1g",
            "--ioengine=sync",
            "--end_fsync=1",
            &format!("--filename={}", path.display()),
        ]);
        run_json(cmd.arg("--output-format=json"))?;
        Ok(())
    }

    fn uring(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let file = self.dir.join("uring-1g.dat");
        self.layout_uring_file(&file)?;
        let f = file.to_string_lossy().to_string();
        let rt = self.runtime_s.to_string();
        for qd in [1u32, 32, 64] {
            let q = qd.to_string();
            let sc = Scenario {
                name: format!("uring-qd{qd}"),
                nodefit_args: args(&[
                    "--rw",
                    "randwrite",
                    "--ioengine",
                    "io_uring",
                    "--direct",
                    "--bs",
                    "4k",
                    "--size",
                    "1g",
                    "--iodepth",
                    &q,
                    "--runtime",
                    &rt,
                    "--time-based",
                    "--name",
                    "uring",
                    "--filename",
                    &f,
                    "--allow-existing",
                    "--keep",
                ]),
                fio_args: args(&[
                    "--rw=randwrite",
                    "--ioengine=io_uring",
                    "--direct=1",
                    "--bs=4k",
                    "--size=1g",
                    &format!("--iodepth={q}"),
                    &format!("--runtime={rt}"),
                    "--time_based",
                    // Percentiles of lat (submission included) as well as clat; see read_uring_*.
                    "--lat_percentiles=1",
                    "--name=uring",
                    &format!("--filename={f}"),
                ]),
                read_nodefit: if qd == 1 {
                    read_uring_nodefit_qd1
                } else {
                    read_uring_nodefit
                },
                read_fio: if qd == 1 {
                    read_uring_fio_qd1
                } else {
                    read_uring_fio
                },
                cleanup: vec![],
            };
            self.run_pairs(&sc, self.pairs)?;
        }
        Ok(())
    }

    fn null(&mut self) -> Result<()> {
        let dir = self.dir.join("null");
        std::fs::create_dir_all(&dir)?;
        let d = dir.to_string_lossy().to_string();
        let size = self.null_size.clone();
        let sc = Scenario {
            name: "null".into(),
            nodefit_args: args(&[
                "--rw",
                "write",
                "--ioengine",
                "null",
                "--bs",
                "4k",
                "--size",
                &size,
                "--name",
                "nullbench",
                "--directory",
                &d,
            ]),
            fio_args: args(&[
                "--rw=write",
                "--ioengine=null",
                "--bs=4k",
                &format!("--size={size}"),
                "--name=nullbench",
                &format!("--directory={d}"),
            ]),
            read_nodefit: read_null_nodefit,
            read_fio: read_null_fio,
            cleanup: vec![dir.join("nullbench.0.0")],
        };
        self.run_pairs(&sc, self.pairs)
    }

    fn report(&self) {
        println!();
        println!(
            "nodefit vs fio: {} pair(s) per scenario ({} for the recipe), medians (min–max); \
             ratio = nodefit median / fio median; paired = median of the per-pair ratios (each \
             pair ran back to back, so it cancels the disk's drift); the verdict reads the paired \
             ratio",
            self.pairs, self.recipe_pairs
        );
        println!(
            "| scenario | metric | nodefit median (min–max) | fio median (min–max) | ratio | paired | target | |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for m in &self.metrics {
            let (nm, fm) = (median(&m.nodefit), median(&m.fio));
            let (nlo, nhi) = min_max(&m.nodefit);
            let (flo, fhi) = min_max(&m.fio);
            let ratio = nm / fm;
            let per_pair: Vec<f64> = m.nodefit.iter().zip(&m.fio).map(|(n, f)| n / f).collect();
            let paired = median(&per_pair);
            println!(
                "| {} | {} | {} ({}–{}) | {} ({}–{}) | {:.3} | {:.3} | {} | {} |",
                m.scenario,
                m.name,
                fmt_val(nm, m.unit),
                fmt_val(nlo, m.unit),
                fmt_val(nhi, m.unit),
                fmt_val(fm, m.unit),
                fmt_val(flo, m.unit),
                fmt_val(fhi, m.unit),
                ratio,
                paired,
                m.target.text(),
                m.target.verdict(paired),
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter word, if any, is ignored (use NODEFIT_BENCH_ONLY).
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run() -> Result<()> {
    let env_count = |name: &str, default: usize| -> Result<usize> {
        match std::env::var(name) {
            Ok(s) => s
                .parse::<usize>()
                .map(|n| n.max(1))
                .with_context(|| format!("{name}={s} is not a number")),
            Err(_) => Ok(default),
        }
    };
    let pairs = env_count("NODEFIT_BENCH_PAIRS", 5)?;
    // A recipe run lasts about a second and this class of disk is noisy: take more pairs.
    let recipe_pairs = env_count("NODEFIT_BENCH_RECIPE_PAIRS", pairs * 3)?;
    let runtime_s: u64 = match std::env::var("NODEFIT_BENCH_RUNTIME") {
        Ok(s) => s
            .parse()
            .with_context(|| format!("NODEFIT_BENCH_RUNTIME={s} is not whole seconds"))?,
        Err(_) => 5,
    };
    let dir = std::env::var_os("NODEFIT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-scratch"));
    let only = std::env::var("NODEFIT_BENCH_ONLY").unwrap_or_else(|_| "recipe,uring,null".into());
    let fio = std::env::var("NODEFIT_BENCH_FIO").unwrap_or_else(|_| "fio".into());
    match Command::new(&fio).arg("--version").output() {
        Ok(o) if o.status.success() => {
            eprintln!("fio: {}", String::from_utf8_lossy(&o.stdout).trim());
        }
        _ => bail!("`{fio} --version` failed: install fio (Debian: apt-get install fio)"),
    }
    let mut b = Bench {
        nodefit: std::env::var_os("NODEFIT_BENCH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nodefit"))),
        fio,
        dir,
        pairs,
        recipe_pairs,
        runtime_s: runtime_s.max(1),
        null_size: std::env::var("NODEFIT_BENCH_NULL_SIZE").unwrap_or_else(|_| "8g".into()),
        metrics: Vec::new(),
    };
    eprintln!(
        "nodefit: {}\nscratch directory: {}",
        b.nodefit.display(),
        b.dir.display()
    );
    for s in only.split(',').map(str::trim) {
        match s {
            "recipe" => b.recipe()?,
            "uring" => b.uring()?,
            "null" => b.null()?,
            "" => {}
            other => bail!("NODEFIT_BENCH_ONLY: unknown scenario {other} (recipe, uring, null)"),
        }
    }
    b.report();
    Ok(())
}
