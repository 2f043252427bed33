//! Disk workloads: resolve specs, lay out scratch files, run every job on its engine (all specs of
//! one call at the same time, so contention can be measured), and fold the jobs' histograms into one
//! [`WorkloadResult`] per spec.

pub mod etcd_dir;
pub mod headroom;
pub mod job;
pub mod layout;
pub mod looks;
pub mod monitor;

use crate::error::Error;
use crate::results::spec::JobSpec;
use crate::results::{CpuUsage, LatencyByKind, SecondSample, WorkloadResult};
use crate::util::progress::{Progress, Tick};
use crate::util::stats::Recorder;
use job::{JobOutcome, JobShared, LiveCounters, SecondBucket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How a run reports progress.
#[derive(Clone)]
pub struct RunOptions {
    /// Where live progress goes (drawn only when the sink wants live figures).
    pub progress: Progress,
    /// Label for the progress line.
    pub label: Option<String>,
    /// Free space the scratch files must leave (`--min-free`).
    pub min_free: headroom::MinFree,
    /// Stop early when this rule decides at one of its planned looks (adaptive stopping).
    pub early_stop: Option<looks::EarlyStop>,
}

/// Run the given workloads concurrently and return one result per spec, in order. A workload cut
/// short (Ctrl-C, ENOSPC, I/O error) comes back with `complete: false` and what it measured; errors
/// before any I/O (bad directory, no space, existing file) come back as `Err` with nothing left
/// behind.
pub fn run_workloads(specs: &[JobSpec], opts: &RunOptions) -> Result<Vec<WorkloadResult>, Error> {
    layout::preflight(specs, opts.min_free)?;
    let keep = specs.iter().all(|s| s.keep);
    let mut scratch = layout::ScratchFiles::new(keep);
    let mut files: Vec<(usize, layout::JobFile)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        for path in layout::job_paths(spec) {
            let f = match layout::prepare(spec, &path, &mut scratch) {
                Ok(f) => f,
                // Ctrl-C while laying out is an interrupt like one mid-run, not a failure to
                // run: every spec comes back incomplete with nothing measured, and the files
                // made so far go with `scratch` on return.
                Err(e @ Error::Interrupted(_)) => return Ok(interrupted_before_start(specs, &e)),
                Err(e) => return Err(e),
            };
            files.push((i, f));
        }
    }
    let mut engines = Vec::with_capacity(files.len());
    for (i, f) in &files {
        let spec = &specs[*i];
        use std::os::fd::AsFd;
        let e = crate::engine::open(
            spec.ioengine,
            f.fd.as_fd(),
            spec.iodepth as usize,
            spec.bs as usize,
        )?;
        // Buffered reads drop the file's cached pages at every new pass, as fio's time-based loop
        // does (it reopens and invalidates each time): otherwise the second pass of a time-based
        // read measures the page cache, not the disk.
        let buffered_reads = spec.rw.reads()
            && !spec.direct
            && spec.ioengine != crate::results::spec::EngineKind::Null;
        engines.push((*i, e, buffered_reads.then(|| f.fd.as_fd())));
    }

    let job_spec: Vec<usize> = engines.iter().map(|(i, _, _)| *i).collect();
    let shared = Arc::new(JobShared::new(
        opts.early_stop
            .as_ref()
            .map(|e| looks::LookBoard::new(e.at.clone(), engines.len())),
    ));
    let barrier = Arc::new(Barrier::new(engines.len() + 1));
    let longest_ramp = specs.iter().map(|s| s.ramp_time_ns).max().unwrap_or(0);
    let done = AtomicBool::new(false);
    let vanished: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let watched: Vec<(PathBuf, (u64, u64))> = files
        .iter()
        .filter_map(|(_, f)| file_identity_fd(&f.fd).map(|id| (f.path.clone(), id)))
        .collect();
    let (outcomes, cpu, wall, decision) = std::thread::scope(|scope| {
        // A scratch file whose path no longer leads to it (its directory removed or replaced
        // mid-run) would take writes into an unlinked inode: stop, and say so.
        scope.spawn(|| watch_files(&watched, &shared, &done, &vanished));
        let monitor = opts.early_stop.as_ref().map(|rule| {
            let (shared, done, job_spec) = (&shared, &done, &job_spec);
            scope.spawn(move || monitor::monitor(specs, job_spec, rule, shared, done))
        });
        let mut handles = Vec::new();
        for (job, (i, mut engine, cache_fd)) in engines.drain(..).enumerate() {
            let spec = &specs[i];
            let shared = shared.clone();
            let barrier = barrier.clone();
            handles.push((
                i,
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    job::run_job(spec, engine.as_mut(), &shared, start, cache_fd, job)
                }),
            ));
        }
        let progress = opts.progress.live().then(|| {
            let shared = shared.clone();
            let done = &done;
            let label = opts.label.clone();
            let sink = opts.progress.clone();
            scope.spawn(move || progress_loop(specs, &shared.live, done, label, sink))
        });
        barrier.wait();
        let t0 = Instant::now();
        // CPU is measured over the measured phase, from the end of the longest ramp.
        if longest_ramp > 0 {
            let ramp_end = t0 + Duration::from_nanos(longest_ramp);
            while Instant::now() < ramp_end && handles.iter().any(|(_, h)| !h.is_finished()) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let (u0, s0) = crate::util::cpu::process_times();
        let c0 = Instant::now();
        let outcomes: Vec<(usize, JobOutcome)> = handles
            .into_iter()
            .map(|(i, h)| {
                let o = h.join().unwrap_or_else(|_| JobOutcome {
                    error: Some("job thread panicked".into()),
                    ..JobOutcome::empty()
                });
                (i, o)
            })
            .collect();
        let (u1, s1) = crate::util::cpu::process_times();
        let wall = c0.elapsed();
        done.store(true, Ordering::Relaxed);
        if let Some(p) = progress {
            let _ = p.join();
        }
        let decision = monitor.and_then(|m| m.join().ok().flatten());
        (outcomes, (u1 - u0, s1 - s0), wall, decision)
    });
    // The engines (drained into the job threads, so none is left) borrowed the files.
    drop(engines);
    drop(files);
    scratch.remove_all();
    let vanished = vanished.into_inner().unwrap_or_else(|p| p.into_inner());

    Ok(specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mine: Vec<&JobOutcome> = outcomes
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, o)| o)
                .collect();
            let mut r = fold(spec, &mine, cpu, wall);
            if let Some(why) = &vanished {
                r.complete = false;
                r.error = Some(why.clone());
            }
            r.stop = Some(stop_of(spec, &r, decision.as_ref()));
            r
        })
        .collect())
}

/// Every spec as a run interrupted while laying out its files reads: incomplete, nothing measured.
fn interrupted_before_start(specs: &[JobSpec], e: &Error) -> Vec<WorkloadResult> {
    let why = e.to_string();
    specs
        .iter()
        .map(|spec| {
            let none = JobOutcome {
                interrupted: true,
                error: Some(why.clone()),
                ..JobOutcome::empty()
            };
            fold(
                spec,
                &[&none],
                (Duration::ZERO, Duration::ZERO),
                Duration::ZERO,
            )
        })
        .collect()
}

/// Why a workload's measured phase ended: an error, a decision at a look, its runtime, or its size.
fn stop_of(
    spec: &JobSpec,
    r: &WorkloadResult,
    decision: Option<&looks::Decision>,
) -> crate::results::WorkloadStop {
    use crate::results::StopReason;
    let after_s = r.runtime_ns as f64 / 1e9;
    let (reason, note) = if !r.complete {
        (StopReason::Error, None)
    } else if let Some(d) = decision {
        (
            StopReason::Decided,
            Some(format!(
                "at the look after {:.1} s: {}",
                d.at.as_secs_f64(),
                d.why
            )),
        )
    } else if spec.time_based || spec.runtime_ns.is_some_and(|b| r.runtime_ns >= b) {
        (StopReason::Budget, None)
    } else {
        (StopReason::Size, None)
    };
    crate::results::WorkloadStop {
        reason,
        after_s,
        note,
    }
}

fn file_identity_fd(fd: &std::os::fd::OwnedFd) -> Option<(u64, u64)> {
    nix::sys::stat::fstat(fd)
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

fn watch_files(
    watched: &[(PathBuf, (u64, u64))],
    shared: &JobShared,
    done: &AtomicBool,
    vanished: &std::sync::Mutex<Option<String>>,
) {
    use std::os::unix::fs::MetadataExt;
    while !done.load(Ordering::Relaxed) && !shared.abort.load(Ordering::Relaxed) {
        for (path, id) in watched {
            let now = std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino()));
            if now.as_ref().ok() != Some(id) {
                let why = match now {
                    Err(e) => format!(
                        "scratch file {} vanished mid-run ({e}); was its directory removed?",
                        path.display()
                    ),
                    Ok(_) => format!(
                        "scratch file {} was replaced mid-run by another file",
                        path.display()
                    ),
                };
                *vanished.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                shared.abort.store(true, Ordering::Relaxed);
                return;
            }
        }
        // Every 200 ms, but woken within 5 ms of the run's end: the run waits for this thread,
        // and a short run (a watch's burst) must not pay up to 200 ms of idle wall time for it.
        for _ in 0..40 {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Fold a spec's jobs into one result, as fio's group_reporting: histograms merged, runtime the
/// longest job's.
fn fold(
    spec: &JobSpec,
    jobs: &[&JobOutcome],
    cpu: (Duration, Duration),
    wall: Duration,
) -> WorkloadResult {
    let mut write = Recorder::new();
    let mut read = Recorder::new();
    let mut sync = Recorder::new();
    let mut bytes_w = 0;
    let mut bytes_r = 0;
    let mut runtime = Duration::ZERO;
    let mut error = None;
    let mut interrupted = false;
    let mut seconds: Vec<SecondBucket> = Vec::new();
    for j in jobs {
        write.merge(&j.write);
        read.merge(&j.read);
        sync.merge(&j.sync);
        bytes_w += j.bytes_written;
        bytes_r += j.bytes_read;
        runtime = runtime.max(j.runtime);
        if error.is_none() {
            error = j.error.clone();
        }
        interrupted |= j.interrupted;
        // A lone job's seconds are taken as they are, below: merging them into empty buckets
        // would keep the counts but not its exact p50/p99, which only the job itself could
        // compute (it keeps no distribution per second).
        if jobs.len() > 1 {
            for (k, second) in j.seconds.iter().enumerate() {
                if seconds.len() <= k {
                    seconds.push(SecondBucket::default());
                }
                seconds[k].merge(second);
            }
        }
    }
    if let [only] = jobs {
        seconds = only.seconds.clone();
    }
    let p = &spec.percentile_list;
    let ops = write.count() + read.count();
    let secs = runtime.as_secs_f64();
    let (iops, bw) = if secs > 0.0 {
        (ops as f64 / secs, (bytes_w + bytes_r) as f64 / secs)
    } else {
        (0.0, 0.0)
    };
    let wall_s = wall.as_secs_f64().max(1e-9);
    let last = seconds.len();
    let timeseries = seconds
        .iter()
        .enumerate()
        .map(|(k, b)| {
            // A lone job's second is exact already; several jobs' seconds merge distributions.
            let p = if jobs.len() == 1 {
                vec![b.p50_ns, b.p99_ns]
            } else {
                b.latency.percentiles(&[50.0, 99.0])
            };
            SecondSample {
                t_s: if k + 1 == last { secs } else { (k + 1) as f64 },
                ops: b.ops,
                sync_ops: b.sync_ops,
                p50_ns: p[0],
                p99_ns: p[1],
            }
        })
        .collect();
    let error = match (error, interrupted) {
        (Some(e), _) => Some(e),
        (None, true) => Some("interrupted (SIGINT/SIGTERM)".into()),
        // A run that ended without one measured op is no result: the ramp took all of it.
        (None, false) if ops == 0 && sync.count() == 0 => Some(format!(
            "nothing measured: the ramp ({} s) used up the whole run; lengthen --size/--runtime or shorten --ramp-time",
            Duration::from_nanos(spec.ramp_time_ns).as_secs_f64()
        )),
        (None, false) => None,
    };
    WorkloadResult {
        spec: spec.clone(),
        round: None,
        concurrent_group: None,
        complete: error.is_none(),
        error,
        latency_ns: LatencyByKind {
            write: write.summary(p),
            read: read.summary(p),
            sync: sync.summary(p),
        },
        ops,
        sync_ops: sync.count(),
        iops,
        bw_bytes: bw,
        bytes_written: bytes_w,
        bytes_read: bytes_r,
        runtime_ns: runtime.as_nanos() as u64,
        cpu: CpuUsage {
            usr_pct: cpu.0.as_secs_f64() / wall_s * 100.0,
            sys_pct: cpu.1.as_secs_f64() / wall_s * 100.0,
        },
        timeseries,
        stop: None,
        fio_command: spec.fio_command(),
    }
}

/// Expected length of a run, when it can be known: ramp + runtime for time-based workloads.
fn expected_duration(specs: &[JobSpec]) -> Option<Duration> {
    specs
        .iter()
        .map(|s| {
            s.runtime_ns
                .map(|r| Duration::from_nanos(r + s.ramp_time_ns))
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|v| v.into_iter().max())
}

fn progress_loop(
    specs: &[JobSpec],
    live: &LiveCounters,
    done: &AtomicBool,
    label: Option<String>,
    sink: Progress,
) {
    let start = Instant::now();
    let total_ops: u64 = specs
        .iter()
        .filter(|s| !s.time_based)
        .map(|s| s.blocks() * s.numjobs as u64)
        .sum();
    let all_size_bound = specs.iter().all(|s| !s.time_based);
    let bound = expected_duration(specs);
    let mut last_ops = 0u64;
    let mut last_t = start;
    let label = label.unwrap_or_default();
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        let now = Instant::now();
        let ops = live.ops.load(Ordering::Relaxed);
        let dt = now.duration_since(last_t).as_secs_f64().max(1e-6);
        let iops = (ops - last_ops) as f64 / dt;
        last_ops = ops;
        last_t = now;
        let elapsed = now.duration_since(start).as_secs_f64();
        let mut eta: Option<f64> = bound.map(|b| (b.as_secs_f64() - elapsed).max(0.0));
        if all_size_bound && ops > 0 && total_ops > 0 {
            let by_ops = elapsed * (total_ops.saturating_sub(ops)) as f64 / ops as f64;
            eta = Some(eta.map_or(by_ops, |e| e.min(by_ops)));
        }
        sink.tick(&Tick::Disk {
            label: label.clone(),
            elapsed_s: elapsed,
            eta_s: eta,
            ops_per_s: iops,
            p99_ns: live.last_p99_ns.load(Ordering::Relaxed),
        });
    }
    sink.end(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::disk::DiskOptions;
    use crate::util::stats::SparseLatencies;

    /// One job's outcome with one second holding `lat` (ns), as the job loop closes it.
    fn outcome(lat: &[u64], keep_distribution: bool) -> JobOutcome {
        let mut r = Recorder::new();
        for &ns in lat {
            r.record(ns);
        }
        let second = SecondBucket {
            ops: lat.len() as u64,
            sync_ops: 0,
            p50_ns: r.percentile(50.0),
            p99_ns: r.percentile(99.0),
            latency: if keep_distribution {
                SparseLatencies::of(&r)
            } else {
                SparseLatencies::default()
            },
        };
        JobOutcome {
            write: r,
            seconds: vec![second],
            runtime: Duration::from_millis(900),
            ..JobOutcome::empty()
        }
    }

    fn spec(numjobs: u32) -> JobSpec {
        JobSpec::resolve(&DiskOptions {
            numjobs: Some(numjobs),
            ioengine: Some("null".into()),
            ..DiskOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn a_lone_job_keeps_its_per_second_percentiles() {
        let lat: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let job = outcome(&lat, false);
        let (p50, p99) = (job.seconds[0].p50_ns, job.seconds[0].p99_ns);
        assert!(p50 > 0 && p50 <= p99);
        let r = fold(
            &spec(1),
            &[&job],
            (Duration::ZERO, Duration::ZERO),
            Duration::ZERO,
        );
        assert_eq!(r.timeseries.len(), 1);
        assert_eq!((r.timeseries[0].p50_ns, r.timeseries[0].p99_ns), (p50, p99));
        assert_eq!(r.timeseries[0].ops, 100);
    }

    #[test]
    fn several_jobs_merge_their_per_second_distributions() {
        let a = outcome(&[1000; 50], true);
        let b = outcome(&[9000; 50], true);
        let r = fold(
            &spec(2),
            &[&a, &b],
            (Duration::ZERO, Duration::ZERO),
            Duration::ZERO,
        );
        let s = &r.timeseries[0];
        assert_eq!(s.ops, 100);
        // p50 from the fast job's half, p99 from the slow one's, as one distribution.
        assert!(s.p50_ns >= 900 && s.p50_ns <= 1100, "{s:?}");
        assert!(s.p99_ns >= 8500 && s.p99_ns <= 9500, "{s:?}");
    }
}
