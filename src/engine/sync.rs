//! The `sync` engine (fio's `psync`): pwrite/pread at an offset, fsync/fdatasync, one at a time.

use super::buffers::BufferPool;
use super::{Completion, IoEngine, IoRequest, OpKind, Queued};
use std::os::fd::{BorrowedFd, RawFd};

pub struct SyncEngine {
    fd: RawFd,
    bufs: BufferPool,
}

impl SyncEngine {
    pub fn new(fd: RawFd, bufs: BufferPool) -> Self {
        SyncEngine { fd, bufs }
    }
}

impl IoEngine for SyncEngine {
    fn name(&self) -> &'static str {
        "sync"
    }

    fn queue(&mut self, req: IoRequest) -> Queued {
        // SAFETY: the caller owns fd for the engine's lifetime (see engine::open).
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let result = match req.kind {
            OpKind::Write => {
                // SAFETY: the slot's buffer is at least req.len bytes and not aliased mutably now.
                let buf = unsafe { std::slice::from_raw_parts(self.bufs.ptr(req.slot), req.len) };
                nix::sys::uio::pwrite(fd, buf, req.offset as i64)
            }
            OpKind::Read => {
                // SAFETY: as above; the engine is the only user of the buffer.
                let buf =
                    unsafe { std::slice::from_raw_parts_mut(self.bufs.ptr(req.slot), req.len) };
                nix::sys::uio::pread(fd, buf, req.offset as i64)
            }
            OpKind::Fsync => nix::unistd::fsync(fd).map(|_| 0),
            OpKind::Fdatasync => nix::unistd::fdatasync(fd).map(|_| 0),
        };
        Queued::Completed(Completion {
            slot: req.slot,
            result,
        })
    }

    fn commit(&mut self) -> Result<(), nix::errno::Errno> {
        Ok(())
    }

    fn getevents(
        &mut self,
        _min: usize,
        _out: &mut Vec<Completion>,
    ) -> Result<(), nix::errno::Errno> {
        Ok(())
    }
}
