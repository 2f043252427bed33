//! Page-aligned I/O buffers, one per in-flight slot. Alignment lets the same buffers serve O_DIRECT
//! and io_uring's registered buffers. They are filled with random bytes once, as fio does by default,
//! so compressing or deduplicating storage can't flatter the numbers. The buffers are a boxed slice
//! of 4 KiB pages (`zerocopy` gives their bytes safely), so the pool has no `unsafe` of its own.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Page size and alignment of the buffers.
const PAGE: usize = 4096;

/// One aligned page: the unit the pool is allocated in.
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);

/// A fixed set of aligned buffers.
pub struct BufferPool {
    pages: Box<[Page]>,
    stride: usize,
    count: usize,
}

impl BufferPool {
    pub fn new(count: usize, bs: usize) -> Result<Self, crate::error::Error> {
        let too_large = || crate::error::Error::Invalid("--bs × --iodepth is too large".into());
        let pages_per_slot = bs.div_ceil(PAGE);
        let count = count.max(1);
        let pages = pages_per_slot.checked_mul(count).ok_or_else(too_large)?;
        let total = pages.checked_mul(PAGE).ok_or_else(too_large)?;
        let mut pages = <[Page]>::new_box_zeroed_with_elems(pages).map_err(|_| {
            crate::error::Error::Invalid(format!("cannot allocate {total} bytes of I/O buffers"))
        })?;
        use rand::RngExt as _;
        rand::rng().fill(pages.as_mut_bytes());
        Ok(BufferPool {
            pages,
            stride: pages_per_slot * PAGE,
            count,
        })
    }

    /// The buffer of `slot`, `stride()` bytes.
    pub fn slot(&self, slot: usize) -> &[u8] {
        &self.pages.as_bytes()[slot * self.stride..(slot + 1) * self.stride]
    }

    /// The buffer of `slot`, to read into.
    pub fn slot_mut(&mut self, slot: usize) -> &mut [u8] {
        let stride = self.stride;
        &mut self.pages.as_mut_bytes()[slot * stride..(slot + 1) * stride]
    }

    /// The address of `slot`'s buffer, for the kernel (io_uring reads into it and writes from it).
    /// No Rust code reads what the kernel writes there: the buffers' contents are never checked.
    pub fn ptr(&self, slot: usize) -> *mut u8 {
        debug_assert!(slot < self.count);
        self.slot(slot).as_ptr().cast_mut()
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn stride(&self) -> usize {
        self.stride
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_page_aligned_apart_and_filled() {
        let mut p = BufferPool::new(3, 5000).unwrap();
        assert_eq!(p.stride(), 8192);
        for s in 0..3 {
            assert_eq!(p.ptr(s) as usize % PAGE, 0);
            assert_eq!(p.slot(s).len(), 8192);
        }
        assert_eq!(p.ptr(1) as usize - p.ptr(0) as usize, 8192);
        // Random, not zero: 8 KiB of zeros from a random fill has no real chance.
        assert!(p.slot(2).iter().any(|b| *b != 0));
        p.slot_mut(0)[0] = 7;
        assert_eq!(p.slot(0)[0], 7);
    }
}
