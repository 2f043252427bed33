//! The `sync` engine (fio's `psync`): pwrite/pread at an offset, fsync/fdatasync, one at a time.

use super::buffers::BufferPool;
use super::{Completion, IoEngine, IoRequest, OpKind, Queued};
use std::os::fd::BorrowedFd;

/// The engine borrows the job's file for its lifetime `'fd`.
pub struct SyncEngine<'fd> {
    fd: BorrowedFd<'fd>,
    bufs: BufferPool,
}

impl<'fd> SyncEngine<'fd> {
    pub fn new(fd: BorrowedFd<'fd>, bufs: BufferPool) -> Self {
        SyncEngine { fd, bufs }
    }
}

impl IoEngine for SyncEngine<'_> {
    fn name(&self) -> &'static str {
        "sync"
    }

    fn queue(&mut self, req: IoRequest) -> Queued {
        let fd = self.fd;
        let result = match req.kind {
            OpKind::Write => {
                let buf = &self.bufs.slot(req.slot)[..req.len];
                nix::sys::uio::pwrite(fd, buf, req.offset as i64)
            }
            OpKind::Read => {
                let buf = &mut self.bufs.slot_mut(req.slot)[..req.len];
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
