//! Profiles: workloads and checks, with the source of every threshold.

#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {}

pub fn run_cli(_a: ProfilesArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit profiles is not implemented yet")
}
