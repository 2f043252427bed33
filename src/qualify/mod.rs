//! `nodefit qualify`: profile → disk workloads → etcd probe → fingerprint → scoring → verdict.

#[derive(Debug, clap::Args)]
pub struct QualifyArgs {}

pub fn run(_a: QualifyArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit qualify is not implemented yet")
}
