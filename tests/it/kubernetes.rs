//! deploy/kubernetes, validated offline (there is no cluster here): the manifests render.sh makes
//! pass `kubernetes-validate --strict` (pinned, from PyPI, in a venv under target/ that this test
//! makes and reuses; its bundled schemas), a deliberately broken one does not, and the rendered
//! objects keep the promises docs/fleet.md makes: one CronJob per node pinned by hostname with the
//! control-plane tolerations, slots that never overlap, least privilege, results on hostPath. The
//! Kustomize tree (`render.sh --kustomize`) renders to the same objects: rendered with
//! tests/it/support/kustomize.py (kubectl and kustomize are not installed here; it implements the
//! subset the tree uses and refuses anything else), validated the same way. The pod's shell runs as
//! PID 1 of a PID namespace (`unshare --pid --fork`) with the real nodefit: SIGTERM reaches nodefit,
//! which writes `nodefit_run_complete 0` and cleans up. The one-at-a-time loop moves on when a Job
//! fails (against a stub kubectl: there is no cluster here).

use crate::support::venv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        assert!(script.contains("--prometheus-textfile \"$NODEFIT_TEXTFILE\""));
        assert!(
            script.contains("trap 'forward TERM' TERM"),
            "PID 1 forwards SIGTERM"
        );
        let env = env_of(ctr);
        assert_eq!(env["NODEFIT_TEXTFILE"], "/textfile/nodefit.prom");
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
                "/var/lib/etcd",
                "/var/lib/nodefit/reports",
                "/var/lib/node_exporter/textfile_collector"
            ]
        );
        // The textfile directory must exist (an unread one is not made); etcd's is read-only.
        let vol = |name: &str| {
            pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(vol("textfile")["hostPath"]["type"], "Directory");
        assert_eq!(vol("etcd-data")["hostPath"]["type"], "Directory");
        assert!(ctr["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "etcd-data" && m["readOnly"] == true));
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
        (
            vec!["--image", "i", "--scratch", "/var/lib/etcd/nodefit", "cp-1"],
            "inside etcd's data directory",
        ),
        (
            vec![
                "--image",
                "i",
                "--etcd-data-dir",
                "/srv/etcd",
                "--scratch",
                "/srv/etcd",
                "cp-1",
            ],
            "inside etcd's data directory",
        ),
        (
            vec![
                "--image",
                "i",
                "--qualify-args",
                "--rounds 1; rm -rf /",
                "cp-1",
            ],
            "--qualify-args",
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

/// The container's env as name → value (plain values only).
fn env_of(ctr: &serde_json::Value) -> std::collections::HashMap<String, String> {
    ctr["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Multi-document YAML text → JSON documents.
fn parse_text(venv: &Path, dir: &Path, text: &[u8]) -> Vec<serde_json::Value> {
    let p = dir.join("parse-me.yaml");
    std::fs::write(&p, text).unwrap();
    parse(venv, &p)
}

#[test]
fn kustomize_tree_renders_what_render_sh_renders() {
    let venv = match validate_venv() {
        Ok(v) => v,
        Err(why) => {
            skip!("no kubernetes-validate: {why}");
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("gitops");
    let nodes = ["cp-1", "cp-2.example.com", "cp-3"];
    let mut args = vec!["--image", "r/nodefit:1", "--start", "23:30"];
    args.extend(nodes);
    let plain = render(&args);
    assert!(plain.status.success(), "{plain:?}");
    let mut kargs = vec!["--kustomize", tree.to_str().unwrap()];
    kargs.extend(&args);
    let out = render(&kargs);
    assert!(out.status.success(), "{out:?}");
    // A second render into the same tree is refused (it would mix two sets of overlays).
    let again = render(&kargs);
    assert_eq!(again.status.code(), Some(2), "{again:?}");

    let built = Command::new(venv.join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/kustomize.py"))
        .arg(&tree)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let rendered = tmp.path().join("kustomized.yaml");
    std::fs::write(&rendered, &built.stdout).unwrap();
    let v = validate(&venv, &rendered);
    assert!(v.status.success(), "kubernetes-validate: {v:?}");
    let text = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert_eq!(
        text.matches("passed for resource cronjob/").count(),
        3,
        "{text}"
    );

    // Object for object, the overlays give what render.sh gives (key order aside: JSON values).
    let from_tree = parse(&venv, &rendered);
    let from_plain = parse_text(&venv, tmp.path(), &plain.stdout);
    assert_eq!(from_tree.len(), from_plain.len());
    for want in &from_plain {
        let name = &want["metadata"]["name"];
        let got = from_tree
            .iter()
            .find(|d| &d["metadata"]["name"] == name && d["kind"] == want["kind"])
            .unwrap_or_else(|| panic!("{name} not in the Kustomize output"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn pod_shell_as_pid1_forwards_sigterm_to_nodefit() {
    if !nix::unistd::geteuid().is_root() {
        skip!("needs root (unshare --pid)");
    }
    let venv = match validate_venv() {
        Ok(v) => v,
        Err(why) => {
            skip!("no PyYAML (kubernetes-validate venv): {why}");
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = render(&[
        "--job",
        "--image",
        "r/nodefit:1",
        "--qualify-args",
        "--rounds 1 --no-etcd",
        "pid1",
    ]);
    assert!(out.status.success(), "{out:?}");
    let docs = parse_text(&venv, tmp.path(), &out.stdout);
    let ctr = &docs[1]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(ctr["command"][0], "/bin/sh");
    let script = ctr["args"][0].as_str().unwrap().to_string();
    let mut env = env_of(ctr);
    // The container's paths, on this machine: the same file system for scratch and "etcd's".
    let d = tmp.path();
    for sub in ["scratch", "etcd-data", "textfile", "work", "bin"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_nodefit"), d.join("bin/nodefit")).unwrap();
    env.insert("NODE_NAME".into(), "pid1".into());
    env.insert(
        "NODEFIT_SCRATCH".into(),
        d.join("scratch").display().to_string(),
    );
    env.insert(
        "NODEFIT_ETCD_DATA".into(),
        d.join("etcd-data").display().to_string(),
    );
    let prom = d.join("textfile/nodefit.prom");
    env.insert("NODEFIT_TEXTFILE".into(), prom.display().to_string());
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // A scratch directory on another disk than etcd's data directory is refused first.
    let mut other = env.clone();
    other.insert("NODEFIT_ETCD_DATA".into(), "/proc".into());
    let refused = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .envs(&other)
        .env("PATH", &path)
        .current_dir(d.join("work"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("is not on the disk of etcd's data directory"));

    // The script as PID 1 of its own PID namespace, as in the pod.
    let mut child = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "/bin/sh", "-c", &script])
        .envs(&env)
        .env("PATH", &path)
        .current_dir(d.join("work"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // PID 1's pid out here: unshare's only child.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid1 = loop {
        let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
            .unwrap_or_default();
        if let Some(p) = kids.split_whitespace().next() {
            break p.parse::<i32>().unwrap();
        }
        assert!(Instant::now() < deadline, "unshare started no child");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let nodefit get into its measurement (it has files in the scratch directory).
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(d.join("scratch")).unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "nodefit never started measuring");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid1),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(25),
            "SIGTERM to PID 1 did not end the pod's command within 25 s (a shell without a trap ignores it)"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!(
        "stopped {:.1} s after SIGTERM: {status:?}\n{err}",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        status.code(),
        Some(130),
        "nodefit's interrupted exit, passed on: {err}"
    );
    let text =
        std::fs::read_to_string(&prom).unwrap_or_else(|e| panic!("{}: {e}\n{err}", prom.display()));
    assert!(
        text.lines()
            .any(|l| l.starts_with("nodefit_run_complete{") && l.ends_with(" 0")),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(d.join("scratch"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn one_at_a_time_moves_on_when_a_job_fails() {
    // A stub kubectl (there is no cluster here): `apply` names the Job, `get` reports cp-1's Job
    // Failed and cp-2's Complete. The loop must not wait out its timeout on the failed one.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.path().join("calls");
    std::fs::write(
        bin.join("kubectl"),
        format!(
            "#!/bin/sh\necho \"$*\" >> {log}\ncase \"$1\" in\n  apply) n=$(grep -o 'name: \"nodefit-[a-z0-9-]*' | head -1 | sed 's/.*\"//'); echo \"job.batch/$n\" ;;\n  get) case \"$4\" in *cp-1*) echo 'Failed ' ;; *) echo 'Complete ' ;; esac ;;\nesac\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("kubectl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let t0 = Instant::now();
    let out = Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/one-at-a-time.sh"),
    )
    .args([
        "--timeout-minutes",
        "5",
        "--image",
        "r/nodefit:1",
        "cp-1",
        "cp-2",
    ])
    .env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .env("NODEFIT_POLL_SECONDS", "1")
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "waited out the timeout"
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text.contains("nodefit: cp-1 job.batch/nodefit-cp-1-"),
        "{text}"
    );
    assert!(text.contains(" Failed"), "{text}");
    assert!(
        text.contains("nodefit: cp-2 ") && text.contains(" Complete"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not complete: cp-1"));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().filter(|l| l.starts_with("apply")).count(),
        2,
        "{calls}"
    );
}
