//! `nftwin report DIR [--format md|csv] [--out FILE]`: one summary table (mean, stderr, min,
//! max per figure, series, x and metric) over every tidy CSV under DIR; see
//! `scenarios::report`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use scenarios::{output, report};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// A markdown table.
    Md,
    /// CSV with the same columns.
    Csv,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results folder (e.g. what `nftwin reproduce` wrote); searched recursively.
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Write the table to FILE (through temp + rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let rows = report::summarise(&args.dir)?;
    let text = match args.format {
        Format::Md => report::markdown(&rows),
        Format::Csv => report::csv(&rows),
    };
    match &args.out {
        Some(path) => output::write_atomic(path, &text)
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
