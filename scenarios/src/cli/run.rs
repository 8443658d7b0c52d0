//! `nftwin run FILE` and `nftwin sweep FILE`: run a scenario (its replications) or its
//! `[sweep]` grid, print a summary, and write tidy CSVs, verdicts and a manifest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::config::ScenarioConfig;
use scenarios::driver::RunOutcome;
use scenarios::output::{self, Manifest, TidyRow};
use scenarios::spec;
use scenarios::sweep::{jobs, run_jobs};

/// Exit status when a run broke the guarantee its protocol declares.
pub const GUARANTEE_VIOLATED: u8 = 3;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; see docs/scenarios.md).
    pub file: PathBuf,
    /// Master seed of the first replication (default: the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications (default: the file's `replications`).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Output folder (default: results/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads for the replications (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file, with a `[sweep]` table.
    pub file: PathBuf,
    /// Runs in parallel (default: the machine's cores). The output does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default: results/<scenario name>-sweep).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn load(file: &Path) -> Result<(spec::Scenario, Vec<u8>)> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let scenario = spec::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((scenario, bytes))
}

fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

fn count_bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// Runs the replications of one configuration, with a progress bar.
fn run_points(
    points: &[&ScenarioConfig],
    jobs_arg: Option<usize>,
    label: &str,
) -> Result<Vec<RunOutcome>> {
    let all = jobs(points);
    let bar = count_bar(all.len() as u64, label);
    let cancel = AtomicBool::new(false);
    let results = run_jobs(&all, threads(jobs_arg), Some(&bar), &cancel);
    bar.finish_and_clear();
    results.context("the run was cancelled")
}

fn print_verdicts(results: &[RunOutcome]) -> bool {
    let mut all = true;
    for r in results {
        let v = &r.verdict;
        all &= v.honoured;
        let state = if v.honoured { "honoured" } else { "VIOLATED" };
        let extra = if v.violations.is_empty() {
            String::new()
        } else {
            format!(": {}", v.violations.join("; "))
        };
        let clean = if v.clean { "" } else { " (not clean: see lost/reordered updates above)" };
        println!(
            "seed {}: {} declares `{}`: {state}{extra}{clean}",
            r.seed, r.protocol, v.guarantee
        );
    }
    all
}

fn print_table(rows: &[TidyRow]) {
    println!("{:<28} {:>16} {:>12} {:>5}", "metric", "mean", "stderr", "runs");
    for r in rows {
        println!("{:<28} {:>16.4} {:>12.4} {:>5}", r.metric, r.value, r.stderr, r.runs);
    }
}

/// Keeps the metrics `[metrics] record` names (all when it names none).
fn recorded(cfg: &ScenarioConfig, mut rows: Vec<TidyRow>) -> Vec<TidyRow> {
    if let Some(keep) = &cfg.metrics.record {
        rows.retain(|r| keep.contains(&r.metric));
    }
    rows
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    out: &Path,
    csv_name: &str,
    rows: &[TidyRow],
    results: &[RunOutcome],
    buffer_series: bool,
    command: &str,
    file: &Path,
    bytes: &[u8],
) -> Result<()> {
    let csv = format!("{csv_name}.csv");
    output::write_atomic(&out.join(&csv), &output::tidy_csv(rows))
        .with_context(|| format!("cannot write {}", out.join(&csv).display()))?;
    let verdicts: Vec<String> = results.iter().map(output::verdict_json).collect();
    output::write_atomic(
        &out.join("verdict.json"),
        &format!("[\n  {}\n]\n", verdicts.join(",\n  ")),
    )?;
    let seeds: Vec<u64> = results.iter().map(|r| r.seed).collect();
    let mut files = vec![csv, "verdict.json".to_string()];
    if buffer_series {
        for (i, r) in results.iter().enumerate() {
            let name = format!("controller-buffer-{i}-seed{}.csv", r.seed);
            let mut text = String::from("time_ns,buffered_pkts\n");
            for (t, n) in &r.controller_buffer {
                text.push_str(&format!("{},{n}\n", t.as_nanos()));
            }
            output::write_atomic(&out.join(&name), &text)?;
            files.push(name);
        }
    }
    let manifest =
        Manifest { command, scenario: file, scenario_bytes: bytes, seeds: &seeds, files: &files };
    // Last: a folder with a manifest is complete.
    output::write_atomic(&out.join("manifest.json"), &manifest.to_json())?;
    Ok(())
}

fn exit(honoured: bool) -> ExitCode {
    if honoured {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(GUARANTEE_VIOLATED)
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let (scenario, bytes) = load(&args.file)?;
    let mut cfg = scenario.config;
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(r) = args.replications {
        if r == 0 {
            bail!("--replications must be at least 1");
        }
        cfg.replications = r;
    }
    let results = run_points(&[&cfg], args.jobs, &cfg.name)?;
    let figure = format!("run/{}", cfg.name);
    let rows = output::rows_for(
        &figure,
        cfg.protocol.name(),
        "seeds",
        &cfg.replications.to_string(),
        &results,
    );
    let rows = recorded(&cfg, rows);
    println!(
        "{} ({} replication(s) from seed {}), protocol {}",
        cfg.name,
        cfg.replications,
        cfg.seed,
        cfg.protocol.name()
    );
    print_table(&rows);
    for r in &results {
        for m in &r.moves {
            let t = |x: Option<base::Time>| x.map_or("-".to_string(), |t| t.to_string());
            let failed = m.failed.as_deref().map(|f| format!(", failed: {f}")).unwrap_or_default();
            println!(
                "seed {}: move {} started {} finished {}{failed}",
                r.seed,
                m.id.0,
                t(m.started),
                t(m.finished)
            );
        }
    }
    let honoured = print_verdicts(&results);
    let out = args.out.unwrap_or_else(|| PathBuf::from("results").join(&cfg.name));
    let series = cfg.metrics.controller_buffer_series;
    write_outputs(
        &out,
        &figure.replace('/', "-"),
        &rows,
        &results,
        series,
        "run",
        &args.file,
        &bytes,
    )?;
    println!("wrote {}", out.display());
    Ok(exit(honoured))
}

pub fn sweep(args: SweepArgs) -> Result<ExitCode> {
    let (scenario, bytes) = load(&args.file)?;
    if scenario.sweep.is_empty() {
        bail!(
            "{} has no [sweep] table: add one (see docs/scenarios.md) or use `nftwin run`",
            args.file.display()
        );
    }
    let name = scenario.config.name.clone();
    let points: Vec<&ScenarioConfig> = scenario.sweep.iter().map(|p| &p.config).collect();
    let results = run_points(&points, args.jobs, &name)?;
    // One swept key: it is the x axis. Several: x is the point's label.
    let single_key = scenario.sweep[0].assignments.len() == 1;
    let x_name =
        if single_key { scenario.sweep[0].assignments[0].0.clone() } else { "point".into() };
    let figure = format!("sweep/{name}");
    let mut rows = Vec::new();
    let mut start = 0;
    let mut all_honoured = true;
    println!(
        "{:<48} {:>10} {:>12} {:>12} {:>10}",
        "point", "sent", "lost_upd", "mismatch", "verdict"
    );
    for p in &scenario.sweep {
        let n = p.config.replications as usize;
        let runs = &results[start..start + n];
        start += n;
        let x = if single_key { p.assignments[0].1.clone() } else { p.label.clone() };
        rows.extend(recorded(
            &p.config,
            output::rows_for(&figure, p.config.protocol.name(), &x_name, &x, runs),
        ));
        let honoured = runs.iter().all(|r| r.verdict.honoured);
        all_honoured &= honoured;
        let sum =
            |k: &str| runs.iter().map(|r| r.metrics.get(k).copied().unwrap_or(0.0)).sum::<f64>();
        println!(
            "{:<48} {:>10} {:>12} {:>12} {:>10}",
            p.label,
            sum("sent_pkts"),
            sum("lost_updates"),
            sum("state_mismatch_flows"),
            if honoured { "honoured" } else { "VIOLATED" }
        );
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("results").join(format!("{name}-sweep")));
    let series = scenario.config.metrics.controller_buffer_series;
    write_outputs(
        &out,
        &figure.replace('/', "-"),
        &rows,
        &results,
        series,
        "sweep",
        &args.file,
        &bytes,
    )?;
    println!("wrote {}", out.display());
    Ok(exit(all_honoured))
}
