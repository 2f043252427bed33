//! Strings nodefit did not write itself — names and contents of results files, etcd's and peers'
//! words — reach the terminal with their control characters made visible: an escape sequence in a
//! file name or a forged result cannot clear the screen, retitle the window or hide a line.

use std::process::Command;

#[test]
fn escape_sequences_in_a_results_file_reach_stderr_visible_not_raw() {
    let dir = tempfile::tempdir().unwrap();
    // A results file whose name and contents carry escape sequences (clear screen, window title).
    let bad = dir.path().join("x\x1b[2J\x1b]0;owned\x07result.json");
    std::fs::write(&bad, "{\"schema_version\": \"\x1b[31mred\"}").unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, b"not json either").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nodefit"))
        .args(["report", "--format", "md"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !out.stderr.iter().any(|b| *b == 0x1b || *b == 0x07),
        "a raw control character reached stderr: {err:?}"
    );
    assert!(
        err.contains("x\\x1b[2J\\x1b]0;owned\\x07result.json"),
        "{err}"
    );
}
