//! `nodefit --version` and the fleet artifact `scripts/dist.sh` packs (what `make dist` ships):
//! the tarball holds the binary, the pinned etcd beside it with its licence, profiles/, README.md,
//! LICENSE and SHA256SUMS, both checksums verify, the packed binary reports the same version and
//! commit and finds the packed etcd; the glibc floor check refuses a binary that needs a newer glibc.

use crate::support::BIN;
use std::path::Path;
use std::process::Command;

fn head_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

use crate::support::bundled;

#[test]
fn version_names_package_version_and_git_commit_and_the_etcd_beside_it() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = all.lines();
    let text = lines.next().unwrap_or_default().to_string();
    // The etcd the probes would run: the bundled one linked next to the test build.
    let etcd = Path::new(BIN).with_file_name("etcd");
    assert_eq!(
        lines.next(),
        Some(format!("etcd {} ({})", bundled::ETCD_VERSION, etcd.display()).as_str()),
        "{all}"
    );
    let want_prefix = format!("nodefit {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&want_prefix), "{text}");
    match head_commit() {
        // The build stamps the commit it was built at; HEAD may only have moved on since if a
        // commit happened between build and test, which the build script's rerun-if-changed on
        // the ref prevents.
        Some(c) => assert_eq!(text, format!("{want_prefix}{c})")),
        None => eprintln!("not in a git checkout: commit not compared ({text})"),
    }
}

#[test]
fn dist_tarball_holds_binary_profiles_readme_license_and_checksums() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let res = Command::new(root.join("scripts/dist.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "dist.sh failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let arch = String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap();
    let name = format!(
        "nodefit-{}-{}-linux",
        env!("CARGO_PKG_VERSION"),
        arch.trim()
    );
    let tarball = out.path().join(format!("{name}.tar.gz"));
    assert_eq!(
        String::from_utf8_lossy(&res.stdout).trim(),
        tarball.display().to_string()
    );
    assert!(tarball.is_file());
    // No staging directory left behind.
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut want = vec![format!("{name}.tar.gz"), format!("{name}.tar.gz.sha256")];
    want.sort();
    let mut got = leftovers.clone();
    got.sort();
    assert_eq!(got, want);

    // The .sha256 beside the tarball verifies.
    let check = Command::new("sha256sum")
        .args(["-c", &format!("{name}.tar.gz.sha256")])
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // Unpack and look inside.
    let x = tempfile::tempdir().unwrap();
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(x.path())
        .status()
        .unwrap();
    assert!(st.success());
    let top: Vec<_> = std::fs::read_dir(x.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, vec![name.clone()], "one top-level directory");
    let d = x.path().join(&name);
    for f in [
        "nodefit",
        "etcd",
        "LICENSE.etcd",
        "README.md",
        "LICENSE",
        "SHA256SUMS",
    ] {
        assert!(d.join(f).is_file(), "{f} missing");
    }
    // The etcd is the bundled one, byte for byte, and its licence comes with it.
    assert_eq!(
        std::fs::read(d.join("etcd")).unwrap(),
        std::fs::read(bundled::etcd()).unwrap()
    );
    let etcd_license = std::fs::read_to_string(d.join("LICENSE.etcd")).unwrap();
    assert!(etcd_license.contains("Apache License") && etcd_license.contains("Version 2.0"));
    let license = std::fs::read_to_string(d.join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
    for p in std::fs::read_dir(root.join("profiles")).unwrap() {
        let p = p.unwrap();
        let packed = d.join("profiles").join(p.file_name());
        assert_eq!(
            std::fs::read(&packed).unwrap(),
            std::fs::read(p.path()).unwrap(),
            "{} differs",
            packed.display()
        );
    }
    // SHA256SUMS covers every other file and verifies.
    let sums = std::fs::read_to_string(d.join("SHA256SUMS")).unwrap();
    for f in [
        "nodefit",
        "etcd",
        "LICENSE.etcd",
        "README.md",
        "LICENSE",
        "profiles/k8s-control-plane.toml",
    ] {
        assert!(
            sums.lines().any(|l| l.ends_with(&format!("  {f}"))),
            "{f} not in SHA256SUMS:\n{sums}"
        );
    }
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    // The packed binary runs, is the one we built, and finds the packed etcd next to itself (an
    // empty PATH: nothing else to find).
    let v = Command::new(d.join("nodefit"))
        .arg("--version")
        .env("PATH", "")
        .output()
        .unwrap();
    let mine = Command::new(BIN).arg("--version").output().unwrap();
    assert!(v.status.success());
    let v = String::from_utf8_lossy(&v.stdout).into_owned();
    let mine = String::from_utf8_lossy(&mine.stdout).into_owned();
    assert_eq!(v.lines().next(), mine.lines().next());
    assert_eq!(
        v.lines().nth(1),
        Some(
            format!(
                "etcd {} ({})",
                bundled::ETCD_VERSION,
                d.join("etcd").display()
            )
            .as_str()
        ),
        "{v}"
    );
    let p = Command::new(d.join("nodefit"))
        .arg("profiles")
        .output()
        .unwrap();
    assert!(p.status.success());
    assert!(String::from_utf8_lossy(&p.stdout).contains("k8s-control-plane"));
}

#[test]
fn dist_refuses_a_missing_binary_with_exit_2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let res = Command::new(root.join("scripts/dist.sh"))
        .args(["--binary", "/nonexistent/nodefit", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no executable"));
}

/// The ELF check: the test build links against this machine's glibc (newer than 2.17), so a floor of
/// 2.17 refuses it, naming the symbol version and writing nothing; a floor above it lets it through.
#[test]
fn dist_glibc_floor_refuses_a_binary_that_needs_a_newer_glibc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let res = Command::new(root.join("scripts/dist.sh"))
        .args(["--binary", BIN, "--glibc-floor", "2.17", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{err}");
    assert!(
        err.contains("asks for GLIBC_2.") && err.contains("newer than the floor 2.17"),
        "{err}"
    );
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());

    let res = Command::new(root.join("scripts/dist.sh"))
        .args(["--binary", BIN, "--glibc-floor", "99.0", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{err}");
    assert!(
        err.contains("nodefit: newest glibc symbol 2.")
            && err.contains("etcd: newest glibc symbol none (static)"),
        "{err}"
    );
}
