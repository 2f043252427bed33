//! The `nodefit etcd` summary: what the probe asked for and what etcd did with it, as text.

use crate::results::etcd::{EtcdResult, MetricEstimate, ERROR_KINDS};
use crate::util::units::format_ns;
use std::fmt::Write;

/// Human summary of a probe.
pub fn text(r: &EtcdResult) -> String {
    let mut s = String::new();
    let l = &r.load;
    let _ = writeln!(
        s,
        "etcd probe: {} ({} member{}) {}",
        r.target.kind,
        r.target.member_count,
        if r.target.member_count == 1 { "" } else { "s" },
        r.target.endpoints.join(",")
    );
    let _ = writeln!(
        s,
        "  load       : op={}, rate={}/s, clients={}, conns={}, {}key={}B, value={}B, prefix={}",
        l.op,
        l.rate,
        l.clients,
        l.conns,
        match (l.duration_s, l.total) {
            (Some(d), Some(t)) => format!("duration={d}s, total={t}, "),
            (Some(d), None) => format!("duration={d}s, "),
            (None, Some(t)) => format!("total={t}, "),
            (None, None) => String::new(),
        },
        l.key_size,
        l.val_size,
        l.prefix
    );
    let _ = writeln!(
        s,
        "  throughput : achieved {:.1}/s of {}/s target ({} ok, {} sent, runtime {:.2}s)",
        r.achieved_rate,
        r.target_rate,
        r.ops,
        r.requests,
        r.runtime_ns as f64 / 1e9
    );
    let errs: Vec<String> = ERROR_KINDS
        .iter()
        .map(|k| format!("{k}={}", r.errors.get(*k).copied().unwrap_or(0)))
        .collect();
    let _ = writeln!(s, "  errors     : {} ({})", r.errors_total, errs.join(", "));
    for m in &r.error_samples {
        let _ = writeln!(s, "               e.g. {m}");
    }
    for (label, lat) in [
        ("latency (from due time)", &r.latency_ns),
        ("service time (send→reply)", &r.service_time_ns),
    ] {
        if let Some(l) = lat {
            let p = |q: f64| {
                l.percentile(q)
                    .map(|v| format_ns(v as f64))
                    .unwrap_or("-".into())
            };
            let _ = writeln!(
                s,
                "  {label:<26}: p50={} p90={} p99={} p99.9={} max={} mean={}{}",
                p(50.0),
                p(90.0),
                p(99.0),
                p(99.9),
                format_ns(l.max as f64),
                format_ns(l.mean),
                if l.insufficient_samples.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  (too few samples for {})",
                        l.insufficient_samples.join(", ")
                    )
                }
            );
        }
    }
    let b = &r.behind_schedule;
    let _ = writeln!(
        s,
        "  schedule   : max lag {}, final lag {}, {:.2}% sent > {} late, {} unsent",
        format_ns(b.max_lag_ns as f64),
        format_ns(b.final_lag_ns as f64),
        b.late_share * 100.0,
        format_ns(b.late_threshold_ns as f64),
        b.unsent
    );
    let _ = writeln!(s, "  leader     : {} change(s)", r.leader_changes);
    for c in &r.leader_change_events {
        let _ = writeln!(
            s,
            "               t={:.2}s {} → {} (term {})",
            c.t_s,
            c.from.as_deref().unwrap_or("none"),
            c.to.as_deref().unwrap_or("none"),
            c.raft_term
        );
    }
    members_text(&mut s, r);
    let _ = writeln!(
        s,
        "  client CPU : {:.2}s; prefix {}",
        r.client_cpu_s,
        if r.cleaned_up {
            "deleted"
        } else {
            "NOT deleted"
        }
    );
    if !r.complete || r.error.is_some() {
        let _ = writeln!(
            s,
            "\n{}: {}",
            if r.complete { "NOTE" } else { "INCOMPLETE RUN" },
            r.error.as_deref().unwrap_or("stopped early")
        );
    }
    s
}

/// Each member as etcd reported it before and after the run, with its own histograms.
fn members_text(s: &mut String, r: &EtcdResult) {
    let _ = writeln!(
        s,
        "  members (etcd's histograms, Prometheus bucket estimates):"
    );
    for m in &r.members {
        if m.before.is_some() && m.after.is_none() {
            let _ = writeln!(
                s,
                "    WARNING: member {} ({}) answered before the run but not after it: it stopped or became unreachable during the probe",
                m.name, m.endpoint
            );
        }
        let est = |e: &Option<MetricEstimate>| match e {
            Some(e) => format!(
                "p50={} p99={} (n={}{})",
                e.p50_ns.map(|v| format_ns(v as f64)).unwrap_or("-".into()),
                e.p99_ns.map(|v| format_ns(v as f64)).unwrap_or("-".into()),
                e.count,
                if e.window == "probe" {
                    ""
                } else {
                    ", since start"
                }
            ),
            None => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "    {} {} {}{} v{} term={} index={} db={}",
            m.name,
            m.id,
            m.endpoint,
            if m.is_leader == Some(true) {
                " (leader)"
            } else {
                ""
            },
            m.version.as_deref().unwrap_or("?"),
            m.raft_term.map(|v| v.to_string()).unwrap_or("?".into()),
            m.raft_index.map(|v| v.to_string()).unwrap_or("?".into()),
            m.db_size_bytes
                .map(|v| crate::util::units::format_bytes(v as f64))
                .unwrap_or("?".into())
        );
        let _ = writeln!(s, "      wal fsync      : {}", est(&m.wal_fsync));
        let _ = writeln!(s, "      backend commit : {}", est(&m.backend_commit));
        if r.target.member_count > 1 {
            let _ = writeln!(s, "      peer RTT       : {}", est(&m.peer_rtt));
        }
        if let Some(e) = &m.metrics_error {
            let _ = writeln!(s, "      metrics        : {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::etcd::{MemberResult, TargetInfo};

    #[test]
    fn text_summary_names_what_matters() {
        let mut r = EtcdResult {
            target: TargetInfo {
                kind: "embedded".into(),
                member_count: 1,
                endpoints: vec!["http://127.0.0.1:1".into()],
                ..Default::default()
            },
            target_rate: 150.0,
            achieved_rate: 149.5,
            ops: 299,
            requests: 300,
            errors_total: 1,
            complete: false,
            error: Some("interrupted".into()),
            ..Default::default()
        };
        r.errors.insert("deadline".into(), 1);
        r.members.push(MemberResult {
            name: "m0".into(),
            id: "abc".into(),
            is_leader: Some(true),
            wal_fsync: Some(MetricEstimate {
                count: 10,
                p50_ns: Some(1_000_000),
                p99_ns: Some(2_000_000),
                window: "probe".into(),
                source: "prometheus buckets (estimate)".into(),
            }),
            ..Default::default()
        });
        let t = text(&r);
        assert!(t.contains("achieved 149.5/s of 150/s target"), "{t}");
        assert!(t.contains("deadline=1"), "{t}");
        assert!(t.contains("m0 abc"), "{t}");
        assert!(t.contains("(leader)"), "{t}");
        assert!(
            t.contains("wal fsync      : p50=1.00ms p99=2.00ms (n=10)"),
            "{t}"
        );
        assert!(t.contains("INCOMPLETE RUN: interrupted"), "{t}");
    }
}
