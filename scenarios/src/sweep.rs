//! Runs many scenario points in parallel: one run per thread (rayon), each single-threaded and
//! independent, results gathered in job order so the output never depends on `--jobs`.

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::config::ScenarioConfig;
use crate::driver::{run_once, RunOutcome};

/// One job: a configuration and the seed of one replication.
pub struct Job<'a> {
    pub point: usize,
    pub config: &'a ScenarioConfig,
    pub seed: u64,
}

/// The jobs of a list of points: each point's replications, in point then replication order.
pub fn jobs<'a>(points: &[&'a ScenarioConfig]) -> Vec<Job<'a>> {
    points
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            (0..c.replications as u64).map(move |r| Job { point: i, config: c, seed: c.seed + r })
        })
        .collect()
}

/// Runs every job on `threads` threads; results are in job order. `bar` (if any) advances
/// once per finished job. If `cancel` becomes true, jobs not yet started are skipped and
/// `None` is returned.
pub fn run_jobs(
    jobs: &[Job<'_>],
    threads: usize,
    bar: Option<&ProgressBar>,
    cancel: &AtomicBool,
) -> Option<Vec<RunOutcome>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .expect("invariant: a thread pool of a positive size can be built");
    let results: Vec<Option<RunOutcome>> = pool.install(|| {
        jobs.par_iter()
            .map(|j| {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let r = run_once(j.config, j.seed);
                if let Some(b) = bar {
                    b.inc(1);
                }
                Some(r)
            })
            .collect()
    });
    results.into_iter().collect()
}
