//! nodefit: is this node fit to carry the Kubernetes control plane?
//!
//! Data flows one way: CLI → profile → workloads → engines → histograms → results JSON → scoring →
//! reports.

pub mod cli;
pub mod cluster;
pub mod disk;
pub mod engine;
pub mod error;
pub mod etcd;
pub mod fingerprint;
pub mod output;
pub mod qualify;
pub mod report;
pub mod results;
pub mod score;
pub mod signals;
pub mod stats;
pub mod units;
