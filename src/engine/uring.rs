//! The `io_uring` engine: keeps up to `iodepth` operations in flight, submits each batch with one
//! `io_uring_enter` that also waits for the next completion, and reaps every completion available
//! at once. The file is registered (fixed file) and so are the buffers (READ_FIXED/WRITE_FIXED) when
//! the kernel allows it, which saves a page-pinning walk per O_DIRECT I/O. Where the kernel has them
//! (6.1+) the ring is single-issuer with deferred task work: completions are run in the job's own
//! `io_uring_enter(GETEVENTS)` instead of interrupting it. Such a ring is created disabled on the
//! thread that opens the engine and enabled by the job's thread on its first call, which makes that
//! thread the ring's only issuer.

use super::buffers::BufferPool;
use super::{Completion, IoEngine, IoRequest, OpKind, Queued};
use io_uring::{opcode, squeue, types, EnterFlags, IoUring};
use nix::errno::Errno;
use std::os::fd::RawFd;

pub struct UringEngine {
    ring: IoUring,
    bufs: BufferPool,
    fixed_buffers: bool,
    /// Queued but not yet submitted.
    pending: usize,
    /// The ring was created disabled (single issuer): enable it from the job's thread first.
    needs_enable: bool,
    /// IORING_SETUP_DEFER_TASKRUN: completions appear only after an enter with GETEVENTS.
    defer_taskrun: bool,
}

impl UringEngine {
    pub fn new(fd: RawFd, bufs: BufferPool, iodepth: usize) -> Result<Self, crate::error::Error> {
        let entries = (iodepth.max(1) as u32).next_power_of_two();
        // Best first: single issuer + deferred task work (6.1+), created disabled so that the
        // job's thread, not this one, becomes the issuer when it enables the ring. Then
        // cooperative task running (5.19+), then a plain ring. The error of the plain ring is the
        // one reported when none can be built (ENOSYS: no io_uring; EPERM: forbidden by policy).
        let (ring, single_issuer) = match IoUring::<squeue::Entry>::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_r_disabled()
            .build(entries)
        {
            Ok(r) => (r, true),
            Err(_) => (
                IoUring::<squeue::Entry>::builder()
                    .setup_coop_taskrun()
                    .build(entries)
                    .or_else(|_| IoUring::new(entries))
                    .map_err(|e| crate::error::Error::UringUnavailable(e.to_string()))?,
                false,
            ),
        };
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
            needs_enable: single_issuer,
            defer_taskrun: single_issuer,
        })
    }

    /// Enable a ring created disabled; the calling thread becomes its single issuer.
    fn enable(&mut self) -> Result<(), Errno> {
        if self.needs_enable {
            self.ring
                .submitter()
                .register_enable_rings()
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            self.needs_enable = false;
        }
        Ok(())
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
        self.enable()?;
        match self.ring.submit() {
            Ok(_) => {
                self.pending = 0;
                Ok(())
            }
            Err(e) => Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
        }
    }

    /// Submits whatever is queued and waits for `min` completions in a single `io_uring_enter`,
    /// then reaps every completion there is.
    fn getevents(&mut self, min: usize, out: &mut Vec<Completion>) -> Result<(), Errno> {
        self.enable()?;
        let have = self.ring.completion().len();
        let want = min.saturating_sub(have);
        if want > 0 || self.pending > 0 || self.defer_taskrun {
            let r = if want == 0 && self.defer_taskrun {
                // A poll: deferred completions are only run by an enter with GETEVENTS.
                let to_submit = self.ring.submission().len() as u32;
                // SAFETY: no argument pointer is passed; the flags are valid for this ring.
                unsafe {
                    self.ring.submitter().enter::<libc::sigset_t>(
                        to_submit,
                        0,
                        EnterFlags::GETEVENTS.bits(),
                        None,
                    )
                }
            } else {
                self.ring.submit_and_wait(want)
            };
            match r {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::buffers::BufferPool;
    use std::os::fd::AsRawFd;

    /// Build an engine on this thread, drive it from another (as `disk::run_workloads` does), and
    /// check that `getevents` alone submits what was queued and returns every completion, data
    /// and flush alike. Skipped where io_uring is unavailable (the engine then says so).
    #[test]
    fn getevents_submits_and_reaps_from_another_thread() {
        let file = tempfile::tempfile().expect("temp file");
        let fd = file.as_raw_fd();
        let bufs = BufferPool::new(4, 4096).expect("buffers");
        let mut engine = match UringEngine::new(fd, bufs, 4) {
            Ok(e) => e,
            Err(crate::error::Error::UringUnavailable(why)) => {
                eprintln!("io_uring unavailable, skipped: {why}");
                return;
            }
            Err(e) => panic!("unexpected error: {e}"),
        };
        let handle = std::thread::spawn(move || {
            for slot in 0..4 {
                let q = engine.queue(IoRequest {
                    slot,
                    kind: OpKind::Write,
                    offset: slot as u64 * 4096,
                    len: 4096,
                });
                assert!(matches!(q, Queued::Queued));
            }
            // The ring holds 4 entries: a fifth is refused until the batch is submitted.
            assert!(matches!(
                engine.queue(IoRequest {
                    slot: 0,
                    kind: OpKind::Write,
                    offset: 0,
                    len: 4096
                }),
                Queued::Busy
            ));
            let mut out = Vec::new();
            while out.len() < 4 {
                engine.getevents(1, &mut out).expect("getevents");
            }
            let mut slots: Vec<usize> = out.iter().map(|c| c.slot).collect();
            slots.sort_unstable();
            assert_eq!(slots, vec![0, 1, 2, 3]);
            assert!(out.iter().all(|c| c.result == Ok(4096)));

            let q = engine.queue(IoRequest {
                slot: 2,
                kind: OpKind::Fdatasync,
                offset: 0,
                len: 0,
            });
            assert!(matches!(q, Queued::Queued));
            out.clear();
            while out.is_empty() {
                engine.getevents(1, &mut out).expect("getevents");
            }
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].slot, 2);
            assert_eq!(out[0].result, Ok(0));
            // A poll with nothing in flight returns at once, empty.
            out.clear();
            engine.getevents(0, &mut out).expect("poll");
            assert!(out.is_empty());
        });
        handle.join().expect("engine thread");
        assert_eq!(file.metadata().expect("metadata").len(), 4 * 4096);
    }
}
