//! Stamps the binary with the git commit it was built from, for `nodefit --version` and the
//! `tool.commit` field of results: `git rev-parse --short HEAD`, or "unknown" outside a git checkout
//! (a source tarball) or without git. `NODEFIT_GIT_COMMIT` in the environment overrides both (for
//! builds from an exported tree that know their commit).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=NODEFIT_GIT_COMMIT");
    let commit = std::env::var("NODEFIT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=NODEFIT_GIT_COMMIT={}", commit.trim());
}

fn git_commit() -> Option<String> {
    // Re-run when HEAD moves: .git/HEAD changes on checkout, the ref it names on commit. In a
    // worktree .git is a file naming the real git dir, so ask git where its files are.
    let git_path = |p: &str| -> Option<String> {
        let out = Command::new("git")
            .args(["rev-parse", "--git-path", p])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if let Some(head) = git_path("HEAD") {
        if Path::new(&head).exists() {
            println!("cargo:rerun-if-changed={head}");
        }
        if let Ok(text) = std::fs::read_to_string(&head) {
            if let Some(r) = text.strip_prefix("ref: ") {
                if let Some(ref_file) = git_path(r.trim()) {
                    if Path::new(&ref_file).exists() {
                        println!("cargo:rerun-if-changed={ref_file}");
                    }
                }
            }
        }
        // Packed refs move on `git gc`/`git pack-refs` without the loose ref file existing.
        if let Some(packed) = git_path("packed-refs") {
            if Path::new(&packed).exists() {
                println!("cargo:rerun-if-changed={packed}");
            }
        }
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}
