//! Parsers never panic: property tests over everything a user or a damaged file can hand nodefit —
//! sizes, durations, percentile lists, metric paths, profile TOML (mutations of the shipped
//! profiles) and results JSON (truncated, mutated, other schema versions) through `report` and
//! `trend`. Every input ends in a value or a clear error naming the file; never a panic.
//!
//! Seeded and reproducible: the seed is printed; `NODEFIT_PROPTEST_SEED=N` replays a run, and
//! proptest prints the minimal failing input.

use crate::support::BIN;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let s = std::env::var("NODEFIT_PROPTEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("proptest seed: {s} (replay with NODEFIT_PROPTEST_SEED={s})");
        s
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed()),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Strings that look like what people type: digits, units, signs, separators, junk, unicode.
fn typed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,25}(\\.[0-9]{0,5})?(k|m|g|t|K|M|G|ki|KiB|mb|ms|s|m|h|us|ns|%|e9|e308)?",
        "[-+ ]?[0-9a-z.:,]{0,30}",
        "\\PC{0,20}",
        Just(String::new()),
        Just("18446744073709551616g".to_string()),
        Just("99999999999999999999999h".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("1e999".to_string()),
        Just("0:0".to_string()),
        Just(":::".to_string()),
    ]
}

#[test]
fn sizes_durations_and_percentile_lists() {
    runner(5000)
        .run(&typed_text(), |s| {
            let _ = nodefit::util::units::parse_size(&s);
            let _ = nodefit::util::units::parse_duration(&s);
            if let Ok(ps) = nodefit::util::units::parse_percentile_list(&s) {
                prop_assert!(ps.iter().all(|p| *p > 0.0 && *p <= 100.0), "{s:?} → {ps:?}");
            }
            Ok(())
        })
        .unwrap();
    // What parses is what was meant.
    runner(2000)
        .run(&(0u64..1 << 30, 0usize..4), |(n, unit)| {
            let (suffix, mult) = [("", 1u64), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)][unit];
            let got = nodefit::util::units::parse_size(&format!("{n}{suffix}"));
            match n.checked_mul(mult) {
                Some(v) => prop_assert_eq!(got.ok(), Some(v)),
                None => prop_assert!(got.is_err()),
            }
            Ok(())
        })
        .unwrap();
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn metric_paths() {
    let doc: Value =
        serde_json::from_str(&fixture("tests/fixtures/results/node-a/result.json")).unwrap();
    let alphabet = "(workloads|etcd|fingerprint|members|latency_ns|sync|write|percentiles|99|99\\.9|\\[\\*\\]|\\[wal\\]|\\[0\\]|\\[|\\]|\\.|[a-z_]{1,6}|[0-9]{1,3}|\\PC){0,12}";
    runner(5000)
        .run(&alphabet, |s| {
            if let Ok(p) = nodefit::results::path::MetricPath::parse(&s) {
                let _ = p.lookup(&doc);
            }
            Ok(())
        })
        .unwrap();
}

/// A line-level edit of a text.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceValue(usize, String),
    Truncate(usize),
    Insert(usize, String),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let value = prop_oneof![
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e999".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"nonsense\"".to_string()),
        Just("\"<=\"".to_string()),
        Just("\"workloads[nope].iops\"".to_string()),
        Just("true".to_string()),
        "\"[0-9a-z]{0,6}\"",
        "[0-9]{1,12}",
        "\\PC{0,8}",
    ];
    let edit = prop_oneof![
        (0usize..200).prop_map(Edit::DeleteLine),
        (0usize..200).prop_map(Edit::DuplicateLine),
        (0usize..200, value.clone()).prop_map(|(l, v)| Edit::ReplaceValue(l, v)),
        (0usize..20_000).prop_map(Edit::Truncate),
        (
            0usize..200,
            "(\\[\\[check\\]\\]|\\[etcd\\]|\\[\\[disk\\]\\]|[a-z_]{1,8} = \\PC{0,6}|\\PC{0,12})"
        )
            .prop_map(|(l, v)| Edit::Insert(l, v)),
    ];
    proptest::collection::vec(edit, 1..4)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::ReplaceValue(i, v) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if let Some(eq) = l.find('=') {
                    *l = format!("{}= {v}", &l[..eq]);
                }
            }
            Edit::Insert(i, v) => lines.insert(i % (lines.len() + 1), v.clone()),
            Edit::Truncate(at) => {
                let joined = lines.join("\n");
                let mut cut = (*at).min(joined.len());
                while !joined.is_char_boundary(cut) {
                    cut -= 1;
                }
                lines = joined[..cut].lines().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

#[test]
fn profile_toml_mutations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut shipped: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    shipped.sort();
    assert!(!shipped.is_empty());
    for text in &shipped {
        nodefit::score::profile::Profile::parse(text, "shipped.toml")
            .expect("shipped profiles parse");
    }
    runner(3000)
        .run(&(0..shipped.len(), edits()), |(which, edits)| {
            let text = apply(&shipped[which], &edits);
            if let Err(e) = nodefit::score::profile::Profile::parse(&text, "mutated.toml") {
                let msg = e.to_string();
                prop_assert!(
                    msg.contains("mutated.toml"),
                    "error must name the file: {msg}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// A JSON-level edit of a results document.
#[derive(Debug, Clone)]
enum JsonEdit {
    /// Replace the n-th number (in document order) with this one.
    Number(usize, f64),
    /// Remove the n-th object key.
    RemoveKey(usize),
    /// Replace the n-th value with a string.
    Stringify(usize),
    SchemaVersion(u64),
    Truncate(usize),
}

fn json_edits() -> impl Strategy<Value = Vec<JsonEdit>> {
    let num = prop_oneof![
        Just(-1.0),
        Just(0.0),
        Just(1e300),
        Just(-1e300),
        Just(0.5),
        Just(u64::MAX as f64),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
    ];
    let e = prop_oneof![
        4 => (0usize..5000, num).prop_map(|(i, v)| JsonEdit::Number(i, v)),
        3 => (0usize..5000).prop_map(JsonEdit::RemoveKey),
        2 => (0usize..5000).prop_map(JsonEdit::Stringify),
        1 => prop_oneof![Just(0u64), Just(1), Just(2), Just(3), Just(u64::MAX)].prop_map(JsonEdit::SchemaVersion),
        1 => (0usize..200_000).prop_map(JsonEdit::Truncate),
    ];
    proptest::collection::vec(e, 1..5)
}

fn nth_number(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    match v {
        Value::Number(_) => {
            if *n == 0 {
                f(v);
                return true;
            }
            *n -= 1;
            false
        }
        Value::Array(a) => a.iter_mut().any(|x| nth_number(x, n, f)),
        Value::Object(o) => o.values_mut().any(|x| nth_number(x, n, f)),
        _ => false,
    }
}

fn nth_key(v: &mut Value, n: &mut usize, remove: bool) -> bool {
    match v {
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                if *n == 0 {
                    if remove {
                        o.remove(&k);
                    } else if let Some(x) = o.get_mut(&k) {
                        *x = Value::String("?".into());
                    }
                    return true;
                }
                *n -= 1;
                if let Some(x) = o.get_mut(&k) {
                    if nth_key(x, n, remove) {
                        return true;
                    }
                }
            }
            false
        }
        Value::Array(a) => a.iter_mut().any(|x| nth_key(x, n, remove)),
        _ => false,
    }
}

fn mutate_json(base: &Value, edits: &[JsonEdit]) -> Vec<u8> {
    let mut v = base.clone();
    let mut truncate = None;
    for e in edits {
        match e {
            JsonEdit::Number(i, x) => {
                let mut n = *i;
                let x = *x;
                nth_number(&mut v, &mut n, &mut |slot| {
                    *slot = serde_json::Number::from_f64(x)
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                });
            }
            JsonEdit::RemoveKey(i) => {
                nth_key(&mut v, &mut i.clone(), true);
            }
            JsonEdit::Stringify(i) => {
                nth_key(&mut v, &mut i.clone(), false);
            }
            JsonEdit::SchemaVersion(s) => v["schema_version"] = Value::from(*s),
            JsonEdit::Truncate(at) => truncate = Some(*at),
        }
    }
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap();
    if let Some(at) = truncate {
        bytes.truncate(at.min(bytes.len()));
    }
    bytes
}

fn assert_clean_exit(
    out: &std::process::Output,
    file: &Path,
    what: &str,
) -> Result<(), TestCaseError> {
    let err = String::from_utf8_lossy(&out.stderr);
    prop_assert!(
        !err.contains("panicked"),
        "{what} panicked on {}: {err}",
        file.display()
    );
    let code = out.status.code();
    prop_assert!(
        matches!(code, Some(0) | Some(1) | Some(2)),
        "{what}: exit {code:?}: {err}"
    );
    if code == Some(2) {
        prop_assert!(!err.trim().is_empty(), "{what}: exit 2 without a word");
    }
    Ok(())
}

#[test]
fn results_json_through_report_and_trend() {
    let base: Value =
        serde_json::from_str(&fixture("tests/fixtures/results/node-a/result.json")).unwrap();
    let other = fixture("tests/fixtures/results/node-b/result.json");
    let work = tempfile::tempdir().unwrap();
    let bin = BIN;
    let case = std::sync::atomic::AtomicU64::new(0);
    // Each case spawns the binary twice: fewer cases than the in-process tests.
    runner(150)
        .run(&json_edits(), |edits| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = work.path().join(format!("case-{n}"));
            let run_a = dir.join("a");
            let run_b = dir.join("b");
            std::fs::create_dir_all(&run_a).unwrap();
            std::fs::create_dir_all(&run_b).unwrap();
            let mutated = run_a.join("result.json");
            std::fs::write(&mutated, mutate_json(&base, &edits)).unwrap();
            std::fs::write(run_b.join("result.json"), &other).unwrap();

            // Loading alone: a value or an error naming the file.
            if let Err(e) = nodefit::report::load::load_file(&mutated) {
                let msg = e.to_string();
                prop_assert!(msg.contains(&mutated.display().to_string()), "{msg}");
            }
            let report = Command::new(bin)
                .args(["report", "--format", "md", "--strict"])
                .arg(&mutated)
                .arg(run_b.join("result.json"))
                .output()
                .unwrap();
            assert_clean_exit(&report, &mutated, "report")?;
            let html = Command::new(bin)
                .args(["report", "--format", "html", "-o"])
                .arg(dir.join("r.html"))
                .arg(&mutated)
                .output()
                .unwrap();
            assert_clean_exit(&html, &mutated, "report --format html")?;
            let trend = Command::new(bin).arg("trend").arg(&dir).output().unwrap();
            assert_clean_exit(&trend, &mutated, "trend")?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        })
        .unwrap();
}

/// Numbers survive the results file bit for bit: what nodefit writes is what `report`, `trend`
/// and the Prometheus textfile read back. (serde_json's default float parser may land one ULP
/// off, which printed 93.02921490046297 in the textfile and 93.02921490046296 in the report.)
#[test]
fn results_numbers_round_trip_exactly() {
    let base: Value = serde_json::from_str(&fixture("tests/fixtures/results/node-a/result.json"))
        .expect("fixture parses");
    runner(2000)
        .run(
            &(
                any::<f64>().prop_filter("finite", |v| v.is_finite()),
                0.0f64..100.0,
            ),
            |(any_value, score)| {
                for v in [any_value, score] {
                    let mut doc = base.clone();
                    doc["score"] = serde_json::json!(v);
                    let bytes = serde_json::to_vec(&doc).expect("serialises");
                    let loaded = nodefit::report::load::parse(Path::new("round-trip.json"), &bytes)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let read = loaded.doc.score.expect("score present");
                    prop_assert_eq!(read.to_bits(), v.to_bits(), "{} read back as {}", v, read);
                }
                Ok(())
            },
        )
        .unwrap();
}
