//! One line per node of a comparison, in words, so the answer comes before the charts:
//! "throttled-disk (UNFIT, score 38) is 41× slower than plain-disk on WAL-like fdatasync p99 under
//! backend-commit contention (205.56ms vs 5.06ms); 5 must and 3 should checks fail, 1 marginal".
//! Promises: the reference is the node with the fewest failed must checks (then the higher score,
//! then the most checks it leads); the factor named is the largest one by which a node is worse
//! than the reference on a shared check where both have a positive figure, printed with the two
//! observed values it comes from; ties are called level, never a lead.
use super::compare::{Row, SideBySide};
use crate::report::load::Loaded;
use crate::results::{CheckVerdict, Severity};

/// How much worse `other` is than `reference` on a row (> 1 = worse), when both have a positive
/// figure and the row has a direction.
fn worse_factor(row: &Row, reference: usize, other: usize) -> Option<(f64, f64, f64)> {
    let obs = |i: usize| -> Option<f64> {
        row.cells
            .get(i)?
            .as_ref()?
            .observed
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let (r, o) = (obs(reference)?, obs(other)?);
    let f = if row.comparison.upper() {
        o / r
    } else if row.comparison.lower() {
        r / o
    } else {
        return None;
    };
    Some((f, o, r))
}

/// "slower"/"faster" for latencies, "lower"/"higher" otherwise, for a factor > 1 (worse) or < 1.
fn direction(row: &Row, worse: bool) -> &'static str {
    let upper = row.comparison.upper();
    match (row.unit.as_str(), upper, worse) {
        ("ns", _, true) => "slower",
        ("ns", _, false) => "faster",
        (_, true, true) | (_, false, false) => "higher",
        _ => "lower",
    }
}

/// A factor for reading: whole from 10, one decimal from 2, two below.
fn factor(f: f64) -> String {
    if f >= 10.0 {
        format!("{f:.0}×")
    } else if f >= 2.0 {
        format!("{f:.1}×")
    } else {
        format!("{f:.2}×")
    }
}

/// Failed and marginal checks of a result, in words ("2 must and 1 should checks fail").
fn failures(l: &Loaded) -> String {
    let count = |v: CheckVerdict, s: Severity| {
        l.doc
            .checks
            .iter()
            .filter(|c| c.verdict == v && c.severity == s)
            .count()
    };
    let (must, should) = (
        count(CheckVerdict::Fail, Severity::Must),
        count(CheckVerdict::Fail, Severity::Should),
    );
    let marginal = l
        .doc
        .checks
        .iter()
        .filter(|c| c.verdict == CheckVerdict::Marginal)
        .count();
    let mut s = match (must, should) {
        (0, 0) => format!("none of its {} checks fails", l.doc.checks.len()),
        (1, 0) => "1 must check fails".to_string(),
        (m, 0) => format!("{m} must checks fail"),
        (0, 1) => "1 should check fails".to_string(),
        (0, s) => format!("{s} should checks fail"),
        (m, s) => format!(
            "{m} must and {s} should check{} fail{}",
            if m + s > 1 { "s" } else { "" },
            if m + s > 1 { "" } else { "s" }
        ),
    };
    if marginal > 0 {
        s.push_str(&format!(", {marginal} marginal"));
    }
    s
}

/// "name (FIT, score 81)".
fn who(name: &str, l: &Loaded) -> String {
    let mut parts = vec![l
        .doc
        .verdict
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|| "no verdict".into())];
    if let Some(s) = l.doc.score {
        parts.push(format!("score {s:.0}"));
    }
    format!("{name} ({})", parts.join(", "))
}

/// Index of the reference node: fewest failed must checks, then highest score, then the most
/// checks where it is ahead of every other node, then first.
fn reference(results: &[Loaded], cmp: &SideBySide) -> usize {
    let key = |i: usize| {
        let l = &results[i];
        let must = l
            .doc
            .checks
            .iter()
            .filter(|c| c.verdict == CheckVerdict::Fail && c.severity == Severity::Must)
            .count();
        let ahead = standing(cmp, i).0;
        (must, -l.doc.score.unwrap_or(0.0), usize::MAX - ahead, i)
    };
    (0..results.len())
        .min_by(|a, b| {
            let (ka, kb) = (key(*a), key(*b));
            ka.0.cmp(&kb.0)
                .then(ka.1.total_cmp(&kb.1))
                .then(ka.2.cmp(&kb.2))
                .then(ka.3.cmp(&kb.3))
        })
        .unwrap_or(0)
}

/// On how many rows node `i` is strictly better than every other node with a figure (ahead), and
/// on how many it equals the best of them (level). `==` rows only count as level when equal.
fn standing(cmp: &SideBySide, i: usize) -> (usize, usize) {
    let (mut ahead, mut level) = (0, 0);
    for row in &cmp.rows {
        let fig = |k: usize| row.cells.get(k)?.as_ref()?.observed;
        let Some(mine) = fig(i) else { continue };
        let others: Vec<f64> = (0..row.cells.len())
            .filter(|k| *k != i)
            .filter_map(fig)
            .collect();
        if others.is_empty() {
            continue;
        }
        let better = |a: f64, b: f64| match row.comparison.as_str() {
            "<=" | "<" => a < b,
            ">=" | ">" => a > b,
            _ => false,
        };
        if others.iter().all(|o| better(mine, *o)) {
            ahead += 1;
        } else if others.iter().all(|o| !better(*o, mine)) && others.contains(&mine) {
            level += 1;
        }
    }
    (ahead, level)
}

/// One line per result, in argument order; empty when fewer than two results or no shared checks.
pub fn lines(results: &[Loaded], cmp: &SideBySide) -> Vec<String> {
    if results.len() < 2 || cmp.rows.is_empty() || cmp.nodes.len() != results.len() {
        return Vec::new();
    }
    let r = reference(results, cmp);
    let ref_name = &cmp.nodes[r];
    let mut out = Vec::new();
    for (i, l) in results.iter().enumerate() {
        let name = who(&cmp.nodes[i], l);
        if l.doc.checks.is_empty() {
            out.push(format!("{name}: no checks (measurements only)"));
            continue;
        }
        if i == r {
            let (ahead, level) = standing(cmp, i);
            out.push(format!(
                "{name}: the reference for the lines below — {}; ahead of every other node on {ahead} and level on {level} of {} shared checks",
                failures(l),
                cmp.rows.len()
            ));
            continue;
        }
        let factors: Vec<(&Row, (f64, f64, f64))> = cmp
            .rows
            .iter()
            .filter_map(|row| Some((row, worse_factor(row, r, i)?)))
            .collect();
        let worst = factors
            .iter()
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .copied();
        let best = factors
            .iter()
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .copied();
        let fmt = |row: &Row, v: f64| crate::util::units::format_value(v, &row.unit);
        let compared = match (worst, best) {
            (Some((row, (f, o, rv))), _) if f > 1.0 => format!(
                "is {} {} than {ref_name} on {} ({} vs {})",
                factor(f),
                direction(row, true),
                row.title,
                fmt(row, o),
                fmt(row, rv)
            ),
            (_, Some((row, (f, o, rv)))) if f < 1.0 => format!(
                "is nowhere worse than {ref_name}; its largest lead: {} {} on {} ({} vs {})",
                factor(1.0 / f),
                direction(row, false),
                row.title,
                fmt(row, o),
                fmt(row, rv)
            ),
            (Some(_), _) => format!("has the same figures as {ref_name} on every shared check"),
            _ => format!("has no figure to set against {ref_name}'s"),
        };
        out.push(format!("{name} {compared}; {}", failures(l)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::compare::Cell;

    fn row(cmp: &str, unit: &str, a: f64, b: f64) -> Row {
        Row {
            id: "x".into(),
            title: "X p99".into(),
            unit: unit.into(),
            comparison: crate::results::Comparison::parse(cmp).unwrap(),
            limit: Some(10.0),
            cells: [a, b]
                .iter()
                .map(|v| {
                    Some(Cell {
                        observed: Some(*v),
                        verdict: CheckVerdict::Pass,
                    })
                })
                .collect(),
            best: None,
        }
    }

    #[test]
    fn factors_point_the_worse_way_for_both_directions() {
        let lat = row("<=", "ns", 2.0, 90.0);
        assert_eq!(worse_factor(&lat, 0, 1).map(|f| f.0), Some(45.0));
        assert_eq!(direction(&lat, true), "slower");
        let rate = row(">=", "ops/s", 1000.0, 50.0);
        assert_eq!(worse_factor(&rate, 0, 1).map(|f| f.0), Some(20.0));
        assert_eq!(direction(&rate, true), "lower");
        assert_eq!(worse_factor(&row("==", "count", 0.0, 0.0), 0, 1), None);
        assert_eq!(factor(45.2), "45×");
        assert_eq!(factor(2.26), "2.3×");
        // Ties are level, not a lead; `==` rows are never a lead.
        let cmp = SideBySide {
            nodes: vec!["a".into(), "b".into()],
            profiles: vec![],
            rows: vec![
                lat,
                rate,
                row("<=", "ns", 3.0, 3.0),
                row("==", "count", 0.0, 0.0),
                row("==", "count", 0.0, 1.0),
            ],
            note: None,
        };
        assert_eq!(standing(&cmp, 0), (2, 2));
        assert_eq!(standing(&cmp, 1), (0, 2));
        assert_eq!(factor(1.034), "1.03×");
    }
}
