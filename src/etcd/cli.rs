//! `nodefit etcd` arguments and entry point.

#[derive(Debug, clap::Args)]
pub struct EtcdArgs {}

pub fn run(_a: EtcdArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit etcd is not implemented yet")
}
