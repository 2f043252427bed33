//! `nodefit profiles`: list the profiles that can be found by name, or print one.

use super::Outcome;
use crate::score::profile::{list, Profile, DEFAULT_PROFILE};

/// `nodefit profiles [show NAME]`.
#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    #[command(subcommand)]
    pub command: Option<ProfilesCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ProfilesCommand {
    /// Print a profile's TOML (by name or file)
    Show {
        /// Profile name (see `nodefit profiles`) or path to a .toml file
        name: String,
    },
    /// List the profiles (the default)
    List,
}

pub fn run(a: ProfilesArgs) -> anyhow::Result<Outcome> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match a.command {
        None | Some(ProfilesCommand::List) => {
            let mut bad = false;
            for (name, from, r) in list() {
                match r {
                    Ok(desc) => {
                        let default = if name == DEFAULT_PROFILE {
                            " (default)"
                        } else {
                            ""
                        };
                        writeln!(out, "{name}{default}\n    {desc}\n    from {from}")?;
                    }
                    Err(e) => {
                        bad = true;
                        writeln!(out, "{name}\n    INVALID: {e}")?;
                    }
                }
            }
            Ok(if bad {
                Outcome::CouldNotRun
            } else {
                Outcome::Done
            })
        }
        Some(ProfilesCommand::Show { name }) => {
            let p = Profile::find(&name)?;
            writeln!(out, "# {} ({})", p.name, p.file)?;
            out.write_all(p.text.as_bytes())?;
            Ok(Outcome::Done)
        }
    }
}
