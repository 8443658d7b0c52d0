//! `nftwin reproduce TARGET...|all [--quick] [--out DIR] [--jobs N] [--resume]`: regenerates
//! the targets' figures (docs/reproduction.md). Writes `<out>/<target>/<figure>.csv` (tidy
//! format) with a `.png` and an `.svg` plot beside it, then `<out>/<target>/manifest.json`, each through temp +
//! rename; `all` then writes the index `<out>/README.md`.
//!
//! Ctrl-C stops starting runs: the runs under way finish and are kept in
//! `<out>/<target>/.runs/`, nothing else is written, the interrupted target has no manifest,
//! and the command exits with 130. A second Ctrl-C exits at once (a `*.tmp` may then remain;
//! the next call removes it). `--resume` reads the kept runs back instead of rerunning them.
//!
//! Then the papers' claims (`reproduce::claims`) are checked against the figures of the targets
//! that ran: `<out>/claims.md` and `<out>/claims.csv`. `all` without `--quick` also rewrites
//! the generated blocks of `docs/reproduction.md` (`--docs PATH` for another file or for any
//! run, `--docs none` to skip); its markers are checked before anything runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::output;
use scenarios::reproduce::{self, claims, IndexEntry, RunOptions};

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Targets to regenerate, or `all` (docs/reproduction.md; a wrong name lists the known ones).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Fewer seeds and shorter runs (same figures and x values), for CI and a first look.
    #[arg(long)]
    pub quick: bool,
    /// Output folder; each target writes into `<out>/<target>/`, `all` also `<out>/README.md`.
    #[arg(long, default_value = "results")]
    pub out: std::path::PathBuf,
    /// Runs in parallel (default: the machine's cores). The output does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Skip the runs an interrupted earlier call finished (kept in `<out>/<target>/.runs/`);
    /// the files written are the same bytes as an uninterrupted call's.
    #[arg(long)]
    pub resume: bool,
    /// Rewrite the claims blocks (`<!-- nftwin:claims TARGET -->` ... `<!-- /nftwin:claims -->`)
    /// of this markdown file for the targets that ran; `none` skips it. Default:
    /// `docs/reproduction.md` for `all` without `--quick`, none otherwise.
    #[arg(long, value_name = "PATH|none")]
    pub docs: Option<String>,
}

impl ReproduceArgs {
    /// The document whose claims blocks this call rewrites, if any.
    fn docs_path(&self) -> Option<PathBuf> {
        match self.docs.as_deref() {
            Some("none") => None,
            Some(p) => Some(PathBuf::from(p)),
            None if self.targets.iter().any(|t| t == "all") && !self.quick => {
                Some(PathBuf::from(DEFAULT_DOCS))
            }
            None => None,
        }
    }
}

/// The document `reproduce all` regenerates by default (relative to the working directory).
const DEFAULT_DOCS: &str = "docs/reproduction.md";

fn bar() -> ProgressBar {
    // Draws only when stderr is a terminal.
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
const INTERRUPTED: u8 = 130;

pub fn run(args: ReproduceArgs) -> Result<ExitCode> {
    let targets = reproduce::resolve(&args.targets)?;
    let docs = args.docs_path();
    if let Some(path) = &docs {
        // Before the runs: a missing marker should not cost a full reproduction.
        let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
        claims::check_doc(path, &names)?;
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let cancel = Arc::new(AtomicBool::new(false));
    // Registered first, so the first Ctrl-C only sets the flag and a second one exits.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        i32::from(INTERRUPTED),
        Arc::clone(&cancel),
    )
    .context("cannot install the Ctrl-C handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&cancel))
        .context("cannot install the Ctrl-C handler")?;
    let index = args.targets.iter().any(|t| t == "all");
    let index_path = args.out.join("README.md");
    if index {
        // A stale index would point at folders this call rewrites.
        reproduce::remove_if_present(&index_path)
            .with_context(|| format!("cannot remove {}", index_path.display()))?;
    }
    let opts =
        RunOptions { quick: args.quick, out: args.out.clone(), threads, resume: args.resume };
    let mut done = Vec::new();
    for target in targets {
        if cancel.load(Ordering::Relaxed) {
            eprintln!("interrupted: {} and the targets after it did not run", target.name);
            return Ok(ExitCode::from(INTERRUPTED));
        }
        let dir = args.out.join(target.name);
        let bar = bar();
        bar.set_prefix(target.name);
        // Wall clock for progress reporting only: the index's per-target time, never a result.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let result = reproduce::run_target(target, &opts, Some(&bar), &cancel)
            .with_context(|| format!("cannot write {}", dir.display()));
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let Some(finished) = result? else {
            eprintln!(
                "interrupted: {} has no manifest; its finished runs are kept, rerun with --resume",
                dir.display()
            );
            return Ok(ExitCode::from(INTERRUPTED));
        };
        print!("{} ({} runs", target.name, finished.runs);
        if finished.resumed > 0 {
            print!(", {} resumed", finished.resumed);
        }
        println!(", {seconds:.1} s): wrote {}", dir.display());
        for fig in &finished.figures {
            print_figure(fig);
        }
        done.push((target, finished, seconds));
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("nftwin {}", argv.join(" "));
    let checked: Vec<(String, Vec<claims::ClaimResult>)> = done
        .iter()
        .map(|(target, finished, _)| {
            (target.name.to_string(), claims::evaluate(target.name, &finished.figures))
        })
        .collect();
    claims::write_claims(&args.out, &command, &checked)
        .with_context(|| format!("cannot write {}", args.out.join("claims.md").display()))?;
    let count = |f: fn(&claims::Verdict) -> bool| {
        checked.iter().flat_map(|(_, r)| r).filter(|r| f(&r.verdict)).count()
    };
    println!(
        "claims: {} hold, {} depart, {} n/a: wrote {}",
        count(|v| *v == claims::Verdict::Holds),
        count(|v| *v == claims::Verdict::Departs),
        count(|v| matches!(v, claims::Verdict::NotAvailable(_))),
        args.out.join("claims.md").display()
    );
    if let Some(path) = &docs {
        // The block names the command without `--out`/`--jobs`/`--resume`: they do not change
        // the numbers, and the same run then gives the same bytes.
        let block_command = format!(
            "nftwin reproduce {}{}",
            args.targets.join(" "),
            if args.quick { " --quick" } else { "" }
        );
        let blocks: Vec<(String, String)> = checked
            .iter()
            .map(|(t, r)| (t.clone(), claims::doc_block(&block_command, args.quick, r)))
            .collect();
        claims::rewrite_doc(path, &blocks)?;
        println!("rewrote the claims blocks of {}", path.display());
    }
    if index {
        let entries: Vec<IndexEntry<'_>> = done
            .iter()
            .map(|(target, done, seconds)| IndexEntry { target, done, seconds: *seconds })
            .collect();
        output::write_atomic(&index_path, &reproduce::index_markdown(&command, &entries))
            .with_context(|| format!("cannot write {}", index_path.display()))?;
        println!("wrote {}", index_path.display());
    }
    Ok(ExitCode::SUCCESS)
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
