//! Live etcd write-consensus probe (embedded local etcd or a user's cluster).

pub mod cli;

use serde::{Deserialize, Serialize};

/// The `etcd` section of a results document.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EtcdResult {}
