//! Parsing of fio-style sizes (`2300`, `4k`, `1m`, `22m`, `1g`) and durations (`60`, `500ms`, `2m`).
//!
//! fio's suffixes are binary (k = 1024) unless `kb_base=1000` is set; nodefit follows the default.

use crate::error::Error;
use std::time::Duration;

/// Parse a size such as `2300`, `4k`, `4KiB`, `1m`, `22M`, `1g`. Binary multiples, as fio's default.
pub fn parse_size(text: &str) -> Result<u64, Error> {
    let bad = || Error::BadSize(text.to_string());
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let mult: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    value.checked_mul(mult).ok_or_else(bad)
}

/// Parse a duration as fio does: a bare number is seconds; `us`, `ms`, `s`, `m`, `h` suffixes.
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let bad = || Error::BadDuration(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let secs = match suffix.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" => value,
        "us" | "usec" => value / 1e6,
        "ms" | "msec" => value / 1e3,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Human form of a byte count in binary units, as fio prints them (e.g. `22.0MiB`).
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}{}", UNITS[i])
    } else {
        format!("{v:.1}{}", UNITS[i])
    }
}

/// Human form of a latency in nanoseconds, choosing ns/µs/ms/s so three digits show.
pub fn format_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2}ms", ns / 1e6)
    } else {
        format!("{:.2}s", ns / 1e9)
    }
}

/// Key under which a percentile is stored in JSON: `50`, `99`, `99.9`, `99.99`.
pub fn percentile_key(p: f64) -> String {
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Parse fio's `--percentile-list` (`50:90:99:99.9`).
pub fn parse_percentile_list(text: &str) -> Result<Vec<f64>, Error> {
    let mut out = Vec::new();
    for part in text.split(':') {
        let p: f64 = part
            .trim()
            .parse()
            .map_err(|_| Error::BadPercentiles(text.to_string()))?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(Error::BadPercentiles(text.to_string()));
        }
        out.push(p);
    }
    Ok(out)
}

/// RFC 3339 UTC timestamp with a `Z`, to the second.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A value in its unit, for people: the one formatter of check values (terminal, HTML, Markdown).
pub fn format_value(v: f64, unit: &str) -> String {
    match unit {
        "ns" => format_ns(v),
        "bytes" => format_bytes(v),
        "pct" => format!("{v:.1}%"),
        // Enough digits that values either side of a limit never print the same (49.85 vs 50).
        "ops/s" if v.abs() >= 1000.0 => format!("{v:.0} ops/s"),
        "ops/s" if v.abs() >= 100.0 => format!("{v:.1} ops/s"),
        "ops/s" => format!("{v:.2} ops/s"),
        "count" | "cpus" => format!("{v:.0}"),
        other => format!("{v} {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2300").unwrap(), 2300);
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("22m").unwrap(), 22 * 1024 * 1024);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        for bad in ["", "k", "4x", "-1", "1.5k", "99999999999999999999t"] {
            assert!(parse_size(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn percentile_keys() {
        assert_eq!(percentile_key(50.0), "50");
        assert_eq!(percentile_key(99.9), "99.9");
        assert_eq!(percentile_key(99.99), "99.99");
        assert_eq!(
            parse_percentile_list("50:99:99.9").unwrap(),
            vec![50.0, 99.0, 99.9]
        );
        assert!(parse_percentile_list("50:0").is_err());
        assert!(parse_percentile_list("50:abc").is_err());
    }
}
