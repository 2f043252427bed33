//! Workload options in fio's vocabulary, in two stages (as ripgrep does): [`DiskOptions`] as typed on
//! the command line or in a profile, and [`JobSpec`] (defined with the results, which record it),
//! validated with every default filled in.

use crate::error::Error;
pub use crate::results::spec::{EngineKind, Fallocate, JobSpec, Rw, SyncKind};
use crate::util::units::{parse_duration, parse_percentile_list, parse_size};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A size or a duration in a profile: `bs = "4k"` or a bare number, `bs = 2300` (bytes) or
/// `runtime = 60` (seconds), as fio's job files take them.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Int(u64),
        Float(f64),
    }
    Ok(Some(match TextOrNumber::deserialize(d)? {
        TextOrNumber::Text(t) => t,
        TextOrNumber::Int(n) => n.to_string(),
        TextOrNumber::Float(f) => f.to_string(),
    }))
}

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
    #[serde(default, deserialize_with = "text_or_number")]
    pub bs: Option<String>,
    /// Bytes per job, e.g. 22m, 1g [default: 64m]
    #[arg(long)]
    #[serde(default, deserialize_with = "text_or_number")]
    pub size: Option<String>,
    /// Number of parallel jobs, each with its own file [default: 1]
    #[arg(long)]
    pub numjobs: Option<u32>,
    /// I/Os kept in flight per job (io_uring and null engines) [default: 1]
    #[arg(long)]
    pub iodepth: Option<u32>,
    /// Open files with O_DIRECT (bypass the page cache)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub direct: bool,
    /// fsync after every N writes (0 = never)
    #[arg(long)]
    pub fsync: Option<u32>,
    /// fdatasync after every N writes (0 = never)
    #[arg(long)]
    pub fdatasync: Option<u32>,
    /// fsync each file when its job ends
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub end_fsync: bool,
    /// I/O engine: sync (alias psync), io_uring, null [default: sync]
    #[arg(long)]
    pub ioengine: Option<String>,
    /// Stop after this long (e.g. 60, 30s, 2m); with --time-based, run exactly this long
    #[arg(long)]
    #[serde(default, deserialize_with = "text_or_number")]
    pub runtime: Option<String>,
    /// Keep going over the file until --runtime has passed
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub time_based: bool,
    /// Run this long before measuring (e.g. 2s)
    #[arg(long)]
    #[serde(default, deserialize_with = "text_or_number")]
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
        // fio interleaves fsyncs and fdatasyncs when given both (fio 3.33: --fsync=2
        // --fdatasync=3 over 16 writes issued 7 fsyncs and 3 fdatasyncs); nodefit's job loop
        // issues one kind, so running both would measure something other than the fio command
        // it prints.
        if o.fsync.unwrap_or(0) > 0 && o.fdatasync.unwrap_or(0) > 0 {
            return Err(Error::Invalid(
                "--fsync and --fdatasync cannot be combined (nodefit issues one kind of flush); pass one of them".into(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_fios_spellings_too() {
        use clap::Parser;
        #[derive(clap::Parser)]
        #[command(no_binary_name = true)]
        struct W {
            #[command(flatten)]
            o: DiskOptions,
        }
        for (words, want) in [
            (vec!["--direct"], true),
            (vec!["--direct=1"], true),
            (vec!["--direct", "1"], true),
            (vec!["--direct=0"], false),
            (vec![], false),
        ] {
            let w = W::try_parse_from(&words).expect("parses");
            assert_eq!(w.o.direct, want, "{words:?}");
        }
        let w = W::try_parse_from(["--time-based", "--end-fsync=1"]).unwrap();
        assert!(w.o.time_based && w.o.end_fsync);
        assert!(W::try_parse_from(["--direct=maybe"]).is_err());
    }

    #[test]
    fn profile_sizes_and_durations_may_be_bare_numbers() {
        let o: DiskOptions =
            toml::from_str("bs = 2300\nsize = \"22m\"\nruntime = 60\nramp_time = 2")
                .expect("numbers are taken");
        assert_eq!(o.bs.as_deref(), Some("2300"));
        assert_eq!(o.size.as_deref(), Some("22m"));
        assert_eq!(o.runtime.as_deref(), Some("60"));
        assert_eq!(o.ramp_time.as_deref(), Some("2"));
        let none: DiskOptions = toml::from_str("").unwrap();
        assert!(none.bs.is_none() && none.runtime.is_none());
        assert!(toml::from_str::<DiskOptions>("bs = true").is_err());
    }

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
            (
                |o| {
                    o.fsync = Some(1);
                    o.fdatasync = Some(1)
                },
                "--fsync and --fdatasync cannot be combined",
            ),
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
