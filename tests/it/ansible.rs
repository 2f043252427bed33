//! deploy/ansible end to end: ansible-core (pinned, from PyPI, in a venv under target/ that this
//! test makes and reuses) runs deploy/ansible/qualify.yml against three "nodes" — network
//! namespaces on this machine, each running its own sshd on its own address, reached with a key
//! made here — shipping the artifact scripts/dist.sh packs (what `make dist` ships), with etcd
//! bundled next to nodefit as `make dist` packs it (added here while dist.sh does not yet).
//!
//! Check runs first: the artifact without etcd and the default nodefit_etcd_source stops on the
//! controller naming why; `--check` prints the plan (cluster members from the `etcd` group) and
//! creates nothing on the nodes or the controller. Run 1 (defaults: one node at a time, the
//! bundled etcd, cp-1 with the controller's): every node's result.json and report.html land in
//! reports/<node>/<stamp>/, the comparison is rendered, one verdict line per node is printed, the
//! play fails exactly when a node is UNFIT, the runs did not overlap in time, an existing disk
//! directory keeps its mode, nothing is left on the nodes. Run 2 (an inventory whose `etcd` group,
//! cp-2 and cp-3, differs from kube_control_plane, cp-1 and cp-2; nodefit_parallel=true, cp-1
//! given up on after 4 s mid-measurement, nodefit_cluster=true, nodefit_keep_runs=1): cp-2 and
//! cp-3 run at the same time and get a trend, cp-1 is reported as NO RESULT, the cluster phase
//! probes cp-2 and cp-3 alone (`nodefit etcd --cluster`) and each gets a final verdict line, runs
//! beyond the newest are removed, the play fails, and cp-1's still-running nodefit is stopped and
//! its scratch removed all the same.
//!
//! Layout: a hub namespace with a bridge; three node namespaces, veth to the bridge, addresses
//! 198.18.1.11-13/24 (RFC 2544's benchmarking range, used only inside these namespaces); the
//! controller (ansible-playbook) runs in the hub at 198.18.1.1. Nothing touches the host's own
//! network namespace; the namespaces and sshds are removed on every exit path (Drop). The nodes
//! share this machine's file system, so each gets its own directories through host variables.

use crate::support::venv;
use crate::support::BIN;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ANSIBLE_CORE: &str = "ansible-core==2.17.7";
const NODES: [&str; 3] = ["cp-1", "cp-2", "cp-3"];

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

fn ansible_venv() -> Result<PathBuf, String> {
    venv::pinned(ANSIBLE_CORE)
}

/// The namespaces, their sshds and the scratch tree; all removed on drop.
struct Fleet {
    tmp: tempfile::TempDir,
    hub: String,
    nodes: Vec<(String, String)>, // (namespace, address)
    sshd: Vec<Child>,
    made_run_sshd: bool,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.sshd {
            let _ = c.kill();
            let _ = c.wait();
        }
        for (ns, _) in &self.nodes {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.hub])
            .status();
        if self.made_run_sshd {
            let _ = std::fs::remove_dir("/run/sshd");
        }
    }
}

impl Fleet {
    fn start() -> Fleet {
        let tmp = tempfile::Builder::new()
            .prefix("nodefit-ansible.")
            .tempdir()
            .unwrap();
        let tag = format!("nfa{}", std::process::id() % 100_000);
        let mut f = Fleet {
            tmp,
            hub: format!("{tag}h"),
            nodes: Vec::new(),
            sshd: Vec::new(),
            made_run_sshd: false,
        };
        let hub = f.hub.clone();
        ip(&["netns", "add", &hub]);
        ip(&["-n", &hub, "link", "set", "lo", "up"]);
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &hub, "addr", "add", "198.18.1.1/24", "dev", "br0"]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        let dir = f.tmp.path().to_path_buf();
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join("id")));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join("hostkey")));
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).unwrap();
        // sshd insists on its privilege-separation directory.
        if !Path::new("/run/sshd").exists() {
            std::fs::create_dir_all("/run/sshd").unwrap();
            f.made_run_sshd = true;
        }
        for i in 1..=NODES.len() {
            let ns = format!("{tag}n{i}");
            let addr = format!("198.18.1.{}", 10 + i);
            ip(&["netns", "add", &ns]);
            f.nodes.push((ns.clone(), addr.clone()));
            let (a, b) = (format!("{tag}v{i}"), format!("{tag}p{i}"));
            ip(&[
                "link", "add", &a, "netns", &ns, "type", "veth", "peer", "name", &b, "netns", &hub,
            ]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", &a]);
            ip(&["-n", &ns, "link", "set", &a, "up"]);
            ip(&["-n", &hub, "link", "set", &b, "master", "br0"]);
            ip(&["-n", &hub, "link", "set", &b, "up"]);
            let conf = dir.join(format!("sshd{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "ListenAddress {addr}\nPort 22\nHostKey {d}/hostkey\nPidFile none\n\
                     AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                     StrictModes no\nSubsystem sftp internal-sftp\n",
                    d = dir.display()
                ),
            )
            .unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &ns, "/usr/sbin/sshd", "-D", "-e", "-f"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(
                    std::fs::File::create(dir.join(format!("sshd{i}.log")))
                        .unwrap()
                        .try_clone()
                        .unwrap(),
                )
                .spawn()
                .unwrap();
            f.sshd.push(child);
        }
        // Wait until every sshd accepts connections (from the hub).
        for (_, addr) in &f.nodes {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let ok = Command::new("ip")
                    .args(["netns", "exec", &hub, "bash", "-c"])
                    .arg(format!("exec 3<>/dev/tcp/{addr}/22"))
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ok {
                    break;
                }
                assert!(Instant::now() < deadline, "sshd on {addr} did not start");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        f
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// A kubespray-style inventory: `control` hosts in kube_control_plane, `etcd` hosts in etcd
    /// (indexes into NODES). `extra` is appended to each host's variables by name.
    fn inventory(
        &self,
        name: &str,
        control: &[usize],
        etcd: &[usize],
        extra: &[(&str, &str)],
    ) -> PathBuf {
        let d = self.dir().display().to_string();
        let host = |i: usize| {
            let n = NODES[i];
            let (_, addr) = &self.nodes[i];
            let mut v = format!(
                "{{ansible_host: {addr}, ip: {addr}, nodefit_work_parent: {d}/hosts/{n}, \
                 nodefit_directory: {d}/hosts/{n}/etcd, ansible_remote_tmp: {d}/ansible-remote/{n}"
            );
            for (h, kv) in extra {
                if *h == n {
                    v.push_str(", ");
                    v.push_str(kv);
                }
            }
            v.push('}');
            format!("        {n}: {v}\n")
        };
        let group = |ids: &[usize]| ids.iter().map(|&i| host(i)).collect::<String>();
        let text = format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {d}/id\n    \
             ansible_ssh_common_args: \"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR\"\n    \
             ansible_python_interpreter: /usr/bin/python3\n    nodefit_become: false\n    \
             nodefit_extra_args: \"--quick --rounds 1\"\n  children:\n    kube_control_plane:\n      hosts:\n{}    \
             etcd:\n      hosts:\n{}",
            group(control),
            group(etcd)
        );
        let p = self.dir().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// ansible-playbook in the hub namespace; returns (exit code, stdout + stderr).
    fn playbook(
        &self,
        venv: &Path,
        inventory: &Path,
        artifact: &Path,
        extra: &[&str],
    ) -> (i32, String) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let d = self.dir();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.hub])
            .arg(venv.join("bin/ansible-playbook"))
            .arg("-i")
            .arg(inventory)
            .arg(root.join("deploy/ansible/qualify.yml"))
            .arg("-e")
            .arg(format!("nodefit_artifact={}", artifact.display()))
            .arg("-e")
            .arg(format!(
                "nodefit_reports_dir={}",
                d.join("reports").display()
            ));
        for e in extra {
            if e.starts_with("--") {
                c.arg(e); // an option of ansible-playbook's own, e.g. --check
            } else {
                c.args(["-e", e]);
            }
        }
        c.current_dir(d)
            .env("ANSIBLE_CONFIG", d.join("no-ansible.cfg"))
            .env("ANSIBLE_HOME", d.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", d.join("ansible-local"))
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", d.join("cp"))
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8");
        let out = c.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// What a run left on the "nodes": files and directories under hosts/ (but the hosts'
    /// own directories and `keep`), processes naming hosts/.
    fn leftovers(&self, keep: &[PathBuf]) -> Vec<String> {
        let mut left = Vec::new();
        let hosts = self.dir().join("hosts");
        for e in walk(&hosts) {
            let top = e.parent() == Some(hosts.as_path());
            if !top && !keep.contains(&e) {
                left.push(e.display().to_string());
            }
        }
        let needle = hosts.display().to_string();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                if cmd.contains(&needle) {
                    left.push(format!("process {name}: {cmd}"));
                }
            }
        }
        left
    }
}

/// Every file and directory below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// `artifact` repacked without the etcd `make dist` bundles (an older artifact), SHA256SUMS and the
/// .sha256 remade. Written to `out`, same name.
fn without_bundled_etcd(artifact: &Path, out: &Path) -> PathBuf {
    let name = artifact.file_name().unwrap().to_string_lossy().into_owned();
    let top = name.trim_end_matches(".tar.gz").to_string();
    let stage = out.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(artifact)
        .arg("-C")
        .arg(&stage));
    for f in ["etcd", "LICENSE.etcd"] {
        std::fs::remove_file(stage.join(&top).join(f)).unwrap();
    }
    run(Command::new("sh")
        .arg("-c")
        .arg("find . -type f ! -name SHA256SUMS -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS")
        .current_dir(stage.join(&top)));
    let tarball = out.join(&name);
    run(Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&stage)
        .arg(&top));
    run(Command::new("sh")
        .arg("-c")
        .arg(format!("sha256sum {name} > {name}.sha256"))
        .current_dir(out));
    std::fs::remove_dir_all(&stage).unwrap();
    tarball
}

fn stamps(reports: &Path, node: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(reports.join(node))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // 20261130T021744Z; not trend-charts/
                .filter(|n| n.len() == 16 && n.ends_with('Z') && n.as_bytes()[8] == b'T')
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn load(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn window(doc: &serde_json::Value) -> (std::time::SystemTime, std::time::SystemTime) {
    let t = |k: &str| humantime::parse_rfc3339(doc[k].as_str().unwrap()).unwrap();
    (t("started_at"), t("finished_at"))
}

#[test]
fn playbook_qualifies_three_namespaced_nodes_fetches_compares_and_cleans_up() {
    if !is_root() {
        skip!("needs root (network namespaces, sshd)");
    }
    for (cmd, pkg) in [
        ("ip", "iproute2"),
        ("/usr/sbin/sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
    ] {
        if !have(cmd) {
            skip!("{cmd} is absent (apt-get install -y {pkg}, or scripts/setup.sh --test)");
        }
    }
    let venv = match ansible_venv() {
        Ok(v) => v,
        Err(why) => skip!("no ansible-core: {why}"),
    };
    // What etcd left on this machine before the plays (issue 16: nothing installed, started or left).
    let etcd_traces = || {
        let user = Command::new("getent")
            .args(["passwd", "etcd"])
            .output()
            .is_ok_and(|o| o.status.success());
        let unit = Path::new("/etc/systemd/system/etcd.service").exists();
        (user, unit, Path::new("/var/lib/etcd").exists())
    };
    let before = etcd_traces();
    let fleet = Fleet::start();
    let d = fleet.dir().to_path_buf();
    let reports = d.join("reports");
    for n in NODES {
        // The work directories' parent (nodefit_work_parent), as /var/tmp is on a real node.
        std::fs::create_dir_all(d.join("hosts").join(n)).unwrap();
    }

    // The artifact, packed as `make dist` packs it (etcd beside nodefit); and an older one without.
    let out = run(
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dist.sh"))
            .args(["--binary", BIN, "--out"])
            .arg(d.join("dist")),
    );
    let artifact = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    std::fs::create_dir_all(d.join("dist-bare")).unwrap();
    let bare = without_bundled_etcd(&artifact, &d.join("dist-bare"));

    // Run 2's inventory: kubespray with etcd on other hosts than the control plane.
    let inv2 = fleet.inventory(
        "inventory2.yml",
        &[0, 1],
        &[1, 2],
        &[
            ("cp-1", "nodefit_timeout: 4"),
            ("cp-1", "nodefit_extra_args: \"--rounds 1\""),
            (
                "cp-2",
                "nodefit_extra_args: \"--quick --rounds 1 --no-etcd\"",
            ),
            (
                "cp-3",
                "nodefit_extra_args: [\"--quick\", \"--rounds\", \"1\", \"--no-etcd\"]",
            ),
        ],
    );
    let run2_vars = [
        "nodefit_parallel=true",
        "nodefit_cluster=true",
        "nodefit_keep_runs=1",
        "nodefit_cluster_extra_args='--duration 5s'",
    ];

    // An artifact without etcd and the default nodefit_etcd_source: stopped on the controller.
    let (code, log) = fleet.playbook(&venv, &inv2, &bare, &["--check"]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("has no etcd next to nodefit") && log.contains("nodefit_etcd_source=node"),
        "{log}"
    );
    // The cluster phase without the etcd probe: refused on the controller.
    let (code, log) = fleet.playbook(
        &venv,
        &inv2,
        &artifact,
        &["nodefit_cluster=true", "nodefit_etcd_source=none"],
    );
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("nodefit_cluster=true needs the etcd probe"),
        "{log}"
    );
    // --check: the plan, nothing copied, run or created.
    let mut check = vec!["--check"];
    check.extend(run2_vars);
    let (code, log) = fleet.playbook(&venv, &inv2, &artifact, &check);
    println!("check run:\n{log}");
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("[check mode: nothing is copied, run or created] cp-2:")
            && log.contains("cluster members (etcd group) cp-2=198.18.1.12,cp-3=198.18.1.13"),
        "{log}"
    );
    assert!(!reports.exists(), "check mode wrote reports");
    let left = fleet.leftovers(&[]);
    assert!(left.is_empty(), "check mode left: {left:#?}");
    assert!(
        !log.contains("TASK [nodefit : nodefit | qualify"),
        "check mode ran the measurement\n{log}"
    );

    // Run 1: defaults (one node at a time, the bundled etcd); cp-1 gets the controller's etcd.
    // cp-2's disk directory exists already, with mode 0755: the play leaves it as it is.
    let cp2_dir = d.join("hosts/cp-2/etcd");
    std::fs::create_dir_all(&cp2_dir).unwrap();
    std::fs::set_permissions(
        &cp2_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let inv1 = fleet.inventory(
        "inventory1.yml",
        &[0, 1],
        &[2],
        &[("cp-1", "nodefit_etcd_source: controller")],
    );
    let t0 = Instant::now();
    let (code, log) = fleet.playbook(&venv, &inv1, &artifact, &[]);
    println!("run 1 ({:.0} s):\n{log}", t0.elapsed().as_secs_f64());
    let mut docs = Vec::new();
    let mut any_unfit = false;
    for n in NODES {
        let s = stamps(&reports, n);
        assert_eq!(s.len(), 1, "{n}: {s:?}\n{log}");
        let run_dir = reports.join(n).join(&s[0]);
        assert!(run_dir.join("report.html").is_file(), "{n}: no report.html");
        let doc = load(&run_dir.join("result.json"));
        assert_eq!(doc["node_name"], n);
        assert_eq!(doc["complete"], true, "{n}");
        assert!(doc["etcd"].is_object(), "{n}: the etcd probe ran");
        let verdict = doc["verdict"].as_str().unwrap().to_string();
        assert!(
            log.contains(&format!("nodefit: {n} {verdict} (score ")),
            "{n}: no verdict line for {verdict}\n{log}"
        );
        any_unfit |= verdict == "UNFIT";
        docs.push(doc);
    }
    let stamp1 = stamps(&reports, "cp-1")[0].clone();
    assert!(
        NODES.iter().all(|n| stamps(&reports, n)[0] == stamp1),
        "one stamp per run"
    );
    // Fails exactly when a node is UNFIT (ansible-playbook exits 2 on a failed task).
    assert_eq!(code, if any_unfit { 2 } else { 0 }, "{log}");
    if any_unfit {
        assert!(log.contains("not fit: "), "{log}");
    }
    // One at a time: no two runs overlap.
    let mut w: Vec<_> = docs.iter().map(window).collect();
    w.sort();
    for pair in w.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "runs overlapped: {w:?}");
    }
    // Where etcd came from, said per node.
    assert!(log.contains("(copied from the controller)"), "{log}");
    assert!(
        log.contains("/dist/etcd (bundled in the artifact)"),
        "{log}"
    );
    // The comparison of this run, in HTML and Markdown, names every node.
    let md = std::fs::read_to_string(reports.join(format!("compare-{stamp1}.md"))).unwrap();
    for n in NODES {
        assert!(md.contains(n), "{n} not in the comparison:\n{md}");
    }
    assert!(reports.join(format!("compare-{stamp1}.html")).is_file());
    // The existing directory kept its mode; the ones the play made are gone.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cp2_dir).unwrap().permissions(),
    );
    assert_eq!(mode & 0o7777, 0o755, "cp-2's existing disk directory");
    let left = fleet.leftovers(std::slice::from_ref(&cp2_dir));
    assert!(left.is_empty(), "left behind after run 1: {left:#?}");
    std::fs::remove_dir(&cp2_dir).unwrap();

    // Stamps are to the second: make sure run 2 gets a new one.
    std::thread::sleep(Duration::from_millis(1100));

    // Run 2: all at once; cp-1 measures the full profile and is given up on after 4 s, mid-run;
    // the cluster phase on the etcd group (cp-2, cp-3).
    let t0 = Instant::now();
    let (code, log) = fleet.playbook(&venv, &inv2, &artifact, &run2_vars);
    println!("run 2 ({:.0} s):\n{log}", t0.elapsed().as_secs_f64());
    assert_eq!(code, 2, "cp-1 failed, so the play fails\n{log}");
    // NO RESULT, with the reason the node gave.
    assert!(
        log.contains("nodefit: cp-1 NO RESULT (nodefit | qualify")
            && log.contains("expected time frame (4)"),
        "{log}"
    );
    let mut w2 = Vec::new();
    for n in ["cp-2", "cp-3"] {
        // nodefit_keep_runs=1: only this run's directory is left, after the trend drew both.
        let s = stamps(&reports, n);
        assert_eq!(s.len(), 1, "{n}: {s:?}\n{log}");
        assert!(s[0] > stamp1);
        let doc = load(&reports.join(n).join(&s[0]).join("result.json"));
        w2.push(window(&doc));
        let trend = std::fs::read_to_string(reports.join(n).join("trend.html")).unwrap();
        assert!(trend.contains("<svg"), "{n}: trend without a chart");
        let md = std::fs::read_to_string(reports.join(n).join("trend.md")).unwrap();
        assert!(
            md.contains(&format!("| {n} | wal_fdatasync_p99 | 2 |")),
            "{md}"
        );
        assert!(md.contains("](trend-charts/"), "{md}");
    }
    assert!(
        !reports.join(format!("compare-{stamp1}.md")).exists(),
        "run 1's comparison is beyond nodefit_keep_runs=1"
    );
    assert_eq!(
        stamps(&reports, "cp-1"),
        std::slice::from_ref(&stamp1),
        "cp-1 has no second result"
    );
    // At once: cp-2's and cp-3's runs overlap.
    assert!(
        w2[0].0 < w2[1].1 && w2[1].0 < w2[0].1,
        "parallel runs did not overlap: {w2:?}"
    );
    // The cluster phase on the etcd group (cp-2, cp-3), the probe alone, members and addresses
    // from the inventory; a final verdict per member.
    assert!(
        !reports.join("cluster").join("cp-1").exists(),
        "cp-1 is not in the etcd group"
    );
    for n in ["cp-2", "cp-3"] {
        let s = stamps(&reports.join("cluster"), n);
        assert_eq!(s.len(), 1, "{n}: cluster results {s:?}\n{log}");
        let doc = load(
            &reports
                .join("cluster")
                .join(n)
                .join(&s[0])
                .join("result.json"),
        );
        assert_eq!(doc["etcd"]["target"]["kind"], "cluster", "{n}");
        assert_eq!(doc["cluster"]["self"], n, "{n}");
        // Judged with the profile's etcd and cluster checks only (`etcd --cluster --profile`).
        if doc["complete"] == true {
            assert!(doc["verdict"].is_string(), "{n}: no verdict");
            for c in doc["checks"].as_array().unwrap() {
                let m = c["metric"].as_str().unwrap();
                assert!(
                    m.starts_with("etcd") || m.starts_with("cluster"),
                    "{n}: {m}"
                );
            }
        }
        assert!(
            doc.get("workloads")
                .is_none_or(|w| w.as_array().is_none_or(|a| a.is_empty())),
            "{n}: the cluster phase measured the disk again"
        );
        let members: Vec<&str> = doc["cluster"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["address"].as_str().unwrap())
            .collect();
        assert_eq!(members, ["198.18.1.12", "198.18.1.13"], "{n}");
        assert!(log.contains(&format!("nodefit: {n} (cluster) ")), "{log}");
        assert!(log.contains(&format!("nodefit: {n} final ")), "{log}");
    }
    assert_eq!(
        etcd_traces(),
        before,
        "(etcd user, etcd.service, /var/lib/etcd) changed"
    );
    // cp-1 timed out while nodefit was measuring; the always: block stopped it all the same.
    assert!(log.contains("stopped: nodefit:"), "{log}");
    let left = fleet.leftovers(&[]);
    assert!(left.is_empty(), "left behind after run 2: {left:#?}");
}

/// A fake artifact named `nodefit-<version>-<arch>-linux.tar.gz` in `dir` (a nodefit and an etcd
/// that are never run: check mode stops before the nodes), with its .sha256.
fn fake_artifact(dir: &Path, version: &str, arch: &str) -> PathBuf {
    let top = format!("nodefit-{version}-{arch}-linux");
    let stage = dir.join("stage").join(&top);
    std::fs::create_dir_all(&stage).unwrap();
    for f in ["nodefit", "etcd"] {
        std::fs::write(stage.join(f), "#!/bin/sh\nexit 2\n").unwrap();
    }
    let name = format!("{top}.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&name))
        .arg("-C")
        .arg(dir.join("stage"))
        .arg(&top));
    run(Command::new("sh")
        .arg("-c")
        .arg(format!("sha256sum {name} > {name}.sha256"))
        .current_dir(dir));
    dir.join(name)
}

/// The controller's checks, with no node reached (check mode, local hosts): the newest version
/// is chosen by a version sort, a bad checksum, an unsafe node name and a controller that cannot
/// run the artifact for the report each stop the play in its first task, naming why.
#[test]
fn controller_checks_choose_by_version_and_stop_on_bad_input() {
    let venv = match ansible_venv() {
        Ok(v) => v,
        Err(why) => {
            skip!("no ansible-core: {why}");
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = d.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let arch = String::from_utf8_lossy(&run(Command::new("uname").arg("-m")).stdout)
        .trim()
        .to_string();
    fake_artifact(&dist, "0.9.0", &arch);
    let newest = fake_artifact(&dist, "0.10.0", &arch);
    let inv = d.join("inventory.yml");
    std::fs::write(
        &inv,
        format!(
            "all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: /usr/bin/python3\n    \
             nodefit_become: false\n  children:\n    kube_control_plane:\n      hosts:\n        cp-1: {{nodefit_directory: {0}/cp-1}}\n",
            d.display()
        ),
    )
    .unwrap();
    let playbook = |extra: &[String]| -> (i32, String) {
        let mut c = Command::new(venv.join("bin/ansible-playbook"));
        c.arg("--check")
            .arg("-i")
            .arg(&inv)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/ansible/qualify.yml"))
            .arg("-e")
            .arg(format!("nodefit_dist_dir={}", dist.display()))
            .arg("-e")
            .arg(format!(
                "nodefit_reports_dir={}",
                d.join("reports").display()
            ));
        for e in extra {
            c.args(["-e", e]);
        }
        let out = c
            .current_dir(d)
            .env("ANSIBLE_HOME", d.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", d.join("ansible-local"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // 0.10.0, not 0.9.0 (a name sort's pick).
    let (code, log) = playbook(&[]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!("\"msg\": \"artifact {}\"", newest.display())),
        "{log}"
    );
    assert!(
        log.contains("[check mode: nothing is copied, run or created] cp-1:"),
        "{log}"
    );
    assert!(!d.join("reports").exists() && !d.join("cp-1").exists());

    // An unsafe node name, a wrong checksum, a controller of another architecture.
    let (code, log) = playbook(&["nodefit_node_name=../x".into()]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("cannot be a directory name under reports/"),
        "{log}"
    );
    std::fs::write(
        dist.join("nodefit-0.10.0-".to_string() + &arch + "-linux.tar.gz.sha256"),
        format!("{}  x\n", "0".repeat(64)),
    )
    .unwrap();
    let (code, log) = playbook(&[]);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("differs from its .sha256 file"), "{log}");
    let other = if arch == "aarch64" {
        "x86_64"
    } else {
        "aarch64"
    };
    let foreign = fake_artifact(&dist, "0.11.0", other);
    let (code, log) = playbook(&[format!("nodefit_artifact={}", foreign.display())]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains(&format!("this controller is Linux {arch}"))
            && log.contains("nodefit_render_reports=false"),
        "{log}"
    );
    let (code, log) = playbook(&[
        format!("nodefit_artifact={}", foreign.display()),
        "nodefit_render_reports=false".into(),
    ]);
    assert_eq!(code, 0, "{log}");
}
