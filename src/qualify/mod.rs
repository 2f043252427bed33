//! Qualification: profile → disk workloads (in rounds) → etcd probe → fingerprint → scoring →
//! verdict, with `result.json` (and `report.html`) written to the output directory. A failed
//! qualification is an outcome, not an error; an interrupted run still writes its partial result,
//! marked incomplete, with scratch files removed. Narration goes to the progress sink; the command
//! layer prints the verdict and decides the exit code.

pub mod adaptive;

use crate::fingerprint::{cpu_sample, cpu_time_between, Fingerprint};
use crate::options::cluster::ClusterOptions;
use crate::options::disk::JobSpec;
use crate::options::etcd::EtcdOptions;
use crate::results::fingerprint::FingerprintSection;
use crate::results::{ResultsDocument, Verdict};
use crate::score::profile::Profile;
use crate::util::progress::Progress;
use crate::util::signals::stop_requested;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A qualification to run: the profile and the node's side of it, as the command layer resolved
/// them.
pub struct QualifyConfig {
    pub profile: Profile,
    /// Directory on the disk to qualify.
    pub directory: PathBuf,
    /// Free space the run must leave there (`--min-free`), checked before anything is written.
    pub min_free: crate::disk::headroom::MinFree,
    /// Name of the node in the results (default: host name).
    pub node_name: Option<String>,
    /// Where result.json goes (default: reports/<node-name>/<UTC timestamp>/).
    pub output_dir: Option<PathBuf>,
    /// Halve every workload's time and size bounds.
    pub quick: bool,
    /// Rounds of every disk workload (overrides the profile).
    pub rounds: Option<u32>,
    /// The probe's options (see [`probe_options`]); None when the probe does not run.
    pub etcd: Option<EtcdOptions>,
    /// The probe was turned off (`--no-etcd`): its checks are skipped with that reason.
    pub no_etcd: bool,
    /// Probe across the candidate nodes (`--cluster`) with these options instead of a local
    /// embedded etcd (its `node_name` defaults to the node's name).
    pub cluster: Option<ClusterOptions>,
    /// Where narration and live figures go.
    pub progress: Progress,
    /// Confidence of every check's interval (0.95 by default).
    pub confidence: f64,
    /// Stop each disk step as soon as its checks are decided (see [`adaptive`]); false runs every
    /// workload to its budget.
    pub adaptive: bool,
}

/// What a qualification produced.
pub struct Qualification {
    /// The results document, as written to `result_path`.
    pub doc: ResultsDocument,
    /// The verdict (the document carries it only when the run is complete).
    pub verdict: Verdict,
    /// One line per check that made the verdict what it is.
    pub reasons: Vec<String>,
    pub result_path: PathBuf,
    /// Why result.json could not be written (a full or read-only output disk), when it could not:
    /// the verdict and the document are still here, to be shown rather than lost.
    pub result_error: Option<String>,
    /// report.html, or why it could not be written (result.json is written either way).
    pub report: Result<PathBuf, String>,
    /// Stopped by SIGINT/SIGTERM.
    pub interrupted: bool,
    /// The probe of a cluster the user named (`--endpoints` or `--cluster`) failed.
    pub etcd_failed_explicitly: bool,
    /// Why the etcd probe failed, when it did.
    pub etcd_error: Option<String>,
}

/// Errors that keep a qualification from running at all.
#[derive(Debug, thiserror::Error)]
pub enum QualifyError {
    #[error("--rounds must be at least 1")]
    NoRounds,
    #[error("--directory {0}: {1}")]
    Directory(PathBuf, std::io::Error),
    #[error("--directory {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(transparent)]
    Disk(#[from] crate::error::Error),
    #[error("cannot create {0}: {1}")]
    OutputDir(PathBuf, std::io::Error),
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// The probe's options for a qualification: the profile's `[etcd]` table, its duration halved
/// with `quick` (to the millisecond), and the target: a user's cluster when `endpoints` are given,
/// else an embedded etcd on `directory`.
pub fn probe_options(
    profile_etcd: &EtcdOptions,
    directory: &Path,
    endpoints: &[String],
    quick: bool,
) -> EtcdOptions {
    let mut o = profile_etcd.clone();
    if quick {
        o.duration = o
            .duration
            .map(|d| Duration::from_millis((d / 2).as_millis() as u64));
    }
    if endpoints.is_empty() {
        o.directory = directory.to_path_buf();
    } else {
        o.endpoints.extend(endpoints.iter().cloned());
        // The user's cluster has the members it has; the profile's count is for a local probe.
        o.members = 1;
    }
    o
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

/// `20261126T170000Z` from an RFC 3339 stamp.
fn compact_stamp(rfc: &str) -> String {
    rfc.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// The disk side of a run, resolved: steps, each workload's spec, and the ETA.
struct DiskPlan {
    steps: Vec<Step>,
    specs: Vec<JobSpec>,
    max_rounds: u32,
    eta: Duration,
}

fn disk_plan(c: &QualifyConfig) -> Result<DiskPlan, QualifyError> {
    let steps = steps(&c.profile, c.rounds);
    let mut specs = Vec::new();
    for w in &c.profile.disk {
        specs.push(w.spec(&c.directory, c.quick)?);
    }
    let disk_eta: Duration = steps
        .iter()
        .map(|s| {
            let longest = s
                .members
                .iter()
                .map(|i| {
                    let sp = &specs[*i];
                    Duration::from_nanos(sp.runtime_ns.unwrap_or(0) + sp.ramp_time_ns)
                })
                .max()
                .unwrap_or_default();
            longest * s.rounds
        })
        .sum();
    let eta = disk_eta
        + match &c.etcd {
            Some(e) => e.duration.unwrap_or(Duration::from_secs(60)) + Duration::from_secs(10),
            None => Duration::ZERO,
        };
    let max_rounds = steps.iter().map(|s| s.rounds).max().unwrap_or(0);
    Ok(DiskPlan {
        steps,
        specs,
        max_rounds,
        eta,
    })
}

/// The early-stop rule of step `s`, when adaptive.
fn step_rule(
    c: &QualifyConfig,
    plan: &DiskPlan,
    s: &Step,
    unfit: &Arc<Mutex<Option<String>>>,
) -> Option<crate::disk::looks::EarlyStop> {
    if !c.adaptive {
        return None;
    }
    let budget = s
        .members
        .iter()
        .filter_map(|i| plan.specs[*i].runtime_ns)
        .max()
        .map(Duration::from_nanos)?;
    let ids: Vec<String> = s
        .members
        .iter()
        .map(|i| c.profile.disk[*i].id.clone())
        .collect();
    adaptive::rule(
        &c.profile,
        &ids,
        adaptive::planned_looks(budget),
        c.confidence,
        unfit.clone(),
    )
}

/// Every round of every step, in order; stops at the first incomplete workload or a stop request.
/// Returns true when interrupted. `unfit` receives why, when an adaptive look found a `must` check
/// failing for certain.
fn run_disk(
    c: &QualifyConfig,
    plan: &DiskPlan,
    doc: &mut ResultsDocument,
    unfit: &Arc<Mutex<Option<String>>>,
) -> Result<bool, QualifyError> {
    let run_start = Instant::now();
    let max_rounds = plan.max_rounds;
    for r in 1..=max_rounds {
        for s in plan.steps.iter().filter(|s| s.rounds >= r) {
            if stop_requested() {
                return Ok(true);
            }
            let specs: Vec<_> = s.members.iter().map(|i| plan.specs[*i].clone()).collect();
            let opts = crate::disk::RunOptions {
                progress: c.progress.clone(),
                label: Some(format!(
                    "round {r}/{max_rounds} {} (qualify ETA ≤{}s) ",
                    s.label,
                    plan.eta.saturating_sub(run_start.elapsed()).as_secs()
                )),
                min_free: c.min_free,
                early_stop: step_rule(c, plan, s, unfit),
            };
            let results = match crate::disk::run_workloads(&specs, &opts) {
                Ok(r) => r,
                Err(e) => {
                    if doc.workloads.is_empty() {
                        return Err(e.into());
                    }
                    doc.complete = false;
                    doc.incomplete_reason = Some(e.to_string());
                    return Ok(false);
                }
            };
            for (k, mut w) in results.into_iter().enumerate() {
                w.round = Some(r);
                w.concurrent_group = c.profile.disk[s.members[k]].concurrent_group.clone();
                if !w.complete && doc.complete {
                    doc.complete = false;
                    doc.incomplete_reason = w.error.clone();
                }
                doc.workloads.push(w);
            }
            if stop_requested() {
                return Ok(true);
            }
            if !doc.complete {
                return Ok(false);
            }
            for w in &doc.workloads[doc.workloads.len() - s.members.len()..] {
                c.progress.note(&format!(
                    "  round {r} {}: {} data ops, {} flushes in {:.1}s{}{}",
                    w.spec.name,
                    w.ops,
                    w.sync_ops,
                    w.runtime_ns as f64 / 1e9,
                    if s.members.len() > 1 {
                        " (concurrently)"
                    } else {
                        ""
                    },
                    match &w.stop {
                        Some(crate::results::WorkloadStop {
                            note: Some(n),
                            reason: crate::results::StopReason::Decided,
                            ..
                        }) => format!("; stopped early, {n}"),
                        _ => String::new(),
                    }
                ));
            }
        }
    }
    Ok(false)
}

/// What the etcd step left for scoring and the command layer.
struct EtcdStep {
    /// Skip reasons for scoring.
    skip: Vec<(String, String)>,
    /// A probe of the user's own cluster (`--endpoints`) or of a cluster run failed.
    failed_explicitly: bool,
    /// Why the probe failed, when it did.
    error: Option<String>,
}

/// The etcd step: run the probe when it is due (across the candidate nodes with `cluster`), or
/// say why its checks are skipped.
fn run_etcd(
    c: &QualifyConfig,
    doc: &mut ResultsDocument,
    interrupted: bool,
    unfit: Option<String>,
) -> EtcdStep {
    let mut step = EtcdStep {
        skip: Vec::new(),
        failed_explicitly: false,
        error: None,
    };
    if c.no_etcd {
        step.skip
            .push(("etcd".into(), "etcd probe not run (--no-etcd)".into()));
        return step;
    }
    if interrupted || !doc.complete {
        step.skip.push((
            "etcd".into(),
            "etcd probe not run: the disk phase did not complete".into(),
        ));
        return step;
    }
    let Some(opts) = &c.etcd else {
        return step;
    };
    // The disk already decided UNFIT: an embedded probe can't change that. A user's cluster
    // (--endpoints) or the candidate nodes (--cluster, who wait for this one) are still probed.
    if let (Some(why), false, None) = (unfit, opts.is_live(), &c.cluster) {
        let why = format!(
            "etcd probe not run: the disk already made the node UNFIT ({why}); --no-adaptive runs it anyway"
        );
        c.progress.note(&why);
        step.skip.push(("etcd".into(), why));
        return step;
    }
    let cluster = c.cluster.as_ref().map(|co| {
        let mut co = co.clone();
        if co.node_name.is_none() {
            co.node_name = doc.node_name.clone();
        }
        co
    });
    let mut words = opts.to_args(true);
    if let Some(co) = &cluster {
        words.extend(co.to_args());
    }
    c.progress
        .note(&format!("etcd probe: nodefit etcd {}", words.join(" ")));
    let probed = match &cluster {
        Some(co) => crate::cluster::probe_blocking(opts, co, &c.progress)
            .map(|(e, cl)| {
                doc.cluster = Some(cl);
                e
            })
            .map_err(|e| e.to_string()),
        None => crate::etcd::probe_blocking(opts, &c.progress).map_err(|e| e.to_string()),
    };
    match probed {
        Ok(r) => {
            // A probe that ended early (its member died, the cluster lost quorum) is no basis for
            // a verdict: the result says why, as `nodefit etcd` does.
            if !r.complete && doc.complete {
                doc.complete = false;
                doc.incomplete_reason = Some(format!(
                    "etcd probe cut short: {}",
                    r.error.as_deref().unwrap_or("stopped early")
                ));
            }
            doc.etcd = Some(r);
        }
        Err(e) => {
            let what = if cluster.is_some() {
                "cluster probe"
            } else {
                "etcd probe"
            };
            c.progress.note(&format!("{what} failed: {e}"));
            for root in ["etcd", crate::score::cluster::ROOT] {
                step.skip.push((root.into(), format!("{what} failed: {e}")));
            }
            step.failed_explicitly = opts.is_live() || cluster.is_some();
            // The probe the user asked for (their cluster, or the candidate nodes) did not run:
            // no verdict can rest on the disk alone.
            if step.failed_explicitly {
                doc.complete = false;
                doc.incomplete_reason = Some(format!("{what} failed: {e}"));
            }
            step.error = Some(e);
        }
    }
    step
}

/// `path` itself if it exists, else its nearest existing ancestor ("." for a relative path whose
/// ancestors are all new).
fn first_existing(path: &Path) -> PathBuf {
    let mut p = path;
    loop {
        if p.as_os_str().is_empty() {
            return PathBuf::from(".");
        }
        if p.exists() {
            return p.to_path_buf();
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return p.to_path_buf(),
        }
    }
}

/// Refuse, naming the figures, a run that would leave less than `--min-free` on the disk: the
/// largest step's scratch files (a step's files exist together; steps follow one another) and the
/// local etcd members the probe starts there.
fn check_headroom(c: &QualifyConfig, plan: &DiskPlan) -> Result<(), QualifyError> {
    let scratch = plan
        .steps
        .iter()
        .map(|s| {
            s.members
                .iter()
                .map(|i| plan.specs[*i].size * plan.specs[*i].numjobs as u64)
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    let etcd_members = match (&c.etcd, &c.cluster) {
        (Some(_), Some(_)) => 1,
        (Some(o), None) if !o.is_live() && !c.no_etcd => o.members,
        _ => 0,
    };
    let need = crate::disk::headroom::Need {
        scratch,
        etcd_members,
    };
    crate::disk::headroom::check(&c.directory, &need, c.min_free)?;
    Ok(())
}

/// Run a qualification (see the module comment).
pub fn run(c: QualifyConfig) -> Result<Qualification, QualifyError> {
    if let Some(0) = c.rounds {
        return Err(QualifyError::NoRounds);
    }
    let md = std::fs::metadata(&c.directory)
        .map_err(|e| QualifyError::Directory(c.directory.clone(), e))?;
    if !md.is_dir() {
        return Err(QualifyError::NotADirectory(c.directory.clone()));
    }
    // The first ancestor of the output directory that exists now: what qualify makes below it,
    // it removes again if result.json cannot be written.
    let output_root = c.output_dir.as_ref().map(|d| first_existing(d));
    if let Some(dir) = &c.output_dir {
        // A full or read-only output disk is found now, not after minutes of measuring.
        std::fs::create_dir_all(dir).map_err(|e| QualifyError::OutputDir(dir.clone(), e))?;
        crate::util::atomic::check_writable(&dir.join("result.json"))
            .map_err(|e| QualifyError::OutputDir(dir.clone(), e))?;
    }
    let profile = &c.profile;
    let mut doc = ResultsDocument::new(std::time::SystemTime::now());
    let node_name = c.node_name.clone().unwrap_or_else(|| doc.hostname.clone());
    doc.node_name = Some(node_name.clone());
    doc.profile = Some(profile.summary_json());
    let cpu0 = cpu_sample(Path::new("/"));
    let mut fp = Fingerprint::collect(&c.directory);

    c.progress.note(&format!(
        "nodefit qualify: node {node_name}, profile {} ({})",
        profile.name, profile.file
    ));
    c.progress.note(&fp.describe_disk());
    let etcd_dir = Path::new("/var/lib/etcd");
    let inside = |d: &Path| {
        let (Ok(d), Ok(e)) = (std::fs::canonicalize(d), std::fs::canonicalize(etcd_dir)) else {
            return false;
        };
        d.starts_with(e)
    };
    if etcd_dir.is_dir() && !inside(&c.directory) {
        c.progress.note(
            "note: /var/lib/etcd exists on this node; to measure the disk etcd will use, pass --directory /var/lib/etcd",
        );
    }
    let plan = disk_plan(&c)?;
    check_headroom(&c, &plan)?;
    c.progress.note(&format!(
        "plan: {} disk step(s), up to {} round(s){}; ETA about {}s (an upper bound: workloads stop early when their size is written)",
        plan.steps.len(),
        plan.max_rounds,
        if c.etcd.is_some() && !c.no_etcd { ", then the etcd probe" } else { "" },
        plan.eta.as_secs()
    ));

    let unfit = Arc::new(Mutex::new(None));
    let mut interrupted = run_disk(&c, &plan, &mut doc, &unfit)?;
    let unfit = unfit.lock().unwrap_or_else(|p| p.into_inner()).take();
    let EtcdStep {
        skip,
        failed_explicitly: etcd_failed_explicitly,
        error: etcd_error,
    } = run_etcd(&c, &mut doc, interrupted, unfit);
    interrupted |= stop_requested();
    if interrupted {
        doc.complete = false;
        doc.incomplete_reason = Some("interrupted (SIGINT/SIGTERM)".into());
    }

    fp.cpu_time = cpu_time_between(cpu0, cpu_sample(Path::new("/")));
    let mut warnings = fp.warnings();
    let signals = crate::score::honesty::signals(&doc.workloads, Some(&fp));
    doc.fingerprint = Some(FingerprintSection::Known(Box::new(fp)));
    let outcome =
        crate::score::cluster::judge_at(profile, &serde_json::to_value(&doc)?, &skip, c.confidence);
    warnings.extend(crate::score::honesty::warning(&signals));
    warnings.extend(outcome.warnings.iter().cloned());
    if !doc.complete {
        warnings.push(format!(
            "incomplete run ({}): no verdict; the checks cover only what ran",
            doc.incomplete_reason.as_deref().unwrap_or("stopped early")
        ));
    } else {
        doc.verdict = Some(outcome.verdict);
        doc.score = Some(outcome.score);
    }
    doc.checks = outcome.checks;
    doc.warnings = warnings;
    doc.finish();

    let out_dir = c.output_dir.clone().unwrap_or_else(|| {
        PathBuf::from("reports")
            .join(&node_name)
            .join(compact_stamp(&doc.started_at))
    });
    let result_path = out_dir.join("result.json");
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    let root = output_root.unwrap_or_else(|| first_existing(&out_dir));
    let written = std::fs::create_dir_all(&out_dir)
        .and_then(|()| crate::util::atomic::write(&result_path, &bytes))
        .map_err(|e| format!("cannot write {}: {e}", result_path.display()));
    let (result_error, report) = match written {
        // The HTML report beside result.json; a report that cannot be drawn is a warning, not a
        // failed qualification (result.json is already written).
        Ok(()) => (
            None,
            crate::report::write_node_report(&doc, &out_dir).map_err(|e| e.to_string()),
        ),
        Err(e) => {
            // Empty directories qualify made for this result, up to what existed before it.
            let mut d = out_dir.as_path();
            while d != root && std::fs::remove_dir(d).is_ok() {
                match d.parent() {
                    Some(p) => d = p,
                    None => break,
                }
            }
            (Some(e), Err("result.json was not written".to_string()))
        }
    };
    Ok(Qualification {
        doc,
        verdict: outcome.verdict,
        reasons: outcome.reasons,
        result_path,
        result_error,
        report,
        interrupted,
        etcd_failed_explicitly,
        etcd_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(compact_stamp("2026-11-26T17:00:00Z"), "20261126T170000Z");
    }

    #[test]
    fn quick_halves_the_probe_and_endpoints_replace_the_embedded_etcd() {
        let p = EtcdOptions {
            duration: Some(Duration::from_millis(20_001)),
            members: 3,
            ..Default::default()
        };
        let q = probe_options(&p, Path::new("/d"), &[], true);
        assert_eq!(q.duration, Some(Duration::from_millis(10_000)));
        assert_eq!((q.directory.as_path(), q.members), (Path::new("/d"), 3));
        let live = probe_options(&p, Path::new("/d"), &["http://127.0.0.1:1".into()], false);
        assert!(live.is_live());
        assert_eq!(live.duration, p.duration);
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
