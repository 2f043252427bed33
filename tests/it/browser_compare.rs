//! A comparison of two nodes 100× apart, rendered by `nodefit report` and looked at by a real
//! browser: headless Debian `chromium` measures where the fit node's bars and curves are in every
//! comparison chart (in a copy with an injected script — the report itself has no scripts), then
//! takes a screenshot of the report as shipped, and the test counts the fit node's colour in the
//! screenshot's pixels inside each bar. Fails when a fit node's bar is under 8 px in either
//! dimension or not painted in its colour — as the old linear bar chart did (a 5.3 ms bar beside a
//! 530 ms one drew about 3 px tall). Skipped, with the reason printed, when /usr/bin/chromium is
//! absent.
//!
//! The two results: `tests/fixtures/results/node-a` (a real run, FIT) and the same document with
//! every latency histogram, percentile and check figure scaled 100× slower (`node-a-x100`, UNFIT).

use crate::support::chromium;
use crate::support::nodefit;
use crate::support::scaled;

use serde_json::Value;

/// PALETTE[0]: the first node's colour (Okabe–Ito blue).
const FIT_RGB: [u8; 3] = [0, 114, 178];
const FIT_HEX: &str = "#0072B2";

/// node-a made 100× slower: latencies × 100, rates ÷ 100, verdicts re-judged against the limits.
fn slow_copy(base: &Value) -> Value {
    let mut d = scaled::scaled(base, 100.0);
    d["node_name"] = Value::from("node-a-x100");
    for c in d["checks"].as_array_mut().unwrap() {
        let obs = c["observed"].as_f64().unwrap();
        let limit = c["limit"].as_f64().unwrap();
        let holds = match c["comparison"].as_str().unwrap() {
            "<=" => obs <= limit,
            ">=" => obs >= limit,
            other => panic!("fixture comparison {other}"),
        };
        c["verdict"] = Value::from(if holds { "pass" } else { "fail" });
    }
    d["verdict"] = Value::from("UNFIT");
    d
}

/// Appended before `</body>` in the copy: for every comparison chart, the page-pixel boxes of the
/// fit node's bars (filled rects) and curves (polylines), and the page height needed.
const MEASURE: &str = r##"<script>
window.onerror = function (m) { console.error("NODEFIT-JS-ERROR " + m); };
(function () {
  var box = function (el) {
    var r = el.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(",");
  };
  var out = [];
  var bottom = 0;
  var figs = document.querySelectorAll("figure.chart");
  for (var i = 0; i < figs.length; i++) {
    if (figs[i].id.indexOf("compare-") !== 0) continue;
    var svg = figs[i].querySelector("svg");
    var fr = svg.getBoundingClientRect();
    bottom = Math.max(bottom, fr.bottom + window.scrollY);
    var bars = [], lines = [];
    var rects = svg.querySelectorAll("rect");
    for (var j = 0; j < rects.length; j++) {
      if ((rects[j].getAttribute("fill") || "").toUpperCase() === "FIT") bars.push(box(rects[j]));
    }
    var pl = svg.querySelectorAll("polyline");
    for (var k = 0; k < pl.length; k++) {
      var w = parseFloat(pl[k].getAttribute("stroke-width") || "1");
      if ((pl[k].getAttribute("stroke") || "").toUpperCase() === "FIT" && w <= 3) lines.push(box(pl[k]));
    }
    out.push(figs[i].id + "|" + bars.join(" ") + "|" + lines.join(" "));
  }
  var pre = document.createElement("pre");
  pre.id = "nodefit-measure";
  pre.textContent = "MEASURE[" + Math.ceil(bottom) + "#" + out.join(";") + "]MEASURE";
  document.body.appendChild(pre);
})();
</script>
"##;

type Box4 = (u32, u32, u32, u32);

fn boxes(s: &str) -> Vec<Box4> {
    s.split_whitespace()
        .map(|b| {
            let v: Vec<f64> = b.split(',').map(|x| x.parse().unwrap()).collect();
            (v[0] as u32, v[1] as u32, v[2] as u32, v[3] as u32)
        })
        .collect()
}

/// Pixels in a box whose colour is the fit node's (within 12 per channel: anti-aliased edges).
fn fit_pixels(img: &image::RgbImage, b: Box4) -> u32 {
    let mut n = 0;
    for y in b.1..(b.1 + b.3).min(img.height()) {
        for x in b.0..(b.0 + b.2).min(img.width()) {
            let p = img.get_pixel(x, y).0;
            if p.iter().zip(FIT_RGB).all(|(a, b)| a.abs_diff(b) <= 12) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn fit_node_bars_stay_visible_beside_a_node_100x_slower() {
    if let Some(why) = chromium::missing() {
        skip!("{why}");
    }
    let dir = tempfile::tempdir().unwrap();
    let base = scaled::fixture();
    let fast = dir.path().join("fast.json");
    let slow = dir.path().join("slow.json");
    std::fs::write(&fast, serde_json::to_vec(&base).unwrap()).unwrap();
    std::fs::write(&slow, serde_json::to_vec(&slow_copy(&base)).unwrap()).unwrap();
    let report = dir.path().join("report.html");
    let png_dir = dir.path().join("png");
    let o = nodefit()
        .arg("report")
        .args([&fast, &slow])
        .arg("-o")
        .arg(&report)
        .arg("--png-dir")
        .arg(&png_dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "nodefit report: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    // The answer in words, above the charts.
    let summary = html.find("<ul class=\"summary\">").expect("summary list");
    assert!(summary < html.find("<figure").unwrap());
    // Latency × 100 and rate ÷ 100: either check may name the factor, which is 100 either way.
    assert!(
        html.contains("<li>node-a-x100 (UNFIT) is 100× ") && html.contains(" than node-a on "),
        "summary line missing"
    );
    assert!(png_dir.join("compare-checks.png").exists());

    // Pass 1: where the fit node's marks are.
    let checked = dir.path().join("report-measure.html");
    std::fs::write(
        &checked,
        html.replace(
            "</body>",
            &format!("{}</body>", MEASURE.replace("FIT", FIT_HEX)),
        ),
    )
    .unwrap();
    let o = chromium::run(
        &dir.path().join("profile1"),
        &["--window-size=1280,1000".into(), "--dump-dom".into()],
        &format!("file://{}", checked.display()),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {err}");
    assert!(!err.contains("NODEFIT-JS-ERROR"), "{err}");
    let dom = String::from_utf8_lossy(&o.stdout);
    let marker = "id=\"nodefit-measure\">MEASURE[";
    let start = dom.find(marker).expect("measuring did not run") + marker.len();
    let end = dom[start..].find("]MEASURE").unwrap() + start;
    let (bottom, charts) = dom[start..end].split_once('#').unwrap();
    let bottom: u32 = bottom.parse().unwrap();
    let charts: Vec<(&str, Vec<Box4>, Vec<Box4>)> = charts
        .split(';')
        .map(|c| {
            let mut p = c.split('|');
            let id = p.next().unwrap();
            (id, boxes(p.next().unwrap()), boxes(p.next().unwrap()))
        })
        .collect();
    let ids: Vec<&str> = charts.iter().map(|c| c.0).collect();
    assert!(ids.contains(&"compare-checks"), "{ids:?}");
    assert!(ids.iter().any(|i| i.ends_with("-percentiles")), "{ids:?}");

    // Pass 2: the report as shipped, tall enough to hold every comparison chart.
    let shot = dir.path().join("shot.png");
    let o = chromium::run(
        &dir.path().join("profile2"),
        &[
            format!("--window-size=1280,{}", bottom + 40),
            format!("--screenshot={}", shot.display()),
        ],
        &format!("file://{}", report.display()),
    );
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    assert!(img.height() > bottom, "screenshot {}px tall", img.height());

    for (id, bars, lines) in &charts {
        let painted: Vec<u32> = bars.iter().map(|b| fit_pixels(&img, *b)).collect();
        println!("{id}: fit bars (x,y,w,h) {bars:?}, fit-coloured pixels {painted:?}; fit curves {lines:?}");
        if *id == "compare-checks" {
            // node-a has a figure for both of its checks: two bars, each ≥ 8 px both ways and
            // painted (at least half its pixels in the fit colour).
            assert_eq!(bars.len(), 2, "{id}: fit node bars {bars:?}");
            for b in bars {
                assert!(b.2 >= 8 && b.3 >= 8, "{id}: fit node bar {b:?} under 8 px");
                let painted = fit_pixels(&img, *b);
                assert!(
                    painted * 2 >= b.2 * b.3,
                    "{id}: bar {b:?} has {painted} fit-coloured pixels in the screenshot"
                );
            }
        } else {
            // Percentile curves: the fit node's curve rises by at least 8 px and is painted.
            let curve = lines.iter().max_by_key(|b| b.3).copied();
            let curve = curve.unwrap_or_else(|| panic!("{id}: no fit node curve"));
            assert!(curve.3 >= 8, "{id}: fit node curve {curve:?} is flat");
            assert!(fit_pixels(&img, curve) >= 20, "{id}: curve not painted");
        }
    }
}
