//! Reports rendered from results JSON.

pub mod trend;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

pub fn run(_a: ReportArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit report is not implemented yet")
}
