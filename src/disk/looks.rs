//! Planned looks for adaptive stopping. At each planned time into the measured phase every job
//! leaves a copy of what it has measured so far; a monitor folds the copies into workload results
//! as they would read if the run ended there and asks the caller's rule whether the run is
//! decided. When it is, the jobs stop as at their deadline. Looks happen only at the planned times
//! (not continuously), so the caller can account for how often it peeks.

use crate::results::WorkloadResult;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The verdict rule of [`EarlyStop`]: given the workloads as measured so far (one per spec, in
/// order), why the run may stop now, or None to carry on.
pub type DecideFn = dyn Fn(&[WorkloadResult]) -> Option<String> + Send + Sync;

/// A caller's rule for stopping a run early, consulted at planned looks.
#[derive(Clone)]
pub struct EarlyStop {
    /// Times into the measured phase at which to look, ascending.
    pub at: Vec<Duration>,
    pub decide: Arc<DecideFn>,
}

/// What one job left for the looks so far.
struct JobLooks<T> {
    taken: Vec<T>,
    finished: bool,
}

/// Where each job leaves its copies (`T`: what a job has measured so far), one slot per job.
pub struct LookBoard<T> {
    /// Times into the measured phase of the looks.
    pub at: Vec<Duration>,
    slots: Vec<Mutex<JobLooks<T>>>,
}

/// The look that decided a run: when, and why.
#[derive(Clone, Debug)]
pub struct Decision {
    pub at: Duration,
    pub why: String,
}

impl<T: Clone> LookBoard<T> {
    pub fn new(at: Vec<Duration>, jobs: usize) -> Self {
        LookBoard {
            at,
            slots: (0..jobs)
                .map(|_| {
                    Mutex::new(JobLooks {
                        taken: Vec::new(),
                        finished: false,
                    })
                })
                .collect(),
        }
    }

    /// Job `job`'s copy for its next look.
    pub fn deposit(&self, job: usize, copy: T) {
        if let Some(s) = self.slots.get(job) {
            s.lock().unwrap_or_else(|p| p.into_inner()).taken.push(copy);
        }
    }

    /// Job `job` ended with `last`: it stands in for every later look.
    pub fn finish(&self, job: usize, last: T) {
        if let Some(s) = self.slots.get(job) {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            s.taken.push(last);
            s.finished = true;
        }
    }

    /// Every job has ended: nothing is left to stop.
    pub fn all_finished(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.lock().unwrap_or_else(|p| p.into_inner()).finished)
    }

    /// Every job's copy for look `k` once each has one (a finished job's last copy standing in);
    /// None while some job has not reached the look yet.
    pub fn ready(&self, k: usize) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            let s = s.lock().unwrap_or_else(|p| p.into_inner());
            let copy = if s.taken.len() > k {
                s.taken.get(k)
            } else if s.finished {
                s.taken.last()
            } else {
                None
            }?;
            out.push(copy.clone());
        }
        Some(out)
    }
}
