//! Terminal rendering of disk results, laid out like fio's normal output so the two can be read
//! side by side.

use crate::results::{ResultsDocument, WorkloadResult};
use crate::util::stats::LatencySummary;
use crate::util::units::{format_bytes, format_ns};
use std::fmt::Write;

/// fio-style text for every workload of a document.
pub fn disk_text(doc: &ResultsDocument) -> String {
    let mut s = String::new();
    for w in &doc.workloads {
        workload_text(&mut s, w);
    }
    if !doc.complete {
        let _ = writeln!(
            s,
            "\nINCOMPLETE RUN: {}; the figures above cover only what ran.",
            doc.incomplete_reason.as_deref().unwrap_or("stopped early")
        );
    }
    s
}

fn workload_text(s: &mut String, w: &WorkloadResult) {
    let spec = &w.spec;
    let _ = writeln!(
        s,
        "{}: rw={}, bs={}B, ioengine={}, iodepth={}{}{}",
        spec.name,
        spec.rw.as_str(),
        spec.bs,
        spec.ioengine.as_str(),
        spec.iodepth,
        if spec.direct { ", direct=1" } else { "" },
        match spec.sync_every() {
            Some((n, k)) => format!(", {k:?}={n}").to_lowercase(),
            None => String::new(),
        }
    );
    let _ = writeln!(
        s,
        "{}: (jobs={}): err={}{}",
        spec.name,
        spec.numjobs,
        if w.error.is_some() { 1 } else { 0 },
        w.error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let secs = w.runtime_ns as f64 / 1e9;
    for (label, lat, bytes) in [
        ("read", &w.latency_ns.read, w.bytes_read),
        ("write", &w.latency_ns.write, w.bytes_written),
    ] {
        if let Some(l) = lat {
            let iops = if secs > 0.0 {
                l.count as f64 / secs
            } else {
                0.0
            };
            let bw = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
            let _ = writeln!(
                s,
                "  {label}: IOPS={iops:.0}, BW={}/s ({:.1}MB/s)({}/{:.0}msec)",
                format_bytes(bw),
                bw / 1e6,
                format_bytes(bytes as f64),
                secs * 1e3
            );
            summary_text(s, "clat", l);
        }
    }
    if let Some(l) = &w.latency_ns.sync {
        let _ = writeln!(s, "  fsync/fdatasync/sync_file_range:");
        summary_text(s, "sync", l);
    }
    let _ = writeln!(
        s,
        "  cpu          : usr={:.2}%, sys={:.2}%",
        w.cpu.usr_pct, w.cpu.sys_pct
    );
    let _ = writeln!(
        s,
        "  ops          : data={}, sync={}, runtime={:.3}s",
        w.ops, w.sync_ops, secs
    );
    let _ = writeln!(s, "  mirrors      : {}", w.fio_command);
    let _ = writeln!(s);
}

fn summary_text(s: &mut String, label: &str, l: &LatencySummary) {
    let _ = writeln!(
        s,
        "    {label} (nsec): min={}, max={}, avg={:.2}, stdev={:.2}  [{} ops; {}..{}]",
        l.min,
        l.max,
        l.mean,
        l.stddev,
        l.count,
        format_ns(l.min as f64),
        format_ns(l.max as f64)
    );
    let mut keys: Vec<(f64, &String, &u64)> = l
        .percentiles
        .iter()
        .filter_map(|(k, v)| k.parse::<f64>().ok().map(|p| (p, k, v)))
        .collect();
    keys.sort_by(|a, b| a.0.total_cmp(&b.0));
    let _ = writeln!(s, "     {label} percentiles (nsec):");
    for row in keys.chunks(3) {
        let cells: Vec<String> = row
            .iter()
            .map(|(p, k, v)| {
                let flag = if l.insufficient_samples.contains(k) {
                    "*"
                } else {
                    ""
                };
                format!("{p:6.2}th=[{v:>9}]{flag}")
            })
            .collect();
        let _ = writeln!(s, "     | {}", cells.join(", "));
    }
    if !l.insufficient_samples.is_empty() {
        let _ = writeln!(
            s,
            "     * too few samples to support this percentile ({} ops; p99 needs 1000, p99.9 needs 10000)",
            l.count
        );
    }
}
