//! `nftwin what-if PLAN.toml [--seeds N] [--jobs N] [--out DIR]`: rehearse a maintenance
//! window (`scenarios::whatif`, `docs/whatif.md`). Prints the ranked table and the
//! recommendation; writes `summary.csv`, `runs.csv`, `verdicts.csv`, `ranking.png`/`.svg` and
//! `report.md` to DIR (default `results/whatif/<plan name>`). Exit status 0 when some
//! alternative meets every constraint, 1 when none does, 2 on a malformed plan.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::whatif;

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// The plan file (TOML; docs/whatif.md).
    pub plan: PathBuf,
    /// Seeds per alternative (overrides the plan's `seeds`).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Runs in parallel (default: the machine's cores). The output does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default: results/whatif/<plan name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: WhatIfArgs) -> Result<ExitCode> {
    let mut plan = whatif::plan::load(&args.plan).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(n) = args.seeds {
        anyhow::ensure!(n >= 1, "--seeds must be at least 1");
        plan.seeds = n;
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runs = whatif::run_count(&plan);
    let bar = ProgressBar::with_draw_target(Some(runs), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("what-if [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    let outcome = whatif::run(&plan, threads, Some(&bar)).map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    let out = args.out.unwrap_or_else(|| PathBuf::from("results/whatif").join(&plan.name));
    let files = whatif::write_outputs(&plan, &args.plan, &outcome, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    match plan.kind {
        whatif::PlanKind::Nf(_) => println!(
            "what-if {}: {} alternatives x {} seeds (mean ± standard error)\n",
            plan.name,
            plan.alternatives.len(),
            plan.seeds
        ),
        whatif::PlanKind::Device(_) => println!(
            "what-if {}: {} alternatives x {} seeds (device plan: the MOP steps and Egret jobs \
             executed with each seed's durations and faults; mean ± standard error)\n",
            plan.name,
            plan.alternatives.len(),
            plan.seeds
        ),
    }
    print!("{}", whatif::table(&plan, &outcome));
    println!("\n{}", whatif::conclusion(&plan, &outcome));
    println!("wrote {} in {}", files.join(", "), out.display());
    Ok(if outcome.recommended().is_some() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
