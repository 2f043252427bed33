//! `nodefit report`: results files in, one report out (stdout or `-o`), charts as PNGs on request.

use super::{emit, load_inputs, output_clobbers_input, png_dir_problem, Outcome};
use crate::report::{self, Format, ReportInput};
use std::path::PathBuf;

/// Report formats, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One self-contained HTML file (inline SVG charts and CSS, no scripts or external links).
    Html,
    /// Markdown tables for merge requests and comments.
    Md,
    /// A JSON summary of verdicts, checks and the comparison.
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Html => Format::Html,
            FormatArg::Md => Format::Md,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Results files, or directories (every result.json / *result.json below them). One result gives
    /// a node report; several a comparison.
    #[arg(required = true, value_name = "RESULT.json|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Write the report here (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "html")]
    pub format: FormatArg,
    /// Also write every chart as a PNG into this directory.
    #[arg(long, value_name = "DIR")]
    pub png_dir: Option<PathBuf>,
    /// Fail (exit 2) when any input cannot be read, instead of reporting on the rest.
    #[arg(long)]
    pub strict: bool,
}

/// `nodefit report`.
pub fn run(a: ReportArgs) -> anyhow::Result<Outcome> {
    if let Some(e) = png_dir_problem(a.png_dir.as_deref()) {
        eprintln!("nodefit: error: {e}");
        return Ok(Outcome::CouldNotRun);
    }
    let Some((results, problems)) = load_inputs(&a.inputs, a.strict) else {
        return Ok(Outcome::CouldNotRun);
    };
    if let Some(e) = a
        .output
        .as_deref()
        .and_then(|o| output_clobbers_input("-o", o, &a.inputs, &results))
    {
        eprintln!("nodefit: error: {e}");
        return Ok(Outcome::CouldNotRun);
    }
    let input = ReportInput { results, problems };
    let bytes = Format::from(a.format).renderer().render(&input)?;
    emit(a.output.as_deref(), &bytes)?;
    if let Some(dir) = &a.png_dir {
        let files = report::write_pngs(&input, dir)?;
        eprintln!(
            "nodefit: wrote {} PNG chart(s) to {}",
            files.len(),
            dir.display()
        );
    }
    Ok(Outcome::Done)
}
