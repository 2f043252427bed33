//! The open-loop load driver. One scheduler thread releases request numbers `i`, each at its due
//! time `start + i / rate`, into a queue; `clients` worker tasks take the next one when they are
//! free (never before it is due), send it and record
//! - latency = reply − *due* time (includes waiting for a free client: corrects coordinated
//!   omission), and
//! - service time = reply − send,
//!
//! each in its own [`Recorder`], plus a per-second series and how far sending fell behind the
//! schedule. Failed requests are counted by kind and the run goes on. New requests stop at the end
//! of the duration (or after `total`), on Ctrl-C, or when the caller's stop flag is raised.

use super::client::{classify, error_chain, ErrorKind};
use super::ops::Workload;
use super::EtcdSecond;
use crate::util::stats::Recorder;
use etcd_client::KvClient;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A request sent more than this after it was due counts as late: tokio's timer wheel has 1 ms
/// resolution, so smaller lags are timer granularity, not the client falling behind.
pub const LATE_THRESHOLD_NS: u64 = 1_000_000;

/// Most distinct error messages kept as samples.
const MAX_ERROR_SAMPLES: usize = 5;

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// Requests per second.
    pub rate: f64,
    /// Worker tasks.
    pub clients: u32,
    /// Stop sending at this time after the start.
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub total: Option<u64>,
    /// Per-request timeout.
    pub command_timeout: Duration,
}

impl LoadPlan {
    /// Number of requests the schedule holds.
    pub fn scheduled(&self) -> u64 {
        let by_duration = self
            .duration
            .map(|d| (d.as_secs_f64() * self.rate).ceil() as u64)
            .unwrap_or(u64::MAX);
        by_duration.min(self.total.unwrap_or(u64::MAX))
    }
}

/// What the load measured.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// Latency from due time of successful requests.
    pub latency: Recorder,
    /// Send → reply of successful requests.
    pub service: Recorder,
    /// Failed requests by [`ErrorKind::index`].
    pub errors: [u64; 5],
    /// First distinct error messages.
    pub error_samples: Vec<String>,
    /// Requests that completed (ok or failed).
    pub requests: u64,
    /// Successful requests.
    pub ops: u64,
    /// Largest send − due.
    pub max_lag_ns: u64,
    /// send − due of the highest-numbered request sent.
    pub final_lag_ns: u64,
    /// Requests sent more than [`LATE_THRESHOLD_NS`] after due.
    pub late: u64,
    /// Scheduled requests never sent (end of duration reached first, or stopped).
    pub unsent: u64,
    /// From the schedule's start to the last reply.
    pub runtime_ns: u64,
    /// Per-second series.
    pub seconds: Vec<EtcdSecond>,
    /// The run was stopped early (Ctrl-C or stop flag).
    pub stopped: bool,
}

struct Second {
    ops: u64,
    errors: u64,
    /// The open second's latencies; summarised into p50/p99 and dropped once the second is well
    /// past (a histogram kept per second grew a 30-minute probe by ~1.6 MB a minute).
    hist: Option<Histogram<u64>>,
    p50_ns: u64,
    p99_ns: u64,
}

impl Second {
    fn close(&mut self) {
        if let Some(h) = self.hist.take() {
            self.p50_ns = h.value_at_quantile(0.5);
            self.p99_ns = h.value_at_quantile(0.99);
        }
    }
}

/// Seconds this far behind the newest completion are closed: responses arrive in completion
/// order, give or take the collector's queue, so nothing lands there any more.
const OPEN_SECONDS: usize = 3;

#[derive(Default)]
struct Stats {
    latency: Recorder,
    service: Recorder,
    errors: [u64; 5],
    samples: Vec<String>,
    requests: u64,
    ops: u64,
    sent: u64,
    max_lag_ns: u64,
    last_index: Option<u64>,
    final_lag_ns: u64,
    late: u64,
    last_done_ns: u64,
    seconds: Vec<Second>,
}

impl Stats {
    fn second(&mut self, done_ns: u64) -> &mut Second {
        let idx = (done_ns / 1_000_000_000) as usize;
        while self.seconds.len() <= idx {
            self.seconds.push(Second {
                ops: 0,
                errors: 0,
                hist: None,
                p50_ns: 0,
                p99_ns: 0,
            });
            let newest = self.seconds.len() - 1;
            if let Some(old) = newest.checked_sub(OPEN_SECONDS) {
                self.seconds[old].close();
            }
        }
        &mut self.seconds[idx]
    }
}

/// Live figures for a progress line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub elapsed_s: f64,
    pub ops: u64,
    pub errors: u64,
    pub p99_ns: u64,
    pub lag_ns: u64,
}

/// A running load; [`Load::progress`] can be read while it runs.
pub struct Load {
    stats: Arc<Mutex<Stats>>,
    start: Instant,
}

impl Load {
    pub fn progress(&self) -> Progress {
        let s = match self.stats.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        Progress {
            elapsed_s: self.start.elapsed().as_secs_f64(),
            ops: s.ops,
            errors: s.errors.iter().sum(),
            p99_ns: if s.latency.count() > 0 {
                s.latency.percentile(99.0)
            } else {
                0
            },
            lag_ns: s.final_lag_ns,
        }
    }
}

/// Release request numbers when they are due, on a plain thread sleeping with nanosleep
/// precision (tokio's timers tick in milliseconds, which would make every request up to 1 ms
/// late). The queue is unbounded on purpose: when every client is busy, due requests wait in it
/// and that wait is part of their latency.
fn spawn_scheduler(
    scheduled: u64,
    interval_ns: f64,
    start: Instant,
    end: Option<Instant>,
    halt: Arc<AtomicBool>,
    tx: tokio::sync::mpsc::UnboundedSender<(u64, Instant)>,
) -> Option<std::thread::JoinHandle<()>> {
    let start = start.into_std();
    let end = end.map(|e| e.into_std());
    std::thread::Builder::new()
        .name("etcd-schedule".into())
        .spawn(move || {
            for i in 0..scheduled {
                let due = start + Duration::from_nanos((i as f64 * interval_ns) as u64);
                if end.is_some_and(|e| due >= e) {
                    break;
                }
                loop {
                    if halt.load(Ordering::Relaxed) {
                        return;
                    }
                    let now = std::time::Instant::now();
                    if now >= due {
                        break;
                    }
                    std::thread::sleep((due - now).min(Duration::from_millis(50)));
                }
                if tx.send((i, Instant::from_std(due))).is_err() {
                    return;
                }
            }
        })
        .ok()
}

/// One answered (or failed) request, as a worker saw it.
struct Reply {
    /// Request number.
    i: u64,
    due: Instant,
    sent: Instant,
    done: Instant,
    err: Option<(ErrorKind, String)>,
}

impl Stats {
    /// The bookkeeping of one request: counts, lag, latency from the due time, service time,
    /// errors by kind and the second it finished in.
    fn record(&mut self, r: Reply, start: Instant) {
        let lag = r.sent.saturating_duration_since(r.due).as_nanos() as u64;
        let lat = r.done.saturating_duration_since(r.due).as_nanos() as u64;
        let svc = r.done.saturating_duration_since(r.sent).as_nanos() as u64;
        let done_ns = r.done.saturating_duration_since(start).as_nanos() as u64;
        self.requests += 1;
        self.sent += 1;
        self.max_lag_ns = self.max_lag_ns.max(lag);
        if lag > LATE_THRESHOLD_NS {
            self.late += 1;
        }
        if self.last_index.is_none_or(|l| r.i > l) {
            self.last_index = Some(r.i);
            self.final_lag_ns = lag;
        }
        self.last_done_ns = self.last_done_ns.max(done_ns);
        match r.err {
            None => {
                self.ops += 1;
                self.latency.record(lat);
                self.service.record(svc);
                let sec = self.second(done_ns);
                sec.ops += 1;
                if sec.hist.is_none() {
                    // 2 significant digits (≤ 1 % error) is plenty for a chart.
                    sec.hist =
                        Histogram::new_with_bounds(1_000, crate::util::stats::MAX_TRACKABLE_NS, 2)
                            .ok();
                }
                if let Some(h) = sec.hist.as_mut() {
                    let _ = h.record(lat.clamp(1_000, crate::util::stats::MAX_TRACKABLE_NS));
                }
            }
            Some((kind, msg)) => {
                self.errors[kind.index()] += 1;
                self.second(done_ns).errors += 1;
                let m = format!("{}: {msg}", kind.as_str());
                if self.samples.len() < MAX_ERROR_SAMPLES && !self.samples.contains(&m) {
                    self.samples.push(m);
                }
            }
        }
    }
}

/// What a worker shares with the others.
#[derive(Clone)]
struct WorkerCtx {
    rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<(u64, Instant)>>>,
    stats: Arc<Mutex<Stats>>,
    workload: Arc<Workload>,
    stop: tokio::sync::watch::Receiver<bool>,
    timeout: Duration,
    start: Instant,
    end: Option<Instant>,
}

/// One client: take the next due request, send it, record the reply. True when stopped early.
async fn worker(mut kv: KvClient, mut c: WorkerCtx) -> bool {
    loop {
        if *c.stop.borrow() {
            return true;
        }
        let next = tokio::select! {
            n = async { c.rx.lock().await.recv().await } => n,
            _ = c.stop.changed() => return true,
        };
        let Some((i, due)) = next else {
            return false;
        };
        let sent = Instant::now();
        if c.end.is_some_and(|e| sent >= e) {
            // The duration is over: what is still queued stays unsent.
            continue;
        }
        let res = tokio::select! {
            r = tokio::time::timeout(c.timeout, c.workload.execute(&mut kv, i)) => r,
            _ = c.stop.changed() => return true,
        };
        let done = Instant::now();
        let err = match res {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some((classify(&e), error_chain(&e))),
            Err(_) => Some((
                ErrorKind::Deadline,
                format!("no reply within --command-timeout {:?}", c.timeout),
            )),
        };
        let mut s = match c.stats.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        s.record(
            Reply {
                i,
                due,
                sent,
                done,
                err,
            },
            c.start,
        );
    }
}

/// Run `plan` with `workload` over `conns` (clients are spread round-robin over them). `stop` ends
/// the run early; the caller raises it on Ctrl-C (one watcher, so idle workers cost no wake-ups).
/// `on_start` gets a handle for progress as soon as the schedule starts.
pub async fn run(
    plan: &LoadPlan,
    workload: Arc<Workload>,
    conns: &[KvClient],
    stop: tokio::sync::watch::Receiver<bool>,
    on_start: impl FnOnce(Load),
) -> LoadOutcome {
    let scheduled = plan.scheduled();
    let interval_ns = 1e9 / plan.rate;
    // Give the workers a moment to start before the first request is due.
    let start = Instant::now() + Duration::from_millis(5);
    let end = plan.duration.map(|d| start + d);
    let stats = Arc::new(Mutex::new(Stats::default()));
    on_start(Load {
        stats: stats.clone(),
        start,
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let halt = Arc::new(AtomicBool::new(false));
    let scheduler = spawn_scheduler(scheduled, interval_ns, start, end, halt.clone(), tx);
    {
        let halt = halt.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    return;
                }
            }
            halt.store(true, Ordering::Relaxed);
        });
    }
    let ctx = WorkerCtx {
        rx: Arc::new(tokio::sync::Mutex::new(rx)),
        stats: stats.clone(),
        workload,
        stop: stop.clone(),
        timeout: plan.command_timeout,
        start,
        end,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..plan.clients as usize {
        let Some(kv) = conns.get(w % conns.len().max(1)).cloned() else {
            break;
        };
        tasks.spawn(worker(kv, ctx.clone()));
    }
    drop(ctx);
    let mut stopped = false;
    while let Some(r) = tasks.join_next().await {
        if let Ok(true) = r {
            stopped = true;
        }
    }
    halt.store(true, Ordering::Relaxed);
    if let Some(h) = scheduler {
        let _ = tokio::task::spawn_blocking(move || h.join()).await;
    }
    let stopped = stopped || *stop.borrow() || crate::util::signals::stop_requested();
    let s = {
        let mut g = match stats.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        std::mem::take(&mut *g)
    };
    outcome(s, scheduled, interval_ns, stopped, start)
}

/// The figures of a finished run.
fn outcome(
    mut s: Stats,
    scheduled: u64,
    interval_ns: f64,
    stopped: bool,
    start: Instant,
) -> LoadOutcome {
    for sec in s.seconds.iter_mut() {
        sec.close();
    }
    let seconds = s
        .seconds
        .iter()
        .enumerate()
        .map(|(k, sec)| EtcdSecond {
            t_s: (k + 1) as f64,
            ops: sec.ops,
            errors: sec.errors,
            p50_ns: sec.p50_ns,
            p99_ns: sec.p99_ns,
        })
        .collect();
    let measured_ns = if s.last_done_ns > 0 {
        s.last_done_ns
    } else {
        Instant::now().saturating_duration_since(start).as_nanos() as u64
    };
    // The schedule of n requests spans n / rate seconds (the last is due at (n-1) / rate): a run
    // is never shorter than that, or a short run would report more than its target rate.
    let span_ns = if scheduled == u64::MAX || stopped {
        0
    } else {
        (scheduled as f64 * interval_ns) as u64
    };
    let runtime_ns = measured_ns.max(span_ns);
    LoadOutcome {
        latency: s.latency,
        service: s.service,
        errors: s.errors,
        error_samples: s.samples,
        requests: s.requests,
        ops: s.ops,
        max_lag_ns: s.max_lag_ns,
        final_lag_ns: s.final_lag_ns,
        late: s.late,
        unsent: if scheduled == u64::MAX {
            0
        } else {
            scheduled.saturating_sub(s.sent)
        },
        runtime_ns,
        seconds,
        stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_size() {
        let p = LoadPlan {
            rate: 150.0,
            clients: 1,
            duration: Some(Duration::from_secs(2)),
            total: None,
            command_timeout: Duration::from_secs(1),
        };
        assert_eq!(p.scheduled(), 300);
        let q = LoadPlan {
            total: Some(10),
            ..p.clone()
        };
        assert_eq!(q.scheduled(), 10);
        let r = LoadPlan {
            duration: None,
            total: Some(7),
            ..p
        };
        assert_eq!(r.scheduled(), 7);
    }
}
