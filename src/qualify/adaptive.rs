//! Adaptive stopping for qualify's disk steps: a step stops at a planned look as soon as every
//! check its workloads feed is decided — the check's interval wholly on one side of its limit (and
//! of its marginal band) — or a `must` check is decided failing (the node is UNFIT whatever else
//! happens). Before the first look (2 s) nothing stops; a percentile is not decided before it has
//! 10 / (1 − p) samples (1 000 for p99, 10 000 for p99.9).
//!
//! Peeking: looking at an interval again and again and stopping the first time it excludes the
//! limit would be wrong more often than its confidence says. The looks are planned in advance
//! ([`planned_looks`], at most [`MAX_LOOKS`]) and each uses confidence 1 − (1 − c)/K for K looks
//! (Bonferroni), so the chance that any early stop rests on an interval that missed is at most
//! 1 − c. A step that is not decided by its last look runs to its budget and is judged there as
//! without adaptive stopping.

use crate::disk::looks::EarlyStop;
use crate::results::check::Severity;
use crate::results::path::{Lookup, Selector};
use crate::results::{CheckVerdict, WorkloadResult};
use crate::score::confidence::side_of;
use crate::score::profile::{Check, Profile};
use crate::util::stats::interval::{self, Side};
use crate::util::units::format_value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// No look before this much of the measured phase.
pub const MIN_LOOK: Duration = Duration::from_secs(2);
/// At most this many looks per step: each costs confidence (see the module comment).
pub const MAX_LOOKS: usize = 8;

/// The looks of a step whose budget is `budget`: every second from [`MIN_LOOK`] while short of the
/// budget, or [`MAX_LOOKS`] evenly spread from it when that would be more.
pub fn planned_looks(budget: Duration) -> Vec<Duration> {
    let whole: Vec<Duration> = (MIN_LOOK.as_secs()..)
        .map(Duration::from_secs)
        .take_while(|t| *t < budget)
        .collect();
    if whole.len() <= MAX_LOOKS {
        return whole;
    }
    let span = budget.saturating_sub(MIN_LOOK);
    (0..MAX_LOOKS)
        .map(|i| MIN_LOOK + span.mul_f64(i as f64 / MAX_LOOKS as f64))
        .collect()
}

/// What a look decided about one check.
enum Decided {
    /// The interval lies wholly in one verdict's region: pass, marginal band or fail.
    Yes(CheckVerdict, String),
    No,
}

/// The checks of `profile` that read one of the workloads `ids`.
fn checks_of<'a>(profile: &'a Profile, ids: &[String]) -> Vec<&'a Check> {
    profile
        .checks
        .iter()
        .filter(|c| match c.metric.segments.first() {
            Some(s) if s.name == "workloads" => {
                matches!(&s.selector, Some(Selector::Id(id)) if ids.contains(id))
            }
            _ => false,
        })
        .collect()
}

/// Whether the workloads in `doc` decide `check` at `confidence`.
fn decide_check(check: &Check, doc: &serde_json::Value, confidence: f64) -> Decided {
    let Lookup::Values(found) = check.metric.lookup(doc) else {
        return Decided::No;
    };
    let [f] = found.as_slice() else {
        return Decided::No;
    };
    let show = |lo: f64, hi: f64| {
        format!(
            "[{}, {}]",
            format_value(lo, &check.unit),
            format_value(hi, &check.unit)
        )
    };
    if let Some(ins) = &f.insufficient {
        // Too few samples for the percentile itself; a well-sampled lower percentile whose whole
        // interval is past the limit (and its band) still proves the failure.
        let (Some((key, _)), Some((_, text)), true) =
            (&ins.supported_lower, &f.histogram, check.comparison.upper())
        else {
            return Decided::No;
        };
        let Some(iv) = key.parse::<f64>().ok().and_then(|p| {
            let h = crate::util::stats::decode_histogram(text).ok()?;
            interval::quantile_interval(&h, p / 100.0, confidence, f.min_max)
        }) else {
            return Decided::No;
        };
        let beyond = check.marginal.unwrap_or(check.limit);
        return match side_of(check.comparison, &iv, beyond) {
            Some(Side::Fail) => Decided::Yes(
                CheckVerdict::Fail,
                format!(
                    "{} p{key} {} beyond {}",
                    check.id,
                    show(iv.lo, iv.hi),
                    format_value(beyond, &check.unit)
                ),
            ),
            _ => Decided::No,
        };
    }
    let r = crate::score::evaluate_at(check, doc, &[], confidence);
    let (Some([lo, hi]), true) = (r.observed_ci, r.verdict != CheckVerdict::Skipped) else {
        return Decided::No;
    };
    let iv = interval::Interval {
        lo,
        hi,
        bounded: true,
    };
    let at_limit = side_of(check.comparison, &iv, r.limit);
    let at_band = check.marginal.map(|m| side_of(check.comparison, &iv, m));
    let verdict = match (at_limit, at_band) {
        (Some(Side::Pass), _) => CheckVerdict::Pass,
        (Some(Side::Fail), None | Some(Some(Side::Fail))) => CheckVerdict::Fail,
        (Some(Side::Fail), Some(Some(Side::Pass))) => CheckVerdict::Marginal,
        _ => return Decided::No,
    };
    Decided::Yes(
        verdict,
        format!(
            "{} {} {} {}",
            check.id,
            show(lo, hi),
            verdict.as_str(),
            format_value(r.limit, &check.unit)
        ),
    )
}

/// The early-stop rule of one step (its workloads `ids`), over `looks` at overall `confidence`.
/// `unfit` receives the reason when a look decides a `must` check failing.
pub fn rule(
    profile: &Profile,
    ids: &[String],
    looks: Vec<Duration>,
    confidence: f64,
    unfit: Arc<Mutex<Option<String>>>,
) -> Option<EarlyStop> {
    if looks.is_empty() {
        return None;
    }
    let per_look = interval::per_look_confidence(confidence, looks.len() as u32);
    let checks: Vec<Check> = checks_of(profile, ids).into_iter().cloned().collect();
    if checks.is_empty() {
        return None;
    }
    let decide = move |results: &[WorkloadResult]| -> Option<String> {
        let doc = serde_json::json!({ "workloads": results });
        let mut said = Vec::new();
        let mut open = false;
        for c in &checks {
            match decide_check(c, &doc, per_look) {
                Decided::Yes(CheckVerdict::Fail, why) if c.severity == Severity::Must => {
                    let why = format!("UNFIT is certain: {why}");
                    let mut u = unfit.lock().unwrap_or_else(|p| p.into_inner());
                    u.get_or_insert(why.clone());
                    return Some(why);
                }
                Decided::Yes(_, why) => said.push(why),
                Decided::No => open = true,
            }
        }
        if open {
            return None;
        }
        Some(format!(
            "every check decided at {:.2} % per look: {}",
            per_look * 100.0,
            said.join("; ")
        ))
    };
    Some(EarlyStop {
        at: looks,
        decide: Arc::new(decide),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_start_at_two_seconds_and_are_few() {
        let s = Duration::from_secs;
        assert_eq!(planned_looks(s(6)), vec![s(2), s(3), s(4), s(5)]);
        assert_eq!(planned_looks(s(3)), vec![s(2)]);
        assert!(planned_looks(s(2)).is_empty());
        let long = planned_looks(s(60));
        assert_eq!(long.len(), MAX_LOOKS);
        assert_eq!(long[0], s(2));
        assert!(long.iter().all(|t| *t < s(60)));
    }
}
