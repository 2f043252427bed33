//! `nodefit trend --markdown FILE --png-dir DIR`: the nightly judgement as Markdown with the trend
//! charts as PNGs, for a merge request or a chat post. Synthetic histories from a real fixture run
//! (as tests/it/report_trend.rs): a 2× slowdown shows as a REGRESSION row, noise does not, every PNG
//! decodes and every image link in the Markdown resolves.

use crate::support::nodefit;
use crate::support::scaled;

use scaled::history;
use std::path::Path;

fn trend(dir: &Path, md: &Path, png: &Path) -> (Option<i32>, String) {
    let o = nodefit()
        .arg("trend")
        .arg(dir.join("node-a"))
        .arg("--markdown")
        .arg(md)
        .arg("--png-dir")
        .arg(png)
        .output()
        .unwrap();
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Every `![..](path)` in the Markdown: it resolves (relative to the Markdown's directory) to a PNG
/// that decodes to a non-empty image. Returns how many.
fn check_images(md_path: &Path, md: &str) -> usize {
    let mut n = 0;
    for part in md.split("![").skip(1) {
        let target = part
            .split_once("](")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(t, _)| t)
            .unwrap();
        let p = md_path.parent().unwrap().join(target.replace("%20", " "));
        let img = image::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(img.width() > 100 && img.height() > 100, "{}", p.display());
        n += 1;
    }
    n
}

#[test]
fn markdown_and_pngs_show_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 2.0]);
    let md_path = dir.path().join("out/trend.md");
    std::fs::create_dir_all(md_path.parent().unwrap()).unwrap();
    let png = dir.path().join("out/charts");
    let (code, out) = trend(dir.path(), &md_path, &png);
    assert_eq!(code, Some(0), "{out}");
    let md = std::fs::read_to_string(&md_path).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| node-a | wal_fdatasync_p99 |"))
        .unwrap_or_else(|| panic!("no wal_fdatasync_p99 row:\n{md}"));
    assert!(row.contains("**REGRESSION**"), "{row}");
    assert!(row.contains("| 8 |"), "eight runs: {row}");
    assert!(row.contains("worse"), "{row}");
    assert!(md.contains("regression(s)** in "), "{md}");
    // Same judgement as the terminal.
    let line = out
        .lines()
        .find(|l| l.contains("wal_fdatasync_p99"))
        .unwrap();
    assert!(line.contains("REGRESSION"));
    // One PNG per trend, each linked (relatively: charts/ is below the Markdown's directory).
    let pngs = std::fs::read_dir(&png).unwrap().count();
    let rows = md.lines().filter(|l| l.starts_with("| node-a |")).count();
    assert!(pngs >= 2, "{pngs} PNGs");
    assert_eq!(pngs, rows, "one chart per trend row");
    assert_eq!(check_images(&md_path, &md), pngs);
    assert!(md.contains("](charts/"), "{md}");
}

#[test]
fn markdown_without_pngs_and_noise_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), &[1.0, 1.05, 0.95, 1.03, 0.97, 1.04, 0.96, 1.05]);
    let md_path = dir.path().join("trend.md");
    let o = nodefit()
        .arg("trend")
        .arg(dir.path())
        .arg("--markdown")
        .arg(&md_path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.contains("**0 regression(s)**"), "{md}");
    assert!(!md.contains("REGRESSION"), "{md}");
    assert!(!md.contains("!["), "no PNGs asked for: {md}");
}
