//! The `io_uring` engine: keeps up to `iodepth` operations in flight, submits each batch with one
//! `io_uring_enter`, and reaps every completion available at once. The file is registered (fixed
//! file) and so are the buffers (READ_FIXED/WRITE_FIXED) when the kernel allows it, which saves a
//! page-pinning walk per O_DIRECT I/O.

use super::buffers::BufferPool;
use super::{Completion, IoEngine, IoRequest, OpKind, Queued};
use io_uring::{opcode, squeue, types, IoUring};
use nix::errno::Errno;
use std::os::fd::RawFd;

pub struct UringEngine {
    ring: IoUring,
    bufs: BufferPool,
    fixed_buffers: bool,
    /// Queued but not yet submitted.
    pending: usize,
}

impl UringEngine {
    pub fn new(fd: RawFd, bufs: BufferPool, iodepth: usize) -> Result<Self, crate::error::Error> {
        let entries = (iodepth.max(1) as u32).next_power_of_two();
        // Not SINGLE_ISSUER: the ring is built on the coordinating thread and driven by the job's.
        let ring = IoUring::<squeue::Entry>::builder()
            .setup_coop_taskrun()
            .build(entries)
            .or_else(|_| IoUring::new(entries))
            .map_err(|e| crate::error::Error::UringUnavailable(e.to_string()))?;
        ring.submitter()
            .register_files(&[fd])
            .map_err(|e| crate::error::Error::UringUnavailable(format!("register_files: {e}")))?;
        let iovecs: Vec<libc::iovec> = (0..bufs.count())
            .map(|i| libc::iovec {
                iov_base: bufs.ptr(i) as *mut libc::c_void,
                iov_len: bufs.stride(),
            })
            .collect();
        // SAFETY: the buffers live in `bufs`, which the engine owns and drops after the ring.
        let fixed_buffers = unsafe { ring.submitter().register_buffers(&iovecs) }.is_ok();
        Ok(UringEngine {
            ring,
            bufs,
            fixed_buffers,
            pending: 0,
        })
    }

    fn entry(&self, req: &IoRequest) -> squeue::Entry {
        let file = types::Fixed(0);
        let ptr = self.bufs.ptr(req.slot);
        let len = req.len as u32;
        let e = match req.kind {
            OpKind::Write if self.fixed_buffers => {
                opcode::WriteFixed::new(file, ptr, len, req.slot as u16)
                    .offset(req.offset)
                    .build()
            }
            OpKind::Read if self.fixed_buffers => {
                opcode::ReadFixed::new(file, ptr, len, req.slot as u16)
                    .offset(req.offset)
                    .build()
            }
            OpKind::Write => opcode::Write::new(file, ptr, len)
                .offset(req.offset)
                .build(),
            OpKind::Read => opcode::Read::new(file, ptr, len).offset(req.offset).build(),
            OpKind::Fsync => opcode::Fsync::new(file).build(),
            OpKind::Fdatasync => opcode::Fsync::new(file)
                .flags(types::FsyncFlags::DATASYNC)
                .build(),
        };
        e.user_data(req.slot as u64)
    }
}

impl IoEngine for UringEngine {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn queue(&mut self, req: IoRequest) -> Queued {
        let e = self.entry(&req);
        // SAFETY: the buffer named by the entry stays valid and untouched until its completion is
        // reaped: the job loop reuses a slot only after its completion came back.
        match unsafe { self.ring.submission().push(&e) } {
            Ok(()) => {
                self.pending += 1;
                Queued::Queued
            }
            Err(_) => Queued::Busy,
        }
    }

    fn commit(&mut self) -> Result<(), Errno> {
        if self.pending == 0 {
            return Ok(());
        }
        match self.ring.submit() {
            Ok(_) => {
                self.pending = 0;
                Ok(())
            }
            Err(e) => Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
        }
    }

    fn getevents(&mut self, min: usize, out: &mut Vec<Completion>) -> Result<(), Errno> {
        let have = self.ring.completion().len();
        if have < min || self.pending > 0 {
            match self.ring.submit_and_wait(min.saturating_sub(have)) {
                Ok(_) => self.pending = 0,
                Err(e) => {
                    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                    if errno != Errno::EINTR {
                        return Err(errno);
                    }
                }
            }
        }
        for cqe in self.ring.completion() {
            let r = cqe.result();
            out.push(Completion {
                slot: cqe.user_data() as usize,
                result: if r < 0 {
                    Err(Errno::from_raw(-r))
                } else {
                    Ok(r as usize)
                },
            });
        }
        Ok(())
    }
}
