//! `nftwin check`: the correctness regression matrix and the golden comparison.
//!
//! - **Matrix** ([`matrix`]): every protocol variant x fault x workload x load, over several
//!   seeds. Where a protocol declares a guarantee, the oracle's verdict must honour it on every
//!   seed; where a weaker mode is known to fail (a move without guarantees loses updates, a
//!   loss-free move without order preservation reorders, a plain loss-free move overflowing the
//!   controller buffer loses updates), the oracle must show it on some seed, or the oracle has
//!   gone blind.
//! - **Golden** ([`golden`]): a fixed set of scenario files, summarised per seed, against
//!   `results/golden/`.

pub mod golden;
pub mod matrix;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use models::opennf::OpenNfFault;

use crate::config::ScenarioConfig;
use crate::driver::RunOutcome;
use crate::sweep;

pub use matrix::{Dimensions, Expect};

/// One expectation's result.
#[derive(Debug, Clone)]
pub struct Finding {
    pub case: String,
    pub expect: Expect,
    pub result: Result<(), String>,
    /// The open defect this case is known to show (its failure does not fail the check).
    pub known_issue: Option<&'static str>,
}

impl Finding {
    /// A failure that fails the check.
    pub fn is_regression(&self) -> bool {
        self.result.is_err() && self.known_issue.is_none()
    }
}

/// Where the golden set lives: the scenario files and their summaries. Defaults are the
/// source tree's (`scenarios/examples/`, `results/golden/`).
#[derive(Debug, Clone)]
pub struct GoldenPaths {
    pub scenarios: PathBuf,
    pub golden: PathBuf,
}

impl Default for GoldenPaths {
    fn default() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        GoldenPaths { scenarios: root.join("examples"), golden: root.join("../results/golden") }
    }
}

/// Runs every scenario's replications in parallel; outcomes grouped per scenario, in order.
fn run_all(
    configs: &[&ScenarioConfig],
    threads: usize,
    bar: Option<&ProgressBar>,
) -> Option<Vec<Vec<RunOutcome>>> {
    let jobs = sweep::jobs(configs);
    let cancel = AtomicBool::new(false);
    let outcomes = sweep::run_jobs(&jobs, threads, bar, &cancel)?;
    let mut grouped: Vec<Vec<RunOutcome>> = vec![Vec::new(); configs.len()];
    for (job, r) in jobs.iter().zip(outcomes) {
        grouped[job.point].push(r);
    }
    Some(grouped)
}

/// The number of runs the matrix takes (for a progress bar).
pub fn matrix_runs(cases: &[matrix::Case]) -> u64 {
    cases.iter().map(|c| c.config.replications as u64).sum()
}

/// Runs the matrix; one finding per case and expectation, in case order.
pub fn run_matrix(
    cases: &[matrix::Case],
    threads: usize,
    bar: Option<&ProgressBar>,
) -> Vec<Finding> {
    let configs: Vec<&ScenarioConfig> = cases.iter().map(|c| &c.config).collect();
    let grouped = run_all(&configs, threads, bar).expect("invariant: nothing cancels the check");
    let mut out = Vec::new();
    for (case, runs) in cases.iter().zip(grouped) {
        for &expect in &case.expects {
            out.push(Finding {
                case: case.id.clone(),
                expect,
                result: matrix::judge(expect, &runs),
                known_issue: case.known_issue,
            });
        }
    }
    out
}

/// A golden scenario's result: its drifts, or why it could not be compared.
#[derive(Debug)]
pub struct GoldenResult {
    pub scenario: PathBuf,
    pub drifts: Result<Vec<golden::Drift>, String>,
}

/// Loads the golden set's scenario files.
pub fn golden_scenarios(paths: &GoldenPaths) -> Result<Vec<(PathBuf, ScenarioConfig)>> {
    golden::scenario_files(&paths.scenarios)?
        .into_iter()
        .map(|p| {
            let s = crate::spec::load(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((p, s.config))
        })
        .collect()
}

/// Runs the golden scenarios; compares with the golden files, or (with `update`) rewrites them.
pub fn run_golden(
    scenarios: &[(PathBuf, ScenarioConfig)],
    paths: &GoldenPaths,
    update: bool,
    threads: usize,
    bar: Option<&ProgressBar>,
) -> Result<Vec<GoldenResult>> {
    let configs: Vec<&ScenarioConfig> = scenarios.iter().map(|(_, c)| c).collect();
    let grouped = run_all(&configs, threads, bar).expect("invariant: nothing cancels the check");
    let mut out = Vec::new();
    for ((path, cfg), runs) in scenarios.iter().zip(grouped) {
        let stem = path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy());
        let rows = golden::summary(&stem, cfg, &runs);
        let gpath = golden::golden_path(&paths.golden, path);
        if update {
            std::fs::create_dir_all(&paths.golden)
                .with_context(|| format!("cannot create {}", paths.golden.display()))?;
            crate::output::write_atomic(&gpath, &crate::output::tidy_csv(&rows))
                .with_context(|| format!("cannot write {}", gpath.display()))?;
            out.push(GoldenResult { scenario: path.clone(), drifts: Ok(Vec::new()) });
        } else {
            let drifts = golden::read_golden(&gpath)
                .map(|g| golden::compare(&g, &rows))
                .map_err(|e| format!("{e:#}"));
            out.push(GoldenResult { scenario: path.clone(), drifts });
        }
    }
    Ok(out)
}

/// Parses `--inject-fault`'s value.
pub fn parse_fault(name: &str) -> Result<matrix::Inject> {
    match name {
        "opennf-skip-order-hold" => Ok(matrix::Inject::OpenNf(OpenNfFault::SkipOrderHold)),
        "sharp-release-sw-before-ctrl" => {
            Ok(matrix::Inject::Sharp(models::sharp::HslFault::ReleaseSwBeforeCtrl))
        }
        other => anyhow::bail!(
            "unknown fault `{other}`; known: opennf-skip-order-hold (OpenNF's order-preserving \
             move without its hold at dstInst), sharp-release-sw-before-ctrl (SHarP's HSL \
             releasing sw_buff before ctrl_buff)"
        ),
    }
}
