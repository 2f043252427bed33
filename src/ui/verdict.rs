//! The qualification's terminal text: the check table, skipped checks, warnings, reasons and the
//! verdict line, coloured when the caller says so.

use crate::results::{CheckResult, CheckVerdict, ResultsDocument};
use crate::util::units::format_value;

/// The part of a source before its first detail, for the table.
fn short_source(s: &str) -> String {
    let cut = s.find(['(', ':', ',']).unwrap_or(s.len());
    s[..cut].trim().to_string()
}

fn paint(text: &str, verdict: &str, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match verdict {
        "pass" | "FIT" => "32",
        "marginal" | "MARGINAL" => "33",
        "fail" | "UNFIT" => "31",
        _ => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The terminal table, warnings and verdict line.
pub fn render(doc: &ResultsDocument, reasons: &[String], colour: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let rows: Vec<[String; 6]> = doc
        .checks
        .iter()
        .map(|c: &CheckResult| {
            let obs = match c.observed_text() {
                Some(text) => {
                    let mut o = text;
                    if c.rounds.len() > 1 {
                        let lo = c.rounds.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = c.rounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        o += &format!(
                            " ({}..{})",
                            format_value(lo, &c.unit),
                            format_value(hi, &c.unit)
                        );
                    }
                    o
                }
                None => "-".into(),
            };
            [
                c.id.clone(),
                obs,
                match (&c.limit_basis, c.verdict) {
                    (Some(b), CheckVerdict::Skipped) => format!("{} {b}", c.comparison),
                    _ => format!("{} {}", c.comparison, format_value(c.limit, &c.unit)),
                },
                c.severity.to_string(),
                c.verdict.to_string(),
                short_source(&c.source),
            ]
        })
        .collect();
    let head = [
        "CHECK",
        "OBSERVED (median [interval]; spread)",
        "LIMIT",
        "SEVERITY",
        "VERDICT",
        "SOURCE",
    ];
    let mut width = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String; 6], verdict: Option<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            let cell = if i == 4 {
                paint(c, verdict.unwrap_or(""), colour && verdict.is_some())
            } else {
                c.clone()
            };
            l += &cell;
            if i + 1 < cells.len() {
                l += &" ".repeat(pad + 2);
            }
        }
        l
    };
    let _ = writeln!(s, "{}", line(&head.map(String::from), None));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r, Some(&r[4])));
    }
    for c in &doc.checks {
        if c.verdict == CheckVerdict::Skipped {
            let _ = writeln!(
                s,
                "  skipped {} ({}): {}",
                c.id,
                c.severity,
                c.note.as_deref().unwrap_or("no data")
            );
        }
    }
    // Skipped must checks are in `warnings` too, for JSON readers; listed above already.
    for w in doc
        .warnings
        .iter()
        .filter(|w| !w.starts_with("must check "))
    {
        let _ = writeln!(s, "warning: {w}");
    }
    for r in reasons {
        let _ = writeln!(s, "  {r}");
    }
    match (&doc.verdict, doc.score) {
        (Some(v), Some(score)) => {
            let _ = writeln!(
                s,
                "VERDICT: {} (score {score:.0}/100) for node {}",
                paint(v.as_str(), v.as_str(), colour),
                doc.node_name.as_deref().unwrap_or("?")
            );
        }
        _ => {
            let _ = writeln!(s, "VERDICT: none (incomplete run)");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_cut_at_their_first_detail() {
        assert_eq!(
            short_source("etcd FAQ (etcd.io/docs/v3.6/faq): p99"),
            "etcd FAQ"
        );
    }
}
