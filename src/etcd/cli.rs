//! `nodefit etcd` arguments and entry point. (Stub on main; the etcd branch replaces this file.)

#[derive(Debug, Default, Clone, clap::Args)]
pub struct EtcdArgs {}

impl EtcdArgs {
    /// Parse option words exactly as `nodefit etcd` would (without the subcommand name), so other
    /// commands (qualify) can describe a probe in the CLI's own vocabulary.
    pub fn from_args(_words: &[String]) -> Result<EtcdArgs, clap::Error> {
        Ok(EtcdArgs::default())
    }
}

pub fn run(_a: EtcdArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit etcd is not implemented yet")
}
