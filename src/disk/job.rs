//! The job loop: one thread per job, shared by every engine. It decides what the next operation is
//! (sequential or random offset, read or write, a flush every N writes), keeps up to `iodepth` of
//! them in flight and reaps their completions; the bookkeeping — histograms by kind, bytes,
//! per-second buckets, live counters — is [`Accounting::record`], as fio splits `do_io` from
//! `account_io_completion`. Flushes are issued after the writes before them have completed and
//! are timed on their own, as fio does, so the sync histogram holds the flush cost alone.

use crate::engine::{Completion, IoEngine, IoRequest, OpKind, Queued};
use crate::results::spec::{JobSpec, SyncKind};
use crate::util::stats::{Recorder, SparseLatencies};
use rand::RngExt as _;
use std::os::fd::BorrowedFd;
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
    /// Set when a planned look decided the run (adaptive stopping): jobs stop as at their
    /// deadline.
    pub decided: AtomicBool,
    /// Where jobs leave copies of their measurements at planned looks; None without adaptive
    /// stopping.
    pub looks: Option<super::looks::LookBoard<JobOutcome>>,
}

impl JobShared {
    /// Nothing shared yet; `looks` for adaptive stopping.
    pub fn new(looks: Option<super::looks::LookBoard<JobOutcome>>) -> Self {
        JobShared {
            abort: AtomicBool::new(false),
            live: LiveCounters::default(),
            decided: AtomicBool::new(false),
            looks,
        }
    }
}

/// One second of the measured phase.
#[derive(Clone, Debug, Default)]
pub struct SecondBucket {
    /// Data ops completed in the second.
    pub ops: u64,
    /// Sync ops completed in the second.
    pub sync_ops: u64,
    /// This job's p50 and p99, exact (from the second's full histogram): of the flushes when the
    /// job flushes every N writes, else of the data ops.
    pub p50_ns: u64,
    pub p99_ns: u64,
    /// The second's latencies, compactly, for merging the same second of several jobs; empty
    /// for a lone job, whose p50/p99 above are the answer. Neither a full histogram (270 kB) nor
    /// every bucket (16 B an op) is kept per second of a lone job: a 30-minute nightly run stays
    /// flat in memory.
    pub latency: SparseLatencies,
}

impl SecondBucket {
    /// Add another job's same second.
    pub fn merge(&mut self, other: &SecondBucket) {
        self.ops += other.ops;
        self.sync_ops += other.sync_ops;
        self.latency.merge(&other.latency);
    }
}

/// What one job measured.
#[derive(Clone)]
pub struct JobOutcome {
    pub write: Recorder,
    pub read: Recorder,
    pub sync: Recorder,
    pub bytes_written: u64,
    pub bytes_read: u64,
    pub runtime: Duration,
    pub measure_start: Option<Instant>,
    /// The measured phase, second by second.
    pub seconds: Vec<SecondBucket>,
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
    /// Passes begun after the first (a wrap to the file's first block, or a new permutation).
    passes: u64,
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
            passes: 0,
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
                self.passes += 1;
            }
            let b = self.perm[self.next_rand as usize];
            self.next_rand += 1;
            b * self.bs
        } else {
            let b = self.next_seq[dir];
            self.next_seq[dir] = (b + 1) % self.blocks;
            if self.next_seq[dir] == 0 {
                // The last block of this pass is handed out: the next op begins another.
                self.passes += 1;
            }
            b * self.bs
        }
    }
}

/// The bookkeeping of one job: every completed op goes through [`Accounting::record`].
struct Accounting<'a> {
    out: JobOutcome,
    /// Past the ramp: completions are recorded.
    measuring: bool,
    /// The second being filled, counted from `out.measure_start`.
    sec: u64,
    cur: SecondBucket,
    /// The second being filled, in full; summarised into `cur` when the second closes.
    cur_latency: Recorder,
    /// Keep each second's distribution (several jobs' seconds are merged later).
    keep_distribution: bool,
    /// Whose latency the per-second p50/p99 are: the flushes when the job flushes every N writes
    /// (the figure etcd's guidance reads), else the data ops. One population, never a median of
    /// two (3 µs writes and 150 µs fdatasyncs give a median of neither).
    per_second_flushes: bool,
    /// Ops completed but not yet published to the progress counter, and when it was last
    /// published: one shared atomic add per ~50 ms instead of one per op.
    live_pending: u64,
    live_published: Instant,
    shared: &'a JobShared,
    /// This job's index among the run's jobs (its slot on the look board).
    job: usize,
    /// The next planned look this job has not left a copy for.
    next_look: usize,
}

impl<'a> Accounting<'a> {
    fn new(
        shared: &'a JobShared,
        start: Instant,
        measuring: bool,
        keep_distribution: bool,
        per_second_flushes: bool,
    ) -> Self {
        let mut out = JobOutcome::empty();
        out.measure_start = measuring.then_some(start);
        Accounting {
            out,
            measuring,
            sec: 0,
            cur: SecondBucket::default(),
            cur_latency: Recorder::new(),
            keep_distribution,
            per_second_flushes,
            live_pending: 0,
            live_published: start,
            shared,
            job: 0,
            next_look: 0,
        }
    }

    /// Leave a copy of what is measured for every planned look whose time has come by `at`.
    fn leave_copies(&mut self, at: Instant) {
        let (Some(board), Some(ms)) = (&self.shared.looks, self.out.measure_start) else {
            return;
        };
        let into = at.saturating_duration_since(ms);
        while board.at.get(self.next_look).is_some_and(|t| into >= *t) {
            let mut copy = self.out.clone();
            copy.runtime = into;
            board.deposit(self.job, copy);
            self.next_look += 1;
        }
    }

    /// The ramp is over at `now`: forget what it recorded and measure from here.
    fn start_measuring(&mut self, now: Instant) {
        self.measuring = true;
        self.out.measure_start = Some(now);
        self.out.write.reset();
        self.out.read.reset();
        self.out.sync.reset();
        self.out.bytes_read = 0;
        self.out.bytes_written = 0;
    }

    /// Record one completed op, finished at `at`. Returns an error text when the op failed.
    fn record(
        &mut self,
        op: InFlight,
        result: Result<usize, nix::errno::Errno>,
        at: Instant,
    ) -> Option<String> {
        let done = match result {
            Ok(n) if op.kind.is_sync() || n == op.len => n,
            Ok(n) => {
                return Some(format!(
                    "short {} ({} of {} bytes)",
                    if op.kind == OpKind::Read {
                        "read"
                    } else {
                        "write"
                    },
                    n,
                    op.len
                ))
            }
            Err(nix::errno::Errno::ENOSPC) => {
                return Some("disk full (ENOSPC): no space left on device".into())
            }
            Err(e) => return Some(format!("{:?} failed: {}", op.kind, e.desc())),
        };
        self.live_pending += 1;
        if at.saturating_duration_since(self.live_published) >= LIVE_PUBLISH_EVERY {
            self.publish_live();
            self.live_published = at;
        }
        if !self.measuring {
            return None;
        }
        let ns = at.saturating_duration_since(op.issued).as_nanos() as u64;
        match op.kind {
            OpKind::Write => {
                self.out.write.record(ns);
                self.out.bytes_written += done as u64;
            }
            OpKind::Read => {
                self.out.read.record(ns);
                self.out.bytes_read += done as u64;
            }
            OpKind::Fsync | OpKind::Fdatasync => self.out.sync.record(ns),
        }
        if let Some(ms) = self.out.measure_start {
            let sec = at.saturating_duration_since(ms).as_secs();
            if sec != self.sec {
                self.close_second(sec);
            }
            if op.kind.is_sync() {
                self.cur.sync_ops += 1;
            } else {
                self.cur.ops += 1;
            }
            if op.kind.is_sync() == self.per_second_flushes {
                self.cur_latency.record(ns);
            }
            self.leave_copies(at);
        }
        None
    }

    /// Close the second being filled (empty seconds before it are kept as empty buckets) and
    /// start second `next`.
    fn close_second(&mut self, next: u64) {
        let mut closed = std::mem::take(&mut self.cur);
        let closed_sec = std::mem::replace(&mut self.sec, next);
        if self.cur_latency.count() > 0 {
            closed.p50_ns = self.cur_latency.percentile(50.0);
            closed.p99_ns = self.cur_latency.percentile(99.0);
            self.shared
                .live
                .last_p99_ns
                .store(closed.p99_ns, Ordering::Relaxed);
            if self.keep_distribution {
                closed.latency = SparseLatencies::of(&self.cur_latency);
            }
            self.cur_latency.reset();
        }
        while self.out.seconds.len() < closed_sec as usize {
            self.out.seconds.push(SecondBucket::default());
        }
        self.out.seconds.push(closed);
    }

    fn publish_live(&mut self) {
        self.shared
            .live
            .ops
            .fetch_add(self.live_pending, Ordering::Relaxed);
        self.live_pending = 0;
    }

    /// The job ended at `end`: publish what is pending, close the last second.
    fn finish(mut self, end: Instant) -> JobOutcome {
        self.publish_live();
        if let Some(ms) = self.out.measure_start {
            self.out.runtime = end.saturating_duration_since(ms);
            if self.cur_latency.count() > 0 {
                let sec = self.sec;
                self.close_second(sec);
            }
        }
        self.out
    }
}

/// What the loop does after a step.
enum Next {
    /// Go round again.
    Again,
    /// Carry on with the rest of this round.
    Continue,
    /// Leave the loop.
    Stop,
}

/// The state of one job's loop: what is in flight, what was issued, and where it stands.
struct JobLoop<'a> {
    spec: &'a JobSpec,
    engine: &'a mut dyn IoEngine,
    acct: Accounting<'a>,
    start: Instant,
    iodepth: usize,
    ramp_end: Instant,
    runtime: Option<Duration>,
    deadline: Option<Instant>,
    sync_every: Option<(u32, SyncKind)>,
    trailing_flush: bool,
    /// Ops budget: one pass over the file, unless time-based. Ramp ops count against it, as in fio.
    budget: u64,
    rate_interval: Option<Duration>,
    plan: OffsetPlan,
    /// The file whose cached pages are dropped at each new pass (buffered reads), and the passes
    /// seen so far.
    cache_fd: Option<BorrowedFd<'a>>,
    passes_seen: u64,
    rng: rand::rngs::ThreadRng,
    slots: Vec<Option<InFlight>>,
    free: Vec<usize>,
    inflight: usize,
    issued_data: u64,
    writes_since_sync: u32,
    completions: Vec<Completion>,
    fatal: Option<String>,
    /// An op the engine answered Busy to, offered again as it was.
    refused: Option<IoRequest>,
    idle_refusals: u32,
    /// The last clock reading taken (a completion or a submission), reused for the loop's own
    /// checks (ramp end, deadline) so an op costs two clock reads: just before it is queued and
    /// just after its completion is reaped. Cleared after any sleep.
    last_t: Option<Instant>,
}

impl<'a> JobLoop<'a> {
    fn new(
        spec: &'a JobSpec,
        engine: &'a mut dyn IoEngine,
        shared: &'a JobShared,
        start: Instant,
        cache_fd: Option<BorrowedFd<'a>>,
    ) -> Self {
        let iodepth = spec.iodepth.max(1) as usize;
        let ramp = Duration::from_nanos(spec.ramp_time_ns);
        let ramp_end = start + ramp;
        // The measured phase lasts `runtime` from the moment measuring actually begins (the loop
        // may notice the end of the ramp a little late), so runtime_ns reports what was asked for.
        let runtime = spec.runtime_ns.map(Duration::from_nanos);
        JobLoop {
            spec,
            engine,
            acct: Accounting::new(
                shared,
                start,
                ramp.is_zero(),
                spec.numjobs > 1,
                spec.sync_every().is_some(),
            ),
            start,
            iodepth,
            ramp_end,
            runtime,
            deadline: runtime.map(|r| ramp_end + r),
            sync_every: spec.sync_every(),
            trailing_flush: !spec.size.is_multiple_of(spec.bs),
            budget: if spec.time_based {
                u64::MAX
            } else {
                spec.blocks().max(1)
            },
            rate_interval: spec
                .rate_iops
                .map(|r| Duration::from_secs_f64(1.0 / r as f64)),
            plan: OffsetPlan::new(spec),
            cache_fd,
            passes_seen: 0,
            rng: rand::rng(),
            slots: vec![None; iodepth],
            free: (0..iodepth).rev().collect(),
            inflight: 0,
            issued_data: 0,
            writes_since_sync: 0,
            completions: Vec::with_capacity(iodepth),
            fatal: None,
            refused: None,
            idle_refusals: 0,
            last_t: None,
        }
    }

    fn flush_due(&self) -> bool {
        self.sync_every
            .is_some_and(|(n, _)| self.writes_since_sync >= n)
    }

    /// Record an op's completion; the first failure is the job's fatal error.
    fn complete(&mut self, op: InFlight, result: Result<usize, nix::errno::Errno>, at: Instant) {
        if let Some(e) = self.acct.record(op, result, at) {
            self.fatal.get_or_insert(e);
        }
    }

    /// Record every completion in `completions` as finished at `t`, freeing its slot.
    fn reap(&mut self, t: Instant) {
        let mut completions = std::mem::take(&mut self.completions);
        for c in completions.drain(..) {
            if let Some(s) = self.slots[c.slot].take() {
                self.inflight -= 1;
                self.free.push(c.slot);
                self.complete(s, c.result, t);
            }
        }
        self.completions = completions;
    }

    /// Rate limit on an absolute schedule: op i is due at start + i × interval. When the next op
    /// is not due yet, reap what is ready, sleep a little and go round again.
    fn wait_for_schedule(&mut self, now: Instant) -> Next {
        let Some(iv) = self.rate_interval else {
            return Next::Continue;
        };
        let due = self.start + iv.mul_f64(self.issued_data as f64);
        if due <= now {
            return Next::Continue;
        }
        if self.inflight > 0 {
            self.completions.clear();
            if let Err(e) = self.engine.getevents(0, &mut self.completions) {
                self.fatal = Some(format!("reaping completions failed: {}", e.desc()));
                return Next::Again;
            }
            self.reap(Instant::now());
        }
        let wait =
            (due - Instant::now().min(due)).min(Duration::from_micros(if self.inflight > 0 {
                200
            } else {
                20_000
            }));
        std::thread::sleep(wait);
        Next::Again
    }

    /// The next data op: the refused one again, or a new one from the offset plan.
    fn next_request(&mut self, slot: usize) -> IoRequest {
        match self.refused.take() {
            Some(r) => IoRequest { slot, ..r },
            None => {
                let is_read = match self.spec.rwmixread {
                    100 => true,
                    0 => false,
                    pct => self.rng.random_range(0..100) < pct,
                };
                let offset = self.plan.next(if is_read { 0 } else { 1 });
                // Before the op is queued: the first op of a new pass reads from the disk.
                if self.plan.passes != self.passes_seen {
                    self.passes_seen = self.plan.passes;
                    self.drop_cached_pages();
                }
                IoRequest {
                    slot,
                    kind: if is_read { OpKind::Read } else { OpKind::Write },
                    offset,
                    len: self.spec.bs as usize,
                }
            }
        }
    }

    /// A new pass over the file begins: drop its cached pages, as the layout did before the
    /// first (fio's invalidate=1 at each loop). Advisory: a refusal changes nothing measured.
    fn drop_cached_pages(&self) {
        if let Some(fd) = self.cache_fd {
            let _ = nix::fcntl::posix_fadvise(
                fd,
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
            );
        }
    }

    /// Offer one data op to the engine (a slot is free and no flush is due).
    fn issue_data(&mut self, now: Instant, sync_due: bool) -> Next {
        if let Next::Again = self.wait_for_schedule(now) {
            return Next::Again;
        }
        // An op the engine answered Busy to is offered again as it was, so no offset of the
        // plan is skipped and nothing is counted before an engine took it.
        let slot = self
            .free
            .pop()
            .expect("inflight < iodepth implies a free slot");
        let req = self.next_request(slot);
        let kind = req.kind;
        let issued = Instant::now();
        let op = InFlight {
            kind,
            issued,
            len: self.spec.bs as usize,
        };
        self.slots[slot] = Some(op);
        let mut queued_any = false;
        match self.engine.queue(req) {
            Queued::Completed(c) => {
                let t = Instant::now();
                self.last_t = Some(t);
                self.slots[slot] = None;
                self.free.push(slot);
                self.complete(op, c.result, t);
            }
            Queued::Queued => {
                self.inflight += 1;
                queued_any = true;
                self.last_t = Some(issued);
            }
            Queued::Busy => {
                self.slots[slot] = None;
                self.free.push(slot);
                self.refused = Some(req);
                if self.inflight == 0 {
                    // Nothing to reap that could make room: submit what the engine holds and
                    // offer again; an engine that keeps refusing with nothing in flight can't
                    // take I/O at all.
                    self.idle_refusals += 1;
                    let committed = self.engine.commit();
                    if self.idle_refusals > 3 || committed.is_err() {
                        self.fatal.get_or_insert(
                            "the I/O engine refuses operations with nothing in flight".into(),
                        );
                    }
                }
                // Otherwise reap below, then offer it again.
            }
        }
        if self.refused.is_none() {
            self.idle_refusals = 0;
            self.issued_data += 1;
            if kind == OpKind::Write {
                self.writes_since_sync += 1;
            }
        }
        // More room in the ring: hand this op to the device now and go on filling. Measured on
        // a virtio disk at QD 32, submitting each op as soon as its slot frees (fio's default,
        // iodepth_batch_submit=1) gave ~10 % more IOPS than queueing the whole refill and
        // submitting it at once: the first ops of a refill reach the device sooner. The last
        // op of a refill (ring full) is submitted by `getevents` together with the wait, in
        // the same io_uring_enter, so QD 1 costs one system call per op.
        if queued_any
            && self.inflight < self.iodepth
            && self.issued_data < self.budget
            && !sync_due
            && !self.flush_due()
            && self.rate_interval.is_none()
        {
            if let Err(e) = self.engine.commit() {
                self.fatal
                    .get_or_insert(format!("submitting I/O failed: {}", e.desc()));
            }
            return Next::Again;
        }
        Next::Continue
    }

    /// Submit the batch and wait for at least one completion in one go: `getevents` submits
    /// whatever is queued first (io_uring: a single io_uring_enter with GETEVENTS), so no
    /// separate `commit` call is spent here. Reap all that are ready.
    fn wait_and_reap(&mut self) -> Next {
        self.completions.clear();
        match self.engine.getevents(1, &mut self.completions) {
            Ok(()) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                self.fatal
                    .get_or_insert(format!("reaping completions failed: {}", e.desc()));
                // Nothing more will come back reliably; stop here.
                return Next::Stop;
            }
        }
        let t = Instant::now();
        self.last_t = Some(t);
        self.reap(t);
        Next::Again
    }

    /// Issue the flush that is due, with nothing else in flight, and time it alone.
    fn flush(&mut self) {
        let (_, which) = self
            .sync_every
            .expect("a flush is due only with sync_every");
        let kind = match which {
            SyncKind::Fsync => OpKind::Fsync,
            SyncKind::Fdatasync => OpKind::Fdatasync,
        };
        let slot = self.free.pop().expect("no I/O in flight, all slots free");
        let op = InFlight {
            kind,
            issued: Instant::now(),
            len: 0,
        };
        self.slots[slot] = Some(op);
        let queued = self.engine.queue(IoRequest {
            slot,
            kind,
            offset: 0,
            len: 0,
        });
        self.slots[slot] = None;
        self.free.push(slot);
        match queued {
            Queued::Completed(c) => {
                let t = Instant::now();
                self.last_t = Some(t);
                self.complete(op, c.result, t);
            }
            Queued::Queued => self.wait_for_flush(slot, op),
            Queued::Busy => {
                self.fatal
                    .get_or_insert("engine refused a flush with nothing in flight".into());
            }
        }
        self.writes_since_sync = 0;
    }

    /// Wait for the queued flush alone before any further write is queued. `getevents` submits
    /// it and waits in one call, as for data ops.
    fn wait_for_flush(&mut self, slot: usize, op: InFlight) {
        let mut reaped = None;
        let mut submit_err = None;
        while reaped.is_none() && submit_err.is_none() {
            self.completions.clear();
            match self.engine.getevents(1, &mut self.completions) {
                Ok(()) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => submit_err = Some(e),
            }
            let t = Instant::now();
            for c in self.completions.drain(..) {
                if c.slot == slot {
                    reaped = Some((c.result, t));
                }
            }
        }
        match (reaped, submit_err) {
            (Some((r, t)), _) => self.complete(op, r, t),
            (None, Some(e)) => {
                self.fatal
                    .get_or_insert(format!("flush failed: {}", e.desc()));
            }
            (None, None) => {}
        }
    }

    /// After the loop: a fatal error stops the other jobs; end_fsync when the job ended well.
    fn finish(mut self) -> JobOutcome {
        let end = Instant::now();
        let shared = self.acct.shared;
        let mut out = self.acct.finish(end);
        if let Some(e) = self.fatal.take() {
            shared.abort.store(true, Ordering::Relaxed);
            out.error = Some(e);
        }
        if self.spec.end_fsync && out.error.is_none() && !out.interrupted && self.spec.rw.writes() {
            // Not timed: fio doesn't count end_fsync in the sync histogram either.
            let _ = self.engine.queue(IoRequest {
                slot: 0,
                kind: OpKind::Fsync,
                offset: 0,
                len: 0,
            });
            let _ = self.engine.commit();
            let mut c = Vec::new();
            let _ = self.engine.getevents(1, &mut c);
        }
        out
    }
}

/// Run one job to its end: size done, runtime reached, stop requested or a fatal error.
/// Run one job to its end. `cache_fd`: the job's file, open for the whole call, whose cached pages
/// are dropped at every new pass (buffered reads); None otherwise.
/// `job`: its index among the run's jobs (its slot on the look board).
pub fn run_job(
    spec: &JobSpec,
    engine: &mut dyn IoEngine,
    shared: &JobShared,
    start: Instant,
    cache_fd: Option<BorrowedFd<'_>>,
    job: usize,
) -> JobOutcome {
    let mut j = JobLoop::new(spec, engine, shared, start, cache_fd);
    j.acct.job = job;
    loop {
        let now = j.last_t.take().unwrap_or_else(Instant::now);
        if !j.acct.measuring && now >= j.ramp_end {
            j.acct.start_measuring(now);
            j.deadline = j.runtime.map(|r| now + r);
        }
        let stop = crate::util::signals::stop_requested() || shared.abort.load(Ordering::Relaxed);
        if stop {
            j.acct.out.interrupted = crate::util::signals::stop_requested();
        }
        let timed_out =
            j.deadline.is_some_and(|d| now >= d) || shared.decided.load(Ordering::Relaxed);
        let can_issue = !stop && !timed_out && j.fatal.is_none();
        let more = can_issue && j.issued_data < j.budget;
        // A flush is due: let the writes before it complete, then time the flush alone. After
        // the last write of a size-bound job fio flushes only when a partial block is left over
        // (it looks for one more I/O, flushing first, then finds none fits); so do we, so that
        // counts match fio's exactly.
        let sync_due = can_issue && (j.issued_data < j.budget || j.trailing_flush) && j.flush_due();
        if more && !sync_due && j.inflight < j.iodepth {
            if let Next::Again = j.issue_data(now, sync_due) {
                continue;
            }
        }
        if j.inflight > 0 {
            match j.wait_and_reap() {
                Next::Stop => break,
                _ => continue,
            }
        }
        if sync_due && j.fatal.is_none() {
            j.flush();
            continue;
        }
        if !more {
            break;
        }
    }
    let out = j.finish();
    if let Some(board) = &shared.looks {
        board.finish(job, out.clone());
    }
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
        let shared = JobShared::new(None);
        let mut engine = Reluctant {
            offers: 0,
            queued: Vec::new(),
        };
        let out = run_job(&spec, &mut engine, &shared, Instant::now(), None, 0);
        assert_eq!(out.error, None);
        assert_eq!(out.write.count(), 100);
        assert_eq!(out.bytes_written, 100 * 4096);
        assert_eq!(out.sync.count(), 33);
    }

    #[test]
    fn accounting_buckets_seconds_and_skips_the_ramp() {
        let shared = JobShared::new(None);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let op = |kind, ms| InFlight {
            kind,
            issued: at(ms),
            len: 4096,
        };
        let mut a = Accounting::new(&shared, t0, false, false, false);
        // Ramp: counted live, not measured.
        assert_eq!(a.record(op(OpKind::Write, 0), Ok(4096), at(1)), None);
        a.start_measuring(at(100));
        assert_eq!(a.record(op(OpKind::Write, 200), Ok(4096), at(201)), None);
        assert_eq!(a.record(op(OpKind::Fdatasync, 300), Ok(0), at(302)), None);
        // Nothing in second 1; second 2 has one write.
        assert_eq!(a.record(op(OpKind::Write, 2300), Ok(4096), at(2304)), None);
        let short = a.record(op(OpKind::Write, 2400), Ok(100), at(2401));
        assert!(short.is_some_and(|e| e.contains("short write")));
        let out = a.finish(at(2500));
        assert_eq!((out.write.count(), out.sync.count()), (2, 1));
        assert_eq!(out.bytes_written, 2 * 4096);
        let per_sec: Vec<(u64, u64)> = out.seconds.iter().map(|b| (b.ops, b.sync_ops)).collect();
        assert_eq!(per_sec, [(1, 1), (0, 0), (1, 0)]);
        assert_eq!(out.runtime, Duration::from_millis(2400));
        assert_eq!(shared.live.ops.load(Ordering::Relaxed), 4);
    }

    /// Each new pass over the file is counted once (sequential wrap, new random permutation), so
    /// the job drops the file's cached pages before its first op: 3 passes of 4 blocks → 2 new.
    #[test]
    fn passes_are_counted_for_sequential_and_random_plans() {
        for rw in ["read", "randread"] {
            let spec = JobSpec::resolve(&crate::options::disk::DiskOptions {
                rw: Some(rw.into()),
                bs: Some("4k".into()),
                size: Some("16k".into()),
                ..Default::default()
            })
            .unwrap();
            let mut plan = OffsetPlan::new(&spec);
            let mut seen = std::collections::BTreeSet::new();
            let mut new_passes_at = Vec::new();
            for i in 0..12 {
                let before = plan.passes;
                seen.insert(plan.next(0));
                if plan.passes != before {
                    new_passes_at.push(i);
                }
            }
            assert_eq!(seen.len(), 4, "{rw}: every block visited");
            let want: Vec<i32> = if rw == "read" {
                vec![3, 7, 11] // the last block of each pass
            } else {
                vec![4, 8] // the first block of each new pass
            };
            assert_eq!(new_passes_at, want, "{rw}");
        }
    }

    /// A second of 3 µs writes and 150 µs fdatasyncs: its p50/p99 are the flushes' when the job
    /// flushes, the writes' when it does not — never a median of the two populations.
    #[test]
    fn per_second_percentiles_are_of_one_population() {
        let shared = JobShared::new(None);
        let t0 = Instant::now();
        for flushes in [true, false] {
            let mut a = Accounting::new(&shared, t0, true, false, flushes);
            for i in 0..100u64 {
                let issued = t0 + Duration::from_micros(i * 1000);
                let w = InFlight {
                    kind: OpKind::Write,
                    issued,
                    len: 4096,
                };
                a.record(w, Ok(4096), issued + Duration::from_micros(3));
                let s = InFlight {
                    kind: OpKind::Fdatasync,
                    issued: issued + Duration::from_micros(3),
                    len: 0,
                };
                a.record(s, Ok(0), issued + Duration::from_micros(153));
            }
            let out = a.finish(t0 + Duration::from_millis(200));
            let (p50, p99) = (out.seconds[0].p50_ns, out.seconds[0].p99_ns);
            let (lo, hi) = if flushes {
                (149_000, 151_000)
            } else {
                (2_900, 3_100)
            };
            assert!(
                (lo..=hi).contains(&p50) && (lo..=hi).contains(&p99),
                "flushes {flushes}: p50 {p50} p99 {p99}"
            );
        }
    }
}
