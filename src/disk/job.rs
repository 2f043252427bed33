//! The job loop: one thread per job, shared by every engine. It decides what the next operation is
//! (sequential or random offset, read or write, a flush every N writes), keeps up to `iodepth` of
//! them in flight, times each from submission to completion and records it in the histogram of its
//! kind. Flushes are issued after the writes before them have completed and are timed on their own,
//! as fio does, so the sync histogram holds the flush cost alone.

use crate::engine::{Completion, IoEngine, IoRequest, OpKind, Queued};
use crate::results::spec::{JobSpec, SyncKind};
use crate::util::stats::Recorder;
use rand::RngExt as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::time::{Duration, Instant};

/// How often a job adds its completed ops to the shared progress counter.
const LIVE_PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// Live counters a progress line reads while jobs run.
#[derive(Default)]
pub struct LiveCounters {
    /// Data + sync ops completed so far (including ramp).
    pub ops: AtomicU64,
    /// p99 of the last completed second, ns.
    pub last_p99_ns: AtomicU64,
}

/// Shared between the jobs of one run.
pub struct JobShared {
    /// Set by any job that hits a fatal error (e.g. ENOSPC) so the others stop too.
    pub abort: AtomicBool,
    pub live: LiveCounters,
}

/// What one job measured.
pub struct JobOutcome {
    pub write: Recorder,
    pub read: Recorder,
    pub sync: Recorder,
    pub bytes_written: u64,
    pub bytes_read: u64,
    pub runtime: Duration,
    pub measure_start: Option<Instant>,
    /// Per second of the measured phase: (data ops, sync ops, latencies).
    pub seconds: Vec<(u64, u64, Recorder)>,
    pub error: Option<String>,
    pub interrupted: bool,
}

impl JobOutcome {
    /// Nothing measured yet.
    pub fn empty() -> Self {
        JobOutcome {
            write: Recorder::new(),
            read: Recorder::new(),
            sync: Recorder::new(),
            bytes_written: 0,
            bytes_read: 0,
            runtime: Duration::ZERO,
            measure_start: None,
            seconds: Vec::new(),
            error: None,
            interrupted: false,
        }
    }
}

#[derive(Clone, Copy)]
struct InFlight {
    kind: OpKind,
    issued: Instant,
    len: usize,
}

/// Offsets in the order the job visits them: sequential, or a random permutation of all blocks
/// per pass (fio's random map: each block once per pass).
struct OffsetPlan {
    blocks: u64,
    bs: u64,
    random: bool,
    perm: Vec<u64>,
    next_seq: [u64; 2],
    next_rand: u64,
}

impl OffsetPlan {
    fn new(spec: &JobSpec) -> Self {
        let blocks = spec.blocks().max(1);
        let random = spec.rw.random();
        let mut p = OffsetPlan {
            blocks,
            bs: spec.bs,
            random,
            perm: Vec::new(),
            next_seq: [0, 0],
            next_rand: 0,
        };
        if random && blocks <= (1 << 26) {
            p.reshuffle();
        }
        p
    }
    fn reshuffle(&mut self) {
        let mut rng = rand::rng();
        self.perm = (0..self.blocks).collect();
        for i in (1..self.perm.len()).rev() {
            let j = rng.random_range(0..=i);
            self.perm.swap(i, j);
        }
        self.next_rand = 0;
    }
    /// Offset for the next op in direction `dir` (0 read, 1 write).
    fn next(&mut self, dir: usize) -> u64 {
        if self.random {
            if self.perm.is_empty() {
                return rand::rng().random_range(0..self.blocks) * self.bs;
            }
            if self.next_rand >= self.blocks {
                self.reshuffle();
            }
            let b = self.perm[self.next_rand as usize];
            self.next_rand += 1;
            b * self.bs
        } else {
            let b = self.next_seq[dir];
            self.next_seq[dir] = (b + 1) % self.blocks;
            b * self.bs
        }
    }
}

/// Run one job to its end: size done, runtime reached, stop requested or a fatal error.
pub fn run_job(
    spec: &JobSpec,
    engine: &mut dyn IoEngine,
    shared: &JobShared,
    start: Instant,
) -> JobOutcome {
    let mut out = JobOutcome::empty();
    let iodepth = spec.iodepth.max(1) as usize;
    let bs = spec.bs as usize;
    let ramp = Duration::from_nanos(spec.ramp_time_ns);
    let ramp_end = start + ramp;
    // The measured phase lasts `runtime` from the moment measuring actually begins (the loop may
    // notice the end of the ramp a little late), so runtime_ns reports what was asked for.
    let runtime = spec.runtime_ns.map(Duration::from_nanos);
    let mut deadline = runtime.map(|r| ramp_end + r);
    let sync_every = spec.sync_every();
    let trailing_flush = !spec.size.is_multiple_of(spec.bs);
    // Ops budget: one pass over the file, unless time-based. Ramp ops count against it, as in fio.
    let budget = if spec.time_based {
        u64::MAX
    } else {
        spec.blocks().max(1)
    };
    let mut plan = OffsetPlan::new(spec);
    let mut rng = rand::rng();
    let mut slots: Vec<Option<InFlight>> = vec![None; iodepth];
    let mut free: Vec<usize> = (0..iodepth).rev().collect();
    let mut inflight = 0usize;
    let mut issued_data = 0u64;
    let mut writes_since_sync = 0u32;
    let mut measuring = ramp.is_zero();
    let mut measure_start = if measuring { Some(start) } else { None };
    let mut cur_sec: (u64, u64, u64, Recorder) = (0, 0, 0, Recorder::new());
    let mut completions: Vec<Completion> = Vec::with_capacity(iodepth);
    let rate_interval = spec
        .rate_iops
        .map(|r| Duration::from_secs_f64(1.0 / r as f64));
    let mut fatal: Option<String> = None;
    let mut refused: Option<IoRequest> = None;
    let mut idle_refusals = 0u32;

    // Ops completed but not yet published to the progress counter, and when it was last published:
    // one shared atomic add per ~50 ms instead of one per op (a progress line reads it every 500 ms).
    let mut live_pending: (u64, Instant) = (0, start);

    // Record one completed op. Returns an error text when the op failed.
    let finish = |slot: InFlight,
                  result: Result<usize, nix::errno::Errno>,
                  now: Instant,
                  out: &mut JobOutcome,
                  measuring: bool,
                  measure_start: Option<Instant>,
                  cur_sec: &mut (u64, u64, u64, Recorder),
                  live_pending: &mut (u64, Instant)|
     -> Option<String> {
        let done = match result {
            Ok(n) if slot.kind.is_sync() || n == slot.len => n,
            Ok(n) => {
                return Some(format!(
                    "short {} ({} of {} bytes)",
                    if slot.kind == OpKind::Read {
                        "read"
                    } else {
                        "write"
                    },
                    n,
                    slot.len
                ))
            }
            Err(nix::errno::Errno::ENOSPC) => {
                return Some("disk full (ENOSPC): no space left on device".into())
            }
            Err(e) => return Some(format!("{:?} failed: {}", slot.kind, e.desc())),
        };
        live_pending.0 += 1;
        if now.saturating_duration_since(live_pending.1) >= LIVE_PUBLISH_EVERY {
            shared.live.ops.fetch_add(live_pending.0, Ordering::Relaxed);
            *live_pending = (0, now);
        }
        if !measuring {
            return None;
        }
        let ns = now.saturating_duration_since(slot.issued).as_nanos() as u64;
        match slot.kind {
            OpKind::Write => {
                out.write.record(ns);
                out.bytes_written += done as u64;
            }
            OpKind::Read => {
                out.read.record(ns);
                out.bytes_read += done as u64;
            }
            OpKind::Fsync | OpKind::Fdatasync => out.sync.record(ns),
        }
        if let Some(ms) = measure_start {
            let sec = now.saturating_duration_since(ms).as_secs();
            if sec != cur_sec.0 {
                let closed = std::mem::replace(cur_sec, (sec, 0, 0, Recorder::new()));
                if closed.3.count() > 0 {
                    shared
                        .live
                        .last_p99_ns
                        .store(closed.3.percentile(99.0), Ordering::Relaxed);
                }
                while out.seconds.len() < closed.0 as usize {
                    out.seconds.push((0, 0, Recorder::new()));
                }
                out.seconds.push((closed.1, closed.2, closed.3));
            }
            if slot.kind.is_sync() {
                cur_sec.2 += 1;
            } else {
                cur_sec.1 += 1;
            }
            cur_sec.3.record(ns);
        }
        None
    };

    // The last clock reading taken (a completion or a submission), reused for the loop's own
    // checks (ramp end, deadline) so an op costs two clock reads: just before it is queued and
    // just after its completion is reaped. Cleared after any sleep.
    let mut last_t: Option<Instant> = None;

    // Record every completion in `completions` as finished at `t`, freeing its slot.
    macro_rules! reap_completions {
        ($t:expr) => {
            for c in completions.drain(..) {
                if let Some(s) = slots[c.slot].take() {
                    inflight -= 1;
                    free.push(c.slot);
                    if let Some(e) = finish(
                        s,
                        c.result,
                        $t,
                        &mut out,
                        measuring,
                        measure_start,
                        &mut cur_sec,
                        &mut live_pending,
                    ) {
                        fatal.get_or_insert(e);
                    }
                }
            }
        };
    }

    'main: loop {
        let now = last_t.take().unwrap_or_else(Instant::now);
        if !measuring && now >= ramp_end {
            measuring = true;
            measure_start = Some(now);
            deadline = runtime.map(|r| now + r);
            out.write.reset();
            out.read.reset();
            out.sync.reset();
            out.bytes_read = 0;
            out.bytes_written = 0;
        }
        let stop = crate::util::signals::stop_requested() || shared.abort.load(Ordering::Relaxed);
        if stop {
            out.interrupted = crate::util::signals::stop_requested();
        }
        let timed_out = deadline.is_some_and(|d| now >= d);
        let can_issue = !stop && !timed_out && fatal.is_none();
        let more = can_issue && issued_data < budget;

        // A flush is due: let the writes before it complete, then time the flush alone. After
        // the last write of a size-bound job fio flushes only when a partial block is left over
        // (it looks for one more I/O, flushing first, then finds none fits); so do we, so that
        // counts match fio's exactly.
        let sync_due = can_issue
            && (issued_data < budget || trailing_flush)
            && sync_every.is_some_and(|(n, _)| writes_since_sync >= n);
        let mut queued_any = false;
        if more && !sync_due && inflight < iodepth {
            // Rate limit on an absolute schedule: op i is due at start + i × interval.
            if let Some(iv) = rate_interval {
                let due = start + iv.mul_f64(issued_data as f64);
                if due > now {
                    if inflight > 0 {
                        completions.clear();
                        if let Err(e) = engine.getevents(0, &mut completions) {
                            fatal = Some(format!("reaping completions failed: {}", e.desc()));
                            continue 'main;
                        }
                        let t = Instant::now();
                        reap_completions!(t);
                    }
                    let wait = (due - Instant::now().min(due)).min(Duration::from_micros(
                        if inflight > 0 { 200 } else { 20_000 },
                    ));
                    std::thread::sleep(wait);
                    continue 'main;
                }
            }
            // An op the engine answered Busy to is offered again as it was, so no offset of the
            // plan is skipped and nothing is counted before an engine took it.
            let slot = free.pop().expect("inflight < iodepth implies a free slot");
            let req = match refused.take() {
                Some(r) => IoRequest { slot, ..r },
                None => {
                    let is_read = match spec.rwmixread {
                        100 => true,
                        0 => false,
                        pct => rng.random_range(0..100) < pct,
                    };
                    IoRequest {
                        slot,
                        kind: if is_read { OpKind::Read } else { OpKind::Write },
                        offset: plan.next(if is_read { 0 } else { 1 }),
                        len: bs,
                    }
                }
            };
            let kind = req.kind;
            let issued = Instant::now();
            slots[slot] = Some(InFlight {
                kind,
                issued,
                len: bs,
            });
            match engine.queue(req) {
                Queued::Completed(c) => {
                    let t = Instant::now();
                    last_t = Some(t);
                    let s = slots[slot].take().expect("slot just filled");
                    free.push(slot);
                    if let Some(e) = finish(
                        s,
                        c.result,
                        t,
                        &mut out,
                        measuring,
                        measure_start,
                        &mut cur_sec,
                        &mut live_pending,
                    ) {
                        fatal.get_or_insert(e);
                    }
                }
                Queued::Queued => {
                    inflight += 1;
                    queued_any = true;
                    last_t = Some(issued);
                }
                Queued::Busy => {
                    slots[slot] = None;
                    free.push(slot);
                    refused = Some(req);
                    if inflight == 0 {
                        // Nothing to reap that could make room: submit what the engine holds and
                        // offer again; an engine that keeps refusing with nothing in flight can't
                        // take I/O at all.
                        idle_refusals += 1;
                        let committed = engine.commit();
                        if idle_refusals > 3 || committed.is_err() {
                            fatal.get_or_insert(
                                "the I/O engine refuses operations with nothing in flight".into(),
                            );
                        }
                    }
                    // Otherwise reap below, then offer it again.
                }
            }
            if refused.is_none() {
                idle_refusals = 0;
                issued_data += 1;
                if kind == OpKind::Write {
                    writes_since_sync += 1;
                }
            }
            // More room in the ring: hand this op to the device now and go on filling. Measured on
            // a virtio disk at QD 32, submitting each op as soon as its slot frees (fio's default,
            // iodepth_batch_submit=1) gave ~10 % more IOPS than queueing the whole refill and
            // submitting it at once: the first ops of a refill reach the device sooner. The last
            // op of a refill (ring full) is submitted by `getevents` below together with the
            // wait, in the same io_uring_enter, so QD 1 costs one system call per op.
            if queued_any && inflight < iodepth && issued_data < budget && !sync_due {
                let next_sync_due = sync_every.is_some_and(|(n, _)| writes_since_sync >= n);
                if !next_sync_due && rate_interval.is_none() {
                    if let Err(e) = engine.commit() {
                        fatal.get_or_insert(format!("submitting I/O failed: {}", e.desc()));
                    }
                    continue 'main;
                }
            }
        }

        if inflight > 0 {
            // Submit the batch and wait for at least one completion in one go: `getevents`
            // submits whatever is queued first (io_uring: a single io_uring_enter with
            // GETEVENTS), so no separate `commit` call is spent here. Reap all that are ready.
            completions.clear();
            match engine.getevents(1, &mut completions) {
                Ok(()) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    fatal.get_or_insert(format!("reaping completions failed: {}", e.desc()));
                    // Nothing more will come back reliably; stop here.
                    break 'main;
                }
            }
            let t = Instant::now();
            last_t = Some(t);
            reap_completions!(t);
            continue 'main;
        }

        if sync_due && fatal.is_none() {
            let (_, which) = sync_every.expect("sync_due implies sync_every");
            let kind = match which {
                SyncKind::Fsync => OpKind::Fsync,
                SyncKind::Fdatasync => OpKind::Fdatasync,
            };
            let slot = free.pop().expect("no I/O in flight, all slots free");
            let issued = Instant::now();
            let fl = InFlight {
                kind,
                issued,
                len: 0,
            };
            slots[slot] = Some(fl);
            match engine.queue(IoRequest {
                slot,
                kind,
                offset: 0,
                len: 0,
            }) {
                Queued::Completed(c) => {
                    let t = Instant::now();
                    last_t = Some(t);
                    slots[slot] = None;
                    free.push(slot);
                    if let Some(e) = finish(
                        fl,
                        c.result,
                        t,
                        &mut out,
                        measuring,
                        measure_start,
                        &mut cur_sec,
                        &mut live_pending,
                    ) {
                        fatal.get_or_insert(e);
                    }
                }
                Queued::Queued => {
                    // Wait for the flush alone before any further write is queued. `getevents`
                    // submits it and waits in one call, as for data ops.
                    let mut reaped = None;
                    let mut submit_err = None;
                    while reaped.is_none() && submit_err.is_none() {
                        completions.clear();
                        match engine.getevents(1, &mut completions) {
                            Ok(()) | Err(nix::errno::Errno::EINTR) => {}
                            Err(e) => submit_err = Some(e),
                        }
                        let t = Instant::now();
                        for c in completions.drain(..) {
                            if c.slot == slot {
                                reaped = Some((c.result, t));
                            }
                        }
                    }
                    slots[slot] = None;
                    free.push(slot);
                    match (reaped, submit_err) {
                        (Some((r, t)), _) => {
                            if let Some(e) = finish(
                                fl,
                                r,
                                t,
                                &mut out,
                                measuring,
                                measure_start,
                                &mut cur_sec,
                                &mut live_pending,
                            ) {
                                fatal.get_or_insert(e);
                            }
                        }
                        (None, Some(e)) => {
                            fatal.get_or_insert(format!("flush failed: {}", e.desc()));
                        }
                        (None, None) => {}
                    }
                }
                Queued::Busy => {
                    slots[slot] = None;
                    free.push(slot);
                    fatal.get_or_insert("engine refused a flush with nothing in flight".into());
                }
            }
            writes_since_sync = 0;
            continue 'main;
        }

        if !more {
            break 'main;
        }
    }

    let end = Instant::now();
    shared.live.ops.fetch_add(live_pending.0, Ordering::Relaxed);
    if let Some(e) = fatal {
        shared.abort.store(true, Ordering::Relaxed);
        out.error = Some(e);
    }
    if spec.end_fsync && out.error.is_none() && !out.interrupted && spec.rw.writes() {
        // Not timed: fio doesn't count end_fsync in the sync histogram either.
        let _ = engine.queue(IoRequest {
            slot: 0,
            kind: OpKind::Fsync,
            offset: 0,
            len: 0,
        });
        let _ = engine.commit();
        let mut c = Vec::new();
        let _ = engine.getevents(1, &mut c);
    }
    if let Some(ms) = measure_start {
        out.runtime = end.saturating_duration_since(ms);
        if cur_sec.3.count() > 0 {
            while out.seconds.len() < cur_sec.0 as usize {
                out.seconds.push((0, 0, Recorder::new()));
            }
            out.seconds.push((cur_sec.1, cur_sec.2, cur_sec.3));
        }
    }
    out.measure_start = measure_start;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Completion;
    use crate::options::disk::{DiskOptions, JobSpec};

    /// An engine that answers Busy to every third offer and completes the rest in `getevents`:
    /// the loop must offer a refused op again, count it once and keep the flush cadence.
    struct Reluctant {
        offers: u32,
        queued: Vec<Completion>,
    }

    impl IoEngine for Reluctant {
        fn name(&self) -> &'static str {
            "reluctant"
        }
        fn queue(&mut self, req: IoRequest) -> Queued {
            self.offers += 1;
            if self.offers.is_multiple_of(3) && !req.kind.is_sync() {
                return Queued::Busy;
            }
            self.queued.push(Completion {
                slot: req.slot,
                result: Ok(req.len),
            });
            Queued::Queued
        }
        fn commit(&mut self) -> Result<(), nix::errno::Errno> {
            Ok(())
        }
        fn getevents(
            &mut self,
            _min: usize,
            out: &mut Vec<Completion>,
        ) -> Result<(), nix::errno::Errno> {
            out.append(&mut self.queued);
            Ok(())
        }
    }

    #[test]
    fn a_busy_engine_loses_and_double_counts_nothing() {
        let spec = JobSpec::resolve(&DiskOptions {
            bs: Some("4k".into()),
            size: Some("400k".into()),
            fsync: Some(3),
            iodepth: Some(4),
            ioengine: Some("null".into()),
            ..DiskOptions::default()
        })
        .unwrap();
        let shared = JobShared {
            abort: AtomicBool::new(false),
            live: LiveCounters::default(),
        };
        let mut engine = Reluctant {
            offers: 0,
            queued: Vec::new(),
        };
        let out = run_job(&spec, &mut engine, &shared, Instant::now());
        assert_eq!(out.error, None);
        assert_eq!(out.write.count(), 100);
        assert_eq!(out.bytes_written, 100 * 4096);
        assert_eq!(out.sync.count(), 33);
    }
}
