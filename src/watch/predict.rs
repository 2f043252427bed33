//! Predicted etcd symptoms per day, from the flush tails a watch measured.
//!
//! Model: etcd's WAL issues one fdatasync per raft Ready that carries entries; the watch's bursts
//! sample the disk's flush latency through the day. Assuming the etcd node would flush at `R`
//! fdatasyncs a second (`--etcd-syncs-per-s`) and that its flushes meet the disk as the bursts' did
//! (the same share of them over each threshold), the expected count a day of flushes over a
//! threshold T is `n_T ÷ n × R × 86400`, where n is the flushes measured and n_T those over T.
//! When none was over T the point estimate is 0 and the 95 % upper bound is the rule of three
//! (`3 ÷ n × R × 86400`). Stalls cluster in time (one stalled second delays every flush in it), so
//! the counts are of slow flushes, not of separate incidents; a day with one long stall shows as
//! several warnings, as etcd's log would.
//!
//! Thresholds and where etcd sets them:
//! - "slow fdatasync": a WAL fdatasync over 1 s — etcd server/storage/wal/wal.go,
//!   `warnSyncDuration = time.Second`, logged by `(*WAL).sync`.
//! - "apply request took too long": a request whose apply exceeds 100 ms — etcd
//!   server/embed/config.go `DefaultWarningApplyDuration = 100 * time.Millisecond`
//!   (`--warning-apply-duration`), logged by `warnOfExpensiveRequest` in server/etcdserver/util.go.
//!   A flush stall over 100 ms holds every request committed behind it at least that long.
//! - Leader election: the raft loop in server/etcdserver/raft.go saves the WAL before it ticks
//!   again, so a leader whose fdatasync stalls longer than the election timeout sends no heartbeat
//!   in time and the followers elect another (`--election-timeout`, default 1000 ms,
//!   server/embed/config.go `DefaultElectionMs = 1000`).

use crate::results::watch::{Predictions, Symptom};

const DAY_S: f64 = 86_400.0;

/// Thresholds of the symptoms, ns.
pub const SLOW_FDATASYNC_NS: u64 = 1_000_000_000;
pub const APPLY_TOO_LONG_NS: u64 = 100_000_000;

/// Predictions from `measured` flushes of which `over(T)` exceeded each threshold.
pub fn predict(
    measured: u64,
    over: impl Fn(u64) -> u64,
    syncs_per_s: f64,
    election_timeout_ms: u64,
) -> Predictions {
    let symptom = |threshold_ns: u64, source: &str| {
        let observed = over(threshold_ns);
        let (per_day, upper) = if measured == 0 {
            (0.0, f64::INFINITY)
        } else {
            let scale = syncs_per_s * DAY_S / measured as f64;
            let point = observed as f64 * scale;
            (point, if observed == 0 { 3.0 * scale } else { point })
        };
        Symptom {
            threshold_ns,
            observed,
            per_day,
            per_day_upper_95: if upper.is_finite() { upper } else { 0.0 },
            source: source.to_string(),
        }
    };
    Predictions {
        etcd_syncs_per_s: syncs_per_s,
        election_timeout_ms,
        slow_fdatasync: symptom(
            SLOW_FDATASYNC_NS,
            "etcd server/storage/wal/wal.go: warnSyncDuration = time.Second (\"slow fdatasync\")",
        ),
        apply_took_too_long: symptom(
            APPLY_TOO_LONG_NS,
            "etcd server/embed/config.go: DefaultWarningApplyDuration = 100ms (\"apply request took too long\", server/etcdserver/util.go warnOfExpensiveRequest)",
        ),
        leader_election: symptom(
            election_timeout_ms.saturating_mul(1_000_000),
            "etcd server/embed/config.go: DefaultElectionMs = 1000 (--election-timeout); the raft loop (server/etcdserver/raft.go) saves the WAL before its next tick, so a longer stall misses the followers' election timeout",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_the_share_over_each_threshold_to_a_day() {
        // 10 000 flushes, 5 over 100 ms, 1 over 1 s; etcd at 10 syncs/s = 864 000 flushes a day.
        let p = predict(
            10_000,
            |t| if t >= SLOW_FDATASYNC_NS { 1 } else { 5 },
            10.0,
            1000,
        );
        assert!((p.slow_fdatasync.per_day - 86.4).abs() < 1e-9);
        assert!((p.apply_took_too_long.per_day - 432.0).abs() < 1e-9);
        assert_eq!(p.leader_election.threshold_ns, 1_000_000_000);
    }

    #[test]
    fn none_seen_gives_zero_and_the_rule_of_three_bound() {
        let p = predict(3_000, |_| 0, 10.0, 2500);
        assert_eq!(p.slow_fdatasync.per_day, 0.0);
        assert!((p.slow_fdatasync.per_day_upper_95 - 864.0).abs() < 1e-9);
        assert_eq!(p.leader_election.threshold_ns, 2_500_000_000);
    }
}
