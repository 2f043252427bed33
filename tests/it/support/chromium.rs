//! Debian's headless `chromium`, as the browser tests drive it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Why the browser tests cannot run here, if they cannot.
pub fn missing() -> Option<String> {
    (!Path::new(CHROMIUM).exists())
        .then(|| format!("{CHROMIUM} is absent (apt-get install chromium)"))
}

/// Run it headless on `url` with its own profile dir, no network of its own (no sync, updates
/// or QUIC), logging to stderr; `extra` adds flags (window size, screenshot, DOM dump).
pub fn run(profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Pixel measurements need one CSS pixel per screen pixel and no scrollbar.
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs")
}
