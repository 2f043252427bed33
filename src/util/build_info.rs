//! What this binary is: the package version and the git commit it was built from (stamped by
//! `build.rs`; "unknown" when built outside a git checkout).

/// Cargo package version, e.g. "0.1.0".
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Short git commit of the build, or "unknown".
pub const COMMIT: &str = env!("NODEFIT_GIT_COMMIT");

/// What `nodefit --version` prints after the program name: "0.1.0 (commit 1a2b3c4)".
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NODEFIT_GIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn long_version_names_version_and_commit() {
        assert!(super::LONG_VERSION.starts_with(super::VERSION));
        assert!(super::LONG_VERSION.contains(&format!("(commit {})", super::COMMIT)));
        assert!(!super::COMMIT.is_empty());
    }
}
