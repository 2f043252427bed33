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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::OpKind;

    fn write(slot: usize) -> IoRequest {
        IoRequest {
            slot,
            kind: OpKind::Write,
            offset: 0,
            len: 4096,
        }
    }

    #[test]
    fn depth_one_completes_at_once() {
        let mut e = NullEngine::new(1);
        match e.queue(write(0)) {
            Queued::Completed(c) => assert_eq!((c.slot, c.result), (0, Ok(4096))),
            other => panic!("expected Completed, got {other:?}"),
        }
    }

    #[test]
    fn deeper_queues_until_full_then_reaps_all() {
        let mut e = NullEngine::new(3);
        for s in 0..3 {
            assert!(matches!(e.queue(write(s)), Queued::Queued));
        }
        assert!(matches!(e.queue(write(0)), Queued::Busy));
        let mut out = Vec::new();
        e.getevents(1, &mut out).expect("getevents");
        assert_eq!(
            out.iter().map(|c| c.slot).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(matches!(e.queue(write(1)), Queued::Queued));
    }
}
