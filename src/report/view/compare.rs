//! Side-by-side comparison of several results: one column per node, one row per check, best per row
//! marked. Promises: results qualified against different profiles are compared only on the checks
//! they share, and the comparison says so in [`SideBySide::note`].

use crate::report::load::Loaded;
use serde::Serialize;

/// One node's figure in a row.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Observed value (absent when the check had no figure).
    pub observed: Option<f64>,
    /// pass / marginal / fail / skipped.
    pub verdict: crate::results::CheckVerdict,
}

/// One check across nodes.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Check id.
    pub id: String,
    /// Check title.
    pub title: String,
    /// Unit of the values.
    pub unit: String,
    /// Comparison against the limit ("<=", ">=" …).
    pub comparison: crate::results::Comparison,
    /// The limit, when every node that has the check uses the same one.
    pub limit: Option<f64>,
    /// Per node, in [`SideBySide::nodes`] order (absent when the node lacks the check).
    pub cells: Vec<Option<Cell>>,
    /// Index of the best node for this row, when at least two have a figure.
    pub best: Option<usize>,
}

impl Row {
    /// The limit as the tables print it ("<= 10.00ms"), or "differs" when the nodes were held to
    /// different limits.
    pub fn limit_text(&self) -> String {
        self.limit
            .map(|x| {
                format!(
                    "{} {}",
                    self.comparison,
                    crate::util::units::format_value(x, &self.unit)
                )
            })
            .unwrap_or_else(|| "differs".into())
    }
}

/// A comparison of several results.
#[derive(Clone, Debug, Serialize)]
pub struct SideBySide {
    /// Column headings, one per result (node name, made unique).
    pub nodes: Vec<String>,
    /// Distinct profiles among the results.
    pub profiles: Vec<String>,
    /// The check rows compared.
    pub rows: Vec<Row>,
    /// Said when rows were left out because profiles differ.
    pub note: Option<String>,
}

/// Column labels: node names, with a counter when two results share one.
pub fn column_labels(results: &[Loaded]) -> Vec<String> {
    let names: Vec<String> = results.iter().map(Loaded::node).collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let total = names.iter().filter(|m| *m == n).count();
            if total > 1 {
                let k = names[..=i].iter().filter(|m| *m == n).count();
                format!("{n} #{k}")
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Build the comparison.
pub fn compare(results: &[Loaded]) -> SideBySide {
    let nodes = column_labels(results);
    // Only qualified results (those with checks) take part in choosing the rows.
    let qualified: Vec<&Loaded> = results
        .iter()
        .filter(|l| !l.doc.checks.is_empty())
        .collect();
    let mut profiles: Vec<String> = Vec::new();
    for l in &qualified {
        let p = l.profile_name().unwrap_or_else(|| "(none)".into());
        if !profiles.contains(&p) {
            profiles.push(p);
        }
    }
    let mut ids: Vec<String> = Vec::new();
    for l in results {
        for c in &l.doc.checks {
            if !ids.contains(&c.id) {
                ids.push(c.id.clone());
            }
        }
    }
    let mut note = None;
    if profiles.len() > 1 {
        let (shared, dropped): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
            qualified
                .iter()
                .all(|l| l.doc.checks.iter().any(|c| &c.id == id))
        });
        note = Some(format!(
            "These results were qualified against different profiles ({}); they are compared only on the {} check(s) they share{}.",
            profiles.join(", "),
            shared.len(),
            if dropped.is_empty() {
                String::new()
            } else {
                format!("; left out: {}", dropped.join(", "))
            }
        ));
        ids = shared;
    }
    let rows = ids.iter().filter_map(|id| row(results, id)).collect();
    SideBySide {
        nodes,
        profiles,
        rows,
        note,
    }
}

/// The row of check `id` across `results`: each one's figure, the limit when all share one, the
/// best node when the check has a better side. None when no result has the check.
fn row(results: &[Loaded], id: &str) -> Option<Row> {
    let found: Vec<Option<&crate::results::CheckResult>> = results
        .iter()
        .map(|l| l.doc.checks.iter().find(|c| c.id == id))
        .collect();
    // Every id comes from some result's checks, so one result at least has it.
    let first = found.iter().flatten().next().copied()?;
    let limits: Vec<f64> = found.iter().flatten().map(|c| c.limit).collect();
    let limit = match limits.first() {
        Some(l0) if limits.iter().all(|l| l == l0) => Some(*l0),
        _ => None,
    };
    // `==` has no better side: no best, as the summary and the share chart have no
    // direction for it either.
    let better = |a: f64, b: f64| {
        if first.comparison.upper() {
            b < a
        } else if first.comparison.lower() {
            b > a
        } else {
            false
        }
    };
    let cells: Vec<Option<Cell>> = found
        .iter()
        .map(|c| {
            c.map(|c| Cell {
                observed: c.observed,
                verdict: c.verdict,
            })
        })
        .collect();
    let with: Vec<(usize, f64)> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, c.as_ref()?.observed?)))
        .collect();
    let has_direction = first.comparison != crate::results::Comparison::Eq;
    let best = if with.len() >= 2 && has_direction {
        with.iter()
            .copied()
            .reduce(|a, b| if better(a.1, b.1) { b } else { a })
            .map(|b| b.0)
    } else {
        None
    };
    Some(Row {
        id: id.to_string(),
        title: first.title.clone(),
        unit: first.unit.clone(),
        comparison: first.comparison,
        limit,
        cells,
        best,
    })
}
