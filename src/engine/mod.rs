//! I/O engines, in the spirit of fio's `ioengine_ops`: the job loop queues operations, commits them
//! and reaps completions; an engine only moves bytes. Synchronous engines answer `Completed` from
//! `queue`, asynchronous ones answer `Queued` and deliver completions from `getevents`, so one loop
//! drives them all.

pub mod buffers;
pub mod null;
pub mod sync;
pub mod uring;

use crate::results::spec::EngineKind;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Read,
    Write,
    Fsync,
    Fdatasync,
}

impl OpKind {
    pub fn is_sync(self) -> bool {
        matches!(self, OpKind::Fsync | OpKind::Fdatasync)
    }
}

/// One operation handed to an engine. `slot` names the buffer (0..iodepth) and comes back in the
/// completion.
#[derive(Clone, Copy, Debug)]
pub struct IoRequest {
    pub slot: usize,
    pub kind: OpKind,
    pub offset: u64,
    pub len: usize,
}

/// A finished operation: bytes transferred or the errno it failed with.
#[derive(Clone, Copy, Debug)]
pub struct Completion {
    pub slot: usize,
    pub result: Result<usize, nix::errno::Errno>,
}

/// The answer of [`IoEngine::queue`], as fio's FIO_Q_COMPLETED / FIO_Q_QUEUED / FIO_Q_BUSY.
#[derive(Debug)]
pub enum Queued {
    /// Done already (synchronous engines); the result is inside.
    Completed(Completion),
    /// Accepted; it will come back from `getevents` after `commit`.
    Queued,
    /// No room now: commit and reap first, then queue again.
    Busy,
}

/// The engine contract.
pub trait IoEngine: Send {
    fn name(&self) -> &'static str;
    /// Start one operation.
    fn queue(&mut self, req: IoRequest) -> Queued;
    /// Submit what has been queued (one system call for the batch, where the engine can).
    fn commit(&mut self) -> Result<(), nix::errno::Errno>;
    /// Submit anything queued but not yet committed, then wait for at least `min` completions and
    /// append every available one to `out`.
    fn getevents(&mut self, min: usize, out: &mut Vec<Completion>)
        -> Result<(), nix::errno::Errno>;
}

/// Build the engine for one job. The engine borrows `fd` (the caller keeps the file open), so it
/// cannot outlive the file.
pub fn open<'fd>(
    kind: EngineKind,
    fd: BorrowedFd<'fd>,
    iodepth: usize,
    bs: usize,
) -> Result<Box<dyn IoEngine + 'fd>, crate::error::Error> {
    let bufs = buffers::BufferPool::new(iodepth, bs)?;
    Ok(match kind {
        EngineKind::Sync => Box::new(sync::SyncEngine::new(fd, bufs)),
        EngineKind::Null => Box::new(null::NullEngine::new(iodepth)),
        EngineKind::IoUring => Box::new(uring::UringEngine::new(fd.as_raw_fd(), bufs, iodepth)?),
    })
}
