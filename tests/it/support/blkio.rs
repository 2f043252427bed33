//! A real slow disk with a schedule: a small ext4 on a loop device, and a cgroup v1 blkio group
//! whose write-IOPS limit on that device the test raises and lowers while a process inside the
//! group runs. Both removed on drop. Needs root, losetup, mkfs.ext4 and the v1 blkio controller.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BLKIO: &str = "/sys/fs/cgroup/blkio";

/// Why the fixture cannot be made here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (loop devices, mounts and cgroups need root)".into());
    }
    if !Path::new(BLKIO)
        .join("blkio.throttle.write_iops_device")
        .exists()
    {
        return Some(format!("no cgroup v1 blkio throttle at {BLKIO}"));
    }
    for tool in ["losetup", "mkfs.ext4", "mount"] {
        let ok = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Some(format!("{tool} is missing"));
        }
    }
    None
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let o = cmd.output().map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// An ext4 on a loop device, mounted, with its own blkio group.
pub struct ThrottledDisk {
    pub mountpoint: tempfile::TempDir,
    device: String,
    /// "MAJ:MIN" of the loop device.
    majmin: String,
    cgroup: PathBuf,
    _image_dir: tempfile::TempDir,
}

impl ThrottledDisk {
    pub fn new(mib: u64, name: &str) -> Result<ThrottledDisk, String> {
        let image_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = image_dir.path().join("fs.img");
        let f = std::fs::File::create(&image).map_err(|e| e.to_string())?;
        f.set_len(mib << 20).map_err(|e| e.to_string())?;
        drop(f);
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(&image))?;
        let device = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image))?;
        let majmin = run(Command::new("lsblk").args(["-dno", "MAJ:MIN", &device]))
            .map(|s| s.replace(' ', ""));
        let mountpoint = tempfile::tempdir().map_err(|e| e.to_string());
        let cgroup = Path::new(BLKIO).join(format!("nodefit-test-{name}-{}", std::process::id()));
        let (majmin, mountpoint) = match (majmin, mountpoint) {
            (Ok(m), Ok(p)) => (m, p),
            (Err(e), _) | (_, Err(e)) => {
                let _ = Command::new("losetup").args(["-d", &device]).output();
                return Err(e);
            }
        };
        if let Err(e) = run(Command::new("mount").arg(&device).arg(mountpoint.path()))
            .and_then(|_| std::fs::create_dir(&cgroup).map_err(|e| e.to_string()))
        {
            let _ = Command::new("umount").arg(mountpoint.path()).output();
            let _ = Command::new("losetup").args(["-d", &device]).output();
            return Err(e);
        }
        Ok(ThrottledDisk {
            mountpoint,
            device,
            majmin,
            cgroup,
            _image_dir: image_dir,
        })
    }

    pub fn dir(&self) -> &Path {
        self.mountpoint.path()
    }

    /// Move process `pid` (all its threads) into the group.
    pub fn enter(&self, pid: u32) -> std::io::Result<()> {
        std::fs::write(self.cgroup.join("cgroup.procs"), pid.to_string())
    }

    /// Limit writes to `iops` a second on the device (0 lifts the limit).
    pub fn limit_write_iops(&self, iops: u64) -> std::io::Result<()> {
        std::fs::write(
            self.cgroup.join("blkio.throttle.write_iops_device"),
            format!("{} {iops}", self.majmin),
        )
    }
}

impl Drop for ThrottledDisk {
    fn drop(&mut self) {
        let _ = self.limit_write_iops(0);
        // The group can only go once empty: move anything left back to the root group.
        if let Ok(pids) = std::fs::read_to_string(self.cgroup.join("cgroup.procs")) {
            for pid in pids.lines() {
                let _ = std::fs::write(Path::new(BLKIO).join("cgroup.procs"), pid);
            }
        }
        let _ = std::fs::remove_dir(&self.cgroup);
        let _ = Command::new("umount").arg(self.mountpoint.path()).output();
        let _ = Command::new("losetup").args(["-d", &self.device]).output();
    }
}
