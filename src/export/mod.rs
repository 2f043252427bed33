//! Exporters: one results document in, one document in another system's format out. Unlike a
//! report, an export carries no judgement of its own and no pages; it is written beside a run for a
//! collector to read.

pub mod prometheus;
pub mod watch_prometheus;
