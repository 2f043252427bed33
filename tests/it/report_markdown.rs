//! Snapshot tests of the Markdown report on the fixture results. The expected files are checked in
//! under tests/fixtures/results/expected/; regenerate them with `NODEFIT_UPDATE_SNAPSHOTS=1 cargo
//! test --test report_markdown` and review the diff.

use nodefit::report::{load, markdown::Markdown, Renderer, ReportInput};
use std::path::{Path, PathBuf};

fn render(args: &[&str]) -> String {
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let (results, problems) = load::load_all(&paths);
    let input = ReportInput {
        results,
        problems: problems.iter().map(|p| p.to_string()).collect(),
    };
    String::from_utf8(Markdown.render(&input).unwrap()).unwrap()
}

fn snapshot(name: &str, got: &str) {
    let path = Path::new("tests/fixtures/results/expected").join(name);
    if std::env::var_os("NODEFIT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with NODEFIT_UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{} differs from the rendered Markdown at line {} (NODEFIT_UPDATE_SNAPSHOTS=1 to accept):\n--- want\n{}\n--- got\n{}",
            path.display(),
            first + 1,
            want.lines().nth(first).unwrap_or("<end>"),
            got.lines().nth(first).unwrap_or("<end>")
        );
    }
}

#[test]
fn node_report_markdown() {
    let md = render(&["tests/fixtures/results/node-a/result.json"]);
    assert!(md.starts_with("# nodefit report: node-a"));
    assert!(md.contains("**Verdict: FIT**"));
    assert!(md.contains("## etcd probe"));
    assert!(md.contains("`disk.write_cache`"));
    snapshot("node-a.md", &md);
}

#[test]
fn comparison_markdown_keeps_to_shared_checks_and_names_bad_files() {
    let md = render(&["tests/fixtures/results"]);
    assert!(md.contains("compared only on the 1 check(s) they share"));
    assert!(md.contains("★"));
    for bad in [
        "corrupt-result.json",
        "foreign-result.json",
        "newer-result.json",
    ] {
        assert!(md.contains(bad), "{bad} not named");
    }
    assert!(md.contains("schema_version 99 is newer"));
    // One line per node, in words, before the tables.
    let said = "- node-b (UNFIT) is 18× slower than node-a on WAL-like fdatasync p99 (96.99ms vs 5.30ms); 1 must check fails";
    let at = md.find(said).expect("summary line missing");
    assert!(
        Some(at) < md.find("| Node |"),
        "summary line after the tables"
    );
    snapshot("comparison.md", &md);
}

#[test]
fn version_one_results_still_render() {
    let md = render(&["tests/fixtures/results/v1/result.json"]);
    assert!(md.contains("**No verdict** (measurements only)"));
    assert!(md.contains("schema 1"));
}
