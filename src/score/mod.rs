//! Scoring: a profile's checks held against a results document. Pure functions of the document's
//! JSON form — no I/O, no clock — so a result measured on one day can be re-judged on another.
//!
//! Rules (docs/qualify.md explains them for users):
//! - A workload repeated in rounds is judged on the median of its rounds; the spread is min..max,
//!   and a spread with rounds on both sides of the limit makes the check MARGINAL.
//! - `[*]` over members takes the worst member (max for upper limits, min for lower limits, the
//!   farthest from the limit for `==`).
//! - A percentile with too few samples behind it is flagged. For a `must` check it is not used:
//!   the check is skipped, unless a lower, well-sampled percentile of the same histogram already
//!   breaks the limit (a p99 is never below the p90), in which case it fails on that evidence.
//! - Score per check: 50 + 50 × headroom, clamped to 0–100, where headroom is
//!   (limit − observed) / limit for upper limits and (observed − limit) / limit for lower ones; a
//!   failing check scores at most 49. `==` checks score 100 or 0. Overall: mean of evaluated
//!   checks weighted must 2, should 1, at most 49 when a must fails.
//! - Confidence: every check carries the interval of its observed value (see [`confidence`]); an
//!   interval that straddles the limit, or rounds whose intervals lie on opposite sides of it, make
//!   the check MARGINAL whatever the point value says.
//! - Verdict: UNFIT when a must fails; MARGINAL when a must is marginal or a should fails (or no
//!   check could be evaluated); FIT otherwise.

pub mod cluster;
pub mod confidence;
pub mod honesty;
pub mod profile;

use crate::results::check::{CheckVerdict, Comparison, Severity, Verdict};
use crate::results::path::{self, Found, Lookup, Selector};
use crate::results::CheckResult;
use crate::util::stats::interval::{self, Interval, Side, DEFAULT_CONFIDENCE};
use crate::util::stats::median;
use crate::util::units::format_value;
use profile::{Check, Profile};
use serde_json::Value;

/// Everything scoring decides.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub verdict: Verdict,
    /// Overall 0–100.
    pub score: f64,
    pub checks: Vec<CheckResult>,
    /// One line per check that made the verdict what it is.
    pub reasons: Vec<String>,
    /// Things the user should know that are not a check's verdict (skipped musts, flagged
    /// percentiles).
    pub warnings: Vec<String>,
}

/// 0–100 from headroom against the limit (see the module comment).
pub fn check_score(cmp: Comparison, observed: f64, limit: f64) -> f64 {
    let pass = cmp.holds(observed, limit);
    let s = match cmp {
        Comparison::Eq => {
            if pass {
                100.0
            } else {
                0.0
            }
        }
        _ => {
            // A zero limit has no scale: full headroom when it holds, none when it does not.
            let headroom = cmp
                .headroom(observed, limit)
                .unwrap_or(if pass { 1.0 } else { -1.0 });
            (50.0 + 50.0 * headroom).clamp(0.0, 100.0)
        }
    };
    if pass {
        s
    } else {
        s.min(49.0)
    }
}

fn limit_basis(check: &Check) -> Option<String> {
    check
        .limit_of
        .as_ref()
        .map(|of| format!("{} × {}", check.limit, of.text))
}

fn skipped(check: &Check, note: String) -> CheckResult {
    CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        metric: check.metric.text.clone(),
        observed: None,
        observed_ci: None,
        confidence: None,
        rounds: Vec::new(),
        unit: check.unit.clone(),
        comparison: check.comparison,
        limit: check.limit,
        limit_basis: limit_basis(check),
        marginal_limit: check.marginal,
        severity: check.severity,
        verdict: CheckVerdict::Skipped,
        score: 0.0,
        source: check.source.clone(),
        note: Some(note),
    }
}

/// Judge one check against a document's JSON at the default confidence (see [`evaluate_at`]).
pub fn evaluate(check: &Check, doc: &Value, skip: &[(String, String)]) -> CheckResult {
    evaluate_at(check, doc, skip, DEFAULT_CONFIDENCE)
}

/// Judge one check against a document's JSON, its interval at `confidence`. `skip` maps a metric
/// root (e.g. "etcd") to why that section is absent (probe failed, --no-etcd), so the note says why
/// rather than "not found".
pub fn evaluate_at(
    check: &Check,
    doc: &Value,
    skip: &[(String, String)],
    confidence: f64,
) -> CheckResult {
    let (per_round, limit) = match rounds_of(check, doc, skip) {
        Ok(r) => r,
        Err(skipped) => return *skipped,
    };
    let values: Vec<f64> = per_round.iter().map(|f| f.value).collect();
    let observed = median(&values);
    let intervals = confidence::check_interval(check, &per_round, confidence);
    let mut result = CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        metric: check.metric.text.clone(),
        observed: Some(observed),
        observed_ci: intervals.as_ref().map(|(iv, _)| [iv.lo, iv.hi]),
        confidence: intervals.as_ref().map(|_| confidence),
        rounds: if values.len() > 1 {
            values.clone()
        } else {
            Vec::new()
        },
        unit: check.unit.clone(),
        comparison: check.comparison,
        limit,
        limit_basis: limit_basis(check),
        marginal_limit: check.marginal,
        severity: check.severity,
        verdict: CheckVerdict::Skipped,
        score: check_score(check.comparison, observed, limit),
        source: check.source.clone(),
        note: None,
    };
    let mut notes: Vec<String> = Vec::new();

    if judge_undersampled(
        check,
        &per_round,
        limit,
        confidence,
        &mut result,
        &mut notes,
    ) {
        return result;
    }
    let disagree = intervals
        .as_ref()
        .and_then(|(_, rounds)| confidence::disagreement(check, rounds, &values, limit));
    let ci_straddles = intervals.as_ref().is_some_and(|(iv, _)| {
        confidence::side_of(check.comparison, iv, limit) == Some(Side::Straddles)
    });
    let pass = check.comparison.holds(observed, limit);
    let passing_rounds = values
        .iter()
        .filter(|v| check.comparison.holds(**v, limit))
        .count();
    let straddles = values.len() > 1 && passing_rounds > 0 && passing_rounds < values.len();
    let in_band = !pass
        && check.marginal.is_some_and(|m| match check.comparison {
            Comparison::Le | Comparison::Lt => observed <= m,
            Comparison::Ge | Comparison::Gt => observed >= m,
            Comparison::Eq => false,
        });
    result.verdict = if let Some(why) = disagree {
        notes.push(why);
        CheckVerdict::Marginal
    } else if straddles {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        notes.push(format!(
            "rounds spread {}..{} straddles the limit ({passing_rounds} of {} rounds pass)",
            format_value(lo, &check.unit),
            format_value(hi, &check.unit),
            values.len()
        ));
        CheckVerdict::Marginal
    } else if ci_straddles {
        if let Some((iv, _)) = &intervals {
            notes.push(confidence::straddle_note(check, observed, iv, limit, doc));
        }
        CheckVerdict::Marginal
    } else if pass {
        CheckVerdict::Pass
    } else if in_band {
        notes.push(format!(
            "within the marginal band (up to {})",
            format_value(check.marginal.unwrap_or(limit), &check.unit)
        ));
        CheckVerdict::Marginal
    } else {
        CheckVerdict::Fail
    };
    if !notes.is_empty() {
        result.note = Some(notes.join("; "));
    }
    result
}

/// The values a check judges, one per round (or the worst member for `[*]`), and its limit (a
/// factor of another metric resolved); a skipped result when the document lacks either.
fn rounds_of(
    check: &Check,
    doc: &Value,
    skip: &[(String, String)],
) -> Result<(Vec<Found>, f64), Box<CheckResult>> {
    let why_absent = |msg: String| {
        skip.iter()
            .find(|(root, _)| root == check.metric.root())
            .map(|(_, why)| why.clone())
            .unwrap_or(msg)
    };
    let found = match check.metric.lookup(doc) {
        Lookup::Missing(m) => return Err(Box::new(skipped(check, why_absent(m)))),
        Lookup::Values(v) => v,
    };
    let mut limit = check.limit;
    if let Some(of) = &check.limit_of {
        match of.lookup(doc) {
            Lookup::Missing(m) => return Err(Box::new(skipped(check, why_absent(m)))),
            Lookup::Values(v) => {
                let base = median(&v.iter().map(|f| f.value).collect::<Vec<_>>());
                limit = check.limit * base;
            }
        }
    }
    let worst_of_all = check
        .metric
        .segments
        .iter()
        .any(|s| s.selector == Some(Selector::All));
    let per_round: Vec<Found> = if worst_of_all {
        let pick = found.into_iter().reduce(|a, b| {
            let a_worse = match check.comparison {
                // `== limit` (errors == 0): the member farthest from the limit.
                Comparison::Eq => (a.value - limit).abs() >= (b.value - limit).abs(),
                c if c.upper() => a.value >= b.value,
                _ => a.value <= b.value,
            };
            if a_worse {
                a
            } else {
                b
            }
        });
        pick.into_iter().collect()
    } else {
        found
    };
    Ok((per_round, limit))
}

/// A percentile with too few samples: judged on the rounds pooled when they are enough together;
/// for a must check, failed (or marginal) on a well-sampled lower percentile that already breaks
/// the limit, else skipped. Returns true when it decided; false hands the check back to the plain
/// judgement.
fn judge_undersampled(
    check: &Check,
    per_round: &[Found],
    limit: f64,
    confidence: f64,
    result: &mut CheckResult,
    notes: &mut Vec<String>,
) -> bool {
    let flagged: Vec<&path::Insufficient> = per_round
        .iter()
        .filter_map(|f| f.insufficient.as_ref())
        .collect();
    if let Some(first) = flagged.first() {
        let counts: Vec<String> = flagged.iter().map(|i| i.count.to_string()).collect();
        let needed = (10.0 / (1.0 - first.key.parse::<f64>().unwrap_or(99.0) / 100.0)).ceil();
        notes.push(format!(
            "p{} rests on too few samples ({} in {} of {} rounds; needs {needed:.0})",
            first.key,
            counts.join(", "),
            flagged.len(),
            per_round.len()
        ));
        let asked: f64 = first.key.parse().unwrap_or(99.0);
        let total: u64 = per_round
            .iter()
            .map(|f| f.histogram.as_ref().map_or(0, |h| h.0))
            .sum();
        if per_round.len() > 1 && crate::util::stats::percentile_supported(total, asked) {
            if let Some((pooled, ci)) = pooled_percentile(per_round, asked, confidence) {
                // Enough samples over all rounds together: judge the pooled histogram (exact merge
                // of the rounds' HDR histograms); per-round figures stay in `rounds`.
                notes.push(format!(
                    "judged on p{} of the {} rounds pooled ({total} samples): {}",
                    first.key,
                    per_round.len(),
                    format_value(pooled, &check.unit)
                ));
                result.observed = Some(pooled);
                result.observed_ci = ci.map(|iv| [iv.lo, iv.hi]);
                result.confidence = ci.map(|_| confidence);
                result.score = check_score(check.comparison, pooled, limit);
                result.verdict = if check.comparison.holds(pooled, limit) {
                    CheckVerdict::Pass
                } else if check.marginal.is_some_and(|m| {
                    if check.comparison.upper() {
                        pooled <= m
                    } else {
                        pooled >= m
                    }
                }) {
                    CheckVerdict::Marginal
                } else {
                    CheckVerdict::Fail
                };
                result.note = Some(notes.join("; "));
                return true;
            }
        }
        if check.severity == Severity::Must {
            // Evidence that holds regardless: a lower, well-sampled percentile already failing.
            let lower: Option<Vec<(f64, String)>> = per_round
                .iter()
                .map(|f| match &f.insufficient {
                    None => Some((f.value, format!("p{}", first.key))),
                    Some(i) => i
                        .supported_lower
                        .as_ref()
                        .map(|(k, v)| (*v, format!("p{k}"))),
                })
                .collect();
            if let Some(lower) = lower {
                let lv: Vec<f64> = lower.iter().map(|x| x.0).collect();
                let lm = median(&lv);
                // A lower percentile beyond the limit proves the limit is broken, but says nothing
                // about a marginal band: only beyond the band (or with none) is it a failure.
                let beyond_band = check
                    .marginal
                    .is_none_or(|band| !check.comparison.holds(lm, band));
                if check.comparison.upper() && !check.comparison.holds(lm, limit) && beyond_band {
                    let label = lower
                        .iter()
                        .map(|x| x.1.as_str())
                        .find(|l| *l != format!("p{}", first.key))
                        .unwrap_or("a lower percentile")
                        .to_string();
                    notes.push(format!(
                        "the well-sampled {label} ({}) already exceeds the limit, so p{} does too",
                        format_value(lm, &check.unit),
                        first.key
                    ));
                    result.verdict = CheckVerdict::Fail;
                    // The interval is of the under-sampled figure, not of the evidence.
                    (result.observed_ci, result.confidence) = (None, None);
                    result.score = check_score(check.comparison, lm, limit);
                    result.note = Some(notes.join("; "));
                    return true;
                }
                if check.comparison.upper() && !check.comparison.holds(lm, limit) {
                    // Beyond the limit but within the marginal band: at least MARGINAL, and the
                    // under-sampled figure can't tell whether it is worse.
                    notes.push(format!(
                        "a well-sampled lower percentile ({}) already exceeds the limit but not the marginal band; p{} itself is under-sampled and may be beyond the band",
                        format_value(lm, &check.unit),
                        first.key
                    ));
                    result.verdict = CheckVerdict::Marginal;
                    (result.observed_ci, result.confidence) = (None, None);
                    result.score = check_score(check.comparison, lm, limit);
                    result.note = Some(notes.join("; "));
                    return true;
                }
            }
            notes.push("not used for a must check".into());
            result.verdict = CheckVerdict::Skipped;
            result.score = 0.0;
            result.note = Some(notes.join("; "));
            return true;
        }
    }
    false
}

/// The percentile `p` of the rounds' histograms merged, and its interval at `confidence`; None when
/// one cannot be decoded.
fn pooled_percentile(rounds: &[Found], p: f64, confidence: f64) -> Option<(f64, Option<Interval>)> {
    let mut merged: Option<hdrhistogram::Histogram<u64>> = None;
    for f in rounds {
        let (_, text) = f.histogram.as_ref()?;
        let h = crate::util::stats::decode_histogram(text).ok()?;
        match &mut merged {
            None => merged = Some(h),
            Some(m) => m.add(&h).ok()?,
        }
    }
    let min_max = rounds
        .iter()
        .map(|f| f.min_max)
        .collect::<Option<Vec<_>>>()
        .map(|v| {
            let lo = v.iter().map(|x| x.0).min().unwrap_or(0);
            (lo, v.iter().map(|x| x.1).max().unwrap_or(lo))
        });
    merged.map(|m| {
        let ci = interval::quantile_interval(&m, p / 100.0, confidence, min_max);
        (m.value_at_quantile(p / 100.0) as f64, ci)
    })
}

/// One line naming check, observed value, limit and source.
pub fn reason(c: &CheckResult) -> String {
    let obs = c
        .observed
        .map(|v| format_value(v, &c.unit))
        .unwrap_or_else(|| "n/a".into());
    format!(
        "{} [{}] {}: observed {obs}, limit {} {}{} — source: {}",
        c.verdict.upper(),
        c.severity,
        c.id,
        c.comparison,
        format_value(c.limit, &c.unit),
        c.note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        c.source
    )
}

/// Judge every check of `profile` against `doc` (a results document's JSON) at the default
/// confidence.
pub fn score(profile: &Profile, doc: &Value, skip: &[(String, String)]) -> Assessment {
    score_at(profile, doc, skip, DEFAULT_CONFIDENCE)
}

/// Judge every check of `profile` against `doc`, intervals at `confidence`.
pub fn score_at(
    profile: &Profile,
    doc: &Value,
    skip: &[(String, String)],
    confidence: f64,
) -> Assessment {
    let checks: Vec<CheckResult> = profile
        .checks
        .iter()
        .map(|c| evaluate_at(c, doc, skip, confidence))
        .collect();
    summarize(checks)
}

/// Verdict, overall score, reasons and warnings from judged checks.
pub fn summarize(checks: Vec<CheckResult>) -> Assessment {
    let must = |c: &&&CheckResult| c.severity == Severity::Must;
    let evaluated: Vec<&CheckResult> = checks
        .iter()
        .filter(|c| c.verdict != CheckVerdict::Skipped)
        .collect();
    let must_fail = evaluated
        .iter()
        .filter(must)
        .any(|c| c.verdict == CheckVerdict::Fail);
    let must_marginal = evaluated
        .iter()
        .filter(must)
        .any(|c| c.verdict == CheckVerdict::Marginal);
    let should_fail = evaluated
        .iter()
        .any(|c| c.severity == Severity::Should && c.verdict == CheckVerdict::Fail);
    let mut warnings = Vec::new();
    let mut reasons = Vec::new();
    let verdict = if evaluated.is_empty() {
        reasons.push("no check could be evaluated".to_string());
        Verdict::Marginal
    } else if must_fail {
        Verdict::Unfit
    } else if must_marginal || should_fail {
        Verdict::Marginal
    } else {
        Verdict::Fit
    };
    for c in &checks {
        match (c.verdict, c.severity) {
            (CheckVerdict::Fail, _) | (CheckVerdict::Marginal, Severity::Must) => {
                reasons.push(reason(c))
            }
            (CheckVerdict::Skipped, Severity::Must) => warnings.push(format!(
                "must check {} was not evaluated: {}",
                c.id,
                c.note.as_deref().unwrap_or("no data")
            )),
            _ => {}
        }
    }
    let (mut num, mut den) = (0.0, 0.0);
    for c in &evaluated {
        let w = if c.severity == Severity::Must {
            2.0
        } else {
            1.0
        };
        num += w * c.score;
        den += w;
    }
    let mut overall = if den > 0.0 { num / den } else { 0.0 };
    if must_fail {
        overall = overall.min(49.0);
    }
    Assessment {
        verdict,
        score: overall,
        checks,
        reasons,
        warnings,
    }
}
