//! Page-aligned I/O buffers, one per in-flight slot. Alignment lets the same buffers serve O_DIRECT
//! and io_uring's registered buffers. They are filled with random bytes once, as fio does by default,
//! so compressing or deduplicating storage can't flatter the numbers.

use std::alloc::{alloc_zeroed, dealloc, Layout};

const ALIGN: usize = 4096;

/// A fixed set of aligned buffers.
pub struct BufferPool {
    base: *mut u8,
    layout: Layout,
    stride: usize,
    count: usize,
}

// The pool is a plain allocation handed between threads whole; nothing in it is shared.
unsafe impl Send for BufferPool {}

impl BufferPool {
    pub fn new(count: usize, bs: usize) -> Result<Self, crate::error::Error> {
        let stride = bs.div_ceil(ALIGN) * ALIGN;
        let total = stride
            .checked_mul(count.max(1))
            .ok_or_else(|| crate::error::Error::Invalid("--bs × --iodepth is too large".into()))?;
        let layout = Layout::from_size_align(total, ALIGN)
            .map_err(|_| crate::error::Error::Invalid("--bs × --iodepth is too large".into()))?;
        // SAFETY: layout has non-zero size (bs > 0 is validated).
        let base = unsafe { alloc_zeroed(layout) };
        if base.is_null() {
            return Err(crate::error::Error::Invalid(format!(
                "cannot allocate {total} bytes of I/O buffers"
            )));
        }
        let pool = BufferPool {
            base,
            layout,
            stride,
            count: count.max(1),
        };
        use rand::RngExt as _;
        let mut rng = rand::rng();
        // SAFETY: base..base+total is our allocation.
        let all = unsafe { std::slice::from_raw_parts_mut(pool.base, total) };
        rng.fill(all);
        Ok(pool)
    }

    pub fn ptr(&self, slot: usize) -> *mut u8 {
        debug_assert!(slot < self.count);
        // SAFETY: slot < count, so the offset is inside the allocation.
        unsafe { self.base.add(slot * self.stride) }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn stride(&self) -> usize {
        self.stride
    }
}

impl Drop for BufferPool {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout.
        unsafe { dealloc(self.base, self.layout) }
    }
}
