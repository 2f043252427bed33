//! What a running `nodefit disk` has done to its scratch file, seen from outside: its buffers are
//! random bytes, so data in a block means a write landed there (a laid-out, fallocated file reads
//! as zeros).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Whether `file` holds a non-zero byte in `[offset, offset + len)`; false while it is absent or
/// shorter.
pub fn holds_data(file: &Path, offset: u64, len: usize) -> bool {
    let Ok(mut f) = std::fs::File::open(file) else {
        return false;
    };
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(offset)).is_ok()
        && f.read_exact(&mut buf).is_ok()
        && buf.iter().any(|&b| b != 0)
}

/// Whether a sequential 4 KiB writer has finished its first write: its second block holds data.
pub fn second_block_written(file: &Path) -> bool {
    holds_data(file, 4096, 4096)
}
