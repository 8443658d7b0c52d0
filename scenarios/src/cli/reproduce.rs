//! `nftwin reproduce TARGET...|all [--quick] [--out DIR] [--jobs N]`: regenerates the
//! targets' figures (docs/reproduction.md). Writes `<out>/<target>/<figure>.csv` (tidy format)
//! and `.png` beside it, then `<out>/<target>/manifest.json`, each through temp + rename.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::reproduce::{self, FigureSpec};

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Targets to regenerate, or `all` (docs/reproduction.md; a wrong name lists the known ones).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Fewer seeds and shorter runs (same figures and x values), for CI and a first look.
    #[arg(long)]
    pub quick: bool,
    /// Output folder; each target writes into `<out>/<target>/`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Runs in parallel (default: the machine's cores). The output does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
}

fn bar(len: u64) -> ProgressBar {
    // Draws only when stderr is a terminal.
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    bar
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let targets = reproduce::resolve(&args.targets)?;
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    for target in targets {
        let specs: Vec<FigureSpec> = (target.figures)(args.quick);
        let computed = target.computed.map(|c| c(args.quick));
        let runs = reproduce::jobs_of(&specs).len() as u64
            + computed.as_ref().map_or(0, |c| c.seeds.len() as u64);
        let bar = bar(runs);
        bar.set_prefix(target.name);
        let cancel = AtomicBool::new(false);
        let figures =
            reproduce::run_figures(&specs, threads, Some(&bar), &cancel).and_then(|mut figs| {
                if let Some(c) = &computed {
                    figs.extend(reproduce::run_computed(c, threads, Some(&bar), &cancel)?);
                }
                Some(figs)
            });
        bar.finish_and_clear();
        let figures = figures.context("the run was cancelled")?;
        let dir = args.out.join(target.name);
        let mut files = Vec::new();
        for fig in &figures {
            let written = reproduce::write_figure(&dir, fig)
                .with_context(|| format!("cannot write {} into {}", fig.id, dir.display()))?;
            files.extend(written);
        }
        reproduce::write_manifest(&dir, target, args.quick, &specs, computed.as_ref(), &files)
            .with_context(|| format!("cannot write {}", dir.join("manifest.json").display()))?;
        println!("{} ({} runs): wrote {}", target.name, runs, dir.display());
        for fig in &figures {
            print_figure(fig);
        }
    }
    Ok(())
}

/// The figure's numbers, as a table (what the PNG shows).
fn print_figure(fig: &reproduce::Figure) {
    println!("  {}", fig.id);
    println!(
        "    {:<10} {:<12} {:<24} {:>12} {:>10} {:>5}",
        "series", "x", "metric", "mean", "stderr", "runs"
    );
    for r in &fig.rows {
        println!(
            "    {:<10} {:<12} {:<24} {:>12.4} {:>10.4} {:>5}",
            r.series, r.x, r.metric, r.value, r.stderr, r.runs
        );
    }
}
