//! Library errors for the disk side of nodefit. Every variant is something a user can cause or meet,
//! worded so that the one line printed at the binary's edge tells them what to do.

use std::path::PathBuf;

/// Errors from parsing options, laying out scratch files and running disk workloads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed size '{0}' (expected e.g. 2300, 4k, 1m, 22m, 1g)")]
    BadSize(String),
    #[error("malformed duration '{0}' (expected e.g. 60, 500ms, 30s, 2m)")]
    BadDuration(String),
    #[error("malformed percentile list '{0}' (expected e.g. 50:90:99:99.9, each in (0, 100])")]
    BadPercentiles(String),
    #[error("invalid option: {0}")]
    Invalid(String),
    #[error("directory {0} does not exist")]
    NoDirectory(PathBuf),
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("directory {0} is not writable: {1}")]
    ReadOnly(PathBuf, String),
    #[error("{0} is a block or character device; nodefit never writes to raw devices")]
    RawDevice(PathBuf),
    #[error("{0} already exists and was not created by nodefit; pass --allow-existing to use it (its contents will be overwritten for write workloads)")]
    ExistingFile(PathBuf),
    #[error("{0} is a symbolic link; nodefit does not follow links to files it writes — pass the target's path (with --allow-existing if it exists)")]
    Symlink(PathBuf),
    #[error("{0} is not a regular file (a directory, socket or FIFO); --filename must name a regular file")]
    NotAFile(PathBuf),
    #[error("not enough free space in {dir}: need {need} bytes, {free} available")]
    NoSpace { dir: PathBuf, need: u64, free: u64 },
    #[error("too little headroom in {dir}: {text}")]
    Headroom { dir: PathBuf, text: String },
    #[error("{0}")]
    LiveEtcd(String),
    #[error("--direct needs a block size that is a multiple of the device's logical block size ({logical} bytes for {path}); got --bs {bs}")]
    DirectAlignment {
        path: PathBuf,
        bs: u64,
        logical: u64,
    },
    // The io errors are named `err`, not `source`: they are in the message already, and main
    // prints the error chain (`{:#}`), which would repeat a `source`.
    #[error("{path} does not support O_DIRECT (the file system refused it: {err})")]
    DirectUnsupported { path: PathBuf, err: std::io::Error },
    #[error("io_uring is not available here ({0}); try --ioengine sync")]
    UringUnavailable(String),
    #[error("I/O error on {path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{0} is in use by another nodefit run that is still going (its run record is locked); use another --directory or --name")]
    InUse(PathBuf),
    /// The run record could not be made (util's ScratchError, as text: util must not depend on us).
    #[error("{0}")]
    Scratch(String),
    /// SIGINT/SIGTERM arrived while a file was being laid out, before any I/O was measured. Not
    /// a failure: the run turns it into a result marked incomplete, as an interrupt mid-run.
    #[error("interrupted (SIGINT/SIGTERM) while laying out {0}, before any I/O was measured")]
    Interrupted(PathBuf),
    #[error("cannot write {0}: {1}")]
    Output(PathBuf, std::io::Error),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err: cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary prints errors with their chain (`{:#}`): the OS error must appear once.
    #[test]
    fn io_errors_name_their_cause_once() {
        let e = anyhow::Error::from(Error::io("/d/f", std::io::Error::other("boom")));
        assert_eq!(format!("{e:#}"), "I/O error on /d/f: boom");
        let e = anyhow::Error::from(Error::DirectUnsupported {
            path: "/d".into(),
            err: std::io::Error::other("nope"),
        });
        assert_eq!(format!("{e:#}").matches("nope").count(), 1);
    }
}
