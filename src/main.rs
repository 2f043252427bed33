//! The binary's edge: run the command, map its outcome to the exit code — the one place exit codes
//! are decided.

use nodefit::cmd::Outcome;

fn main() {
    let code = match nodefit::cmd::run() {
        Outcome::Done | Outcome::Fit => 0,
        Outcome::NotFit | Outcome::Regression => 1,
        Outcome::CouldNotRun => 2,
        Outcome::Interrupted => 130,
    };
    std::process::exit(code);
}
