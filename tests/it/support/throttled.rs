//! A really slow disk: an ext4 file system on a loop device whose writes a cgroup v1 blkio
//! throttle holds to a set number of I/Os per second. Processes started through
//! [`ThrottledDisk::command`] join the throttled cgroup. Everything (mount, loop device, cgroup)
//! is undone on drop. Needs root, losetup, mkfs.ext4 and the cgroup v1 blkio controller.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BLKIO: &str = "/sys/fs/cgroup/blkio";

/// Why the fixture can't run here, if it can't.
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (loop devices and cgroups need root)".into());
    }
    if !Path::new(BLKIO)
        .join("blkio.throttle.write_iops_device")
        .exists()
    {
        return Some(format!("no cgroup v1 blkio throttle at {BLKIO}"));
    }
    for tool in ["losetup", "mkfs.ext4", "mount", "umount"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// A mounted, throttled loop-device file system.
pub struct ThrottledDisk {
    /// Where the file system is mounted.
    pub mountpoint: PathBuf,
    device: String,
    cgroup: PathBuf,
    _dir: tempfile::TempDir,
}

impl ThrottledDisk {
    /// A `size_mb` MB ext4 file system whose writes are held to `write_iops` per second.
    pub fn new(size_mb: u64, write_iops: u64) -> Result<ThrottledDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = dir.path().join("disk.img");
        let f = std::fs::File::create(&image).map_err(|e| e.to_string())?;
        f.set_len(size_mb << 20).map_err(|e| e.to_string())?;
        drop(f);
        let device = run(Command::new("losetup").arg("-f").arg("--show").arg(&image))?;
        let mountpoint = dir.path().join("mnt");
        let cgroup = PathBuf::from(BLKIO).join(format!(
            "nodefit-test-{}-{}",
            std::process::id(),
            device.trim_start_matches("/dev/")
        ));
        // From here on, drop undoes whatever was done.
        let disk = ThrottledDisk {
            mountpoint,
            device,
            cgroup,
            _dir: dir,
        };
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(&disk.device))?;
        std::fs::create_dir(&disk.mountpoint).map_err(|e| e.to_string())?;
        run(Command::new("mount")
            .arg(&disk.device)
            .arg(&disk.mountpoint))?;
        std::fs::create_dir(&disk.cgroup).map_err(|e| format!("{}: {e}", disk.cgroup.display()))?;
        let rdev = std::fs::metadata(&disk.device)
            .map_err(|e| e.to_string())?
            .rdev();
        let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
        std::fs::write(
            disk.cgroup.join("blkio.throttle.write_iops_device"),
            format!("{major}:{minor} {write_iops}"),
        )
        .map_err(|e| format!("blkio.throttle.write_iops_device: {e}"))?;
        Ok(disk)
    }

    /// `program` with `args`, started inside the throttled cgroup.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "echo $$ > '{}/cgroup.procs' && exec \"$@\"",
                self.cgroup.display()
            ))
            .arg("sh")
            .arg(program);
        c
    }
}

impl Drop for ThrottledDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mountpoint).status();
        let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}
