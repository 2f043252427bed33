//! Trends over nightly history and regression detection.

#[derive(Debug, clap::Args)]
pub struct TrendArgs {}

pub fn run(_a: TrendArgs) -> anyhow::Result<i32> {
    anyhow::bail!("nodefit trend is not implemented yet")
}
