//! `nftwin check [--quick] [--update-golden] [--jobs N]`: the correctness regression matrix
//! and the golden comparison (`scenarios/src/check/`). Exit status 0 when everything holds,
//! 1 on any regression, 2 on bad input (an unreadable golden scenario, an unknown fault).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::check::{self, matrix, Dimensions, GoldenPaths};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// One workload, two loads, 4 seeds per case (under 3 minutes; CI runs this).
    #[arg(long)]
    pub quick: bool,
    /// Rewrite `results/golden/` from this run instead of comparing (README: when that is
    /// legitimate). The matrix still runs and must pass.
    #[arg(long)]
    pub update_golden: bool,
    /// Runs in parallel (default: the machine's cores). The verdicts do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The golden set's scenario files (default: the source tree's `scenarios/examples/`).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// The golden summaries (default: the source tree's `results/golden/`).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// Plant a deliberate bug, to see the check fail (its own tests):
    /// `opennf-skip-order-hold` (every OpenNF variant), `sharp-release-sw-before-ctrl`.
    #[arg(long, value_name = "FAULT")]
    pub inject_fault: Option<String>,
}

fn bar(len: u64, prefix: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let inject = args.inject_fault.as_deref().map(check::parse_fault).transpose()?;
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let defaults = GoldenPaths::default();
    let paths = GoldenPaths {
        scenarios: args.scenarios.unwrap_or(defaults.scenarios),
        golden: args.golden.unwrap_or(defaults.golden),
    };
    let golden_scenarios = check::golden_scenarios(&paths)?;

    let dims = Dimensions::new(args.quick);
    let cases = matrix::cases(&dims, inject);
    let b = bar(check::matrix_runs(&cases), "matrix");
    let findings = check::run_matrix(&cases, threads, Some(&b));
    b.finish_and_clear();
    let failed: Vec<&check::Finding> = findings.iter().filter(|f| f.is_regression()).collect();
    let known: Vec<&check::Finding> = findings.iter().filter(|f| f.known_issue.is_some()).collect();
    println!(
        "matrix: {} cases ({} variants x faults x {} workload(s) x {} loads, {} seeds each), {} \
         expectations: {} failed",
        cases.len(),
        findings
            .iter()
            .map(|f| f.case.split(" / ").next().unwrap_or(""))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        dims.workloads.len(),
        dims.loads.len(),
        dims.seeds,
        findings.len(),
        failed.len()
    );
    for f in &failed {
        println!("  FAIL {}: {}", f.case, f.expect.describe());
        if let Err(why) = &f.result {
            println!("       {why}");
        }
    }
    // Known open defects: shown, not counted.
    let mut issues: Vec<&str> = known.iter().filter_map(|f| f.known_issue).collect();
    issues.dedup();
    for issue in issues {
        let cases: Vec<&&check::Finding> =
            known.iter().filter(|f| f.known_issue == Some(issue)).collect();
        let showing = cases.iter().filter(|f| f.result.is_err()).count();
        println!("  KNOWN ISSUE ({showing} of {} cases show it): {issue}", cases.len());
        for f in cases.iter().filter(|f| f.result.is_err()) {
            if let Err(why) = &f.result {
                println!("       {}: {why}", f.case);
            }
        }
        if showing == 0 {
            println!("       no case shows it any more: remove it from check/matrix.rs");
        }
    }

    let runs: u64 = golden_scenarios.iter().map(|(_, c)| c.replications as u64).sum();
    let b = bar(runs, "golden");
    let golden =
        check::run_golden(&golden_scenarios, &paths, args.update_golden, threads, Some(&b))?;
    b.finish_and_clear();
    let mut golden_failed = 0;
    if args.update_golden {
        println!("golden: rewrote {} summaries in {}", golden.len(), paths.golden.display());
    } else {
        for g in &golden {
            let name = g.scenario.display();
            match &g.drifts {
                Ok(d) if d.is_empty() => println!("golden: {name}: matches"),
                Ok(d) => {
                    golden_failed += 1;
                    println!("golden: {name}: {} differences beyond tolerance", d.len());
                    for x in d {
                        println!("  {x}");
                    }
                }
                Err(why) => {
                    golden_failed += 1;
                    println!("golden: {name}: cannot compare: {why}");
                }
            }
        }
    }
    if failed.is_empty() && golden_failed == 0 {
        println!("check: passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "check: FAILED ({} matrix expectations, {} golden scenarios)",
            failed.len(),
            golden_failed
        );
        Ok(ExitCode::from(1))
    }
}
