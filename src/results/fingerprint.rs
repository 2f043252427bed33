//! The `fingerprint` section of a results document: what the node is. Collected by
//! [`crate::fingerprint`]; here only the shape, so the document stays a leaf.

use serde::{Deserialize, Serialize};

/// Text used for anything that could not be read.
pub const UNKNOWN: &str = "unknown";

/// The `fingerprint` of a document: typed when this version of nodefit wrote it, kept as found
/// otherwise (the schema allows any object, and reports show whatever a file holds).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FingerprintSection {
    /// Written by nodefit (every key known; missing keys take their defaults).
    Known(Box<Fingerprint>),
    /// Any other object, kept as it was.
    Other(serde_json::Value),
}

impl FingerprintSection {
    /// The section as JSON, for tables that list every key.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            FingerprintSection::Known(f) => serde_json::to_value(f).unwrap_or_default(),
            FingerprintSection::Other(v) => v.clone(),
        }
    }
}

/// The node's fingerprint, as nodefit collects it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Fingerprint {
    /// Host name (/proc/sys/kernel/hostname).
    pub hostname: String,
    /// Kernel release (/proc/sys/kernel/osrelease).
    pub kernel: String,
    /// Processors (/proc/cpuinfo).
    pub cpu: CpuInfo,
    /// Memory (/proc/meminfo).
    pub memory: MemInfo,
    /// Hypervisor and container detection, with the signals that decided it.
    pub virtualization: Virtualization,
    /// The directory measured (as given on the command line).
    pub directory: String,
    /// The block device holding `directory`, resolved through partitions (and dm/md slaves).
    pub block_device: BlockDevice,
    /// The file system holding `directory` (/proc/self/mountinfo, statvfs).
    pub filesystem: Filesystem,
    /// CPU time shares over the run, from /proc/stat deltas between its start and end.
    pub cpu_time: CpuTime,
}

/// Processor facts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuInfo {
    /// First "model name" in /proc/cpuinfo.
    pub model: String,
    /// Number of "processor" entries in /proc/cpuinfo (null when unreadable).
    pub count: Option<u32>,
}

/// Memory facts, bytes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MemInfo {
    /// MemTotal, bytes (null when unreadable).
    pub total_bytes: Option<u64>,
    /// MemAvailable at the start of the run, bytes (null when unreadable).
    pub available_bytes: Option<u64>,
}

/// Virtualisation, as far as the guest can tell.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Virtualization {
    /// "none", "kvm" (KVM/QEMU), "xen", "vmware", "hyperv", "firecracker", "vm" (a hypervisor of unknown
    /// kind) or "unknown".
    pub hypervisor: String,
    /// "none", "openvz", "lxc", "docker", "podman", "container" (of unknown kind).
    pub container: String,
    /// The files and values that led to this answer.
    pub signals: Vec<String>,
}

/// A block device and its queue settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BlockDevice {
    /// Kernel name of the whole device, e.g. "vda", "nvme0n1", "dm-0"; "unknown" when the file
    /// system has no block device (tmpfs, overlay, FUSE).
    pub name: String,
    /// major:minor of the file system's device (st_dev).
    pub dev: String,
    /// The partition the file system is on, when it is one (e.g. "sda1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// device/model.
    pub model: String,
    /// device/vendor.
    pub vendor: String,
    /// queue/rotational: true for spinning disks (null when unknown).
    pub rotational: Option<bool>,
    /// Active I/O scheduler (the bracketed entry of queue/scheduler).
    pub scheduler: String,
    /// queue/logical_block_size, bytes.
    pub logical_block_size: Option<u64>,
    /// queue/physical_block_size, bytes.
    pub physical_block_size: Option<u64>,
    /// queue/write_cache: "write back" (volatile cache, flushes needed) or "write through".
    pub write_cache: String,
    /// queue/fua: whether the device takes Force Unit Access writes (null when unknown).
    pub fua: Option<bool>,
    /// "dm" or "md" when this is a device-mapper or software RAID device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacked: Option<String>,
    /// The devices under a dm/md device (resolved to whole disks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slaves: Vec<BlockDevice>,
}

/// The file system holding the directory.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Filesystem {
    /// Type, e.g. "ext4", "xfs", "tmpfs", "fuse".
    pub fstype: String,
    /// Mount source, e.g. "/dev/vda1".
    pub source: String,
    /// Mount point.
    pub mount_point: String,
    /// Per-mount options (field 6 of mountinfo).
    pub mount_options: String,
    /// Per-superblock options (last field of mountinfo).
    pub super_options: String,
    /// True when write barriers are off (`nobarrier` or `barrier=0`): flushes may not reach media.
    pub barriers_disabled: bool,
    /// Space available to unprivileged users, bytes (null when statvfs failed).
    pub free_bytes: Option<u64>,
    /// Size of the file system, bytes (null when statvfs failed).
    pub total_bytes: Option<u64>,
}

/// CPU time shares between two /proc/stat samples.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuTime {
    /// Stolen time (8th value of the `cpu` line) as a percentage of all CPU time (null when unknown).
    pub steal_pct: Option<f64>,
    /// I/O wait as a percentage of all CPU time (null when unknown).
    pub iowait_pct: Option<f64>,
    /// Seconds between the two samples (from the USER_HZ tick counts; null when unknown).
    pub interval_s: Option<f64>,
}

impl Fingerprint {
    /// A fingerprint with every field present (numbers null), to validate metric paths against.
    pub fn template() -> Fingerprint {
        Fingerprint::default()
    }
}
