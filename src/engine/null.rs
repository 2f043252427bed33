//! The `null` engine: accepts every operation and completes it without I/O, to measure nodefit's
//! own overhead (fio has one for the same reason). At iodepth > 1 it queues and completes in
//! `getevents`, so the asynchronous path of the job loop is exercised too.

use super::{Completion, IoEngine, IoRequest, Queued};

pub struct NullEngine {
    iodepth: usize,
    queued: Vec<Completion>,
}

impl NullEngine {
    pub fn new(iodepth: usize) -> Self {
        NullEngine {
            iodepth,
            queued: Vec::with_capacity(iodepth),
        }
    }
}

impl IoEngine for NullEngine {
    fn name(&self) -> &'static str {
        "null"
    }

    fn queue(&mut self, req: IoRequest) -> Queued {
        let c = Completion {
            slot: req.slot,
            result: Ok(req.len),
        };
        if self.iodepth <= 1 {
            return Queued::Completed(c);
        }
        if self.queued.len() >= self.iodepth {
            return Queued::Busy;
        }
        self.queued.push(c);
        Queued::Queued
    }

    fn commit(&mut self) -> Result<(), nix::errno::Errno> {
        Ok(())
    }

    fn getevents(
        &mut self,
        _min: usize,
        out: &mut Vec<Completion>,
    ) -> Result<(), nix::errno::Errno> {
        out.append(&mut self.queued);
        Ok(())
    }
}
