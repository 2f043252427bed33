//! Benchmark: `nodefit etcd` against `etcdctl check perf` on the same local single-member etcd,
//! alternating, at loads s and m; then the highest rate nodefit sustains within 1 % of its schedule
//! with `--clients 500`. Run with `cargo bench --bench etcd`.
//!
//! Environment (for quick runs): NODEFIT_BENCH_SECS — nodefit's duration per run (default 60, as
//! check perf; check perf itself always runs 60 s); NODEFIT_BENCH_ROUNDS — alternations (default
//! 3); NODEFIT_BENCH_SEARCH_SECS — duration of each step of the rate search (default 10).
//!
//! What is measured, and how: achieved writes/s as each tool reports it; nodefit's service-time
//! percentiles (send → reply, the same clock check perf uses) beside check perf's slowest request
//! and standard deviation (check perf prints no average or percentiles); client CPU seconds =
//! user + system time of the client child process (getrusage RUSAGE_CHILDREN delta around it).
//! Medians over the rounds.

// The test fixture, and the certificates it takes from its parent module (`super::certs`).
#[path = "../tests/it/support/bundled.rs"]
pub mod bundled;
#[path = "../tests/it/support/certs.rs"]
mod certs;
#[path = "../tests/it/support/etcd.rs"]
mod etcd_support;

use etcd_support::EtcdCluster;
use std::process::Command;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn children_cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

#[derive(Clone, Debug, Default)]
struct Sample {
    achieved: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    mean_ms: Option<f64>,
    slowest_ms: f64,
    stddev_ms: f64,
    cpu_s: f64,
    errors: u64,
    unsent: u64,
}

fn nodefit(endpoints: &str, extra: &[&str]) -> (Sample, serde_json::Value) {
    let cpu0 = children_cpu();
    let out = Command::new(env!("CARGO_BIN_EXE_nodefit"))
        .args([
            "etcd",
            "--endpoints",
            endpoints,
            "--output-format",
            "json",
            "-q",
        ])
        .args(extra)
        .output()
        .expect("nodefit runs");
    let cpu = children_cpu() - cpu0;
    assert!(
        out.status.success(),
        "nodefit {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let e = doc["etcd"].clone();
    let ms = |v: &serde_json::Value| v.as_f64().map(|x| x / 1e6);
    let s = Sample {
        achieved: e["achieved_rate"].as_f64().unwrap_or(0.0),
        p50_ms: ms(&e["service_time_ns"]["percentiles"]["50"]),
        p99_ms: ms(&e["service_time_ns"]["percentiles"]["99"]),
        mean_ms: ms(&e["service_time_ns"]["mean"]),
        slowest_ms: ms(&e["service_time_ns"]["max"]).unwrap_or(0.0),
        stddev_ms: ms(&e["service_time_ns"]["stddev"]).unwrap_or(0.0),
        cpu_s: cpu,
        errors: e["errors_total"].as_u64().unwrap_or(0),
        unsent: e["behind_schedule"]["unsent"].as_u64().unwrap_or(0),
    };
    (s, e)
}

/// The number after `marker` in check perf's output (its throughput is printed rounded to an
/// integer) ("Throughput is 150 writes/s",
/// "Slowest request took 0.014s", "Stddev is 0.002s", and their FAIL forms).
fn after(text: &str, markers: &[&str]) -> Option<f64> {
    for m in markers {
        if let Some(i) = text.find(m) {
            let rest = &text[i + m.len()..];
            let num: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if let Ok(v) = num.parse() {
                return Some(v);
            }
        }
    }
    None
}

fn check_perf(endpoints: &str, load: &str) -> Sample {
    let cpu0 = children_cpu();
    let out = Command::new(etcd_support::bundled::etcdctl())
        .env("ETCDCTL_API", "3")
        .args([
            &format!("--endpoints={endpoints}"),
            "check",
            "perf",
            "--load",
            load,
        ])
        .output()
        .expect("the bundled etcdctl runs");
    let cpu = children_cpu() - cpu0;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Sample {
        achieved: after(&text, &["Throughput is", "Throughput too low:"]).unwrap_or(0.0),
        p50_ms: None,
        p99_ms: None,
        mean_ms: None,
        slowest_ms: after(
            &text,
            &["Slowest request took", "Slowest request too slow:"],
        )
        .unwrap_or(f64::NAN)
            * 1e3,
        stddev_ms: after(&text, &["Stddev is", "Stddev too high:"]).unwrap_or(f64::NAN) * 1e3,
        cpu_s: cpu,
        errors: if text.contains("FAIL") { 1 } else { 0 },
        unsent: 0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn med(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> f64 {
    median(samples.iter().filter_map(f).collect())
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and
    // then it must not spend minutes benchmarking. A filter argument that is not ours skips it too.
    let all: Vec<String> = std::env::args().skip(1).collect();
    if !all.iter().any(|a| a == "--bench") {
        println!("etcd bench: run it with `cargo bench --bench etcd` (skipped under cargo test)");
        return;
    }
    let args: Vec<String> = all.into_iter().filter(|a| a != "--bench").collect();
    if args
        .iter()
        .any(|a| !a.starts_with('-') && !"etcd".contains(a.as_str()))
    {
        return;
    }
    let secs = env_u64("NODEFIT_BENCH_SECS", 60);
    let rounds = env_u64("NODEFIT_BENCH_ROUNDS", 3);
    let search_secs = env_u64("NODEFIT_BENCH_SEARCH_SECS", 10);
    let c = EtcdCluster::start(1);
    let ep = c.endpoints();
    eprintln!(
        "etcd bench: one local member at {ep}; nodefit {secs}s per run, check perf 60s, {rounds} round(s)"
    );
    let loads = ["s", "m"];
    let mut nf: Vec<Vec<Sample>> = vec![Vec::new(); loads.len()];
    let mut cp: Vec<Vec<Sample>> = vec![Vec::new(); loads.len()];
    for round in 0..rounds {
        for (li, load) in loads.iter().enumerate() {
            // Alternate which tool goes first, so neither always meets a fresher cluster.
            let order: [bool; 2] = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_nodefit in order {
                if is_nodefit {
                    let prefix = format!("/nodefit-bench/{round}/{load}/");
                    let (s, _) = nodefit(
                        &ep,
                        &[
                            "--load",
                            load,
                            "--duration",
                            &format!("{secs}s"),
                            "--prefix",
                            &prefix,
                        ],
                    );
                    eprintln!("  round {round} nodefit --load {load}: {s:?}");
                    nf[li].push(s);
                } else {
                    let s = check_perf(&ep, load);
                    eprintln!("  round {round} check perf --load {load}: {s:?}");
                    cp[li].push(s);
                }
            }
        }
    }
    println!();
    println!(
        "nodefit etcd vs etcdctl check perf — one local etcd member, medians of {rounds} round(s)"
    );
    println!("(nodefit {secs}s per run, check perf 60s; latency = send→reply service time; CPU = client process user+sys)");
    println!(
        "{:<6} {:<11} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8} {:>8}",
        "load",
        "tool",
        "writes/s",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "slowest ms",
        "stdev ms",
        "CPU s",
        "CPU/kop"
    );
    for (li, load) in loads.iter().enumerate() {
        for (tool, s, dur) in [
            ("nodefit", &nf[li], secs as f64),
            ("check perf", &cp[li], 60.0),
        ] {
            let achieved = med(s, |x| Some(x.achieved));
            let cpu = med(s, |x| Some(x.cpu_s));
            let f = |v: f64| {
                if v.is_finite() {
                    format!("{v:.2}")
                } else {
                    "-".into()
                }
            };
            println!(
                "{:<6} {:<11} {:>10.1} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8.2} {:>8.3}",
                load,
                tool,
                achieved,
                f(med(s, |x| x.p50_ms)),
                f(med(s, |x| x.p99_ms)),
                f(med(s, |x| x.mean_ms)),
                f(med(s, |x| Some(x.slowest_ms))),
                f(med(s, |x| Some(x.stddev_ms))),
                cpu,
                // CPU seconds per thousand requests: achieved rate × nominal duration.
                cpu / (achieved * dur / 1e3).max(1e-9)
            );
        }
        let a = med(&nf[li], |x| Some(x.achieved)) / med(&cp[li], |x| Some(x.achieved));
        let cpu_rate_nf =
            med(&nf[li], |x| Some(x.cpu_s)) / (med(&nf[li], |x| Some(x.achieved)) * secs as f64);
        let cpu_rate_cp =
            med(&cp[li], |x| Some(x.cpu_s)) / (med(&cp[li], |x| Some(x.achieved)) * 60.0);
        println!(
            "{:<6} ratio nodefit/check perf: writes/s {:.3}, client CPU per request {:.3}",
            load,
            a,
            cpu_rate_nf / cpu_rate_cp
        );
    }

    // Highest rate within 1 % of schedule with 500 clients: achieved ≥ 99 % of target, nothing
    // left unsent beyond 1 %, no errors.
    let ok = |rate: f64| -> (bool, Sample) {
        let (s, _) = nodefit(
            &ep,
            &[
                "--rate",
                &format!("{rate}"),
                "--clients",
                "500",
                "--duration",
                &format!("{search_secs}s"),
                "--accept-production-load",
                "--prefix",
                &format!("/nodefit-bench/search/{rate}/"),
            ],
        );
        let scheduled = rate * search_secs as f64;
        let pass =
            s.achieved >= 0.99 * rate && (s.unsent as f64) <= 0.01 * scheduled && s.errors == 0;
        eprintln!("  search {rate}/s: pass={pass} {s:?}");
        (pass, s)
    };
    let mut lo = 0.0;
    let mut hi = None;
    let mut lo_sample = Sample::default();
    for rate in [
        1000.0, 2000.0, 4000.0, 8000.0, 12000.0, 16000.0, 24000.0, 32000.0,
    ] {
        let (pass, s) = ok(rate);
        if pass {
            lo = rate;
            lo_sample = s;
        } else {
            hi = Some(rate);
            break;
        }
    }
    if let Some(mut h) = hi {
        for _ in 0..3 {
            let mid = ((lo + h) / 2.0 / 100.0).round() * 100.0;
            if mid <= lo || mid >= h {
                break;
            }
            let (pass, s) = ok(mid);
            if pass {
                lo = mid;
                lo_sample = s;
            } else {
                h = mid;
            }
        }
    }
    println!();
    println!(
        "highest rate within 1 % of schedule, --clients 500, {search_secs}s steps: {lo}/s (achieved {:.1}/s, service p99 {} ms, client CPU {:.2}s){}",
        lo_sample.achieved,
        lo_sample.p99_ms.map(|v| format!("{v:.2}")).unwrap_or("-".into()),
        lo_sample.cpu_s,
        if hi.is_none() { " — the ladder's top, not a limit" } else { "" }
    );
}
