//! `--prometheus-textfile`: a real `nodefit qualify` writes node_exporter textfile metrics that
//! `promtool check metrics` accepts, whose figures are the result document's in base units, and
//! that a real `prometheus-node-exporter` (textfile collector, free 127.0.0.1 port) serves over
//! HTTP. Also: the atomic writer refuses symlinks and missing directories before measuring, and the
//! example alert rules pass `promtool check rules` and their `promtool test rules` unit tests.

use crate::support::bundled;
use crate::support::skip::skipped;
use crate::support::BIN;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMTOOL: &str = "promtool";
const NODE_EXPORTER: &str = "prometheus-node-exporter";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether the tool is here; reports the part of the test it skips when it is not
/// (scripts/setup.sh --test installs both in CI).
fn require(cmd: &str, package: &str) -> bool {
    let here = have(cmd);
    if !here {
        skipped(format!(
            "{cmd} is absent (apt-get install -y {package}, or scripts/setup.sh --test)"
        ));
    }
    here
}

fn promtool_check_metrics(text: &str) -> (bool, String) {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && msg.trim().is_empty(), msg)
}

/// The value of the one sample whose line starts with `prefix` (metric name and labels).
fn sample(text: &str, prefix: &str) -> f64 {
    let hits: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .collect();
    assert_eq!(hits.len(), 1, "want one sample for {prefix}, got {hits:?}");
    hits[0].rsplit(' ').next().unwrap().parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// node_exporter serving only the textfile collector; killed on drop.
struct Exporter {
    child: Child,
    port: u16,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/plain\r\n\r\n"
    )?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

impl Exporter {
    fn start(textfile_dir: &Path) -> Exporter {
        let port = free_port();
        let child = Command::new(NODE_EXPORTER)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                textfile_dir.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let e = Exporter { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if http_get(port, "/metrics").is_ok_and(|b| b.starts_with("HTTP/1.")) {
                return e;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("node_exporter did not answer on 127.0.0.1:{port}");
    }
}

fn run_qualify(scratch: &Path, textfile: &Path) -> (i32, serde_json::Value) {
    let out_dir = scratch.join("out");
    let data = scratch.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = Command::new(BIN)
        .args(["qualify", "--quick", "--rounds", "1", "--quiet"])
        .args(["--node-name", "cp-test"])
        .arg("--directory")
        .arg(&data)
        .arg("--output-dir")
        .arg(&out_dir)
        .arg("--prometheus-textfile")
        .arg(textfile)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "qualify could not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("result.json")).unwrap()).unwrap();
    (code, doc)
}

#[test]
fn qualify_textfile_is_clean_matches_the_result_and_node_exporter_serves_it() {
    let scratch = tempfile::tempdir().unwrap();
    let textdir = scratch.path().join("textfile");
    std::fs::create_dir(&textdir).unwrap();
    let textfile = textdir.join("nodefit.prom");
    let (code, doc) = run_qualify(scratch.path(), &textfile);
    let text = std::fs::read_to_string(&textfile).unwrap();

    // Only the .prom file is left in the directory (no temporary file), readable by others.
    let names: Vec<String> = std::fs::read_dir(&textdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["nodefit.prom".to_string()]);
    let mode = std::fs::metadata(&textfile).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "mode {mode:o}");

    // No client timestamps: every sample line is `name{labels} value`.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let after = l.rsplit_once('}').map(|(_, v)| v).unwrap_or(l);
        assert_eq!(after.split_whitespace().count(), 1, "timestamp? {l}");
    }

    // The figures are the document's, in base units.
    let verdict = doc["verdict"].as_str().unwrap();
    assert_eq!(code, if verdict == "UNFIT" { 1 } else { 0 });
    for v in ["FIT", "MARGINAL", "UNFIT"] {
        let want = if v == verdict { 1.0 } else { 0.0 };
        assert_eq!(
            sample(
                &text,
                &format!("nodefit_verdict{{command=\"qualify\",node=\"cp-test\",verdict=\"{v}\"}}")
            ),
            want
        );
    }
    assert_eq!(
        sample(&text, "nodefit_score{command=\"qualify\",node=\"cp-test\"}"),
        doc["score"].as_f64().unwrap()
    );
    let mut checked = 0;
    for c in doc["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let sev = c["severity"].as_str().unwrap();
        let labels =
            format!("{{command=\"qualify\",node=\"cp-test\",check=\"{id}\",severity=\"{sev}\"}}");
        let pass = if c["verdict"] == "pass" { 1.0 } else { 0.0 };
        assert_eq!(sample(&text, &format!("nodefit_check_pass{labels}")), pass);
        if c["unit"] == "ns" {
            if let Some(obs) = c["observed"].as_f64() {
                assert_eq!(
                    sample(&text, &format!("nodefit_check_observed_seconds{labels}")),
                    obs / 1e9,
                    "{id}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "only {checked} latency checks compared");
    let wal = doc["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["spec"]["name"] == "wal")
        .unwrap();
    let p99_ns = wal["latency_ns"]["sync"]["percentiles"]["99"]
        .as_f64()
        .unwrap();
    assert_eq!(
        sample(
            &text,
            "nodefit_disk_latency_seconds{command=\"qualify\",node=\"cp-test\",workload=\"wal\",round=\"1\",op=\"sync\",quantile=\"0.99\"}"
        ),
        p99_ns / 1e9
    );
    assert_eq!(
        sample(
            &text,
            "nodefit_disk_latency_seconds_count{command=\"qualify\",node=\"cp-test\",workload=\"wal\",round=\"1\",op=\"sync\"}"
        ),
        wal["latency_ns"]["sync"]["count"].as_f64().unwrap()
    );
    let started = humantime::parse_rfc3339(doc["started_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        sample(
            &text,
            "nodefit_run_timestamp_seconds{command=\"qualify\",node=\"cp-test\"}"
        ),
        started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as f64
    );
    assert!(text.contains(&format!(
        "nodefit_info{{command=\"qualify\",node=\"cp-test\",version=\"{}\",commit=\"",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.contains(",profile=\"k8s-control-plane\"} 1\n"));
    assert!(text.contains("nodefit_etcd_latency_seconds{"));

    if require(PROMTOOL, "prometheus") {
        let (ok, msg) = promtool_check_metrics(&text);
        assert!(ok, "promtool check metrics:\n{msg}");
    }

    if require(NODE_EXPORTER, "prometheus-node-exporter") {
        let e = Exporter::start(&textdir);
        let body = http_get(e.port, "/metrics").unwrap();
        assert!(body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"));
        // The collector read the file without error, and serves the same figures.
        assert_eq!(sample(&body, "node_textfile_scrape_error "), 0.0, "{body}");
        let served_verdict = sample(
            &body,
            &format!(
                "nodefit_verdict{{command=\"qualify\",node=\"cp-test\",verdict=\"{verdict}\"}}"
            ),
        );
        assert_eq!(served_verdict, 1.0);
        assert_eq!(
            sample(
                &body,
                "nodefit_disk_latency_seconds{command=\"qualify\",node=\"cp-test\",op=\"sync\",round=\"1\",workload=\"wal\",quantile=\"0.99\"}"
            ),
            p99_ns / 1e9
        );
        assert!(
            body.contains(&format!(
                "node_textfile_mtime_seconds{{file=\"{}\"}}",
                textfile.display()
            )),
            "{body}"
        );
    }
}

#[test]
fn disk_and_etcd_hooks_and_refusals() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();

    // disk: a small workload, textfile beside other files; rewritten in place on a second run.
    let tf = dir.join("disk.prom");
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["disk", "--name", "wal", "--rw", "write", "--fdatasync", "1"])
            .args(["--bs", "2300", "--size", "256k", "--quiet", "--directory"])
            .arg(dir)
            .arg("--prometheus-textfile")
            .arg(&tf)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let text = std::fs::read_to_string(&tf).unwrap();
    assert!(text.contains("nodefit_disk_latency_seconds{command=\"disk\","));
    assert!(!text.contains("nodefit_verdict"), "disk has no verdict");
    if have(PROMTOOL) {
        let (ok, msg) = promtool_check_metrics(&text);
        assert!(ok, "{msg}");
    }
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("nodefit-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // etcd: a short embedded probe; its metrics carry command="etcd" and no disk or verdict families.
    // nodefit runs the bundled etcd next to it; missing, the set-up did not run: fail, do not skip.
    {
        bundled::etcd();
        let tf = dir.join("etcd.prom");
        let out = Command::new(BIN)
            .args([
                "etcd",
                "--quiet",
                "--duration",
                "2s",
                "--rate",
                "100",
                "--directory",
            ])
            .arg(dir)
            .arg("--prometheus-textfile")
            .arg(&tf)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = std::fs::read_to_string(&tf).unwrap();
        assert_eq!(
            sample(
                &text,
                "nodefit_etcd_target_rate_per_second{command=\"etcd\","
            ),
            100.0
        );
        assert!(text.contains("nodefit_etcd_latency_seconds{command=\"etcd\","));
        assert!(text.contains("nodefit_etcd_latency_seconds_count{command=\"etcd\","));
        assert!(!text.contains("nodefit_disk_") && !text.contains("nodefit_verdict"));
        if have(PROMTOOL) {
            let (ok, msg) = promtool_check_metrics(&text);
            assert!(ok, "{msg}");
        }
    }

    // A symlink is refused before anything is measured: exit 2, one line, target untouched.
    let target = dir.join("elsewhere.txt");
    std::fs::write(&target, "keep me\n").unwrap();
    let link = dir.join("link.prom");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for cmd in [
        vec!["disk", "--size", "64k", "--quiet", "--directory"],
        vec!["qualify", "--quick", "--quiet", "--directory"],
        vec!["etcd", "--quiet", "--directory"],
    ] {
        let out = Command::new(BIN)
            .args(&cmd)
            .arg(dir)
            .arg("--prometheus-textfile")
            .arg(&link)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("symbolic link"), "{cmd:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }
    // A missing directory likewise.
    let out = Command::new(BIN)
        .args(["disk", "--size", "64k", "--quiet", "--directory"])
        .arg(dir)
        .arg("--prometheus-textfile")
        .arg(dir.join("no/such/dir/x.prom"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no/such/dir"), "{err}");
}

#[test]
fn example_alert_rules_pass_promtool_check_and_unit_tests_and_match_the_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("deploy/prometheus/nodefit-alerts.yml");
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    // docs/fleet.md shows the same rules, verbatim.
    let docs = std::fs::read_to_string(root.join("docs/fleet.md")).unwrap();
    assert!(
        docs.contains(rules_text.trim()),
        "docs/fleet.md does not show deploy/prometheus/nodefit-alerts.yml verbatim"
    );
    if !require(PROMTOOL, "prometheus") {
        return;
    }
    let out = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS: 3 rules found"));
    let out = Command::new(PROMTOOL)
        .args(["test", "rules", "nodefit-alerts.test.yml"])
        .current_dir(root.join("deploy/prometheus"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// `promtool check rules` on `text` (written to a temp file); (success, output).
fn promtool_check_rules(text: &str) -> (bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("rules.yml");
    std::fs::write(&p, text).unwrap();
    let out = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(&p)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn prometheus_rule_holds_the_alert_rules_verbatim_and_passes_promtool() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/nodefit-alerts.yml")).unwrap();
    let cr = std::fs::read_to_string(root.join("deploy/prometheus/nodefit-prometheusrule.yaml"))
        .unwrap();
    assert!(
        cr.contains("kind: PrometheusRule") && cr.contains("apiVersion: monitoring.coreos.com/v1")
    );
    // spec: is the rules file's groups:, indented by two spaces.
    let spec = &cr[cr.find("\nspec:\n").expect("no spec:") + "\nspec:\n".len()..];
    let dedented: String = spec
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let groups = &rules[rules.find("groups:").unwrap()..];
    assert_eq!(
        dedented.trim(),
        groups.trim(),
        "the PrometheusRule and nodefit-alerts.yml differ"
    );
    if !require(PROMTOOL, "prometheus") {
        return;
    }
    let (ok, msg) = promtool_check_rules(&dedented);
    assert!(ok && msg.contains("SUCCESS: 3 rules found"), "{msg}");
}

#[test]
fn grafana_dashboard_queries_parse_as_promql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dash: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("deploy/grafana/nodefit-dashboard.json")).unwrap(),
    )
    .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for want in [
        "Verdict",
        "Score",
        "fdatasync p99",
        "etcd put p99",
        "RTT",
        "Last run age",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(want)),
            "no panel for {want}: {titles:?}"
        );
    }
    // Every query, as a recording rule: promtool parses each PromQL expression.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut n = 0;
    for p in panels {
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{}: no query", p["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            // Only series nodefit writes (every name in docs/fleet.md's metric table).
            assert!(expr.contains("nodefit_"), "{expr}");
            n += 1;
            rules.push_str(&format!(
                "      - record: nodefit:dashboard:q{n}\n        expr: {}\n",
                serde_json::to_string(expr).unwrap()
            ));
        }
    }
    if !require(PROMTOOL, "prometheus") {
        return;
    }
    let (ok, msg) = promtool_check_rules(&rules);
    assert!(
        ok && msg.contains(&format!("SUCCESS: {n} rules found")),
        "{msg}"
    );
    // Not a rubber stamp: a broken query is refused.
    let (ok, msg) = promtool_check_rules(&rules.replace("max by (node)", "max by (node"));
    assert!(!ok, "a broken query passed: {msg}");
}
