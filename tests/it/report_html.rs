//! The HTML report checked structurally on the fixture results: self-contained (no scripts, no
//! external URLs other than the SVG namespace), every chart present as inline SVG with data drawn in
//! it, tables and banner present; and the `nodefit report` command end to end (PNG files, --strict,
//! problems named on stderr, write_node_report).

use crate::support::nodefit;
use nodefit::report::{self, html::Html, load, Renderer, ReportInput};
use std::path::PathBuf;
use std::process::Command;

fn input(args: &[&str]) -> ReportInput {
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let (results, problems) = load::load_all(&paths);
    ReportInput {
        results,
        problems: problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// Every `<figure class="chart">…</figure>` body.
fn figures(html: &str) -> Vec<&str> {
    html.split("<figure id=\"")
        .skip(1)
        .map(|f| &f[..f.find("</figure>").unwrap()])
        .collect()
}

fn check_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in ["<script", "<link", "@import", "url(", "<iframe", "<img"] {
        assert!(!lower.contains(bad), "report contains {bad}");
    }
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!stripped.contains("http://"), "external http reference");
    assert!(!stripped.contains("https://"), "external https reference");
}

#[test]
fn comparison_html_is_self_contained_and_every_chart_has_data() {
    let inp = input(&["tests/fixtures/results"]);
    let html = String::from_utf8(Html.render(&inp).unwrap()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    check_self_contained(&html);
    let figs = figures(&html);
    let expected = report::all_charts(&inp);
    assert_eq!(figs.len(), expected.len());
    assert!(figs.len() >= 8, "only {} charts", figs.len());
    for (f, c) in figs.iter().zip(&expected) {
        assert!(
            f.starts_with(&c.id),
            "chart order: {} vs {}",
            &f[..20.min(f.len())],
            c.id
        );
        assert!(f.contains("<svg"), "{}: no svg", c.id);
        let lines = f.matches("<polyline").count();
        let rects = f.matches("<rect").count();
        // Background and legend boxes are rects too: data means more than a handful.
        assert!(lines >= 1 || rects >= 5, "{}: no data drawn", c.id);
        let title = c
            .title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(
            f.contains(&format!("\n{title}\n</text>")),
            "{}: title not drawn",
            c.id
        );
        assert!(
            f.contains("latency (") || f.contains("rate (ops/s)"),
            "{}: no unit on an axis",
            c.id
        );
    }
    // Comparison table with one column per node and the best marked; the profile note.
    assert!(html.contains("<table class=\"compare\">"));
    assert!(html.contains("class=\"num best\""));
    assert!(html.contains("compared only on the 1 check(s) they share"));
    // Banners, fingerprint, etcd charts, leader change marked.
    assert!(html.contains("class=\"banner fit\""));
    assert!(html.contains("class=\"banner unfit\""));
    assert!(html.contains("<table class=\"fingerprint\">"));
    assert!(html.contains("node-a-etcd-latency-over-time"));
    assert!(html.contains("node-a-etcd-members"));
    assert!(html.contains("leader change"));
    // Bad inputs named, the rest rendered.
    assert!(html.contains("corrupt-result.json"));
    assert!(html.contains("foreign-result.json"));
}

#[test]
fn percentile_chart_draws_the_limit_and_labels_units() {
    let inp = input(&["tests/fixtures/results/node-b/result.json"]);
    let html = String::from_utf8(Html.render(&inp).unwrap()).unwrap();
    check_self_contained(&html);
    let fig = figures(&html)
        .into_iter()
        .find(|f| f.starts_with("node-b-etcd-wal-percentiles"))
        .unwrap();
    assert!(
        fig.contains("limit &lt;= wal_fdatasync_p99") || fig.contains("limit <= wal_fdatasync_p99")
    );
    assert!(fig.contains("latency (ms, log scale)"));
    assert!(fig.contains("p99"));
}

#[test]
fn report_command_writes_html_md_json_and_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let png = dir.path().join("png");
    let o = nodefit()
        .args(["report", "tests/fixtures/results", "-o"])
        .arg(&out)
        .arg("--png-dir")
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("tests/fixtures/results/broken/corrupt-result.json: not valid JSON"));
    assert!(std::fs::read_to_string(&out).unwrap().contains("<svg"));
    let pngs: Vec<_> = std::fs::read_dir(&png)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(pngs.len() >= 8);
    for p in &pngs {
        let b = std::fs::read(p).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", p.display());
    }
    // --strict refuses when any input is bad.
    let o = nodefit()
        .args([
            "report",
            "tests/fixtures/results",
            "--strict",
            "--format",
            "md",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // JSON summary.
    let o = nodefit()
        .args([
            "report",
            "tests/fixtures/results/node-a/result.json",
            "tests/fixtures/results/node-b/result.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "nodefit-report/1");
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(v["comparison"]["rows"][0]["best"], 0);
    // Nothing readable: exit 2 with the reason.
    let o = nodefit()
        .args([
            "report",
            "tests/fixtures/results/broken/foreign-result.json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a nodefit results file"));
}

#[test]
fn write_node_report_writes_report_html() {
    let dir = tempfile::tempdir().unwrap();
    let l = load::load_file(std::path::Path::new(
        "tests/fixtures/results/node-a/result.json",
    ))
    .unwrap();
    let p = report::write_node_report(&l.doc, dir.path()).unwrap();
    assert_eq!(p, dir.path().join("report.html"));
    let html = std::fs::read_to_string(p).unwrap();
    check_self_contained(&html);
    assert!(html.contains("Verdict: FIT"));
}

#[test]
fn results_sharing_a_node_name_get_distinct_chart_ids_and_png_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read("tests/fixtures/results/node-a/result.json").unwrap();
    let mut files = Vec::new();
    for run in ["r1", "r2", "r3"] {
        let p = dir.path().join(run);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("result.json"), &src).unwrap();
        files.push(p.join("result.json"));
    }
    let inp = input(
        &files
            .iter()
            .map(|p| p.to_str().unwrap())
            .collect::<Vec<_>>(),
    );
    let node = inp.results[0].node();
    let ids: Vec<String> = report::all_charts(&inp).into_iter().map(|c| c.id).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    let slug = report::chart::spec::slug(&node);
    assert!(
        ids.iter().any(|i| i.starts_with(&format!("{slug}-2-"))),
        "{ids:?}"
    );
    // The HTML uses the same ids, once each.
    let html = String::from_utf8(Html.render(&inp).unwrap()).unwrap();
    let html_ids: Vec<&str> = figures(&html)
        .iter()
        .map(|f| &f[..f.find('"').unwrap()])
        .collect();
    assert_eq!(html_ids, ids);
    assert!(html.contains(&format!("<h2>{node} #3</h2>")));
    // PNGs: the count printed is the number of files on disk.
    let png = dir.path().join("png");
    let o = nodefit()
        .arg("report")
        .args(&files)
        .arg("-o")
        .arg(dir.path().join("cmp.html"))
        .arg("--png-dir")
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let on_disk = std::fs::read_dir(&png).unwrap().count();
    assert_eq!(on_disk, ids.len());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("wrote {on_disk} PNG chart(s)")),
        "{stderr}"
    );
}

/// Run nodefit with a time limit: a regression that blocks (open() on a FIFO waits for a writer
/// forever) fails the test instead of hanging the suite.
fn run_with_timeout(cmd: &mut Command, secs: u64) -> (Option<i32>, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nodefit did not finish within {secs} s (blocked opening a FIFO?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), out, err)
}

#[test]
fn a_fifo_in_a_directory_is_skipped_and_a_named_pipe_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node-a");
    std::fs::create_dir(&node).unwrap();
    std::fs::copy(
        "tests/fixtures/results/node-a/result.json",
        node.join("result.json"),
    )
    .unwrap();
    let fifo = dir.path().join("stuck-result.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();

    // In a directory: named, skipped, the rest reported.
    let (code, out, err) = run_with_timeout(
        nodefit()
            .args(["report", "--format", "json"])
            .arg(dir.path()),
        60,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("node-a"), "{out}");
    assert!(
        err.contains("stuck-result.json: not a regular file (a FIFO); not opened"),
        "{err}"
    );
    // The same for trend.
    let (code, _, err) = run_with_timeout(nodefit().arg("trend").arg(dir.path()), 60);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("stuck-result.json: not a regular file"),
        "{err}"
    );

    // Given by name, a pipe is read as cat would (`nodefit report <(ssh cp1 cat result.json)`).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let doc = std::fs::read("tests/fixtures/results/node-a/result.json").unwrap();
            std::fs::write(fifo, doc).unwrap();
        })
    };
    let (code, out, err) = run_with_timeout(
        nodefit().args(["report", "--format", "json"]).arg(&fifo),
        60,
    );
    writer.join().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("node-a"), "{out}");
}

/// `-o` naming one of the inputs (given directly, via a directory, or through a symlink) is refused
/// before anything is written: the results file must come out byte for byte as it went in.
#[test]
fn an_output_that_is_an_input_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("result.json");
    std::fs::copy("tests/fixtures/results/node-a/result.json", &r).unwrap();
    let before = std::fs::read(&r).unwrap();
    let link = dir.path().join("link.html");
    std::os::unix::fs::symlink(&r, &link).unwrap();
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec![
                "report".into(),
                r.clone().into(),
                "-o".into(),
                r.clone().into(),
            ],
            "-o",
        ),
        (
            vec![
                "report".into(),
                dir.path().into(),
                "-o".into(),
                link.clone().into(),
            ],
            "-o",
        ),
        (
            vec![
                "trend".into(),
                dir.path().into(),
                "-o".into(),
                r.clone().into(),
            ],
            "-o",
        ),
        (
            vec![
                "trend".into(),
                r.clone().into(),
                "--markdown".into(),
                link.clone().into(),
            ],
            "--markdown",
        ),
    ];
    for (args, option) in cases {
        let o = nodefit().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("error: {option} ")) && err.contains("refusing to overwrite"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&r).unwrap(),
            before,
            "{args:?} changed the input"
        );
    }
}

/// A `--png-dir` that is a file is refused up front, in one line naming the option and the path
/// (it used to print "File exists (os error 17): File exists (os error 17)" after the report was out);
/// a directory that cannot be created says why exactly once.
#[test]
fn a_bad_png_dir_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = dir.path().join("r.html");
    for cmd in ["report", "trend"] {
        let o = nodefit()
            .args([cmd, "tests/fixtures/results/node-a/result.json", "-o"])
            .arg(&out)
            .arg("--png-dir")
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "nodefit: error: --png-dir {}: exists and is not a directory",
                file.display()
            ),
            "{cmd}"
        );
        assert!(!out.exists(), "{cmd} wrote its report before refusing");
    }
    // A dangling link: refused before the report is written, named as such.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let o = nodefit()
        .args(["report", "tests/fixtures/results/node-a/result.json", "-o"])
        .arg(&out)
        .arg("--png-dir")
        .arg(&dangling)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is a symbolic link to nothing"), "{err}");
    assert!(!out.exists(), "the report was written before refusing");
    // Below a file: create_dir_all fails; the io error appears once.
    let below = file.join("png");
    let o = nodefit()
        .args(["report", "tests/fixtures/results/node-a/result.json", "-o"])
        .arg(&out)
        .arg("--png-dir")
        .arg(&below)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&below.display().to_string()), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

/// Errors that quote their io error must not also chain it as their source: main prints errors with
/// `{:#}` (message, then every cause), which said the io error twice.
#[test]
fn io_errors_are_said_once_in_the_printed_chain() {
    let io = || std::io::Error::from_raw_os_error(17);
    let errs: Vec<anyhow::Error> = vec![
        report::ReportError::Write {
            path: "d".into(),
            err: io(),
        }
        .into(),
        nodefit::export::prometheus::TextfileError::Io {
            path: "t.prom".into(),
            err: io(),
        }
        .into(),
        nodefit::error::Error::io("f", io()).into(),
        nodefit::error::Error::DirectUnsupported {
            path: "f".into(),
            err: io(),
        }
        .into(),
    ];
    for e in errs {
        let shown = format!("{e:#}");
        assert_eq!(shown.matches("os error 17").count(), 1, "{shown}");
    }
}

/// The JSON report says per result whether the run completed, and why not: an interrupted run must
/// not read like a complete one that simply had no verdict.
#[test]
fn json_report_marks_incomplete_runs_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read("tests/fixtures/results/node-a/result.json").unwrap();
    let mut d: serde_json::Value = serde_json::from_slice(&src).unwrap();
    d["complete"] = true.into();
    d.as_object_mut().unwrap().remove("incomplete_reason");
    let done = dir.path().join("done-result.json");
    std::fs::write(&done, serde_json::to_vec(&d).unwrap()).unwrap();
    d["complete"] = false.into();
    d["incomplete_reason"] = "interrupted by SIGINT".into();
    let cut = dir.path().join("cut-result.json");
    std::fs::write(&cut, serde_json::to_vec(&d).unwrap()).unwrap();
    d.as_object_mut().unwrap().remove("incomplete_reason");
    let silent = dir.path().join("silent-result.json");
    std::fs::write(&silent, serde_json::to_vec(&d).unwrap()).unwrap();

    let o = nodefit()
        .args(["report", "--format", "json"])
        .args([&done, &cut, &silent])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = v["results"].as_array().unwrap();
    let by_file = |f: &std::path::Path| {
        r.iter()
            .find(|n| n["file"] == f.display().to_string())
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    };
    let n = by_file(&done);
    assert_eq!(n["complete"], true);
    assert!(!n.contains_key("incomplete_reason"), "{n:?}");
    let n = by_file(&cut);
    assert_eq!(n["complete"], false);
    assert_eq!(n["incomplete_reason"], "interrupted by SIGINT");
    let n = by_file(&silent);
    assert_eq!(n["complete"], false);
    assert!(n["incomplete_reason"].is_null() && n.contains_key("incomplete_reason"));
}

/// Links inside a results directory are not followed (`latest -> run-7` would count run 7 twice,
/// `up -> ..` loops), and one file named twice is read once.
#[test]
fn linked_directories_and_repeated_files_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node-a");
    std::fs::create_dir(&node).unwrap();
    let r = node.join("result.json");
    std::fs::copy("tests/fixtures/results/node-a/result.json", &r).unwrap();
    std::os::unix::fs::symlink(&node, dir.path().join("latest")).unwrap();
    std::os::unix::fs::symlink("..", node.join("up")).unwrap();
    let (code, out, err) = run_with_timeout(
        nodefit()
            .args(["report", "--format", "json"])
            .arg(dir.path())
            .arg(&r),
        60,
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"].as_array().map(|a| a.len()), Some(1), "{out}");
}
