//! Test fixture: N "nodes" as network namespaces joined by a bridge, with optional added delay.
//!
//! Layout (all created by the fixture, all removed when it is dropped — also when a test panics):
//! - a hub namespace `nf<pid>x<k>h` holding the bridge `br0`;
//! - node namespaces `nf<pid>x<k>n<i>`, each with `lo` up and `eth0` = 198.18.0.(10+i)/24
//!   (198.18.0.0/15 is the benchmarking range of RFC 2544: used only inside these namespaces);
//! - every node's `eth0` is one end of a veth pair whose other end `p<i>` sits in the hub. For a
//!   node without delay `p<i>` is a bridge port. For a node D ms away, `p<i>` is not: a second veth
//!   pair `q<i>`–`r<i>` in the hub has `r<i>` on the bridge, and an AF_PACKET forwarder (threads of
//!   the test process, sockets opened inside the hub with setns) copies every frame between `p<i>`
//!   and `q<i>`, holding each one D ms. A round trip to that node therefore costs ≈ 2·D.
//!
//! Offloads and tx checksumming are off on every veth end (`ethtool -K … tx off tso off gso off gro
//! off`): the forwarder then only ever sees complete, checksummed, MTU-sized frames.
//!
//! Nothing touches the host's own network namespace. Needs root, `ip` and `ethtool`;
//! [`Netns::new`] returns `None` with a printed reason otherwise (the test then skips).

#![allow(dead_code)]

use super::bundled;
use std::collections::{BTreeMap, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Frames held by a forwarder, each with the time it is due out.
type FrameQueue = (Mutex<VecDeque<(Instant, Vec<u8>)>>, Condvar);

/// The bundled etcd (what nodefit finds next to itself), for tests that wrap it.
pub fn bundled_etcd() -> std::path::PathBuf {
    bundled::etcd()
}

/// One node: a namespace and its address.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub ns: String,
    pub addr: String,
    /// The fixture's cluster secret file (one for every node), passed to every command as
    /// `NODEFIT_CLUSTER_SECRET_FILE`: cluster runs are authenticated, as on real nodes.
    pub secret_file: std::path::PathBuf,
}

/// Write `text` as a cluster secret file `dir/name` (mode 0600).
pub fn write_secret(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).expect("secret file");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    p
}

impl Node {
    /// `ip netns exec <ns> <program>`: the program runs in this node's namespace (ip execs it, so
    /// the child's pid is the program's), with the fixture's cluster secret in its environment.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c.env("NODEFIT_CLUSTER_SECRET_FILE", &self.secret_file);
        c
    }

    /// The bundled etcdctl, run in this node's namespace.
    pub fn etcdctl(&self) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(bundled::etcdctl());
        c
    }

    /// Pids of every process in this node's namespace.
    pub fn pids(&self) -> Vec<i32> {
        ns_pids(&self.ns)
    }

    /// Pids of the `etcd` processes in this node's namespace.
    pub fn etcd_pids(&self) -> Vec<i32> {
        self.pids()
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "etcd")
            })
            .collect()
    }

    /// nodefit's cluster ready keys this node's member holds; 0 while it does not answer.
    pub fn ready_keys(&self) -> usize {
        self.keys("/nodefit-cluster/ready/").len()
    }

    /// How many keys the etcd load of each node has put (`/nodefit/<run>/<writer>/…`), by
    /// writer, as this node's member holds them; none while it does not answer.
    pub fn load_keys(&self) -> BTreeMap<String, usize> {
        let mut by_writer = BTreeMap::new();
        for k in self.keys("/nodefit/") {
            if let Some(writer) = k.split('/').nth(3) {
                *by_writer.entry(writer.to_string()).or_insert(0) += 1;
            }
        }
        by_writer
    }

    /// The keys under `prefix` this node's member holds (etcdctl through the default client URL,
    /// 127.0.0.1:12379); none while it does not answer.
    fn keys(&self, prefix: &str) -> Vec<String> {
        self.etcdctl()
            .args([
                "--endpoints",
                "http://127.0.0.1:12379",
                "get",
                "--prefix",
                "--keys-only",
                prefix,
            ])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// TCP sockets listening in this node's namespace (`ss -Hltn`, one line each).
    pub fn listeners(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "ss", "-Hltn"])
            .output()
            .expect("ss runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Run `f` on a thread that has entered this node's namespace (sockets it opens live there).
    pub fn in_ns<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let ns = self.ns.clone();
        std::thread::spawn(move || {
            enter(&ns);
            f()
        })
        .join()
        .expect("thread in namespace")
    }
}

/// The fixture.
pub struct Netns {
    pub hub: String,
    pub nodes: Vec<Node>,
    /// Holds the cluster secret file.
    secrets: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// 64 random bits from the kernel (the tests need no random-number crate for this).
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: b is a valid writable buffer of 8 bytes.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 8, 0) };
    assert_eq!(n, 8, "getrandom");
    u64::from_ne_bytes(b)
}

fn ns_pids(ns: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Enter namespace `ns` on the calling thread only.
fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("namespace exists");
    // SAFETY: setns on a valid namespace fd affects only the calling thread's network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

impl Netns {
    /// `n` nodes; `delay_ms[i]` (missing = 0) is the one-way delay added to node i's link.
    /// `None` (with the reason printed) when this machine can't host the fixture.
    pub fn new(n: usize, delay_ms: &[u64]) -> Option<Netns> {
        if !nix::unistd::Uid::effective().is_root() {
            super::skip::skipped("network namespaces need root (CI runs the tests as root)");
            return None;
        }
        for tool in ["ip", "ethtool"] {
            if !have(tool) {
                super::skip::skipped(format!(
                    "'{tool}' not installed (scripts/setup.sh --test installs it)"
                ));
                return None;
            }
        }
        let k = SEQ.fetch_add(1, Ordering::SeqCst);
        let base = format!("nf{}x{k}", std::process::id());
        let secrets = tempfile::tempdir().expect("temp dir");
        let secret_file = write_secret(
            secrets.path(),
            "cluster-secret",
            &format!("{:016x}{:016x}", rand_u64(), rand_u64()),
        );
        let mut me = Netns {
            hub: format!("{base}h"),
            nodes: (0..n)
                .map(|i| Node {
                    name: format!("cp{}", i + 1),
                    ns: format!("{base}n{i}"),
                    addr: format!("198.18.0.{}", 10 + i),
                    secret_file: secret_file.clone(),
                })
                .collect(),
            secrets,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        };
        // On error `me` is dropped, which removes whatever was created.
        if let Err(e) = me.build(delay_ms) {
            panic!("network namespace fixture: {e}");
        }
        Some(me)
    }

    fn build(&mut self, delay_ms: &[u64]) -> Result<(), String> {
        let hub = self.hub.clone();
        run(&["ip", "netns", "add", &hub])?;
        run(&["ip", "-n", &hub, "link", "set", "lo", "up"])?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"])?;
        let off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"];
        let ethtool = |ns: &str, dev: &str| -> Result<(), String> {
            let mut a = vec!["ip", "netns", "exec", ns, "ethtool", "-K", dev];
            a.extend(off);
            run(&a)
        };
        for (i, node) in self.nodes.clone().iter().enumerate() {
            let ns = node.ns.as_str();
            run(&["ip", "netns", "add", ns])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            let p = format!("p{i}");
            run(&[
                "ip", "-n", &hub, "link", "add", &p, "type", "veth", "peer", "name", "eth0",
                "netns", ns,
            ])?;
            ethtool(ns, "eth0")?;
            ethtool(&hub, &p)?;
            let cidr = format!("{}/24", node.addr);
            run(&["ip", "-n", ns, "addr", "add", &cidr, "dev", "eth0"])?;
            run(&["ip", "-n", ns, "link", "set", "eth0", "up"])?;
            let d = delay_ms.get(i).copied().unwrap_or(0);
            if d == 0 {
                run(&["ip", "-n", &hub, "link", "set", &p, "master", "br0", "up"])?;
            } else {
                let q = format!("q{i}");
                let r = format!("r{i}");
                run(&[
                    "ip", "-n", &hub, "link", "add", &q, "type", "veth", "peer", "name", &r,
                ])?;
                ethtool(&hub, &q)?;
                ethtool(&hub, &r)?;
                run(&["ip", "-n", &hub, "link", "set", &r, "master", "br0", "up"])?;
                for dev in [&p, &q] {
                    run(&["ip", "-n", &hub, "link", "set", dev, "promisc", "on", "up"])?;
                }
                self.forward(&p, &q, Duration::from_millis(d))?;
            }
        }
        Ok(())
    }

    /// Start the delaying forwarder between hub interfaces `a` and `b` (both directions).
    fn forward(&mut self, a: &str, b: &str, delay: Duration) -> Result<(), String> {
        let hub = self.hub.clone();
        let (a2, b2) = (a.to_string(), b.to_string());
        let (sa, sb) = std::thread::spawn(move || {
            enter(&hub);
            (packet_socket(&a2), packet_socket(&b2))
        })
        .join()
        .map_err(|_| "forwarder setup thread panicked".to_string())?;
        let (sa, sb) = (Arc::new(sa?), Arc::new(sb?));
        for (from, to) in [(sa.clone(), sb.clone()), (sb, sa)] {
            let q: Arc<FrameQueue> = Arc::new((Mutex::new(VecDeque::new()), Condvar::new()));
            let stop = self.stop.clone();
            let rq = q.clone();
            self.threads.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: buf is a valid writable buffer of the given length.
                    let n = unsafe {
                        libc::recv(from.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
                    };
                    if n <= 0 {
                        continue; // receive timeout: look at the stop flag again
                    }
                    let due = Instant::now() + delay;
                    let (m, cv) = &*rq;
                    m.lock()
                        .unwrap()
                        .push_back((due, buf[..n as usize].to_vec()));
                    cv.notify_one();
                }
                rq.1.notify_all();
            }));
            let stop = self.stop.clone();
            self.threads.push(std::thread::spawn(move || {
                let (m, cv) = &*q;
                loop {
                    let item = {
                        let mut g = m.lock().unwrap();
                        loop {
                            if let Some(x) = g.pop_front() {
                                break Some(x);
                            }
                            if stop.load(Ordering::Relaxed) {
                                break None;
                            }
                            g = cv.wait_timeout(g, Duration::from_millis(100)).unwrap().0;
                        }
                    };
                    let Some((due, frame)) = item else { return };
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    // SAFETY: frame is a valid readable buffer of the given length.
                    unsafe {
                        libc::send(to.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0);
                    }
                }
            }));
        }
        Ok(())
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("node exists")
    }

    /// Wait (up to 90 s) until the etcd load of every node has put `n` keys, as `asked`'s member
    /// holds them: the probe is under way on all of them.
    pub fn wait_for_load(&self, asked: &Node, n: usize) {
        let what = format!("{n} keys from the etcd load of every node");
        super::wait::wait_until(Duration::from_secs(90), &what, || {
            let put = asked.load_keys();
            self.nodes
                .iter()
                .all(|w| put.get(&w.name).is_some_and(|&k| k >= n))
        });
    }

    /// `cp1=198.18.0.10,cp2=…` for `--cluster`.
    pub fn cluster_spec(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}={}", n.name, n.addr))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// An AF_PACKET raw socket bound to `dev` (in the calling thread's namespace) that does not see
/// its own sends and wakes every 100 ms.
fn packet_socket(dev: &str) -> Result<OwnedFd, String> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto as i32) };
    if fd < 0 {
        return Err(format!(
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd is a fresh valid descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(dev).map_err(|e| e.to_string())?;
    // SAFETY: name is a valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(format!("no interface {dev}"));
    }
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll of the given size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(format!("bind {dev}: {}", std::io::Error::last_os_error()));
    }
    let one: libc::c_int = 1;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: valid option values of the right sizes. PACKET_IGNORE_OUTGOING (23, Linux 4.20).
    unsafe {
        if libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            23,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        ) != 0
        {
            return Err(format!(
                "PACKET_IGNORE_OUTGOING: {}",
                std::io::Error::last_os_error()
            ));
        }
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    Ok(fd)
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let all: Vec<String> = self
            .nodes
            .iter()
            .map(|n| n.ns.clone())
            .chain([self.hub.clone()])
            .collect();
        for ns in &all {
            for pid in ns_pids(ns) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for ns in &all {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// TCP handshake round trips from `from` to `addr:port` (a listener must be there), `n` samples,
/// nanoseconds, sorted.
pub fn tcp_rtts(from: &Node, addr: &str, port: u16, n: usize) -> Vec<u64> {
    let target: std::net::SocketAddr = format!("{addr}:{port}").parse().unwrap();
    from.in_ns(move || {
        let mut v: Vec<u64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                let s = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5))
                    .expect("connect");
                let d = t.elapsed().as_nanos() as u64;
                drop(s);
                d
            })
            .collect();
        v.sort_unstable();
        v
    })
}

/// A TCP listener in `node`'s namespace on `port` that accepts (and drops) connections until the
/// returned flag is raised.
pub fn tcp_sink(node: &Node, port: u16) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let ns = node.ns.clone();
    let addr = format!("{}:{port}", node.addr);
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        enter(&ns);
        let l = std::net::TcpListener::bind(&addr).expect("bind in namespace");
        l.set_nonblocking(true).unwrap();
        tx.send(()).unwrap();
        while !s2.load(Ordering::Relaxed) {
            match l.accept() {
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    rx.recv().unwrap();
    (stop, h)
}
