//! What the node is: host, kernel, CPU, memory, virtualisation, the block device and file system
//! under the directory being measured, and CPU steal/iowait across the run. Read from /proc and
//! /sys only (no external commands). Every parser takes a root directory, so tests point them at
//! small fixture trees; a missing or unreadable file gives "unknown" (text) or `null` (numbers),
//! never an error.

use std::path::{Path, PathBuf};

pub use crate::results::fingerprint::*;

/// One reading of the aggregate `cpu` line of /proc/stat, in ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuSample {
    /// Sum of user, nice, system, idle, iowait, irq, softirq, steal (guest time is inside user).
    pub total: u64,
    pub iowait: u64,
    pub steal: u64,
    /// Number of CPUs the total spans (`cpuN` lines).
    pub cpus: u32,
}

fn read(root: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(root.join(rel.trim_start_matches('/')))
        .ok()
        .map(|s| s.trim().to_string())
}

fn text(root: &Path, rel: &str) -> String {
    read_or_unknown(read(root, rel))
}

fn read_or_unknown(v: Option<String>) -> String {
    match v {
        Some(s) if !s.is_empty() => s,
        _ => UNKNOWN.to_string(),
    }
}

/// Read the aggregate CPU line of `ROOT/proc/stat`.
pub fn cpu_sample(root: &Path) -> Option<CpuSample> {
    let s = read(root, "proc/stat")?;
    let mut sample = None;
    let mut cpus = 0;
    for line in s.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let v: Vec<u64> = f.take(8).filter_map(|x| x.parse().ok()).collect();
                if v.len() < 5 {
                    return None;
                }
                let get = |i: usize| v.get(i).copied().unwrap_or(0);
                sample = Some(CpuSample {
                    total: v.iter().sum(),
                    iowait: get(4),
                    steal: get(7),
                    cpus: 0,
                });
            }
            Some(n) if n.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    sample.map(|s| CpuSample { cpus, ..s })
}

/// Shares of steal and iowait between two samples.
pub fn cpu_time_between(a: Option<CpuSample>, b: Option<CpuSample>) -> CpuTime {
    let (Some(a), Some(b)) = (a, b) else {
        return CpuTime::default();
    };
    let dt = b.total.saturating_sub(a.total);
    if dt == 0 {
        return CpuTime::default();
    }
    let pct = |x: u64, y: u64| Some(y.saturating_sub(x) as f64 * 100.0 / dt as f64);
    // USER_HZ is 100 on every Linux architecture nodefit builds for (it is fixed in the ABI).
    let interval = (b.cpus > 0).then(|| dt as f64 / 100.0 / b.cpus as f64);
    CpuTime {
        steal_pct: pct(a.steal, b.steal),
        iowait_pct: pct(a.iowait, b.iowait),
        interval_s: interval,
    }
}

/// Processor model and count from `ROOT/proc/cpuinfo`.
pub fn cpu_info(root: &Path) -> CpuInfo {
    let Some(s) = read(root, "proc/cpuinfo") else {
        return CpuInfo {
            model: UNKNOWN.into(),
            count: None,
        };
    };
    let mut model = None;
    let mut count = 0;
    for line in s.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "processor" => count += 1,
            // x86 "model name"; arm64 kernels print no model, some print "Hardware"/"cpu model".
            "model name" | "cpu model" | "Hardware" if model.is_none() => {
                model = Some(v.trim().to_string())
            }
            _ => {}
        }
    }
    CpuInfo {
        model: read_or_unknown(model),
        count: (count > 0).then_some(count),
    }
}

/// MemTotal and MemAvailable from `ROOT/proc/meminfo`.
pub fn mem_info(root: &Path) -> MemInfo {
    let s = read(root, "proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        s.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some(kb * 1024)
        })
    };
    MemInfo {
        total_bytes: field("MemTotal"),
        available_bytes: field("MemAvailable"),
    }
}

/// Hypervisor and container detection from files under `root`.
pub fn virtualization(root: &Path) -> Virtualization {
    let mut signals = Vec::new();
    // Containers first: a container's DMI and cpuinfo describe the host's hypervisor.
    let mut container = "none".to_string();
    if root.join("proc/user_beancounters").exists() {
        signals.push("/proc/user_beancounters exists".to_string());
        container = "openvz".into();
    }
    if root.join("proc/vz").exists() {
        // /proc/vz exists on the OpenVZ host too; /proc/bc only there.
        if root.join("proc/bc").exists() {
            signals.push("/proc/vz and /proc/bc exist (OpenVZ host)".to_string());
        } else {
            signals.push("/proc/vz exists without /proc/bc".to_string());
            container = "openvz".into();
        }
    }
    if container == "none" {
        if let Ok(env) = std::fs::read(root.join("proc/1/environ")) {
            for var in env.split(|b| *b == 0) {
                if let Some(v) = var.strip_prefix(b"container=") {
                    let v = String::from_utf8_lossy(v).to_string();
                    signals.push(format!("/proc/1/environ container={v}"));
                    container = match v.as_str() {
                        "lxc" | "lxc-libvirt" => "lxc".into(),
                        "docker" => "docker".into(),
                        "podman" => "podman".into(),
                        _ => "container".into(),
                    };
                }
            }
        }
    }
    if container == "none" && root.join(".dockerenv").exists() {
        signals.push("/.dockerenv exists".to_string());
        container = "docker".into();
    }
    if container == "none" && root.join("run/.containerenv").exists() {
        signals.push("/run/.containerenv exists".to_string());
        container = "podman".into();
    }

    let vendor = read(root, "sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = read(root, "sys/class/dmi/id/product_name").unwrap_or_default();
    let bios = read(root, "sys/class/dmi/id/bios_vendor").unwrap_or_default();
    if !vendor.is_empty() || !product.is_empty() {
        signals.push(format!(
            "DMI sys_vendor='{vendor}' product_name='{product}'"
        ));
    }
    let dmi = format!("{vendor} {product} {bios}").to_lowercase();
    let cpuinfo = read(root, "proc/cpuinfo");
    let hv_flag = cpuinfo.as_deref().is_some_and(|c| {
        c.lines().any(|l| {
            (l.starts_with("flags") || l.starts_with("Features"))
                && l.split_whitespace().any(|w| w == "hypervisor")
        })
    });
    if hv_flag {
        signals.push("cpuinfo flags include 'hypervisor'".to_string());
    }
    let xen_type = read(root, "sys/hypervisor/type").unwrap_or_default();
    if !xen_type.is_empty() {
        signals.push(format!("/sys/hypervisor/type = {xen_type}"));
    }
    let cmdline = read(root, "proc/cmdline").unwrap_or_default();
    let hypervisor = if dmi.contains("vmware") {
        "vmware"
    } else if dmi.contains("microsoft corporation") && dmi.contains("virtual") {
        "hyperv"
    } else if dmi.contains("xen") || xen_type == "xen" {
        "xen"
    } else if dmi.contains("firecracker") {
        "firecracker"
    } else if dmi.contains("kvm")
        || dmi.contains("qemu")
        || dmi.contains("bochs")
        || dmi.contains("amazon ec2")
        || dmi.contains("google")
    {
        // QEMU's machine types and the big clouds' KVM guests: one class for etcd's purposes.
        "kvm"
    } else if hv_flag && cmdline.contains("virtio_mmio.device=") {
        // Firecracker has no DMI and hands its virtio devices over on the kernel command line.
        signals.push("kernel command line has virtio_mmio.device= (no DMI)".to_string());
        "firecracker"
    } else if hv_flag {
        "vm"
    } else if cpuinfo.is_none() && vendor.is_empty() {
        UNKNOWN
    } else {
        "none"
    };
    Virtualization {
        hypervisor: hypervisor.to_string(),
        container,
        signals,
    }
}

/// The whole block device behind `major:minor`, resolved through a partition to its disk, with
/// dm/md slaves listed.
pub fn block_device(root: &Path, major: u32, minor: u32) -> BlockDevice {
    let dev = format!("{major}:{minor}");
    let link = root.join(format!("sys/dev/block/{dev}"));
    match std::fs::canonicalize(&link) {
        Ok(dir) => {
            let mut d = describe(root, &dir, 0);
            d.dev = dev;
            d
        }
        Err(_) => BlockDevice {
            name: UNKNOWN.into(),
            dev,
            model: UNKNOWN.into(),
            vendor: UNKNOWN.into(),
            scheduler: UNKNOWN.into(),
            write_cache: UNKNOWN.into(),
            ..BlockDevice::default()
        },
    }
}

fn describe(root: &Path, dir: &Path, depth: u32) -> BlockDevice {
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| UNKNOWN.into())
    };
    let (disk, partition) = if dir.join("partition").exists() {
        match dir.parent() {
            Some(parent) => (parent.to_path_buf(), Some(name_of(dir))),
            None => (dir.to_path_buf(), None),
        }
    } else {
        (dir.to_path_buf(), None)
    };
    let attr = |rel: &str| {
        std::fs::read_to_string(disk.join(rel))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let num = |rel: &str| attr(rel).and_then(|s| s.parse::<u64>().ok());
    let scheduler = attr("queue/scheduler")
        .map(|s| {
            s.split_whitespace()
                .find(|w| w.starts_with('['))
                .map(|w| w.trim_matches(|c| c == '[' || c == ']').to_string())
                .unwrap_or(s)
        })
        .unwrap_or_else(|| UNKNOWN.into());
    let stacked = if disk.join("dm").is_dir() {
        Some("dm".to_string())
    } else if disk.join("md").is_dir() {
        Some("md".to_string())
    } else {
        None
    };
    let mut slaves = Vec::new();
    if depth < 4 {
        if let Ok(rd) = std::fs::read_dir(disk.join("slaves")) {
            let mut paths: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::canonicalize(e.path()).ok())
                .collect();
            paths.sort();
            for p in paths {
                slaves.push(describe(root, &p, depth + 1));
            }
        }
    }
    let _ = root;
    BlockDevice {
        name: name_of(&disk),
        dev: attr("dev").unwrap_or_else(|| UNKNOWN.into()),
        partition,
        model: read_or_unknown(attr("device/model")),
        vendor: read_or_unknown(attr("device/vendor")),
        rotational: num("queue/rotational").map(|v| v == 1),
        scheduler,
        logical_block_size: num("queue/logical_block_size"),
        physical_block_size: num("queue/physical_block_size"),
        write_cache: read_or_unknown(attr("queue/write_cache")),
        fua: num("queue/fua").map(|v| v == 1),
        stacked,
        slaves,
    }
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount holding `dir` (an absolute, canonical path) from `ROOT/proc/self/mountinfo`: among
/// mounts of device `dev` ("major:minor") the longest mount point that is a prefix of `dir`;
/// when none matches the device (btrfs subvolumes report their own st_dev), the longest prefix.
pub fn filesystem(root: &Path, dir: &Path, dev: Option<&str>) -> Filesystem {
    let unknown = Filesystem {
        fstype: UNKNOWN.into(),
        source: UNKNOWN.into(),
        mount_point: UNKNOWN.into(),
        mount_options: UNKNOWN.into(),
        super_options: UNKNOWN.into(),
        ..Filesystem::default()
    };
    let Some(info) = read(root, "proc/self/mountinfo") else {
        return unknown;
    };
    struct Mount {
        dev: String,
        point: String,
        opts: String,
        fstype: String,
        source: String,
        sopts: String,
    }
    let mounts: Vec<Mount> = info
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            Some(Mount {
                dev: pre.get(2)?.to_string(),
                point: unescape(pre.get(4)?),
                opts: pre.get(5)?.to_string(),
                fstype: post.first()?.to_string(),
                source: unescape(post.get(1).copied().unwrap_or(UNKNOWN)),
                sopts: post.get(2).copied().unwrap_or("").to_string(),
            })
        })
        .collect();
    let under = |m: &Mount| dir.starts_with(Path::new(&m.point));
    let best = |same_dev: bool| {
        mounts
            .iter()
            .filter(|m| under(m) && (!same_dev || Some(m.dev.as_str()) == dev))
            // Later mounts shadow earlier ones at the same point: prefer the last, longest.
            .enumerate()
            .max_by_key(|(i, m)| (m.point.len(), *i))
            .map(|(_, m)| m)
    };
    let Some(m) = best(true).or_else(|| best(false)) else {
        return unknown;
    };
    let no_barrier = |o: &str| o.split(',').any(|x| x == "nobarrier" || x == "barrier=0");
    Filesystem {
        fstype: m.fstype.clone(),
        source: m.source.clone(),
        mount_point: m.point.clone(),
        mount_options: m.opts.clone(),
        super_options: m.sopts.clone(),
        barriers_disabled: no_barrier(&m.opts) || no_barrier(&m.sopts),
        free_bytes: None,
        total_bytes: None,
    }
}

impl Fingerprint {
    /// Everything except CPU time, read under `root` for a directory on device `major:minor`.
    pub fn read_at(root: &Path, dir: &Path, major: u32, minor: u32) -> Fingerprint {
        let dev = format!("{major}:{minor}");
        Fingerprint {
            hostname: text(root, "proc/sys/kernel/hostname"),
            kernel: text(root, "proc/sys/kernel/osrelease"),
            cpu: cpu_info(root),
            memory: mem_info(root),
            virtualization: virtualization(root),
            directory: dir.display().to_string(),
            block_device: block_device(root, major, minor),
            filesystem: filesystem(root, dir, Some(&dev)),
            cpu_time: CpuTime::default(),
        }
    }

    /// The live fingerprint of this machine for `dir` (free space from statvfs).
    pub fn collect(dir: &Path) -> Fingerprint {
        let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let (major, minor) = match nix::sys::stat::stat(&abs) {
            Ok(st) => (libc::major(st.st_dev), libc::minor(st.st_dev)),
            Err(_) => (0, 0),
        };
        let mut f = Fingerprint::read_at(Path::new("/"), &abs, major, minor);
        f.directory = dir.display().to_string();
        if let Ok(s) = nix::sys::statvfs::statvfs(&abs) {
            let frag = s.fragment_size();
            f.filesystem.free_bytes = Some(s.blocks_available() * frag);
            f.filesystem.total_bytes = Some(s.blocks() * frag);
        }
        f
    }

    /// Warnings the fingerprint alone justifies (shared-kernel containers, barriers off).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.virtualization.container == "openvz" {
            w.push("this is an OpenVZ container: it shares the kernel and page cache with its neighbours, and the field advises against running etcd on OpenVZ".to_string());
        } else if self.virtualization.container != "none" {
            w.push(format!(
                "running inside a {} container: the disk and CPU figures are shared with the host and its other tenants",
                self.virtualization.container
            ));
        }
        if self.filesystem.barriers_disabled {
            w.push(format!(
                "{} is mounted with write barriers off ({}): flushes may not reach stable storage, so fsync figures overstate durability",
                self.filesystem.mount_point,
                if self.filesystem.mount_options.contains("barrier") {
                    &self.filesystem.mount_options
                } else {
                    &self.filesystem.super_options
                }
            ));
        }
        w
    }

    /// One line for the terminal: where `--directory` lives.
    pub fn describe_disk(&self) -> String {
        let b = &self.block_device;
        let f = &self.filesystem;
        let kind = match b.rotational {
            Some(true) => "rotational",
            Some(false) => "non-rotational",
            None => "rotational: unknown",
        };
        let dev = if b.name == UNKNOWN {
            format!("no block device ({})", b.dev)
        } else {
            format!(
                "/dev/{}{} ({}, model {}, {kind}, write cache {}, scheduler {})",
                b.name,
                b.partition
                    .as_ref()
                    .map(|p| format!(" partition {p}"))
                    .unwrap_or_default(),
                b.dev,
                b.model,
                b.write_cache,
                b.scheduler
            )
        };
        format!(
            "{} is on {} mounted at {} from {} — {dev}",
            self.directory, f.fstype, f.mount_point, f.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\"), "/end\\");
    }

    #[test]
    fn cpu_time_from_two_samples() {
        let a = CpuSample {
            total: 1000,
            iowait: 10,
            steal: 0,
            cpus: 2,
        };
        let b = CpuSample {
            total: 1200,
            iowait: 30,
            steal: 10,
            cpus: 2,
        };
        let t = cpu_time_between(Some(a), Some(b));
        assert_eq!(t.steal_pct, Some(5.0));
        assert_eq!(t.iowait_pct, Some(10.0));
        assert_eq!(t.interval_s, Some(1.0));
        assert_eq!(cpu_time_between(None, Some(b)), CpuTime::default());
    }
}
