//! fsync honesty — a heuristic, not a proof. Flushes that return implausibly fast for the device
//! class, or fdatasync latency close to a plain buffered write's (pg_test_fsync's comparison),
//! suggest that flushes do not reach stable storage (QEMU `cache=unsafe`, a RAM-backed file
//! system, barriers off). Only a power-cut test (diskchecker.pl) settles it; this only warns.

use crate::fingerprint::Fingerprint;
use crate::results::WorkloadResult;
use crate::util::units::format_ns;

/// fdatasync p50 within this factor of the buffered write p50 counts as "close".
pub const CLOSE_TO_WRITE_FACTOR: f64 = 3.0;
/// A flush on a spinning disk below this is implausible (a 7200 RPM platter turns once per 8.3 ms;
/// only a volatile cache answers faster).
pub const ROTATIONAL_FLOOR_NS: f64 = 1_000_000.0;
/// A flush of a volatile ("write back") device cache below this is implausible.
pub const WRITE_BACK_FLOOR_NS: f64 = 20_000.0;

/// The signals that make flushes look dishonest, from the first workload that has both sync and
/// buffered write latencies. Empty when nothing looks wrong (or nothing could be judged).
pub fn signals(workloads: &[WorkloadResult], fp: Option<&Fingerprint>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(w) = workloads
        .iter()
        .find(|w| w.latency_ns.sync.is_some() && w.latency_ns.write.is_some() && !w.spec.direct)
    else {
        return out;
    };
    let (Some(sync), Some(write)) = (&w.latency_ns.sync, &w.latency_ns.write) else {
        return out;
    };
    let (Some(s50), Some(w50)) = (sync.percentile(50.0), write.percentile(50.0)) else {
        return out;
    };
    let (s50, w50) = (s50 as f64, w50 as f64);
    if s50 < CLOSE_TO_WRITE_FACTOR * w50 {
        out.push(format!(
            "workload '{}': fdatasync p50 {} is within {CLOSE_TO_WRITE_FACTOR}x of a buffered write's p50 {} (pg_test_fsync's comparison)",
            w.spec.name,
            format_ns(s50),
            format_ns(w50)
        ));
    }
    if let Some(fp) = fp {
        if fp.filesystem.fstype == "tmpfs" || fp.filesystem.fstype == "ramfs" {
            out.push(format!(
                "the directory is on {}, which keeps data in RAM only",
                fp.filesystem.fstype
            ));
        }
        // Virtual disks (virtio-blk) report rotational=1 whatever backs them, so the flag only
        // means something on bare metal.
        if fp.virtualization.hypervisor == "none"
            && fp.block_device.rotational == Some(true)
            && s50 < ROTATIONAL_FLOOR_NS
        {
            out.push(format!(
                "the device reports itself rotational, yet fdatasync p50 is {} (below {})",
                format_ns(s50),
                format_ns(ROTATIONAL_FLOOR_NS)
            ));
        }
        if fp.block_device.write_cache == "write back" && s50 < WRITE_BACK_FLOOR_NS {
            out.push(format!(
                "the device reports a volatile write cache ('write back'), yet fdatasync p50 is {} (below {})",
                format_ns(s50),
                format_ns(WRITE_BACK_FLOOR_NS)
            ));
        }
        if fp.filesystem.barriers_disabled {
            out.push(format!(
                "the file system is mounted without barriers ({})",
                fp.filesystem.mount_options
            ));
        }
    }
    out
}

/// The warning line for a set of signals, or none.
pub fn warning(signals: &[String]) -> Option<String> {
    if signals.is_empty() {
        return None;
    }
    Some(format!(
        "fsync honesty (heuristic): flushes may not reach stable storage (e.g. QEMU cache=unsafe, RAM-backed storage, barriers off); signals: {}. Only a power-cut test (diskchecker.pl) can prove it either way.",
        signals.join("; ")
    ))
}
