//! Live etcd write-consensus probe: drives an open-loop, coordinated-omission-corrected write load
//! against a throwaway local etcd (on the disk under test) or a user's cluster, and reports what
//! etcd did with it — latency from the *due* time, service time, errors by kind, leader changes,
//! per-member status and etcd's own fsync/commit/RTT histograms.
//!
//! Promises: every key written lives under the run's prefix and is deleted at the end (also after
//! errors and Ctrl-C); a user's cluster is never compacted, defragmented or reconfigured; an embedded
//! etcd is always stopped and its data dirs removed.

pub mod binary;
pub mod client;
pub mod config;
pub mod embedded;
pub mod load;
pub mod metrics;
pub mod ops;
pub mod status;

mod probe;

pub use probe::probe;

use crate::options::etcd::EtcdOptions;
use crate::util::progress::Progress;

pub use crate::results::etcd::*;

/// Errors that keep the probe from running. Each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    #[error("invalid option: {0}")]
    Invalid(String),
    #[error("etcd binary '{0}' not found or not executable: pass --etcd-bin PATH to an etcd binary (nodefit's tarball carries one next to nodefit)")]
    BinaryMissing(String),
    #[error("no etcd binary: tried {beside} (next to nodefit) and each directory of PATH ({path}); unpack nodefit's tarball whole (etcd travels next to nodefit), run scripts/bundled-etcd.sh in a source tree, or pass --etcd-bin PATH")]
    BinaryNotFound { beside: String, path: String },
    #[error("embedded etcd failed: {0}")]
    Embedded(String),
    #[error("cannot reach etcd at {endpoints} within {timeout_s}s: {reason}")]
    Unreachable {
        endpoints: String,
        timeout_s: f64,
        reason: String,
    },
    #[error("TLS handshake with {endpoints} failed: {reason} (check --cacert/--cert/--key and the URL scheme)")]
    Tls { endpoints: String, reason: String },
    #[error("authentication failed at {endpoints}: {reason} (check --user/--password)")]
    Auth { endpoints: String, reason: String },
    #[error("{endpoints} has authentication turned off: drop --user/--password")]
    AuthNotEnabled { endpoints: String },
    #[error("{endpoints} refused the request: {reason} (the user's role does not cover the keys: pass a --prefix inside a range it may read and write, or grant it one for /nodefit/)")]
    Forbidden { endpoints: String, reason: String },
    #[error("prefix '{prefix}' already holds {count} key(s); choose another --prefix or pass --force to write (and then delete) under it anyway")]
    PrefixNotEmpty { prefix: String, count: i64 },
    #[error("a rate of {rate}/s against a live cluster needs explicit consent: pass --accept-production-load (limit without it: {limit}/s)")]
    ConsentRequired { rate: f64, limit: f64 },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("{0}")]
    Other(String),
}

pub use config::LIVE_RATE_LIMIT;

/// Run the probe described by `args` on its own tokio runtime. Partial results (Ctrl-C) come back
/// as `Ok` with `complete: false`. Live figures go to `progress`.
pub fn probe_blocking(args: &EtcdOptions, progress: &Progress) -> Result<EtcdResult, EtcdError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EtcdError::Runtime(e.to_string()))?;
    let out = rt.block_on(probe(args, progress.clone()));
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    out
}

/// Member id as etcdctl prints it.
pub fn hex_id(id: u64) -> String {
    format!("{id:x}")
}
