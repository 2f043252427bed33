//! Fingerprint parsers on small fixture trees of /proc and /sys (tests/fixtures/sysfs): KVM guest
//! with a partition, OpenVZ container with barriers off, dm on a partition, LXC, Firecracker, and
//! an empty tree where everything is "unknown" — never a crash.

use nodefit::fingerprint::{
    block_device, cpu_sample, cpu_time_between, virtualization, Fingerprint,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sysfs")
        .join(name)
}

#[test]
fn kvm_guest_with_a_partition() {
    let root = fixture("kvm");
    let f = Fingerprint::read_at(&root, Path::new("/var/lib/etcd"), 8, 1);
    assert_eq!(f.hostname, "node-a");
    assert_eq!(f.kernel, "6.1.0-27-amd64");
    assert_eq!(f.cpu.model, "Intel Xeon Processor (Icelake)");
    assert_eq!(f.cpu.count, Some(2));
    assert_eq!(f.memory.total_bytes, Some(8_148_084 * 1024));
    assert_eq!(f.memory.available_bytes, Some(6_000_000 * 1024));
    assert_eq!(f.virtualization.hypervisor, "kvm");
    assert_eq!(f.virtualization.container, "none");
    assert!(f.virtualization.signals.iter().any(|s| s.contains("QEMU")));
    // The partition resolves to its disk; the disk's queue settings are read.
    let b = &f.block_device;
    assert_eq!(b.name, "sda");
    assert_eq!(b.partition.as_deref(), Some("sda1"));
    assert_eq!(b.dev, "8:1");
    assert_eq!(b.model, "QEMU HARDDISK");
    assert_eq!(b.vendor, "ATA");
    assert_eq!(b.rotational, Some(true));
    assert_eq!(b.scheduler, "mq-deadline");
    assert_eq!(b.logical_block_size, Some(512));
    assert_eq!(b.physical_block_size, Some(4096));
    assert_eq!(b.write_cache, "write back");
    assert_eq!(b.fua, Some(false));
    // /var/lib/etcd is not a mount point of 8:1: the root file system holds it.
    assert_eq!(f.filesystem.fstype, "ext4");
    assert_eq!(f.filesystem.mount_point, "/");
    assert_eq!(f.filesystem.source, "/dev/sda1");
    assert!(!f.filesystem.barriers_disabled);
    assert!(f.warnings().is_empty(), "{:?}", f.warnings());
    // The whole disk directly.
    assert_eq!(block_device(&root, 8, 0).partition, None);
    // Escaped mount points (\040) are matched, on another device.
    let t = nodefit::fingerprint::filesystem(&root, Path::new("/var/lib/my etcd/x"), Some("0:22"));
    assert_eq!(
        (t.fstype.as_str(), t.mount_point.as_str()),
        ("tmpfs", "/var/lib/my etcd")
    );
}

#[test]
fn cpu_steal_and_iowait_from_proc_stat() {
    let a = cpu_sample(&fixture("kvm")).unwrap();
    assert_eq!(a.total, 1000 + 500 + 8000 + 300 + 50 + 150);
    assert_eq!((a.steal, a.iowait, a.cpus), (150, 300, 2));
    let b = nodefit::fingerprint::CpuSample {
        total: a.total + 1000,
        steal: a.steal + 70,
        iowait: a.iowait + 10,
        cpus: 2,
    };
    let t = cpu_time_between(Some(a), Some(b));
    assert_eq!(t.steal_pct, Some(7.0));
    assert_eq!(t.iowait_pct, Some(1.0));
    assert_eq!(t.interval_s, Some(5.0));
}

#[test]
fn openvz_container_with_barriers_off() {
    let root = fixture("openvz");
    let f = Fingerprint::read_at(&root, Path::new("/var/lib/etcd"), 182, 1);
    assert_eq!(f.virtualization.container, "openvz");
    assert_eq!(f.virtualization.hypervisor, "none");
    assert!(f
        .virtualization
        .signals
        .iter()
        .any(|s| s.contains("user_beancounters")));
    assert_eq!(f.cpu.count, Some(1));
    // No /sys at all: the device is unknown, not an error.
    assert_eq!(f.block_device.name, "unknown");
    assert_eq!(f.block_device.rotational, None);
    assert!(f.filesystem.barriers_disabled);
    let w = f.warnings();
    assert!(w.iter().any(|w| w.contains("OpenVZ")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("nobarrier")), "{w:?}");
}

#[test]
fn device_mapper_lists_its_slaves_and_barrier_0_is_flagged() {
    let root = fixture("dm");
    let f = Fingerprint::read_at(&root, Path::new("/var/lib/etcd/member"), 253, 0);
    let b = &f.block_device;
    assert_eq!(b.name, "dm-0");
    assert_eq!(b.stacked.as_deref(), Some("dm"));
    assert_eq!(b.slaves.len(), 1);
    assert_eq!(b.slaves[0].name, "vda");
    assert_eq!(b.slaves[0].partition.as_deref(), Some("vda2"));
    assert_eq!(b.slaves[0].fua, Some(true));
    assert_eq!(b.slaves[0].scheduler, "none");
    assert_eq!(f.filesystem.fstype, "xfs");
    assert_eq!(f.filesystem.mount_point, "/var/lib/etcd");
    assert!(f.filesystem.barriers_disabled);
}

#[test]
fn containers_and_firecracker() {
    let v = virtualization(&fixture("lxc"));
    assert_eq!(v.container, "lxc");
    let v = virtualization(&fixture("firecracker"));
    assert_eq!(v.hypervisor, "firecracker");
}

#[test]
fn missing_files_are_unknown_never_a_crash() {
    let root = fixture("empty");
    let f = Fingerprint::read_at(&root, Path::new("/x"), 8, 1);
    assert_eq!(f.hostname, "unknown");
    assert_eq!(f.kernel, "unknown");
    assert_eq!(f.cpu.model, "unknown");
    assert_eq!(f.cpu.count, None);
    assert_eq!(f.memory.total_bytes, None);
    assert_eq!(f.virtualization.hypervisor, "unknown");
    assert_eq!(f.block_device.name, "unknown");
    assert_eq!(f.filesystem.fstype, "unknown");
    assert!(cpu_sample(&root).is_none());
    // A root that does not exist at all.
    let g = Fingerprint::read_at(Path::new("/nonexistent/nodefit"), Path::new("/"), 0, 0);
    assert_eq!(g.hostname, "unknown");
    // Serialises to an object with every section.
    let v = serde_json::to_value(&f).unwrap();
    for k in [
        "cpu",
        "memory",
        "virtualization",
        "block_device",
        "filesystem",
        "cpu_time",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
}

#[test]
fn live_machine() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fingerprint::collect(dir.path());
    assert!(f.cpu.count.unwrap_or(0) >= 1);
    assert!(f.filesystem.free_bytes.is_some());
    assert_ne!(f.filesystem.fstype, "unknown");
}

/// NVMe keeps model and serial on the controller and the PCI vendor one level up; virtio keeps
/// the vendor id on device/ and the serial on the disk. Both get their maker named.
#[test]
fn nvme_and_virtio_disks_are_named() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let w = |rel: &str, text: &str| {
        let p = r.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // An EBS volume on a Nitro instance.
    let nvme = "sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1";
    w(&format!("{nvme}/dev"), "259:0\n");
    w(
        &format!("{nvme}/device/model"),
        "Amazon Elastic Block Store              \n",
    );
    w(&format!("{nvme}/device/serial"), "vol0123456789abcdef0\n");
    w(&format!("{nvme}/device/device/vendor"), "0x1d0f\n");
    w(&format!("{nvme}/queue/rotational"), "0\n");
    // A virtio-blk disk with a serial.
    let vda = "sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vda";
    w(&format!("{vda}/dev"), "254:0\n");
    w(&format!("{vda}/serial"), "disk-7\n");
    w(&format!("{vda}/device/vendor"), "0x1af4\n");
    std::fs::create_dir_all(r.join("sys/dev/block")).unwrap();
    std::os::unix::fs::symlink(r.join(nvme), r.join("sys/dev/block/259:0")).unwrap();
    std::os::unix::fs::symlink(r.join(vda), r.join("sys/dev/block/254:0")).unwrap();

    let n = block_device(r, 259, 0);
    assert_eq!(n.name, "nvme0n1");
    assert_eq!(n.model, "Amazon Elastic Block Store");
    assert_eq!(n.vendor, "0x1d0f");
    assert_eq!(n.vendor_name.as_deref(), Some("Amazon (EBS/NVMe)"));
    assert_eq!(n.serial.as_deref(), Some("vol0123456789abcdef0"));
    let v = block_device(r, 254, 0);
    assert_eq!(v.vendor_name.as_deref(), Some("virtio (Red Hat)"));
    assert_eq!(v.serial.as_deref(), Some("disk-7"));
    assert_eq!(v.model, "unknown");
    assert_eq!(
        nodefit::fingerprint::pci_vendor_name("0x144D"),
        Some("Samsung")
    );
    assert_eq!(nodefit::fingerprint::pci_vendor_name("0xffff"), None);
}
