//! A disk workload as run: every fio option resolved, recorded in results so a result says exactly
//! what produced it. Resolution from the options as typed lives in [`crate::options::disk`].

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// Writes between sync ops and which kind, if any. `JobSpec::resolve` refuses both at once
    /// (fio would issue both kinds, interleaved; the job loop issues one). Only a result written
    /// before that refusal can carry both: those runs issued the kind with the smaller N
    /// (fdatasync on a tie) and nothing else, so that is what is reported for them.
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
