//! Workload options in fio's vocabulary, in two stages (as ripgrep does): [`DiskOptions`] as typed on
//! the command line or in a profile, and [`JobSpec`], validated with every default filled in. The
//! resolved spec is recorded in results JSON so a result says exactly what produced it.

use crate::error::Error;
use crate::util::units::{parse_duration, parse_percentile_list, parse_size};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Disk workload options as typed: fio's names, fio's size and time suffixes. Shared by
/// `nodefit disk` and the `[[disk]]` tables of profiles.
#[derive(Clone, Debug, Default, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DiskOptions {
    /// Job name; scratch files are named NAME.JOB.0 as fio names them
    #[arg(long)]
    pub name: Option<String>,
    /// Directory for the scratch files [default: .]
    #[arg(long, conflicts_with = "filename")]
    pub directory: Option<PathBuf>,
    /// Use this file instead of scratch files in --directory (must not exist unless --allow-existing)
    #[arg(long)]
    pub filename: Option<PathBuf>,
    /// I/O pattern: write, randwrite, read, randread, rw, randrw
    #[arg(long)]
    pub rw: Option<String>,
    /// Percentage of reads in rw/randrw [default: 50]
    #[arg(long)]
    pub rwmixread: Option<u32>,
    /// Block size, e.g. 2300, 4k, 1m [default: 4k]
    #[arg(long)]
    pub bs: Option<String>,
    /// Bytes per job, e.g. 22m, 1g [default: 64m]
    #[arg(long)]
    pub size: Option<String>,
    /// Number of parallel jobs, each with its own file [default: 1]
    #[arg(long)]
    pub numjobs: Option<u32>,
    /// I/Os kept in flight per job (io_uring and null engines) [default: 1]
    #[arg(long)]
    pub iodepth: Option<u32>,
    /// Open files with O_DIRECT (bypass the page cache)
    #[arg(long)]
    #[serde(default)]
    pub direct: bool,
    /// fsync after every N writes (0 = never)
    #[arg(long)]
    pub fsync: Option<u32>,
    /// fdatasync after every N writes (0 = never)
    #[arg(long)]
    pub fdatasync: Option<u32>,
    /// fsync each file when its job ends
    #[arg(long)]
    #[serde(default)]
    pub end_fsync: bool,
    /// I/O engine: sync (alias psync), io_uring, null [default: sync]
    #[arg(long)]
    pub ioengine: Option<String>,
    /// Stop after this long (e.g. 60, 30s, 2m); with --time-based, run exactly this long
    #[arg(long)]
    pub runtime: Option<String>,
    /// Keep going over the file until --runtime has passed
    #[arg(long)]
    #[serde(default)]
    pub time_based: bool,
    /// Run this long before measuring (e.g. 2s)
    #[arg(long)]
    pub ramp_time: Option<String>,
    /// Cap each job at N I/Os per second
    #[arg(long)]
    pub rate_iops: Option<u64>,
    /// How write files are laid out first: native (fallocate, as fio), none, zero
    #[arg(long)]
    pub fallocate: Option<String>,
    /// Percentiles to report, e.g. 50:90:99:99.9 [default: fio's list]
    #[arg(long)]
    pub percentile_list: Option<String>,
    /// Allow --filename to name an existing file not created by nodefit
    #[arg(long)]
    #[serde(default)]
    pub allow_existing: bool,
    /// Keep the scratch files after the run
    #[arg(long)]
    #[serde(default)]
    pub keep: bool,
}

/// Access pattern, as fio's `rw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rw {
    Write,
    Randwrite,
    Read,
    Randread,
    Rw,
    Randrw,
}

impl Rw {
    pub fn parse(s: &str) -> Result<Rw, Error> {
        Ok(match s {
            "write" => Rw::Write,
            "randwrite" => Rw::Randwrite,
            "read" => Rw::Read,
            "randread" => Rw::Randread,
            "rw" | "readwrite" => Rw::Rw,
            "randrw" => Rw::Randrw,
            other => {
                return Err(Error::Invalid(format!(
                    "--rw {other}: expected write, randwrite, read, randread, rw or randrw"
                )))
            }
        })
    }
    pub fn random(self) -> bool {
        matches!(self, Rw::Randwrite | Rw::Randread | Rw::Randrw)
    }
    pub fn writes(self) -> bool {
        !matches!(self, Rw::Read | Rw::Randread)
    }
    pub fn reads(self) -> bool {
        !matches!(self, Rw::Write | Rw::Randwrite)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Rw::Write => "write",
            Rw::Randwrite => "randwrite",
            Rw::Read => "read",
            Rw::Randread => "randread",
            Rw::Rw => "rw",
            Rw::Randrw => "randrw",
        }
    }
}

/// Which I/O engine carries the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    Sync,
    IoUring,
    Null,
}

impl EngineKind {
    pub fn parse(s: &str) -> Result<EngineKind, Error> {
        Ok(match s {
            "sync" | "psync" => EngineKind::Sync,
            "io_uring" | "uring" => EngineKind::IoUring,
            "null" => EngineKind::Null,
            other => {
                return Err(Error::Invalid(format!(
                    "--ioengine {other}: expected sync, psync, io_uring or null"
                )))
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Sync => "sync",
            EngineKind::IoUring => "io_uring",
            EngineKind::Null => "null",
        }
    }
}

/// How write files are laid out before the job, as fio's `fallocate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fallocate {
    /// fallocate(2) mode 0: unwritten extents, as fio's default. fdatasync then also commits the
    /// extent conversion, which is what a fresh etcd WAL segment costs too.
    Native,
    /// Leave the file empty; writes extend it.
    None,
    /// Write zeros over the whole file and fsync it first.
    Zero,
}

/// A resolved, validated disk workload: every option with its default filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Job name (scratch files are NAME.JOB.0).
    pub name: String,
    /// Directory holding the scratch files (absent when `filename` is given).
    pub directory: Option<PathBuf>,
    /// Explicit file used instead of scratch files.
    pub filename: Option<PathBuf>,
    /// Access pattern.
    pub rw: Rw,
    /// Percentage of reads for rw/randrw (100 for pure reads, 0 for pure writes).
    pub rwmixread: u32,
    /// Block size in bytes.
    pub bs: u64,
    /// Bytes per job (file size).
    pub size: u64,
    /// Parallel jobs, each with its own file.
    pub numjobs: u32,
    /// I/Os in flight per job.
    pub iodepth: u32,
    /// O_DIRECT.
    pub direct: bool,
    /// fsync every N writes (0 = never).
    pub fsync: u32,
    /// fdatasync every N writes (0 = never).
    pub fdatasync: u32,
    /// fsync at the end of each job.
    pub end_fsync: bool,
    /// Engine.
    pub ioengine: EngineKind,
    /// Upper bound on the measured phase, nanoseconds (absent = until `size` is done).
    pub runtime_ns: Option<u64>,
    /// Loop over the file until `runtime_ns` has passed.
    pub time_based: bool,
    /// Unmeasured warm-up, nanoseconds.
    pub ramp_time_ns: u64,
    /// Per-job I/O rate cap (absent = as fast as possible).
    pub rate_iops: Option<u64>,
    /// File layout before writing.
    pub fallocate: Fallocate,
    /// Percentiles reported.
    pub percentile_list: Vec<f64>,
    /// Existing --filename allowed.
    pub allow_existing: bool,
    /// Scratch files kept after the run.
    pub keep: bool,
}

impl JobSpec {
    /// Validate options and fill in defaults. Checks that need the file system (directory exists,
    /// free space, O_DIRECT alignment) happen at layout time.
    pub fn resolve(o: &DiskOptions) -> Result<JobSpec, Error> {
        let rw = Rw::parse(o.rw.as_deref().unwrap_or("write"))?;
        let bs = parse_size(o.bs.as_deref().unwrap_or("4k"))?;
        if bs == 0 {
            return Err(Error::Invalid("--bs must be greater than 0".into()));
        }
        if bs > (1 << 30) {
            return Err(Error::Invalid("--bs must be at most 1g".into()));
        }
        let size = parse_size(o.size.as_deref().unwrap_or("64m"))?;
        if size < bs {
            return Err(Error::Invalid(format!(
                "--size ({size} bytes) is smaller than --bs ({bs} bytes): not even one I/O fits"
            )));
        }
        let numjobs = o.numjobs.unwrap_or(1);
        if numjobs == 0 || numjobs > 1024 {
            return Err(Error::Invalid(
                "--numjobs must be between 1 and 1024".into(),
            ));
        }
        let iodepth = o.iodepth.unwrap_or(1);
        if iodepth == 0 || iodepth > 4096 {
            return Err(Error::Invalid(
                "--iodepth must be between 1 and 4096".into(),
            ));
        }
        let rwmixread = match rw {
            Rw::Read | Rw::Randread => 100,
            Rw::Write | Rw::Randwrite => 0,
            _ => o.rwmixread.unwrap_or(50),
        };
        if rwmixread > 100 {
            return Err(Error::Invalid(
                "--rwmixread must be between 0 and 100".into(),
            ));
        }
        let ioengine = EngineKind::parse(o.ioengine.as_deref().unwrap_or("sync"))?;
        let runtime_ns = match &o.runtime {
            Some(r) => {
                let d = parse_duration(r)?;
                if d.is_zero() {
                    return Err(Error::Invalid("--runtime must be greater than 0".into()));
                }
                Some(d.as_nanos() as u64)
            }
            None => None,
        };
        if o.time_based && runtime_ns.is_none() {
            return Err(Error::Invalid("--time-based needs --runtime".into()));
        }
        let ramp_time_ns = match &o.ramp_time {
            Some(r) => parse_duration(r)?.as_nanos() as u64,
            None => 0,
        };
        if o.rate_iops == Some(0) {
            return Err(Error::Invalid("--rate-iops must be greater than 0".into()));
        }
        let fallocate = match o.fallocate.as_deref().unwrap_or("native") {
            "native" | "posix" | "1" => Fallocate::Native,
            "none" | "0" => Fallocate::None,
            "zero" => Fallocate::Zero,
            other => {
                return Err(Error::Invalid(format!(
                    "--fallocate {other}: expected native, none or zero"
                )))
            }
        };
        let percentile_list = match &o.percentile_list {
            Some(p) => parse_percentile_list(p)?,
            None => crate::util::stats::FIO_DEFAULT_PERCENTILES.to_vec(),
        };
        let name = o.name.clone().unwrap_or_else(|| "nodefit".to_string());
        if name.is_empty() || name.contains('/') || name.contains('\0') {
            return Err(Error::Invalid(format!(
                "--name '{name}' must be non-empty and contain no '/'"
            )));
        }
        if o.filename.is_some() && numjobs > 1 {
            return Err(Error::Invalid(
                "--filename with --numjobs > 1 would share one file; use --directory".into(),
            ));
        }
        let directory = if o.filename.is_some() {
            None
        } else {
            Some(o.directory.clone().unwrap_or_else(|| PathBuf::from(".")))
        };
        Ok(JobSpec {
            name,
            directory,
            filename: o.filename.clone(),
            rw,
            rwmixread,
            bs,
            size,
            numjobs,
            iodepth,
            direct: o.direct,
            fsync: o.fsync.unwrap_or(0),
            fdatasync: o.fdatasync.unwrap_or(0),
            end_fsync: o.end_fsync,
            ioengine,
            runtime_ns,
            time_based: o.time_based,
            ramp_time_ns,
            rate_iops: o.rate_iops,
            fallocate,
            percentile_list,
            allow_existing: o.allow_existing,
            keep: o.keep,
        })
    }

    /// Writes between sync ops and which kind, if any (fdatasync wins if both are set, as in fio
    /// the more frequent one would; we take the smaller N).
    pub fn sync_every(&self) -> Option<(u32, SyncKind)> {
        match (self.fsync, self.fdatasync) {
            (0, 0) => None,
            (n, 0) => Some((n, SyncKind::Fsync)),
            (0, n) => Some((n, SyncKind::Fdatasync)),
            (a, b) if a < b => Some((a, SyncKind::Fsync)),
            (_, b) => Some((b, SyncKind::Fdatasync)),
        }
    }

    /// Number of blocks in one file.
    pub fn blocks(&self) -> u64 {
        self.size / self.bs
    }

    /// The fio command line this workload mirrors.
    pub fn fio_command(&self) -> String {
        let mut c = format!("fio --name={} --rw={}", self.name, self.rw.as_str());
        if let Some(d) = &self.directory {
            c += &format!(" --directory={}", d.display());
        }
        if let Some(f) = &self.filename {
            c += &format!(" --filename={}", f.display());
        }
        if matches!(self.rw, Rw::Rw | Rw::Randrw) {
            c += &format!(" --rwmixread={}", self.rwmixread);
        }
        c += &format!(
            " --bs={} --size={} --ioengine={}",
            self.bs,
            self.size,
            match self.ioengine {
                EngineKind::Sync => "sync",
                EngineKind::IoUring => "io_uring",
                EngineKind::Null => "null",
            }
        );
        if self.iodepth > 1 {
            c += &format!(" --iodepth={}", self.iodepth);
        }
        if self.numjobs > 1 {
            c += &format!(" --numjobs={} --group_reporting", self.numjobs);
        }
        if self.direct {
            c += " --direct=1";
        }
        if self.fsync > 0 {
            c += &format!(" --fsync={}", self.fsync);
        }
        if self.fdatasync > 0 {
            c += &format!(" --fdatasync={}", self.fdatasync);
        }
        if self.end_fsync {
            c += " --end_fsync=1";
        }
        if let Some(r) = self.runtime_ns {
            c += &format!(" --runtime={}ms", r / 1_000_000);
        }
        if self.time_based {
            c += " --time_based";
        }
        if self.ramp_time_ns > 0 {
            c += &format!(" --ramp_time={}ms", self.ramp_time_ns / 1_000_000);
        }
        if let Some(r) = self.rate_iops {
            c += &format!(" --rate_iops={r}");
        }
        match self.fallocate {
            Fallocate::Native => {}
            Fallocate::None => c += " --fallocate=none",
            Fallocate::Zero => c += " --fallocate=none --fill_device=0 # pre-zeroed file",
        }
        c
    }
}

/// Kind of flush issued every N writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    Fsync,
    Fdatasync,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> DiskOptions {
        DiskOptions::default()
    }

    #[test]
    fn defaults_are_filled_in() {
        let s = JobSpec::resolve(&opts()).unwrap();
        assert_eq!(s.rw, Rw::Write);
        assert_eq!(s.bs, 4096);
        assert_eq!(s.ioengine, EngineKind::Sync);
        assert_eq!(s.fallocate, Fallocate::Native);
        assert_eq!(s.directory, Some(PathBuf::from(".")));
        assert_eq!(s.percentile_list.len(), 17);
    }

    #[test]
    fn bad_values_are_refused() {
        type Case = (fn(&mut DiskOptions), &'static str);
        let cases: Vec<Case> = vec![
            (|o| o.bs = Some("0".into()), "--bs must be greater than 0"),
            (|o| o.bs = Some("4q".into()), "malformed size"),
            (
                |o| {
                    o.bs = Some("8k".into());
                    o.size = Some("4k".into())
                },
                "smaller than --bs",
            ),
            (|o| o.rw = Some("sideways".into()), "--rw sideways"),
            (|o| o.ioengine = Some("libaio".into()), "--ioengine libaio"),
            (|o| o.time_based = true, "--time-based needs --runtime"),
            (|o| o.numjobs = Some(0), "--numjobs"),
            (|o| o.iodepth = Some(0), "--iodepth"),
            (|o| o.rate_iops = Some(0), "--rate-iops"),
            (|o| o.fallocate = Some("maybe".into()), "--fallocate maybe"),
            (|o| o.runtime = Some("soon".into()), "malformed duration"),
        ];
        for (set, want) in cases {
            let mut o = opts();
            set(&mut o);
            let err = JobSpec::resolve(&o).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn psync_is_sync() {
        let mut o = opts();
        o.ioengine = Some("psync".into());
        assert_eq!(JobSpec::resolve(&o).unwrap().ioengine, EngineKind::Sync);
    }
}
