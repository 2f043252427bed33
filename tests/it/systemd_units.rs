//! deploy/systemd: the nightly service and timer for hosts without Kubernetes pass
//! `systemd-analyze verify` (with the unit's nodefit path pointed at this build's binary, since
//! verify checks that ExecStart is executable), and verify is not a rubber stamp: a unit with an
//! unknown key or a missing binary is reported.

use std::path::Path;
use std::process::Command;

fn have_systemd_analyze() -> bool {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// (exit code, stdout + stderr) of `systemd-analyze verify` on `units` in `dir`.
fn verify(dir: &Path, units: &[&str]) -> (i32, String) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units.iter().map(|u| dir.join(u)))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn service_and_timer_pass_systemd_analyze_verify() {
    if !have_systemd_analyze() {
        skip!("systemd-analyze is absent (apt-get install -y systemd, or scripts/setup.sh --test)");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let tmp = tempfile::tempdir().unwrap();
    let service = std::fs::read_to_string(root.join("nodefit.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/local/bin/nodefit qualify"));
    assert!(service.contains("--prometheus-textfile ${NODEFIT_TEXTFILE}"));
    assert!(service.contains("ExecStartPost=-/usr/local/bin/nodefit trend"));
    assert!(
        service.contains("KillMode=mixed"),
        "SIGTERM reaches nodefit alone"
    );
    std::fs::write(
        tmp.path().join("nodefit.service"),
        service.replace("/usr/local/bin/nodefit", crate::support::BIN),
    )
    .unwrap();
    std::fs::copy(root.join("nodefit.timer"), tmp.path().join("nodefit.timer")).unwrap();
    let (code, text) = verify(tmp.path(), &["nodefit.service", "nodefit.timer"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.trim().is_empty(),
        "systemd-analyze verify complained:\n{text}"
    );

    // A typo and a missing binary are reported.
    std::fs::write(
        tmp.path().join("nodefit.service"),
        service.replace("KillMode=mixed", "KilMode=mixed"),
    )
    .unwrap();
    let (_, text) = verify(tmp.path(), &["nodefit.service"]);
    assert!(text.contains("Unknown key 'KilMode'"), "{text}");
    let missing = tmp.path().join("missing");
    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("nodefit.service"), &service).unwrap();
    if !Path::new("/usr/local/bin/nodefit").exists() {
        let (code, text) = verify(&missing, &["nodefit.service"]);
        assert_ne!(code, 0, "{text}");
        assert!(text.contains("is not executable"), "{text}");
    }
}
