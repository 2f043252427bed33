//! CPU time of this process (getrusage), in one place for the disk runner and the etcd probe.

use std::time::Duration;

/// User and system CPU time used by this process so far; zero when getrusage fails.
pub fn process_times() -> (Duration, Duration) {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec().max(0) as u64)
                    + Duration::from_micros(t.tv_usec().max(0) as u64)
            };
            (tv(u.user_time()), tv(u.system_time()))
        }
        Err(_) => (Duration::ZERO, Duration::ZERO),
    }
}
