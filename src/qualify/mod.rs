//! `nodefit qualify`: profile → disk workloads (in rounds) → etcd probe → fingerprint → scoring →
//! verdict, with `result.json` written to the output directory. A failed qualification is an
//! outcome (exit 1), not an error; exit 2 means the run could not be made, 130 that it was
//! interrupted (the partial result is still written, marked incomplete, scratch files removed).

use crate::cli::OutputFormat;
use crate::fingerprint::{cpu_sample, cpu_time_between, Fingerprint};
use crate::results::{CheckResult, ResultsDocument};
use crate::score::profile::{Profile, DEFAULT_PROFILE};
use crate::score::{format_value, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// When MARGINAL should count as not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 on MARGINAL as well as UNFIT
    Marginal,
    /// Exit 1 on UNFIT only (the default)
    Unfit,
}

#[derive(Debug, clap::Args)]
pub struct QualifyArgs {
    /// Profile name (see `nodefit profiles`) or path to a profile .toml file
    #[arg(long, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Directory on the disk to qualify (etcd's data directory's disk, e.g. /var/lib/etcd)
    #[arg(long, default_value = ".")]
    pub directory: PathBuf,
    /// Probe this etcd cluster instead of an embedded local etcd (comma-separated URLs)
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// Name of the node in the results [default: host name]
    #[arg(long)]
    pub node_name: Option<String>,
    /// Qualify these nodes as one etcd cluster: name=address,… (run on every node at about the same time; this node is --node-name). More options: --etcd-arg=--join-timeout=…, see `nodefit etcd --help`
    #[arg(long, conflicts_with_all = ["endpoints", "no_etcd"])]
    pub cluster: Option<String>,
    /// Where result.json goes [default: reports/<node-name>/<UTC timestamp>/]
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Halve every workload's time and size bounds and the etcd probe's duration (smoke checks)
    #[arg(long)]
    pub quick: bool,
    /// Rounds of every disk workload (overrides the profile)
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Exit 1 also on MARGINAL
    #[arg(long, value_enum, default_value = "unfit")]
    pub fail_on: FailOn,
    /// Output format: a table and verdict, or the result document
    #[arg(long, value_enum, default_value = "normal")]
    pub output_format: OutputFormat,
    /// No progress lines
    #[arg(long, short)]
    pub quiet: bool,
    /// Extra option for the etcd probe, in `nodefit etcd`'s words (repeatable), e.g.
    /// --etcd-arg=--cacert=/etc/etcd/ca.crt
    #[arg(long = "etcd-arg", allow_hyphen_values = true)]
    pub etcd_args: Vec<String>,
    /// Skip the etcd probe (its checks are reported as skipped)
    #[arg(long, conflicts_with = "endpoints")]
    pub no_etcd: bool,
}

/// One unit of disk work: a workload alone, or a concurrent group run together.
struct Step {
    label: String,
    members: Vec<usize>,
    rounds: u32,
}

fn steps(profile: &Profile, rounds_override: Option<u32>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut groups: Vec<(String, usize)> = Vec::new();
    for (i, w) in profile.disk.iter().enumerate() {
        let rounds = rounds_override.unwrap_or(w.rounds);
        match &w.concurrent_group {
            Some(g) => match groups.iter().find(|(name, _)| name == g) {
                Some((_, s)) => {
                    let s = &mut out[*s];
                    s.members.push(i);
                    s.label = format!("{}+{}", s.label, w.id);
                    s.rounds = s.rounds.max(rounds);
                }
                None => {
                    groups.push((g.clone(), out.len()));
                    out.push(Step {
                        label: w.id.clone(),
                        members: vec![i],
                        rounds,
                    });
                }
            },
            None => out.push(Step {
                label: w.id.clone(),
                members: vec![i],
                rounds,
            }),
        }
    }
    out
}

fn say(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("{msg}");
    }
}

/// `20261126T170000Z` from an RFC 3339 stamp.
fn compact_stamp(rfc: &str) -> String {
    rfc.chars().filter(|c| *c != '-' && *c != ':').collect()
}

pub fn run(a: QualifyArgs) -> anyhow::Result<i32> {
    let profile = Profile::find(&a.profile)?;
    if let Some(0) = a.rounds {
        anyhow::bail!("--rounds must be at least 1");
    }
    let md = std::fs::metadata(&a.directory)
        .map_err(|e| anyhow::anyhow!("--directory {}: {e}", a.directory.display()))?;
    if !md.is_dir() {
        anyhow::bail!("--directory {} is not a directory", a.directory.display());
    }
    let dir = a.directory.clone();
    let quiet = a.quiet || a.output_format == OutputFormat::Json;
    let started = std::time::SystemTime::now();
    let mut doc = ResultsDocument::new(started);
    let node_name = a.node_name.clone().unwrap_or_else(|| doc.hostname.clone());
    doc.node_name = Some(node_name.clone());
    doc.profile = Some(profile.summary_json());
    let cpu0 = cpu_sample(Path::new("/"));
    let mut fp = Fingerprint::collect(&dir);

    say(
        quiet,
        &format!(
            "nodefit qualify: node {node_name}, profile {} ({})",
            profile.name, profile.file
        ),
    );
    say(quiet, &fp.describe_disk());
    let etcd_dir = Path::new("/var/lib/etcd");
    if etcd_dir.is_dir() && std::fs::canonicalize(&dir).ok() != std::fs::canonicalize(etcd_dir).ok()
    {
        say(
            quiet,
            "note: /var/lib/etcd exists on this node; to measure the disk etcd will use, pass --directory /var/lib/etcd",
        );
    }

    let plan = steps(&profile, a.rounds);
    let mut specs_by_workload = Vec::new();
    for w in &profile.disk {
        specs_by_workload.push(w.spec(&dir, a.quick)?);
    }
    let run_etcd = !a.no_etcd && profile.etcd.is_some();
    let etcd_duration =
        profile
            .etcd
            .as_ref()
            .and_then(|e| e.duration)
            .map(|d| if a.quick { d / 2 } else { d });
    let disk_eta: Duration = plan
        .iter()
        .map(|s| {
            let longest = s
                .members
                .iter()
                .map(|i| {
                    let sp = &specs_by_workload[*i];
                    Duration::from_nanos(sp.runtime_ns.unwrap_or(0) + sp.ramp_time_ns)
                })
                .max()
                .unwrap_or_default();
            longest * s.rounds
        })
        .sum();
    let eta = disk_eta
        + if run_etcd {
            etcd_duration.unwrap_or(Duration::from_secs(60)) + Duration::from_secs(10)
        } else {
            Duration::ZERO
        };
    say(
        quiet,
        &format!(
            "plan: {} disk step(s), up to {} round(s){}; ETA about {}s (an upper bound: workloads stop early when their size is written)",
            plan.len(),
            plan.iter().map(|s| s.rounds).max().unwrap_or(0),
            if run_etcd { ", then the etcd probe" } else { "" },
            eta.as_secs()
        ),
    );

    let progress = crate::cli::stderr_is_tty() && !quiet;
    let run_start = std::time::Instant::now();
    let mut interrupted = false;
    let max_rounds = plan.iter().map(|s| s.rounds).max().unwrap_or(0);
    'rounds: for r in 1..=max_rounds {
        for s in plan.iter().filter(|s| s.rounds >= r) {
            if crate::signals::stop_requested() {
                interrupted = true;
                break 'rounds;
            }
            let specs: Vec<_> = s
                .members
                .iter()
                .map(|i| specs_by_workload[*i].clone())
                .collect();
            let opts = crate::disk::RunOptions {
                progress,
                label: Some(format!(
                    "round {r}/{max_rounds} {} (qualify ETA ≤{}s) ",
                    s.label,
                    eta.saturating_sub(run_start.elapsed()).as_secs()
                )),
            };
            let results = match crate::disk::run_workloads(&specs, &opts) {
                Ok(r) => r,
                Err(e) => {
                    if doc.workloads.is_empty() {
                        return Err(e.into());
                    }
                    doc.complete = false;
                    doc.incomplete_reason = Some(e.to_string());
                    break 'rounds;
                }
            };
            for (k, mut w) in results.into_iter().enumerate() {
                w.round = Some(r);
                w.concurrent_group = profile.disk[s.members[k]].concurrent_group.clone();
                if !w.complete && doc.complete {
                    doc.complete = false;
                    doc.incomplete_reason = w.error.clone();
                }
                doc.workloads.push(w);
            }
            if crate::signals::stop_requested() {
                interrupted = true;
                break 'rounds;
            }
            if !doc.complete {
                break 'rounds;
            }
            for w in &doc.workloads[doc.workloads.len() - s.members.len()..] {
                say(
                    quiet,
                    &format!(
                        "  round {r} {}: {} data ops, {} flushes in {:.1}s{}",
                        w.spec.name,
                        w.ops,
                        w.sync_ops,
                        w.runtime_ns as f64 / 1e9,
                        if s.members.len() > 1 {
                            " (concurrently)"
                        } else {
                            ""
                        }
                    ),
                );
            }
        }
    }

    let mut skip: Vec<(String, String)> = Vec::new();
    let mut etcd_failed_explicitly = false;
    if a.no_etcd {
        skip.push(("etcd".into(), "etcd probe not run (--no-etcd)".into()));
    } else if interrupted || !doc.complete {
        skip.push((
            "etcd".into(),
            "etcd probe not run: the disk phase did not complete".into(),
        ));
    } else if let Some(plan) = &profile.etcd {
        let mut words = plan.words.clone();
        if a.quick {
            if let (Some(i), Some(d)) =
                (words.iter().position(|w| w == "--duration"), etcd_duration)
            {
                if i + 1 < words.len() {
                    words[i + 1] = format!("{}ms", d.as_millis());
                }
            }
        }
        if let Some(spec) = &a.cluster {
            words.extend(["--cluster".into(), spec.clone(), "--node-name".into()]);
            words.push(node_name.clone());
        }
        if a.endpoints.is_empty() {
            words.push("--directory".into());
            words.push(dir.display().to_string());
        } else {
            words.push("--endpoints".into());
            words.push(a.endpoints.join(","));
        }
        if quiet {
            words.push("--quiet".into());
        }
        words.extend(a.etcd_args.iter().cloned());
        say(
            quiet,
            &format!("etcd probe: nodefit etcd {}", words.join(" ")),
        );
        let outcome = match crate::etcd::cli::EtcdArgs::from_args(&words) {
            Ok(args) if a.cluster.is_some() => crate::cluster::probe_blocking(&args, progress)
                .map(|(e, c)| {
                    doc.cluster = Some(c);
                    e
                })
                .map_err(|e| e.to_string()),
            Ok(args) => crate::etcd::probe_blocking(&args, progress).map_err(|e| e.to_string()),
            Err(e) => Err(format!("bad etcd options: {e}")),
        };
        match outcome {
            Ok(r) => doc.etcd = Some(r),
            Err(e) => {
                if crate::signals::stop_requested() {
                    interrupted = true;
                }
                say(quiet, &format!("etcd probe failed: {e}"));
                skip.push(("etcd".into(), format!("etcd probe failed: {e}")));
                etcd_failed_explicitly = !a.endpoints.is_empty() || a.cluster.is_some();
                if quiet && etcd_failed_explicitly {
                    eprintln!("nodefit: qualify: etcd probe failed: {e}");
                }
            }
        }
    }
    if crate::signals::stop_requested() {
        interrupted = true;
    }
    if interrupted {
        doc.complete = false;
        doc.incomplete_reason = Some("interrupted (SIGINT/SIGTERM)".into());
    }

    fp.cpu_time = cpu_time_between(cpu0, cpu_sample(Path::new("/")));
    let mut warnings = fp.warnings();
    doc.fingerprint = Some(serde_json::to_value(&fp)?);
    let json = serde_json::to_value(&doc)?;
    let outcome = crate::cluster::score::judge(&profile, &json, &skip);
    let signals = crate::score::honesty::signals(&doc.workloads, Some(&fp));
    warnings.extend(crate::score::honesty::warning(&signals));
    warnings.extend(outcome.warnings.iter().cloned());
    if !doc.complete {
        warnings.push(format!(
            "incomplete run ({}): no verdict; the checks cover only what ran",
            doc.incomplete_reason.as_deref().unwrap_or("stopped early")
        ));
    } else {
        doc.verdict = Some(outcome.verdict.as_str().into());
        doc.score = Some(outcome.score);
    }
    doc.checks = outcome.checks.clone();
    doc.warnings = warnings;
    doc.finish();

    let out_dir = a.output_dir.clone().unwrap_or_else(|| {
        PathBuf::from("reports")
            .join(&node_name)
            .join(compact_stamp(&doc.started_at))
    });
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    let result_path = out_dir.join("result.json");
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    std::fs::write(&result_path, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", result_path.display()))?;

    // The HTML report beside result.json; a report that cannot be drawn is a warning, not a
    // failed qualification (result.json is already written).
    let report = match crate::report::write_node_report(&doc, &out_dir) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("nodefit: warning: report.html not written: {e}");
            None
        }
    };

    match a.output_format {
        OutputFormat::Json => crate::cli::emit(None, &bytes)?,
        OutputFormat::Normal => {
            use std::io::IsTerminal;
            let colour = std::io::stdout().is_terminal();
            let text = render(&doc, &outcome.reasons, colour);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            writeln!(out, "result: {}", result_path.display())?;
            if let Some(r) = &report {
                writeln!(out, "report: {}", r.display())?;
            }
            out.flush()?;
        }
    }

    if interrupted {
        return Ok(130);
    }
    if !doc.complete || etcd_failed_explicitly {
        return Ok(2);
    }
    Ok(match outcome.verdict {
        Verdict::Fit => 0,
        Verdict::Unfit => 1,
        Verdict::Marginal if a.fail_on == FailOn::Marginal => 1,
        Verdict::Marginal => 0,
    })
}

/// The part of a source before its first detail, for the table.
fn short_source(s: &str) -> String {
    let cut = s.find(['(', ':', ',']).unwrap_or(s.len());
    s[..cut].trim().to_string()
}

fn paint(text: &str, verdict: &str, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match verdict {
        "pass" | "FIT" => "32",
        "marginal" | "MARGINAL" => "33",
        "fail" | "UNFIT" => "31",
        _ => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The terminal table, warnings and verdict line.
pub fn render(doc: &ResultsDocument, reasons: &[String], colour: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let rows: Vec<[String; 6]> = doc
        .checks
        .iter()
        .map(|c: &CheckResult| {
            let obs = match c.observed {
                Some(v) => {
                    let mut o = format_value(v, &c.unit);
                    if c.rounds.len() > 1 {
                        let lo = c.rounds.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = c.rounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        o += &format!(
                            " ({}..{})",
                            format_value(lo, &c.unit),
                            format_value(hi, &c.unit)
                        );
                    }
                    o
                }
                None => "-".into(),
            };
            [
                c.id.clone(),
                obs,
                match (&c.limit_basis, c.verdict.as_str()) {
                    (Some(b), "skipped") => format!("{} {b}", c.comparison),
                    _ => format!("{} {}", c.comparison, format_value(c.limit, &c.unit)),
                },
                c.severity.clone(),
                c.verdict.clone(),
                short_source(&c.source),
            ]
        })
        .collect();
    let head = [
        "CHECK",
        "OBSERVED (median; spread)",
        "LIMIT",
        "SEVERITY",
        "VERDICT",
        "SOURCE",
    ];
    let mut width = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String; 6], verdict: Option<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            let cell = if i == 4 {
                paint(c, verdict.unwrap_or(""), colour && verdict.is_some())
            } else {
                c.clone()
            };
            l += &cell;
            if i + 1 < cells.len() {
                l += &" ".repeat(pad + 2);
            }
        }
        l
    };
    let _ = writeln!(s, "{}", line(&head.map(String::from), None));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r, Some(&r[4])));
    }
    for c in &doc.checks {
        if c.verdict == "skipped" {
            let _ = writeln!(
                s,
                "  skipped {} ({}): {}",
                c.id,
                c.severity,
                c.note.as_deref().unwrap_or("no data")
            );
        }
    }
    // Skipped must checks are in `warnings` too, for JSON readers; listed above already.
    for w in doc
        .warnings
        .iter()
        .filter(|w| !w.starts_with("must check "))
    {
        let _ = writeln!(s, "warning: {w}");
    }
    for r in reasons {
        let _ = writeln!(s, "  {r}");
    }
    match (&doc.verdict, doc.score) {
        (Some(v), Some(score)) => {
            let _ = writeln!(
                s,
                "VERDICT: {} (score {score:.0}/100) for node {}",
                paint(v, v, colour),
                doc.node_name.as_deref().unwrap_or("?")
            );
        }
        _ => {
            let _ = writeln!(s, "VERDICT: none (incomplete run)");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_sources() {
        assert_eq!(compact_stamp("2026-11-26T17:00:00Z"), "20261126T170000Z");
        assert_eq!(
            short_source("etcd FAQ (etcd.io/docs/v3.6/faq): p99"),
            "etcd FAQ"
        );
    }

    #[test]
    fn groups_become_one_step() {
        let p = Profile::find("builtin-does-not-exist");
        assert!(p.is_err());
        let p = Profile::parse(
            crate::score::profile::BUILTIN[0].1,
            "builtin:k8s-control-plane",
        )
        .unwrap();
        let s = steps(&p, None);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].members.len(), 2);
        assert_eq!(s[2].rounds, 3);
        assert_eq!(steps(&p, Some(1))[0].rounds, 1);
    }
}
