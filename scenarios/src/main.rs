//! `nftwin`: the command line. Each subcommand lives in `cli/<name>.rs`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// nftwin: a deterministic discrete-event simulator and digital twin for moving traffic and
/// state between network functions.
#[derive(Debug, Parser)]
#[command(name = "nftwin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reference benchmarks (`nftwin bench star`).
    Bench(cli::bench::BenchArgs),
    /// Flow-size distributions and flow traces (`nftwin workload gen|stats|list`).
    Workload(cli::workload::WorkloadArgs),
    /// Check scenario files; errors name file:line:col and the fix (`nftwin validate FILE...`).
    Validate(cli::validate::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(a) => cli::bench::run(a),
        Command::Workload(a) => cli::workload::run(a),
        Command::Validate(a) => cli::validate::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
