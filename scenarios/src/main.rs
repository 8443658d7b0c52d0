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
    /// Run a scenario (its replications); exit 3 if a run broke its protocol's guarantee.
    Run(cli::run::RunArgs),
    /// Run a scenario's `[sweep]` grid in parallel; the output does not depend on `--jobs`.
    Sweep(cli::run::SweepArgs),
    /// Reference benchmarks (`nftwin bench star`, `nftwin bench twin`).
    Bench(cli::bench::BenchArgs),
    /// Flow-size distributions and flow traces (`nftwin workload gen|stats|list`).
    Workload(cli::workload::WorkloadArgs),
    /// Check scenario files; errors name file:line:col and the fix (`nftwin validate FILE...`).
    Validate(cli::validate::ValidateArgs),
    /// Regenerate the papers' figures: CSVs, PNG and SVG plots and a manifest per target.
    Reproduce(cli::reproduce::ReproduceArgs),
    /// Summarise results: mean, stderr, min, max over every tidy CSV under a folder.
    Report(cli::report::ReportArgs),
    /// The correctness regression matrix and the golden summaries; exit 1 on any regression.
    Check(cli::check::CheckArgs),
    /// What E2 does with a policy: pGraph, sizing, iGraph, placement (`nftwin e2 place FILE`).
    E2(cli::e2::E2Args),
    /// Run a live scenario on DPDK hosts in network namespaces (root; see docs/live.md).
    Live(cli::live::LiveArgs),
    /// Re-drive the controller from a live run's log; its outputs must match the log exactly.
    Replay(cli::live::ReplayArgs),
    /// Rehearse a maintenance plan: run its alternatives over seeds, rank them against its constraints.
    WhatIf(cli::whatif::WhatIfArgs),
}

/// A reader that stops reading (`nftwin check | head`) ends the command quietly, with status
/// 141 (128 + SIGPIPE, what a shell reports for a C tool killed by the signal), instead of the
/// panic `println!` raises on a broken pipe. Rust ignores SIGPIPE and the crate forbids the
/// `unsafe` it takes to restore it, so the panic hook recognises std's message.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg =
            p.downcast_ref::<String>().map(String::as_str).or(p.downcast_ref::<&str>().copied());
        if msg.is_some_and(|m| m.starts_with("failed printing to std") && m.contains("Broken pipe"))
        {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Run(a) => cli::run::run(a),
        Command::Sweep(a) => cli::run::sweep(a),
        Command::Bench(a) => done(cli::bench::run(a)),
        Command::Workload(a) => done(cli::workload::run(a)),
        Command::Validate(a) => done(cli::validate::run(a)),
        Command::Reproduce(a) => cli::reproduce::run(a),
        Command::Report(a) => done(cli::report::run(a)),
        Command::Check(a) => cli::check::run(a),
        Command::E2(a) => done(cli::e2::run(a)),
        Command::Live(a) => cli::live::run(a),
        Command::Replay(a) => cli::live::replay(a),
        Command::WhatIf(a) => cli::whatif::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
