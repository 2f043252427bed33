//! Live etcd write-consensus probe (embedded local etcd or a user's cluster).
//! (Stub on main; the etcd branch replaces this file.)

pub mod cli;

use serde::{Deserialize, Serialize};

/// The `etcd` section of a results document.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EtcdResult {}

/// Errors of the etcd probe.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    #[error("{0}")]
    Other(String),
}

/// Run the probe described by `args` on its own tokio runtime.
pub fn probe_blocking(_args: &cli::EtcdArgs, _progress: bool) -> Result<EtcdResult, EtcdError> {
    Err(EtcdError::Other(
        "the etcd probe is not implemented yet".into(),
    ))
}
