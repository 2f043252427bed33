//! Profile parsing, table-driven: the shipped profiles load, and every kind of bad profile is
//! refused with an error naming the file and the line of the offending key.

use nodefit::score::profile::{Profile, BUILTIN};

const BASE: &str = r#"name = "t"
description = "test profile"
rounds = 2

[[disk]]
id = "wal"
rw = "write"
bs = "2300"
size = "1m"
runtime = "2s"
fdatasync = 1

[etcd]
load = "s"
duration = "5s"

[[check]]
id = "p99"
title = "p99"
metric = "workloads[wal].latency_ns.sync.percentiles.99"
comparison = "<="
limit = 10_000_000
unit = "ns"
severity = "must"
source = "etcd FAQ, disk section"
"#;

fn line_containing(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in the profile"))
}

#[test]
fn shipped_profiles_load() {
    for (name, text) in BUILTIN {
        let p = Profile::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.name, name);
        assert!(!p.checks.is_empty());
        for c in &p.checks {
            assert!(c.source.len() > 10, "{name}/{}: source too short", c.id);
        }
        for w in &p.disk {
            let spec = w.spec(std::path::Path::new("."), false).unwrap();
            assert!(
                spec.runtime_ns.is_some() && !spec.time_based,
                "{name}/{}",
                w.id
            );
            let quick = w.spec(std::path::Path::new("."), true).unwrap();
            assert_eq!(quick.runtime_ns.unwrap() * 2, spec.runtime_ns.unwrap());
        }
    }
    let p = Profile::parse(BASE, "t.toml").unwrap();
    assert_eq!(p.rounds, 2);
    assert_eq!(p.disk[0].rounds, 2);
    assert_eq!(p.disk[0].options.name.as_deref(), Some("wal"));
    let e = p.etcd.unwrap();
    assert_eq!(e.load, Some(nodefit::options::etcd::LoadPreset::S));
    assert_eq!(e.duration, Some(std::time::Duration::from_secs(5)));
}

#[test]
fn bad_profiles_name_file_and_line() {
    // (what to replace, replacement, expected text in the error, marker of the expected line)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "fdatasync = 1",
            "fdatasync = 1\nbogus = 3",
            "unknown field `bogus`",
            "bogus",
        ),
        (
            "rounds = 2",
            "rounds = 2\ncolour = \"red\"",
            "unknown field `colour`",
            "colour",
        ),
        (
            "unit = \"ns\"",
            "unit = \"ns\"\nlimits = 4",
            "unknown field `limits`",
            "limits",
        ),
        (
            "load = \"s\"",
            "load = \"s\"\nspeed = 1",
            "unknown field `speed`",
            "speed",
        ),
        (
            "latency_ns.sync.percentiles.99\"",
            "latency_ns.sync.p99\"",
            "unknown metric path",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns",
            "workloads[nope].latency_ns",
            "no [[disk]] workload with id 'nope'",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns.sync.percentiles.99\"",
            "disks.iops\"",
            "must start with workloads",
            "metric =",
        ),
        (
            "percentiles.99\"",
            "percentiles.99.1\"",
            "percentile 99.1 is not reported",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns.sync.percentiles.99\"",
            "fingerprint.cpu.speed\"",
            "no 'speed'",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns.sync.percentiles.99\"",
            "etcd.achieved_rat\"",
            "the etcd section has no 'achieved_rat'",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns.sync.percentiles.99\"",
            "etcd.members.wal_fsync.p99_ns\"",
            "select with [*]",
            "metric =",
        ),
        (
            "workloads[wal].latency_ns.sync.percentiles.99\"",
            "etcd.members[*].wal_fsync\"",
            "does not name a number",
            "metric =",
        ),
        (
            "comparison = \"<=\"",
            "comparison = \"=<\"",
            "comparison '=<'",
            "comparison",
        ),
        (
            "severity = \"must\"",
            "severity = \"may\"",
            "severity 'may'",
            "severity",
        ),
        (
            "source = \"etcd FAQ, disk section\"\n",
            "",
            "missing field `source`",
            "[[check]]",
        ),
        (
            "source = \"etcd FAQ, disk section\"",
            "source = \"\"",
            "source must name the document",
            "source",
        ),
        (
            "size = \"1m\"",
            "size = \"1q\"",
            "malformed size '1q'",
            "size",
        ),
        (
            "bs = \"2300\"",
            "bs = \"0\"",
            "--bs must be greater than 0",
            "bs =",
        ),
        (
            "runtime = \"2s\"\n",
            "",
            "bounded by time and size",
            "[[disk]]",
        ),
        (
            "runtime = \"2s\"",
            "runtime = \"2s\"\ntime_based = true",
            "bounded by time and size",
            "[[disk]]",
        ),
        (
            "fdatasync = 1",
            "fdatasync = 1\ndirectory = \"/tmp\"",
            "not allowed in a profile",
            "directory",
        ),
        (
            "limit = 10_000_000",
            "limit = 10_000_000\nmarginal = 5",
            "marginal 5 must lie beyond",
            "marginal",
        ),
        (
            "limit = 10_000_000",
            "limit = \"ten\"",
            "invalid type",
            "limit =",
        ),
        (
            "load = \"s\"",
            "load = \"huge\"",
            "[etcd] unknown variant `huge`",
            "load = \"huge\"",
        ),
        (
            "load = \"s\"",
            "load = \"s\"\nmembers = 2",
            "--members must be 1, 3 or 5",
            "[etcd]",
        ),
        (
            "load = \"s\"",
            "load = \"s\"\nargs = [\"--val-size\", \"2048\"]",
            "unknown field `args`",
            "args",
        ),
        (
            "duration = \"5s\"",
            "duration = \"soon\"",
            "malformed duration",
            "duration",
        ),
        (
            "rounds = 2",
            "rounds = 0",
            "rounds must be between 1 and 100",
            "rounds",
        ),
        (
            "fdatasync = 1",
            "fdatasync = \"often\"",
            "invalid type",
            "fdatasync",
        ),
        ("name = \"t\"", "name = \"t\"\n[[[", "", "[[["),
    ];
    for (from, to, want, marker) in cases {
        assert!(BASE.contains(from), "case {from:?} does not apply");
        let text = BASE.replacen(from, to, 1);
        let err = match Profile::parse(&text, "t.toml") {
            Ok(_) => panic!("{to:?} should be refused"),
            Err(e) => e.to_string(),
        };
        let line = line_containing(&text, marker);
        assert!(
            err.starts_with(&format!("t.toml:{line}:")),
            "{to:?}: error {err:?} should name t.toml line {line}"
        );
        assert!(
            err.contains(want),
            "{to:?}: error {err:?} should contain {want:?}"
        );
    }
}

#[test]
fn etcd_checks_need_an_etcd_table_and_ids_are_unique() {
    let no_etcd = BASE
        .replace("[etcd]\nload = \"s\"\nduration = \"5s\"\n", "")
        .replace(
            "workloads[wal].latency_ns.sync.percentiles.99",
            "etcd.achieved_rate",
        );
    let err = Profile::parse(&no_etcd, "t.toml").unwrap_err().to_string();
    assert!(err.contains("no [etcd] table"), "{err}");

    let twice = format!("{BASE}\n{}", &BASE[BASE.find("[[check]]").unwrap()..]);
    let err = Profile::parse(&twice, "t.toml").unwrap_err().to_string();
    assert!(err.contains("two checks have id 'p99'"), "{err}");
}

#[test]
fn find_by_name_path_and_builtin() {
    let p = Profile::find("k8s-control-plane").unwrap();
    assert_eq!(p.name, "k8s-control-plane");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mine.toml");
    std::fs::write(&f, BASE).unwrap();
    let p = Profile::find(f.to_str().unwrap()).unwrap();
    assert_eq!(p.file, f.display().to_string());
    assert!(Profile::find("no-such-profile")
        .unwrap_err()
        .to_string()
        .contains("no profile named"));
    let missing = dir.path().join("absent.toml");
    assert!(Profile::find(missing.to_str().unwrap()).is_err());
}
