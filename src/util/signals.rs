//! Ctrl-C and SIGTERM: the first one asks every running workload to stop at its next operation, so
//! the partial result is written and scratch files are removed; nothing is killed mid-write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Install the handlers (idempotent).
pub fn install() {
    let f = flag().clone();
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, f.clone());
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, f);
}

/// True once SIGINT or SIGTERM arrived (or [`request_stop`] was called).
pub fn stop_requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// Ask running work to stop, as a signal would.
pub fn request_stop() {
    flag().store(true, Ordering::Relaxed);
}

/// Resolves once a stop was requested; for async code (`tokio::select!`).
pub async fn stopped() {
    while !stop_requested() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
