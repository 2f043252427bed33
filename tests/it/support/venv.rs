//! A Python venv under target/ holding one pinned PyPI package, made once and reused (a
//! `.complete` marker is written only after pip succeeded).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Tests in this binary that want the same venv make it one at a time (two `python3 -m venv` on one
/// directory at once fail with "File exists").
static MAKING: Mutex<()> = Mutex::new(());

/// The venv for `requirement` ("name==version"), or why it cannot be made here.
pub fn pinned(requirement: &str) -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("venv-{}", requirement.replace("==", "-")));
    let marker = venv.join(".complete");
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|p| p.into_inner());
    if marker.is_file() {
        return Ok(venv);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("{python} -m venv: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{python} -m venv failed (apt-get install python3-venv): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", requirement])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&venv);
        return Err(format!(
            "pip install {requirement} failed (no PyPI?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::write(&marker, requirement).map_err(|e| e.to_string())?;
    Ok(venv)
}
