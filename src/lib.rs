//! nodefit: is this node fit to carry the Kubernetes control plane?
//!
//! Data flows one way: CLI → profile → workloads → engines → histograms → results JSON → scoring →
//! reports. The layers, and which may import which, are in docs/architecture.md;
//! tests/it/architecture.rs keeps them so.

pub mod cluster;
pub mod cmd;
pub mod disk;
pub mod engine;
pub mod error;
pub mod etcd;
pub mod export;
pub mod fingerprint;
pub mod options;
pub mod qualify;
pub mod report;
pub mod results;
pub mod score;
pub mod ui;
pub mod util;
pub mod watch;
