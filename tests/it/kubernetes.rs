//! deploy/kubernetes, validated offline (there is no cluster here): the manifests render.sh makes
//! pass `kubernetes-validate --strict` (pinned, from PyPI, in a venv under target/ that this test
//! makes and reuses; its bundled schemas), a deliberately broken one does not, and the rendered
//! objects keep the promises docs/fleet.md makes: one CronJob per node pinned by hostname with the
//! control-plane tolerations, slots that never overlap, least privilege, results on hostPath.

use crate::support::venv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VALIDATE: &str = "kubernetes-validate==1.31.0";

fn validate_venv() -> Result<PathBuf, String> {
    venv::pinned(VALIDATE)
}

fn render(args: &[&str]) -> Output {
    Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/render.sh"))
        .args(args)
        .output()
        .unwrap()
}

fn validate(venv: &Path, file: &Path) -> Output {
    Command::new(venv.join("bin/kubernetes-validate"))
        .arg("--strict")
        .arg(file)
        .output()
        .unwrap()
}

/// Multi-document YAML → JSON, with the PyYAML that kubernetes-validate brings.
fn parse(venv: &Path, file: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rendered_manifests_validate_and_keep_their_promises() {
    let venv = match validate_venv() {
        Ok(v) => v,
        Err(why) => skip!("no kubernetes-validate: {why}"),
    };
    let tmp = tempfile::tempdir().unwrap();
    let nodes = ["cp-1", "cp-2.example.com", "cp-3"];
    let mut args = vec![
        "--image",
        "registry.example.com/nodefit:0.1.0",
        "--start",
        "23:30",
    ];
    args.extend(nodes);
    let out = render(&args);
    assert!(out.status.success(), "{out:?}");
    let nightly = tmp.path().join("nightly.yaml");
    std::fs::write(&nightly, &out.stdout).unwrap();
    let v = validate(&venv, &nightly);
    assert!(v.status.success(), "kubernetes-validate: {v:?}");
    let text = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert_eq!(
        text.matches("passed for resource cronjob/").count(),
        3,
        "{text}"
    );

    let docs = parse(&venv, &nightly);
    assert_eq!(docs[0]["kind"], "Namespace");
    let crons: Vec<_> = docs.iter().filter(|d| d["kind"] == "CronJob").collect();
    assert_eq!(crons.len(), nodes.len());
    let mut slots = Vec::new();
    for (c, node) in crons.iter().zip(nodes) {
        let spec = &c["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Forbid");
        let job = &spec["jobTemplate"]["spec"];
        assert_eq!(job["backoffLimit"], 0, "never retried");
        let deadline_min = job["activeDeadlineSeconds"].as_u64().unwrap() / 60;
        let pod = &job["template"]["spec"];
        assert_eq!(pod["nodeSelector"]["kubernetes.io/hostname"], node);
        assert!(pod["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "node-role.kubernetes.io/control-plane"));
        assert_eq!(pod["automountServiceAccountToken"], false);
        for host in ["hostNetwork", "hostPID", "hostIPC"] {
            assert!(pod[host].is_null() || pod[host] == false, "{host}");
        }
        let ctr = &pod["containers"][0];
        let sc = &ctr["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["capabilities"]["drop"][0], "ALL");
        assert!(sc["capabilities"]["add"].is_null());
        assert!(ctr["resources"]["limits"]["cpu"].is_null(), "no CPU limit");
        let script = ctr["args"][0].as_str().unwrap();
        assert!(script.contains("nodefit qualify"));
        assert!(script.contains("--prometheus-textfile /textfile/nodefit.prom"));
        let vols: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["hostPath"]["path"].as_str())
            .collect();
        assert_eq!(
            vols,
            [
                "/var/lib/nodefit/scratch",
                "/var/lib/nodefit/reports",
                "/var/lib/node_exporter/textfile_collector"
            ]
        );
        // "M H * * *", minutes of the day.
        let f: Vec<&str> = spec["schedule"].as_str().unwrap().split(' ').collect();
        assert_eq!(&f[2..], ["*", "*", "*"]);
        let m: u64 = f[0].parse::<u64>().unwrap() + 60 * f[1].parse::<u64>().unwrap();
        slots.push((m, deadline_min));
    }
    // One after another: every node's slot ends (deadline) before the next one starts, also across
    // midnight (23:30, 00:00, 00:30).
    assert_eq!(slots[0].0, 23 * 60 + 30);
    let mut sorted = slots.clone();
    sorted.sort();
    for i in 0..sorted.len() {
        let (start, deadline) = sorted[i];
        let next = sorted[(i + 1) % sorted.len()].0 + if i + 1 == sorted.len() { 1440 } else { 0 };
        assert!(
            start + deadline < next,
            "slot at minute {start} (+{deadline} min) overlaps the next at {next}: {slots:?}"
        );
    }

    // The one-off Job: one node, validates.
    let out = render(&["--job", "--image", "r/nodefit:1", "cp-1"]);
    assert!(out.status.success(), "{out:?}");
    let job = tmp.path().join("job.yaml");
    std::fs::write(&job, &out.stdout).unwrap();
    let v = validate(&venv, &job);
    assert!(v.status.success(), "{v:?}");
    let docs = parse(&venv, &job);
    assert_eq!(docs[1]["kind"], "Job");
    assert_eq!(
        docs[1]["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"],
        "cp-1"
    );

    // The validator is not a rubber stamp: a wrong type and an unknown field are rejected.
    let text = String::from_utf8_lossy(&out.stdout);
    for (what, broken) in [
        (
            "string deadline",
            text.replace("activeDeadlineSeconds: 1200", "activeDeadlineSeconds: soon"),
        ),
        (
            "unknown field",
            text.replace("backoffLimit: 0", "backoffLimit: 0\n  retries: 3"),
        ),
    ] {
        assert_ne!(broken, text, "{what}: nothing replaced");
        let p = tmp.path().join("broken.yaml");
        std::fs::write(&p, broken).unwrap();
        assert!(!validate(&venv, &p).status.success(), "{what} passed");
    }
}

#[test]
fn render_refuses_what_would_overlap_or_is_ambiguous() {
    for (args, why) in [
        (vec!["cp-1"], "--image is required"),
        (
            vec!["--image", "i", "--job", "cp-1", "cp-2"],
            "one node at a time",
        ),
        (
            vec!["--image", "i", "--spacing-minutes", "20", "cp-1"],
            "must exceed --deadline-minutes",
        ),
        (
            vec!["--image", "i", "--spacing-minutes", "600", "a", "b", "c"],
            "do not fit in a day",
        ),
        (vec!["--image", "i", "CP_1"], "is not a node name"),
        (vec!["--image", "i", "--start", "25:00", "cp-1"], "HH:MM"),
        (
            vec!["--image", "i", "--scratch", "rel/dir", "cp-1"],
            "absolute",
        ),
    ] {
        let out = render(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("CronJob"));
    }
}
