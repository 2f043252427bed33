//! `nodefit trend`: history in, regressions out — the text on stdout, the HTML where `-o` says.

use super::{emit, load_inputs, output_clobbers_input, png_dir_problem, Outcome};
use crate::report::view::trend;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct TrendArgs {
    /// Directories (or files) holding the history: every result.json / *result.json below them.
    #[arg(required = true, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Write an HTML trend report (charts with limits, the regression table) here.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only this node (node_name, else hostname).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Metrics to follow: a check id (e.g. wal_fdatasync_p99) or a path
    /// workloads[NAME].latency_ns.KIND.percentiles.P. Default: every check of the latest run, and
    /// p99 of each workload not covered by a check.
    #[arg(long = "metric", value_name = "PATH", num_args = 1..)]
    pub metrics: Vec<String>,
    /// Baseline: how many runs before the latest to compare against.
    #[arg(long, default_value_t = 7)]
    pub baseline: usize,
    /// How much worse (percent) the latest must be to count as a regression.
    #[arg(long = "threshold-pct", default_value_t = 20.0)]
    pub threshold_pct: f64,
    /// Exit 1 when a regression is found (for a nightly CI job).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Fail (exit 2) when any input cannot be read.
    #[arg(long)]
    pub strict: bool,
    /// Also write the trend as Markdown here (for a merge request or a chat post; links the PNGs
    /// of --png-dir)
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write every trend chart as a PNG into this directory
    #[arg(long, value_name = "DIR")]
    pub png_dir: Option<PathBuf>,
}

/// Refuse option values that would make the judgement meaningless rather than fail: a NaN
/// threshold compares false against everything (so nothing is ever a regression), a threshold of 0
/// or less flags every noise wiggle, an infinite one nothing, a baseline of 0 runs is silently
/// treated as 1 by the detector, and a percentile outside (0, 100] has no meaning (the histogram
/// would clamp it and print "p101"). The error names the option and the value.
fn check_args(a: &TrendArgs) -> Result<(), String> {
    if !(a.threshold_pct.is_finite() && a.threshold_pct > 0.0) {
        return Err(format!(
            "--threshold-pct {}: must be a finite number of percent greater than 0 (e.g. 20)",
            a.threshold_pct
        ));
    }
    if let Some(e) = png_dir_problem(a.png_dir.as_deref()) {
        return Err(e);
    }
    if a.baseline == 0 {
        return Err("--baseline 0: the baseline needs at least 1 earlier run".into());
    }
    for m in &a.metrics {
        if let Some(key) = crate::results::path::MetricPath::parse(m)
            .ok()
            .and_then(|p| p.percentile_key().map(str::to_string))
        {
            let ok = key.parse::<f64>().is_ok_and(|p| p > 0.0 && p <= 100.0);
            if !ok {
                return Err(format!(
                    "--metric {m}: percentile {key} is outside (0, 100] (e.g. percentiles.99 or percentiles.99.9)"
                ));
            }
        }
    }
    Ok(())
}

/// `nodefit trend`.
pub fn run(a: TrendArgs) -> anyhow::Result<Outcome> {
    if let Err(e) = check_args(&a) {
        eprintln!("nodefit: error: {e}");
        return Ok(Outcome::CouldNotRun);
    }
    if let (Some(o), Some(m)) = (&a.output, &a.markdown) {
        if let Some(e) = super::same_file(&[("-o", o), ("--markdown", m)]) {
            eprintln!("nodefit: error: {e}");
            return Ok(Outcome::CouldNotRun);
        }
    }
    let Some((results, problems)) = load_inputs(&a.inputs, a.strict) else {
        return Ok(Outcome::CouldNotRun);
    };
    for (option, out) in [("-o", &a.output), ("--markdown", &a.markdown)] {
        if let Some(e) = out
            .as_deref()
            .and_then(|o| output_clobbers_input(option, o, &a.inputs, &results))
        {
            eprintln!("nodefit: error: {e}");
            return Ok(Outcome::CouldNotRun);
        }
    }
    let ts = trend::trends(
        &results,
        a.node.as_deref(),
        &a.metrics,
        a.baseline,
        a.threshold_pct,
    );
    let skipped = trend::incomplete(&results, a.node.as_deref());
    if ts.is_empty() {
        eprintln!(
            "nodefit: error: no metric found in the history (check --node and --metric){}",
            if skipped.is_empty() {
                String::new()
            } else {
                format!("; {} incomplete run(s) skipped", skipped.len())
            }
        );
        return Ok(Outcome::CouldNotRun);
    }
    let mut text = String::new();
    if !skipped.is_empty() {
        let _ = writeln!(
            text,
            "skipped {} incomplete run(s) (neither latest nor baseline): {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    for t in &ts {
        let _ = writeln!(text, "{}", t.line());
    }
    let regressions = ts.iter().filter(|t| t.is_regression()).count();
    let _ = writeln!(
        text,
        "{regressions} regression(s) in {} metric(s) (threshold {} % worse, baseline up to {} run(s); a change is ignored below 1 % of the check's limit or a per-unit floor: 1 µs, 0.5 percentage points, 1 count)",
        ts.len(),
        a.threshold_pct,
        a.baseline
    );
    print!("{text}");
    let mut left_out = problems.clone();
    left_out.extend(
        skipped
            .iter()
            .map(|f| format!("{f}: incomplete run, skipped")),
    );
    if let Some(path) = &a.output {
        let bytes = crate::report::html::trend(&ts, &left_out)?;
        emit(Some(path), &bytes)?;
    }
    let pngs = match &a.png_dir {
        Some(dir) => {
            let files = crate::report::write_trend_pngs(&ts, dir)?;
            eprintln!(
                "nodefit: wrote {} PNG chart(s) to {}",
                files.len(),
                dir.display()
            );
            files
        }
        None => Vec::new(),
    };
    if let Some(path) = &a.markdown {
        let md_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        let bytes = crate::report::markdown::trend(&ts, &left_out, &pngs, Some(md_dir));
        emit(Some(path), &bytes)?;
    }
    Ok(if a.fail_on_regression && regressions > 0 {
        Outcome::Regression
    } else {
        Outcome::Done
    })
}
