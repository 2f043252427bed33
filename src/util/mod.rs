//! The crate's toolbox: units and the one value formatter, latency statistics, process CPU time and
//! the stop signal. Imports nothing of the crate but [`crate::error`], so every layer may use it.

pub mod atomic;
pub mod build_info;
pub mod cpu;
pub mod progress;
pub mod scratch;
pub mod signals;
pub mod stats;
pub mod subprocess;
pub mod text;
pub mod units;
pub mod unlink_at;
