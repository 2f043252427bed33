//! Waiting for a condition instead of sleeping a fixed time and hoping: a busy machine makes a
//! fixed sleep too short, an idle one makes it waste time.

use std::time::{Duration, Instant};

/// Poll `cond` (every few ms, backing off to 100 ms) until it holds; panic naming `what` when it
/// has not after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || cond().then_some(()))
}

/// Poll `found` until it gives a value and return it; panic naming `what` when it has not after
/// `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(v) = found() {
            return v;
        }
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
