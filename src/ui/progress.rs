//! The one progress renderer: draws the records of [`crate::util::progress`] on stderr — narrative
//! lines as they come, live figures redrawn in place on one line.

use crate::util::progress::{ProgressSink, Tick};
use crate::util::units::format_ns;
use std::io::Write;

/// Draws progress on stderr. `notes`: narrative lines wanted (not `--quiet`); `live`: live lines
/// wanted (stderr is a terminal and not `--quiet`).
#[derive(Clone, Copy, Debug)]
pub struct Terminal {
    pub notes: bool,
    pub live: bool,
}

/// The text of one live line (without the carriage return and line clearing).
pub fn tick_text(t: &Tick) -> String {
    match t {
        Tick::Disk {
            label,
            elapsed_s,
            eta_s,
            ops_per_s,
            p99_ns,
        } => format!(
            "{label}[{elapsed_s:.0}s elapsed, ETA {}] {ops_per_s:.0} ops/s (data+sync), p99 {}",
            eta_s.map_or("?".into(), |e| format!("{e:.0}s")),
            if *p99_ns > 0 {
                format_ns(*p99_ns as f64)
            } else {
                "-".into()
            }
        ),
        Tick::Etcd {
            elapsed_s,
            total_s,
            ops,
            errors,
            p99_ns,
            lag_ns,
        } => format!(
            "etcd: {elapsed_s:.0}s{}  ok {ops}  errors {errors}  p99 {}  lag {}   ",
            total_s.map(|d| format!("/{d:.0}s")).unwrap_or_default(),
            format_ns(*p99_ns as f64),
            format_ns(*lag_ns as f64)
        ),
    }
}

impl ProgressSink for Terminal {
    fn note(&self, line: &str) {
        if self.notes {
            // Not eprintln!, which panics when stderr is gone (a hung-up terminal): the run goes
            // on and cleans up without its narrative.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
    fn live(&self) -> bool {
        self.live
    }
    fn tick(&self, t: &Tick) {
        if !self.live {
            return;
        }
        let mut err = std::io::stderr().lock();
        // The disk line wipes what was there; the etcd line overwrites it (and pads).
        let _ = match t {
            Tick::Disk { .. } => write!(err, "\r\x1b[2K{}", tick_text(t)),
            Tick::Etcd { .. } => write!(err, "\r{}", tick_text(t)),
        };
        let _ = err.flush();
    }
    fn end(&self, keep: bool) {
        if !self.live {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = if keep {
            writeln!(err)
        } else {
            write!(err, "\r\x1b[2K")
        };
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lines_read_as_before() {
        let d = Tick::Disk {
            label: "round 1/3 wal ".into(),
            elapsed_s: 3.2,
            eta_s: Some(7.0),
            ops_per_s: 412.4,
            p99_ns: 2_000_000,
        };
        assert_eq!(
            tick_text(&d),
            "round 1/3 wal [3s elapsed, ETA 7s] 412 ops/s (data+sync), p99 2.00ms"
        );
        let e = Tick::Etcd {
            elapsed_s: 5.0,
            total_s: Some(20.0),
            ops: 750,
            errors: 0,
            p99_ns: 1_500_000,
            lag_ns: 0,
        };
        assert!(tick_text(&e).starts_with("etcd: 5s/20s  ok 750  errors 0  p99 1.50ms  lag "));
    }
}
