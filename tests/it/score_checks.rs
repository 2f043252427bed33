//! Scoring, table-driven: one check against a hand-made results document per case — rounds and
//! their spread, marginal bands, under-sampled percentiles, worst member, derived limits, missing
//! data — then the verdict and overall score from sets of judged checks.

use nodefit::results::CheckResult;
use nodefit::results::{Comparison, Verdict};
use nodefit::score::profile::Profile;
use nodefit::score::{check_score, evaluate, summarize};
use nodefit::util::stats::median;
use serde_json::{json, Value};

/// A one-check profile around `check` (the TOML body of a [[check]] after its id).
fn check(body: &str) -> nodefit::score::profile::Check {
    let text = format!(
        r#"name = "t"
description = "t"
[[disk]]
id = "wal"
bs = "2300"
size = "1m"
runtime = "1s"
fdatasync = 1
[etcd]
load = "s"
[[check]]
id = "c"
title = "c"
unit = "ns"
source = "etcd FAQ, disk section"
{body}
"#
    );
    Profile::parse(&text, "t.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .checks
        .remove(0)
}

/// A workload round whose sync p99 is `v` ns from `count` samples (p95 = v/2).
fn round(v: u64, count: u64) -> Value {
    let mut flagged = vec![];
    if count < 1000 {
        flagged.push("99");
    }
    json!({"spec": {"name": "wal"}, "iops": 1000.0, "latency_ns": {"sync": {
        "count": count, "percentiles": {"50": v / 4, "95": v / 2, "99": v},
        "insufficient_samples": flagged, "histogram": ""}}})
}

fn doc(rounds: Vec<Value>) -> Value {
    json!({"workloads": rounds,
           "etcd": {"achieved_rate": 140.0, "target_rate": 150.0, "errors_total": 0,
                    "members": [{"wal_fsync": {"p99_ns": 4_000_000}},
                                {"wal_fsync": {"p99_ns": 12_000_000}},
                                {"wal_fsync": {"p99_ns": null}}]},
           "fingerprint": {"cpu": {"count": 2}}})
}

const P99_MUST: &str = r#"metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
severity = "must""#;
const P99_SHOULD: &str = r#"metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
severity = "should""#;
const P99_BAND: &str = r#"metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
marginal = 15_000_000
severity = "must""#;

/// (name, check body, document, verdict, observed, text the note must contain)
type Case = (
    &'static str,
    &'static str,
    Value,
    &'static str,
    Option<f64>,
    &'static str,
);

#[test]
fn checks_table() {
    let ms = 1_000_000u64;
    // (name, check body, document, verdict, observed, note must contain)
    let cases: Vec<Case> = vec![
        ("pass", P99_MUST, doc(vec![round(2 * ms, 5000)]), "pass", Some(2e6), ""),
        ("fail", P99_MUST, doc(vec![round(30 * ms, 5000)]), "fail", Some(30e6), ""),
        (
            "median of three rounds",
            P99_MUST,
            doc(vec![round(2 * ms, 5000), round(3 * ms, 5000), round(4 * ms, 5000)]),
            "pass",
            Some(3e6),
            "",
        ),
        (
            "spread straddles the limit",
            P99_MUST,
            doc(vec![round(2 * ms, 5000), round(3 * ms, 5000), round(40 * ms, 5000)]),
            "marginal",
            Some(3e6),
            "straddles",
        ),
        ("marginal band", P99_BAND, doc(vec![round(12 * ms, 5000)]), "marginal", Some(12e6), "marginal band"),
        ("beyond the band", P99_BAND, doc(vec![round(16 * ms, 5000)]), "fail", Some(16e6), ""),
        (
            "under-sampled must is not used",
            P99_MUST,
            doc(vec![round(12 * ms, 500)]),
            "skipped",
            Some(12e6),
            "not used for a must",
        ),
        (
            "under-sampled must fails on a well-sampled lower percentile",
            P99_MUST,
            doc(vec![round(60 * ms, 500)]),
            "fail",
            Some(60e6),
            "p95",
        ),
        (
            "under-sampled must: lower percentile beyond the limit but inside the band is marginal",
            P99_BAND,
            doc(vec![round(24 * ms, 500)]),
            "marginal",
            Some(24e6),
            "not the marginal band",
        ),
        (
            "under-sampled must: lower percentile beyond the band fails",
            P99_BAND,
            doc(vec![round(40 * ms, 500)]),
            "fail",
            Some(40e6),
            "p95",
        ),
        (
            "under-sampled should is judged and flagged",
            P99_SHOULD,
            doc(vec![round(12 * ms, 500)]),
            "fail",
            Some(12e6),
            "too few samples",
        ),
        (
            "worst member for an upper limit; null members ignored",
            "metric = \"etcd.members[*].wal_fsync.p99_ns\"\ncomparison = \"<=\"\nlimit = 10_000_000\nseverity = \"must\"",
            doc(vec![]),
            "fail",
            Some(12e6),
            "",
        ),
        (
            "limit derived from another metric",
            "metric = \"etcd.achieved_rate\"\ncomparison = \">=\"\nlimit = 0.9\nlimit_of = \"etcd.target_rate\"\nseverity = \"must\"",
            doc(vec![]),
            "pass",
            Some(140.0),
            "",
        ),
        (
            "equality",
            "metric = \"etcd.errors_total\"\ncomparison = \"==\"\nlimit = 0\nseverity = \"must\"",
            doc(vec![]),
            "pass",
            Some(0.0),
            "",
        ),
        (
            "lower limit on the fingerprint",
            "metric = \"fingerprint.cpu.count\"\ncomparison = \">=\"\nlimit = 4\nseverity = \"should\"",
            doc(vec![]),
            "fail",
            Some(2.0),
            "",
        ),
        (
            "missing section is skipped with the reason given",
            "metric = \"etcd.leader_changes\"\ncomparison = \"==\"\nlimit = 0\nseverity = \"must\"",
            json!({"workloads": []}),
            "skipped",
            None,
            "probe failed: boom",
        ),
    ];
    let skip = vec![("etcd".to_string(), "probe failed: boom".to_string())];
    for (name, body, d, verdict, observed, note) in cases {
        let c = check(body);
        // The skip reason only applies when the etcd section is absent.
        let skip: &[(String, String)] = if d.get("etcd").is_some() { &[] } else { &skip };
        let r = evaluate(&c, &d, skip);
        assert_eq!(r.verdict.as_str(), verdict, "{name}: {r:?}");
        assert_eq!(r.observed, observed, "{name}: {r:?}");
        if !note.is_empty() {
            let n = r.note.clone().unwrap_or_default();
            assert!(
                n.contains(note),
                "{name}: note {n:?} should contain {note:?}"
            );
        }
        if verdict == "skipped" {
            assert_eq!(r.score, 0.0, "{name}");
        } else {
            assert!((0.0..=100.0).contains(&r.score), "{name}");
        }
    }
}

#[test]
fn worst_member_is_chosen_by_direction() {
    let d = json!({"etcd": {"members": [{"peer_rtt": {"p99_ns": 4.0}}, {"peer_rtt": {"p99_ns": 12.0}}]}});
    let up = check(
        "metric = \"etcd.members[*].peer_rtt.p99_ns\"\ncomparison = \"<=\"\nlimit = 10\nseverity = \"must\"",
    );
    let r = evaluate(&up, &d, &[]);
    assert_eq!((r.observed, r.verdict.as_str()), (Some(12.0), "fail"));
    let down = check(
        "metric = \"etcd.members[*].peer_rtt.p99_ns\"\ncomparison = \">=\"\nlimit = 10\nseverity = \"must\"",
    );
    let r = evaluate(&down, &d, &[]);
    assert_eq!((r.observed, r.verdict.as_str()), (Some(4.0), "fail"));
    // `== 0` over peers (failed handshakes): one peer with failures fails it, whatever the order.
    for errors in [[0.0, 7.0], [7.0, 0.0]] {
        let d =
            json!({"cluster": {"peers": [{"rtt_errors": errors[0]}, {"rtt_errors": errors[1]}]}});
        let eq = check(
            "metric = \"cluster.peers[*].rtt_errors\"\ncomparison = \"==\"\nlimit = 0\nseverity = \"must\"",
        );
        let r = evaluate(&eq, &d, &[]);
        assert_eq!((r.observed, r.verdict.as_str()), (Some(7.0), "fail"));
    }
}

#[test]
fn scores_from_headroom() {
    use Comparison::*;
    let cases = [
        (Le, 10.0, 10.0, 50.0),
        (Le, 0.0, 10.0, 100.0),
        (Le, 5.0, 10.0, 75.0),
        (Le, 20.0, 10.0, 0.0),
        (Le, 12.0, 10.0, 40.0),
        (Lt, 10.0, 10.0, 49.0),
        (Ge, 100.0, 50.0, 100.0),
        (Ge, 75.0, 50.0, 75.0),
        (Ge, 25.0, 50.0, 25.0),
        (Eq, 0.0, 0.0, 100.0),
        (Eq, 1.0, 0.0, 0.0),
    ];
    for (cmp, obs, limit, want) in cases {
        let got = check_score(cmp, obs, limit);
        assert!(
            (got - want).abs() < 1e-9,
            "{cmp:?} {obs} vs {limit}: {got} != {want}"
        );
    }
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
}

fn judged(severity: &str, verdict: &str, score: f64) -> CheckResult {
    CheckResult {
        id: format!("{severity}-{verdict}"),
        title: "t".into(),
        metric: "m".into(),
        observed: Some(1.0),
        observed_ci: None,
        confidence: None,
        rounds: vec![],
        unit: "ns".into(),
        comparison: nodefit::results::Comparison::Le,
        limit: 1.0,
        limit_basis: None,
        marginal_limit: None,
        severity: serde_json::from_value(serde_json::json!(severity)).unwrap(),
        verdict: serde_json::from_value(serde_json::json!(verdict)).unwrap(),
        score,
        source: "etcd FAQ".into(),
        note: None,
    }
}

#[test]
fn verdicts_table() {
    let cases: Vec<(Vec<CheckResult>, Verdict, f64)> = vec![
        (
            vec![judged("must", "pass", 80.0), judged("should", "pass", 50.0)],
            Verdict::Fit,
            70.0,
        ),
        (
            vec![
                judged("must", "fail", 10.0),
                judged("should", "pass", 100.0),
            ],
            Verdict::Unfit,
            40.0,
        ),
        (
            vec![judged("must", "fail", 40.0), judged("must", "pass", 100.0)],
            Verdict::Unfit,
            49.0,
        ),
        (
            vec![
                judged("must", "marginal", 45.0),
                judged("must", "pass", 55.0),
            ],
            Verdict::Marginal,
            50.0,
        ),
        (
            vec![judged("must", "pass", 90.0), judged("should", "fail", 30.0)],
            Verdict::Marginal,
            70.0,
        ),
        (
            vec![
                judged("must", "pass", 90.0),
                judged("should", "marginal", 45.0),
            ],
            Verdict::Fit,
            75.0,
        ),
        (
            vec![judged("must", "pass", 90.0), judged("must", "skipped", 0.0)],
            Verdict::Fit,
            90.0,
        ),
        (vec![judged("must", "skipped", 0.0)], Verdict::Marginal, 0.0),
    ];
    for (checks, want, score) in cases {
        let ids: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
        let o = summarize(checks);
        assert_eq!(o.verdict, want, "{ids:?}");
        assert!((o.score - score).abs() < 1e-9, "{ids:?}: score {}", o.score);
        if want == Verdict::Unfit {
            assert!(o
                .reasons
                .iter()
                .any(|r| r.contains("must-fail") && r.contains("etcd FAQ")));
        }
        if ids.iter().any(|i| i == "must-skipped") {
            assert!(o.warnings.iter().any(|w| w.contains("must-skipped")));
        }
    }
}

#[test]
fn under_sampled_rounds_are_pooled_when_together_they_suffice() {
    // Three rounds of 400 flushes: p99 is under-sampled in each (needs 1000) but not in all 1200.
    let rounds: Vec<Value> = (0..3)
        .map(|k| {
            let mut r = nodefit::util::stats::Recorder::new();
            for i in 0..400u64 {
                // 1 % of the flushes take 20 ms, the rest 1 ms (+ a little per round).
                r.record(if i % 100 == 0 {
                    20_000_000
                } else {
                    1_000_000 + k
                });
            }
            let s = r.summary(&[50.0, 95.0, 99.0]).unwrap();
            assert!(s.insufficient_samples.contains(&"99".to_string()));
            json!({"spec": {"name": "wal"}, "latency_ns": {"sync": s}})
        })
        .collect();
    let r = evaluate(&check(P99_MUST), &doc(rounds), &[]);
    assert_ne!(r.verdict.as_str(), "skipped", "{r:?}");
    assert!(r.note.unwrap_or_default().contains("pooled (1200 samples)"));
    assert_eq!(r.rounds.len(), 3);
}

/// A probe-alone cluster result (`nodefit etcd --cluster --profile`, as the Ansible cluster phase
/// runs it) is judged on the profile's etcd and cluster checks only: the disk was judged elsewhere.
#[test]
fn probe_alone_cluster_results_are_judged_on_etcd_and_cluster_checks() {
    let profile = Profile::find("k8s-control-plane").unwrap();
    let p = nodefit::score::cluster::probe_only(&profile);
    assert!(!p.checks.is_empty());
    assert!(p.checks.len() < profile.checks.len());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster/complete/cp1.result.json"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let out = nodefit::score::cluster::judge(&p, &doc, &[]);
    let ids: Vec<&str> = out.checks.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.iter().any(|i| i.starts_with("cluster_")), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("etcd_")), "{ids:?}");
    for c in &out.checks {
        let root = c.metric.split(['.', '[']).next().unwrap();
        assert!(
            root == "etcd" || root == "cluster",
            "{}: {}",
            c.id,
            c.metric
        );
    }
    // Judged on what the probe measured: no check of it is skipped for want of data.
    let skipped: Vec<&str> = out
        .checks
        .iter()
        .filter(|c| c.verdict == nodefit::results::check::CheckVerdict::Skipped)
        .map(|c| c.id.as_str())
        .collect();
    assert!(skipped.is_empty(), "{skipped:?}");
}

/// A workload round whose sync latencies are `n` draws spread evenly over [lo, hi] ns, with its
/// real encoded histogram (so the check has an interval).
fn measured_round(lo: u64, hi: u64, n: u64) -> Value {
    let mut r = nodefit::util::stats::Recorder::new();
    for i in 0..n {
        r.record(lo + (hi - lo) * i / n.max(1));
    }
    let s = r.summary(&[50.0, 99.0]).unwrap();
    json!({"spec": {"name": "wal"}, "iops": 1000.0, "latency_ns": {"sync": s}})
}

#[test]
fn intervals_decide_marginal_when_they_straddle_or_rounds_disagree() {
    let ms = 1_000_000u64;
    let c = check(P99_MUST);
    // Far below the limit: pass, interval around the point, below the limit.
    let r = evaluate(&c, &doc(vec![measured_round(ms, 3 * ms, 5000)]), &[]);
    assert_eq!(r.verdict.as_str(), "pass", "{r:?}");
    let [lo, hi] = r.observed_ci.unwrap();
    let obs = r.observed.unwrap();
    assert!(lo <= obs && obs <= hi && hi < 10e6, "{r:?}");
    assert_eq!(r.confidence, Some(0.95));
    // p99 just under the limit from few samples: the interval reaches past it → MARGINAL.
    let r = evaluate(&c, &doc(vec![measured_round(ms, 10_050_000, 1200)]), &[]);
    assert_eq!(r.verdict.as_str(), "marginal", "{r:?}");
    assert!(r.note.as_deref().unwrap().contains("straddles"), "{r:?}");
    // Two rounds clearly under, one clearly over: the rounds disagree, named.
    let r = evaluate(
        &c,
        &doc(vec![
            measured_round(ms, 2 * ms, 5000),
            measured_round(20 * ms, 30 * ms, 5000),
            measured_round(ms, 2 * ms, 5000),
        ]),
        &[],
    );
    assert_eq!(r.verdict.as_str(), "marginal", "{r:?}");
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("rounds disagree: round 2 p99"),
        "{r:?}"
    );
    // An exact figure has the interval [v, v].
    let cpu = check(
        r#"metric = "fingerprint.cpu.count"
comparison = ">="
limit = 2
severity = "should""#,
    );
    let r = evaluate(&cpu, &doc(vec![]), &[]);
    assert_eq!(r.observed_ci, Some([2.0, 2.0]), "{r:?}");
}
