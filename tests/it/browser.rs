//! A real browser on a generated comparison report: Debian's headless `chromium` loads the page,
//! takes a screenshot and dumps the DOM after an injected check (in a copy — the report itself has
//! no scripts) has measured every chart's SVG. Fails when the page logs a JavaScript error or any
//! chart has zero size. Skipped, with the reason printed, when /usr/bin/chromium is absent.

use crate::support::chromium;

use nodefit::report::{html::Html, load, Renderer, ReportInput};
use std::path::PathBuf;

/// Appended before `</body>` in the copy: writes the size of every chart's SVG into the DOM.
const CHECK: &str = r#"<script>
window.onerror = function (m) { console.error("NODEFIT-JS-ERROR " + m); };
(function () {
  var figs = document.querySelectorAll("figure.chart");
  var out = [];
  for (var i = 0; i < figs.length; i++) {
    var svg = figs[i].querySelector("svg");
    var r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    out.push(figs[i].id + "=" + Math.round(r.width) + "x" + Math.round(r.height));
  }
  var pre = document.createElement("pre");
  pre.id = "nodefit-svg-sizes";
  pre.textContent = "SIZES[" + out.join(";") + "]SIZES";
  document.body.appendChild(pre);
})();
</script>
"#;

/// Console lines that report errors from the page.
fn page_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("NODEFIT-JS-ERROR")
                || l.contains("Uncaught")
                || (l.contains(":CONSOLE") && l.to_ascii_lowercase().contains("error"))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn comparison_report_renders_in_chromium() {
    if let Some(why) = chromium::missing() {
        skip!("{why}");
    }
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = [
        "tests/fixtures/results/node-a/result.json",
        "tests/fixtures/results/node-b/result.json",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let (results, problems) = load::load_all(&paths);
    assert!(problems.is_empty());
    let input = ReportInput {
        results,
        problems: Vec::new(),
    };
    let html = String::from_utf8(Html.render(&input).unwrap()).unwrap();
    let charts = html.matches("<figure id=").count();
    assert!(charts >= 6, "{charts} charts");
    let report = dir.path().join("report.html");
    std::fs::write(&report, &html).unwrap();
    let checked = dir.path().join("report-checked.html");
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{CHECK}</body>")),
    )
    .unwrap();

    // Screenshot of the report as shipped.
    let shot = dir.path().join("shot.png");
    let o = chromium::run(
        &dir.path().join("profile1"),
        &[
            "--window-size=1280,2000".to_string(),
            format!("--screenshot={}", shot.display()),
        ],
        &format!("file://{}", report.display()),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {err}");
    assert!(
        page_errors(&err).is_empty(),
        "page errors: {:?}",
        page_errors(&err)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG"),
        "screenshot {} bytes",
        png.len()
    );

    // DOM after the injected size check.
    let o = chromium::run(
        &dir.path().join("profile2"),
        &["--window-size=1280,2000".into(), "--dump-dom".into()],
        &format!("file://{}", checked.display()),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {err}");
    assert!(
        page_errors(&err).is_empty(),
        "page errors: {:?}",
        page_errors(&err)
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let marker = "id=\"nodefit-svg-sizes\">SIZES[";
    let start = dom.find(marker).expect("size check did not run") + marker.len();
    let end = dom[start..].find("]SIZES").unwrap() + start;
    let sizes: Vec<&str> = dom[start..end].split(';').collect();
    assert_eq!(sizes.len(), charts, "{sizes:?}");
    for s in sizes {
        let (id, wh) = s.rsplit_once('=').unwrap();
        let (w, h) = wh.split_once('x').unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        assert!(w > 100 && h > 50, "chart {id} has size {w}x{h}");
    }
}
