//! A throwaway local etcd for the probe: 1, 3 or 5 members of the located etcd (3.4/3.5 flags) on
//! free loopback ports, data dirs inside the directory under test. [`Embedded`] stops every member
//! (SIGTERM, then SIGKILL) and removes its run directory when dropped — on success, error and
//! Ctrl-C alike — and members die with nodefit if it is killed outright (parent-death signal).

use super::EtcdError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running embedded cluster.
#[derive(Debug)]
pub struct Embedded {
    children: Vec<Child>,
    /// The last lines each member wrote (its zap log and any Go panic), kept in memory: on a full
    /// disk under test a log file there could not say why the member died.
    logs: Vec<MemberLog>,
    /// `<directory>/nodefit-etcd-<run-id>`: every member's data dir and log.
    pub run_dir: PathBuf,
    /// Client URLs, one per member.
    pub client_urls: Vec<String>,
    /// The binary's version line.
    pub version: String,
    /// This run's claim on the directory; dropped (after `stop`) when the data dir is gone.
    _record: std::sync::Arc<crate::util::scratch::RunRecord>,
}

fn free_port() -> Result<u16, EtcdError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| EtcdError::Embedded(format!("no free loopback port: {e}")))
}

/// The version line of `bin` (within a timeout), or [`EtcdError::BinaryMissing`].
pub fn etcd_version(bin: &Path) -> Result<String, EtcdError> {
    super::binary::version_line(bin)
}

impl Embedded {
    /// Start `members` members with their data dirs under `directory/nodefit-etcd-<run_id>`.
    pub fn start(
        bin: &Path,
        directory: &Path,
        members: u32,
        run_id: &str,
    ) -> Result<Embedded, EtcdError> {
        let version = etcd_version(bin)?;
        if !directory.is_dir() {
            return Err(EtcdError::Invalid(format!(
                "--directory {} is not a directory",
                directory.display()
            )));
        }
        let (record, run_dir) =
            crate::util::scratch::create_scratch_dir(directory, &format!("nodefit-etcd-{run_id}"))
                .map_err(EtcdError::Embedded)?;
        let mut me = Embedded {
            _record: record,
            children: Vec::new(),
            logs: Vec::new(),
            run_dir,
            client_urls: Vec::new(),
            version,
        };
        let mut peers = Vec::new();
        for i in 0..members {
            let client = format!("http://127.0.0.1:{}", free_port()?);
            let peer = format!("http://127.0.0.1:{}", free_port()?);
            me.client_urls.push(client);
            peers.push((format!("m{i}"), peer));
        }
        let cluster: Vec<String> = peers.iter().map(|(n, p)| format!("{n}={p}")).collect();
        let cluster = cluster.join(",");
        for (i, (name, peer)) in peers.iter().enumerate() {
            let data = me.run_dir.join(format!("{name}.etcd"));
            let mut cmd = Command::new(bin);
            cmd.arg("--name")
                .arg(name)
                .arg("--data-dir")
                .arg(&data)
                .arg("--listen-client-urls")
                .arg(&me.client_urls[i])
                .arg("--advertise-client-urls")
                .arg(&me.client_urls[i])
                .arg("--listen-peer-urls")
                .arg(peer)
                .arg("--initial-advertise-peer-urls")
                .arg(peer)
                .arg("--initial-cluster")
                .arg(&cluster)
                .arg("--initial-cluster-state")
                .arg("new")
                .arg("--initial-cluster-token")
                .arg(format!("nodefit-{run_id}"))
                // Compacted every 5 minutes, as kube-apiserver compacts a real control plane's etcd:
                // without it a long probe's history reaches etcd's 2 GiB quota (at --rate 1000,
                // 1.3 KB puts, after ~17 min) and every put fails "database space exceeded".
                .args(["--auto-compaction-mode", "periodic"])
                .args(["--auto-compaction-retention", "5m"])
                .arg("--logger")
                .arg("zap")
                .arg("--log-outputs")
                .arg("stderr")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            // Own process group: a terminal's Ctrl-C reaches nodefit only, which then reads the
            // final status and stops the members itself. Parent-death signal: if nodefit is
            // killed outright, the members go with it.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| EtcdError::Embedded(format!("cannot start {}: {e}", bin.display())))?;
            me.logs.push(MemberLog::follow(child.stderr.take()));
            me.children.push(child);
        }
        Ok(me)
    }

    /// Fail if a member has exited (with the end of its log).
    pub fn check_alive(&mut self) -> Result<(), EtcdError> {
        for (i, c) in self.children.iter_mut().enumerate() {
            if let Ok(Some(st)) = c.try_wait() {
                let lines = self
                    .logs
                    .get(i)
                    .map(MemberLog::wait_lines)
                    .unwrap_or_default();
                return Err(EtcdError::Embedded(format!(
                    "member m{i} exited ({st}) before it was ready: {}",
                    failure_reason(&lines)
                )));
            }
        }
        Ok(())
    }

    /// Why the members are not ready yet, from their logs: each member's most telling line.
    pub fn log_summary(&self) -> String {
        let parts: Vec<String> = self
            .logs
            .iter()
            .enumerate()
            .map(|(i, l)| format!("m{i}: {}", failure_reason(&l.lines_now())))
            .collect();
        if parts.is_empty() {
            "(no log)".into()
        } else {
            parts.join("; ")
        }
    }

    /// Stop every member (SIGTERM, 5 s grace, SIGKILL) and remove the run directory.
    pub fn stop(&mut self) -> Result<(), String> {
        stop_processes(&mut self.children, Duration::from_secs(5));
        self.children.clear();
        if self.run_dir.exists() {
            std::fs::remove_dir_all(&self.run_dir)
                .map_err(|e| format!("cannot remove {}: {e}", self.run_dir.display()))?;
        }
        Ok(())
    }
}

/// Stop etcd processes: SIGTERM to all, then wait up to `grace` for each before SIGKILL.
pub fn stop_processes(children: &mut [Child], grace: Duration) {
    for c in children.iter() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let deadline = Instant::now() + grace;
    for c in children.iter_mut() {
        loop {
            match c.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
            }
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A member's stderr, read by a thread into a ring of its last lines.
#[derive(Debug, Default)]
pub(crate) struct MemberLog {
    lines: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl MemberLog {
    const KEEP: usize = 200;

    pub(crate) fn follow(stderr: Option<std::process::ChildStderr>) -> MemberLog {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let Some(stderr) = stderr else {
            return MemberLog {
                lines,
                reader: None,
            };
        };
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut l = sink.lock().unwrap_or_else(|p| p.into_inner());
                if l.len() == Self::KEEP {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
        MemberLog {
            lines,
            reader: Some(reader),
        }
    }

    /// The lines kept so far (the member may still be writing).
    pub(crate) fn lines_now(&self) -> Vec<String> {
        let l = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        l.iter().cloned().collect()
    }

    /// The kept lines, once the member (which has exited) has closed its stderr.
    pub(crate) fn wait_lines(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let l = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        l.iter().cloned().collect()
    }
}

/// The line that says why a member died: the last fatal/panic/error line of its log or a Go panic
/// (etcd's way of dying on ENOSPC or a corrupt WAL), shortened to its message and error; else the
/// log's last line.
pub(crate) fn failure_reason(lines: &[String]) -> String {
    let severe = |line: &str| {
        [
            "\"level\":\"fatal\"",
            "\"level\":\"panic\"",
            "\"level\":\"error\"",
        ]
        .iter()
        .any(|k| line.contains(k))
            || line.starts_with("panic:")
            || line.contains("no space left on device")
    };
    let lines: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
    // zap's own line (with "error") says more than the bare "panic: ..." Go prints after it.
    let is_json = |l: &str| l.trim_start().starts_with('{');
    let Some(line) = lines
        .iter()
        .rev()
        .find(|l| severe(l) && is_json(l))
        .or_else(|| lines.iter().rev().find(|l| severe(l)))
        .or(lines.last())
        .map(|l| l.to_string())
    else {
        return "(no log)".into();
    };
    // zap lines are JSON: "msg" and "error" say it; the rest is noise on one line.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
        let msg = v["msg"].as_str().unwrap_or_default();
        let err = v["error"].as_str().unwrap_or_default();
        if !msg.is_empty() {
            return if err.is_empty() {
                msg.to_string()
            } else {
                format!("{msg}: {err}")
            };
        }
    }
    line.chars().take(400).collect()
}
