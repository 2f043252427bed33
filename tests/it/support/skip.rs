//! A test that cannot run on this machine says so, in one spelling, where `cargo test` shows it
//! (straight to stderr: libtest captures `eprintln!` of passing tests). With
//! `NODEFIT_TESTS_REQUIRE_ALL=1` (CI, which installs every prerequisite) a skip fails the test
//! instead: CI cannot be green without running it.

use std::io::Write;

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "NODEFIT_TESTS_REQUIRE_ALL";

/// Report that the calling test cannot run here (`skipped: <test>: <reason>`); panics with the
/// same line when [`REQUIRE_ALL`] is `1`. The caller returns afterwards (see `skip!`); a helper
/// that only gives up one part of a test may call this and go on.
pub fn skipped(reason: impl std::fmt::Display) {
    let thread = std::thread::current();
    let line = format!("skipped: {}: {reason}", thread.name().unwrap_or("?"));
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{line} ({REQUIRE_ALL}=1: every test must run)");
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}
