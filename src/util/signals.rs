//! Ctrl-C, SIGTERM and SIGHUP (a dropped ssh session): the first one asks every running workload
//! to stop at its next operation, so the partial result is written and scratch files are removed;
//! nothing is killed mid-write. Under `nohup` (SIGHUP ignored) a hang-up stays ignored.

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
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, f.clone());
    if !ignored(libc::SIGHUP) {
        let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, f);
    }
}

/// Whether `sig` is set to be ignored (as `nohup` sets SIGHUP), which a handler would undo.
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// True once SIGINT, SIGTERM or SIGHUP arrived (or [`request_stop`] was called).
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
