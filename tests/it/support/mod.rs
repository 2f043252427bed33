//! What the integration tests share: the nodefit binary, skipping and waiting, real fixtures
//! (etcd, network namespaces, FUSE, Chromium, certificates, PyPI venvs) and the results-schema
//! check.

/// The calling test cannot run here: report `skipped: <test>: <reason>` (a failure when
/// `NODEFIT_TESTS_REQUIRE_ALL=1`) and return from the test.
macro_rules! skip {
    ($($why:tt)+) => {{
        $crate::support::skip::skipped(format!($($why)+));
        return;
    }};
}

pub mod blkio;
pub mod bundled;
pub mod certs;
pub mod chromium;
pub mod etcd;
pub mod netns;
pub mod scaled;
pub mod schema;
pub mod scratch;
pub mod skip;
pub mod slowfs;
pub mod throttled;
pub mod venv;
pub mod wait;

/// The nodefit binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_nodefit");

/// A command running the nodefit binary under test.
pub fn nodefit() -> std::process::Command {
    std::process::Command::new(BIN)
}
