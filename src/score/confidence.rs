//! The confidence interval of a check's observed value, from what the results document holds for
//! each round (a percentile's histogram, a rate's per-second series), and the interval's bearing
//! on the verdict: an interval that straddles the limit, or rounds whose intervals lie on opposite
//! sides of it, make the check MARGINAL. The statistics themselves are in
//! [`crate::util::stats::interval`].

use super::path::Found;
use super::profile::Check;
use crate::results::check::Comparison;
use crate::util::stats::interval::{self, Interval, Side};
use crate::util::units::format_value;
use serde_json::Value;

/// Units of figures that carry no sampling error: what was counted or read, exactly.
const EXACT_UNITS: [&str; 3] = ["count", "bytes", "cpus"];

/// One round's interval at `confidence`: the order-statistic interval of a percentile with its
/// histogram, the t interval of a rate with its series, `[v, v]` for an exact figure; None when no
/// method applies.
pub fn round_interval(check: &Check, f: &Found, confidence: f64) -> Option<Interval> {
    if let (Some((_, text)), Some(key)) = (&f.histogram, check.metric.percentile_key()) {
        let q = key.parse::<f64>().ok()? / 100.0;
        let h = crate::util::stats::decode_histogram(text).ok()?;
        return interval::quantile_interval(&h, q, confidence, f.min_max);
    }
    if let Some(series) = &f.series {
        return interval::rate_interval(series, confidence);
    }
    let exact = check.metric.root() == "fingerprint" || EXACT_UNITS.contains(&check.unit.as_str());
    exact.then_some(Interval {
        lo: f.value,
        hi: f.value,
        bounded: true,
    })
}

/// The interval of a check over its rounds, and each round's; None when any round has none. A
/// rate pools the per-second series of every round into one t interval (a round of two or three
/// whole seconds alone has one or two degrees of freedom: an interval too wide to say anything); a
/// percentile combines the rounds' intervals (see [`interval::rounds_interval`]).
pub fn check_interval(
    check: &Check,
    per_round: &[Found],
    confidence: f64,
) -> Option<(Interval, Vec<Interval>)> {
    let rounds: Vec<Interval> = per_round
        .iter()
        .map(|f| round_interval(check, f, confidence))
        .collect::<Option<_>>()?;
    let pooled_series: Option<Vec<(f64, f64)>> = per_round
        .iter()
        .map(|f| f.series.clone())
        .collect::<Option<Vec<_>>>()
        .map(|v| v.concat());
    let overall = match pooled_series {
        Some(series) if per_round.len() > 1 => interval::rate_interval(&series, confidence)?,
        _ => interval::rounds_interval(&rounds)?,
    };
    Some((overall, rounds))
}

/// Where an interval lies against a check's limit; None for `==` checks (exact counts).
pub fn side_of(cmp: Comparison, iv: &Interval, limit: f64) -> Option<Side> {
    (cmp != Comparison::Eq).then(|| {
        interval::side(
            iv.lo,
            iv.hi,
            limit,
            cmp.upper(),
            matches!(cmp, Comparison::Lt | Comparison::Gt),
        )
    })
}

/// "rounds disagree: round 2 p99 14.0 ms" when one round's interval lies wholly on the other side
/// of the limit from another's.
pub fn disagreement(
    check: &Check,
    rounds: &[Interval],
    values: &[f64],
    limit: f64,
) -> Option<String> {
    if check.comparison == Comparison::Eq || rounds.len() < 2 {
        return None;
    }
    let r = interval::rounds_disagree(
        rounds,
        limit,
        check.comparison.upper(),
        matches!(check.comparison, Comparison::Lt | Comparison::Gt),
    )?;
    let what = check
        .metric
        .percentile_key()
        .map(|k| format!("p{k}"))
        .unwrap_or_else(|| {
            check
                .metric
                .segments
                .last()
                .map_or(String::new(), |s| s.name.clone())
        });
    Some(format!(
        "rounds disagree: round {r} {what} {} [{}, {}] against the others",
        format_value(values[r - 1], &check.unit),
        format_value(rounds[r - 1].lo, &check.unit),
        format_value(rounds[r - 1].hi, &check.unit),
    ))
}

/// "wal_fdatasync_p99 9.6 ms [8.1 ms, 11.3 ms] straddles 10 ms after the full 6.0 s": the note of
/// a check whose interval straddles its limit; the time is the workloads' own when each ran to its
/// budget.
pub fn straddle_note(
    check: &Check,
    observed: f64,
    iv: &Interval,
    limit: f64,
    doc: &Value,
) -> String {
    format!(
        "{} {} [{}, {}] straddles {}{}",
        check.id,
        format_value(observed, &check.unit),
        format_value(iv.lo, &check.unit),
        format_value(iv.hi, &check.unit),
        format_value(limit, &check.unit),
        full_budget(check, doc)
            .map(|s| format!(" after the full {s:.1} s"))
            .unwrap_or_default()
    )
}

/// The longest measured time of the check's workload when every round of it ran to its budget
/// (`stop.reason == "budget"`).
fn full_budget(check: &Check, doc: &Value) -> Option<f64> {
    let first = check.metric.segments.first()?;
    let Some(crate::results::path::Selector::Id(id)) = &first.selector else {
        return None;
    };
    if first.name != "workloads" {
        return None;
    }
    let mine: Vec<&Value> = doc
        .get("workloads")?
        .as_array()?
        .iter()
        .filter(|w| w.pointer("/spec/name").and_then(Value::as_str) == Some(id.as_str()))
        .collect();
    let all_budget = !mine.is_empty()
        && mine
            .iter()
            .all(|w| w.pointer("/stop/reason").and_then(Value::as_str) == Some("budget"));
    all_budget.then(|| {
        mine.iter()
            .filter_map(|w| w.pointer("/stop/after_s").and_then(Value::as_f64))
            .fold(0.0, f64::max)
    })
}
