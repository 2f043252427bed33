//! The monitor of adaptive stopping: at each planned look it folds the jobs' copies (left on the
//! [`LookBoard`](super::looks::LookBoard)) into workload results as they would read if the run ended
//! there, and asks the caller's rule whether the run is decided.

use super::job::{JobOutcome, JobShared};
use super::looks::{Decision, EarlyStop};
use crate::results::spec::JobSpec;
use crate::results::WorkloadResult;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Look at each planned time until the rule decides, every job has ended (`done`) or the looks
/// run out. `job_spec[j]` is the index in `specs` of job j. On a decision the jobs are told to
/// stop (`shared.decided`).
pub fn monitor(
    specs: &[JobSpec],
    job_spec: &[usize],
    rule: &EarlyStop,
    shared: &JobShared,
    done: &AtomicBool,
) -> Option<Decision> {
    let board = shared.looks.as_ref()?;
    let mut k = 0;
    while k < board.at.len() && !done.load(Ordering::Relaxed) {
        if board.all_finished() {
            // Ended by size (or error) before this look: not a decision.
            return None;
        }
        let Some(copies) = board.ready(k) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if copies.iter().any(|c| c.error.is_some() || c.interrupted) {
            return None;
        }
        let results: Vec<WorkloadResult> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let mine: Vec<&JobOutcome> = copies
                    .iter()
                    .zip(job_spec)
                    .filter(|(_, s)| **s == i)
                    .map(|(c, _)| c)
                    .collect();
                let wall = mine.iter().map(|c| c.runtime).max().unwrap_or_default();
                super::fold(spec, &mine, (Duration::ZERO, Duration::ZERO), wall)
            })
            .collect();
        if let Some(why) = (rule.decide)(&results) {
            shared.decided.store(true, Ordering::Relaxed);
            return Some(Decision {
                at: board.at[k],
                why,
            });
        }
        k += 1;
    }
    None
}
