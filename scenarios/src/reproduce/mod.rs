//! `nftwin reproduce`: the papers' figures and tables, regenerated from runs of the twin.
//!
//! A [`Target`] is one paper (or the `baseline` yardstick). It lists its figures as
//! [`FigureSpec`]s: an id, axis labels, a plot kind, the metrics to keep, and the points to
//! run, each a `(series, x, ScenarioConfig)` whose `seed` and `replications` say which seeds
//! run. [`run_figures`] runs every point of every figure as one job list on the parallel
//! runner (`sweep::run_jobs`), so the results never depend on `--jobs`, and averages each
//! point's replications into tidy rows ([`output::rows_for`]). [`write_figure`] writes a
//! figure's CSV and PNG, [`write_manifest`] the target's `manifest.json`, last.
//!
//! ```text
//!  Target::figures(quick) ─► [FigureSpec { points: [(series, x, config)] }]
//!        │  jobs: every point's seeds, in figure, point, seed order
//!        ▼
//!  sweep::run_jobs (rayon) ─► RunOutcome per job, in job order
//!        │  rows_for per point, kept metrics only
//!        ▼
//!  Figure { rows } ─► <out>/<target>/<fig>.csv, <fig>.png, <fig>.svg ; manifest.json last
//! ```
//!
//! Some figures are computations, not simulations (E2's Figure 9 is the output of a placement
//! algorithm). A target lists those as a [`Computed`]: one pure task per seed, run on the
//! same thread pool ([`run_computed`]) and gathered in seed order, then combined by the
//! target into finished [`Figure`]s (means, standard errors, ratios).
//!
//! Adding a target: a module beside `baseline.rs` with a `pub const TARGET: Target`, and one
//! line in [`TARGETS`]. Adding a figure: one more `FigureSpec` from its `figures` function.

pub mod baseline;
pub mod e2;
pub mod e2_split;
pub mod egret;
pub mod opennf;
pub mod opennf_p2p;
pub mod plot;
pub mod sharp;
pub mod uhaul;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use indicatif::ProgressBar;

use crate::config::ScenarioConfig;
use crate::driver::RunOutcome;
use crate::output::{self, TidyRow};
use crate::sweep::{run_jobs, Job};

/// Every target `nftwin reproduce` knows, in the order `all` runs them.
pub const TARGETS: &[Target] =
    &[baseline::TARGET, opennf::TARGET, e2::TARGET, egret::TARGET, uhaul::TARGET, sharp::TARGET];

/// One paper (or yardstick) whose figures the twin regenerates.
pub struct Target {
    /// The CLI name and the output folder (`<out>/<name>/`).
    pub name: &'static str,
    /// One line for `--help` and error messages.
    pub description: &'static str,
    /// The figures; `quick` asks for fewer seeds and shorter runs (CI, a first look), with the
    /// same figure ids and series, and the same x values or a subset of them.
    pub figures: fn(quick: bool) -> Vec<FigureSpec>,
    /// Figures computed rather than simulated (`None` for most targets); written after the
    /// simulated ones.
    pub computed: Option<fn(quick: bool) -> Computed>,
}

/// One seed's values of a [`Computed`], by the target's own keys (e.g. `chain5/E2`).
pub type SeedValues = BTreeMap<String, f64>;

/// Figures a target computes itself instead of simulating (an algorithm's output, a closed
/// form): `per_seed` for every seed, in parallel and gathered in seed order, then `build`.
/// Both must be pure functions of their arguments, so the figures never depend on `--jobs`.
pub struct Computed {
    /// The ids of the figures `build` returns, in order (for the manifest and the tests).
    pub figure_ids: Vec<String>,
    pub seeds: Vec<u64>,
    /// Every parameter other than the seed that the values depend on, as text; the manifest
    /// holds its hash, as it does the simulated figures' configurations.
    pub inputs: String,
    /// One seed's values.
    pub per_seed: fn(seed: u64) -> SeedValues,
    /// The finished figures (tidy rows built by the target, e.g. with
    /// [`output::mean_stderr`], `runs` = the seeds) from every seed's values, in seed order.
    pub build: fn(per_seed: &[(u64, SeedValues)]) -> Vec<Figure>,
}

/// How a figure is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotKind {
    /// One line with markers per (series, metric) over a numeric x, error bars from `stderr`.
    Lines,
    /// Grouped bars: one group per x value (categorical), one bar per (series, metric).
    Bars,
}

/// One point of a figure: a configuration run `config.replications` times from `config.seed`.
#[derive(Clone, Debug)]
pub struct Point {
    /// The scheme or workload (the tidy `series` column; one line or bar colour each).
    pub series: String,
    /// The swept value (the tidy `x` column); numeric for [`PlotKind::Lines`].
    pub x: String,
    pub config: ScenarioConfig,
}

/// What a target asks for: one figure and the runs behind it.
#[derive(Clone, Debug)]
pub struct FigureSpec {
    /// `<target>/<paper figure or table id>`, e.g. `sharp/fig7`.
    pub id: String,
    pub title: String,
    /// The tidy `x_name` column: snake_case with its unit (`load`, `elephant_mb`).
    pub x_name: String,
    pub x_label: String,
    pub y_label: String,
    pub plot: PlotKind,
    /// The run metrics written to the CSV and plotted (`RunOutcome::metrics` keys).
    pub metrics: Vec<String>,
    pub points: Vec<Point>,
}

/// A finished figure: the spec's labels and the tidy rows (point order, then metric order).
#[derive(Clone, Debug)]
pub struct Figure {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub plot: PlotKind,
    pub metrics: Vec<String>,
    pub rows: Vec<TidyRow>,
}

/// A name on the command line that is no target.
#[derive(Debug, thiserror::Error)]
#[error("unknown target `{name}`: known targets are {known} (or `all`)")]
pub struct UnknownTarget {
    pub name: String,
    pub known: String,
}

/// The known targets' names, comma-separated, for messages.
pub fn known_targets() -> String {
    TARGETS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// The targets named on the command line (`all` = every target), in the order given, each once.
pub fn resolve(names: &[String]) -> Result<Vec<&'static Target>, UnknownTarget> {
    let mut out: Vec<&'static Target> = Vec::new();
    for name in names {
        let found: Vec<&'static Target> = if name == "all" {
            TARGETS.iter().collect()
        } else {
            match TARGETS.iter().find(|t| t.name == name) {
                Some(t) => vec![t],
                None => return Err(UnknownTarget { name: name.clone(), known: known_targets() }),
            }
        };
        for t in found {
            if !out.iter().any(|o| o.name == t.name) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// The jobs of a list of figures: figure, then point, then replication order.
pub fn jobs_of(specs: &[FigureSpec]) -> Vec<Job<'_>> {
    let points: Vec<&ScenarioConfig> =
        specs.iter().flat_map(|f| f.points.iter().map(|p| &p.config)).collect();
    crate::sweep::jobs(&points)
}

/// Runs every point of `specs` on `threads` threads and builds the figures. `bar` advances
/// once per run; `None` if `cancel` was set.
pub fn run_figures(
    specs: &[FigureSpec],
    threads: usize,
    bar: Option<&ProgressBar>,
    cancel: &AtomicBool,
) -> Option<Vec<Figure>> {
    let jobs = jobs_of(specs);
    let results = run_jobs(&jobs, threads, bar, cancel)?;
    let mut rest: &[RunOutcome] = &results;
    let figures = specs
        .iter()
        .map(|spec| {
            let mut rows = Vec::new();
            for p in &spec.points {
                let (runs, tail) = rest.split_at(p.config.replications as usize);
                rest = tail;
                let mut point_rows =
                    output::rows_for(&spec.id, &p.series, &spec.x_name, &p.x, runs);
                point_rows.retain(|r| spec.metrics.contains(&r.metric));
                rows.extend(point_rows);
            }
            Figure {
                id: spec.id.clone(),
                title: spec.title.clone(),
                x_label: spec.x_label.clone(),
                y_label: spec.y_label.clone(),
                plot: spec.plot,
                metrics: spec.metrics.clone(),
                rows,
            }
        })
        .collect();
    Some(figures)
}

/// Runs `c.per_seed` for every seed on `threads` threads and builds its figures. `bar`
/// advances once per seed; `None` if `cancel` was set.
pub fn run_computed(
    c: &Computed,
    threads: usize,
    bar: Option<&ProgressBar>,
    cancel: &AtomicBool,
) -> Option<Vec<Figure>> {
    use rayon::prelude::*;
    use std::sync::atomic::Ordering;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .expect("invariant: a thread pool of a positive size can be built");
    let values: Vec<Option<(u64, SeedValues)>> = pool.install(|| {
        c.seeds
            .par_iter()
            .map(|&seed| {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let v = (c.per_seed)(seed);
                if let Some(b) = bar {
                    b.inc(1);
                }
                Some((seed, v))
            })
            .collect()
    });
    let values: Vec<(u64, SeedValues)> = values.into_iter().collect::<Option<_>>()?;
    Some((c.build)(&values))
}

/// A figure's file stem: its id with `/` replaced by `-`.
pub fn file_stem(figure_id: &str) -> String {
    figure_id.replace('/', "-")
}

/// Writes `<dir>/<stem>.csv`, `<dir>/<stem>.png` and `<dir>/<stem>.svg` (each through temp +
/// rename) and returns their names relative to `dir`.
pub fn write_figure(dir: &Path, fig: &Figure) -> io::Result<Vec<String>> {
    let stem = file_stem(&fig.id);
    let csv = format!("{stem}.csv");
    let png = format!("{stem}.png");
    let svg = format!("{stem}.svg");
    output::write_atomic(&dir.join(&csv), &output::tidy_csv(&fig.rows))?;
    output::write_atomic_bytes(&dir.join(&png), &plot::render_png(fig))?;
    output::write_atomic(&dir.join(&svg), &plot::render_svg(fig))?;
    Ok(vec![csv, png, svg])
}

/// Writes `<dir>/manifest.json`: what ran (each figure's configurations hashed, the seeds)
/// and the files written. Call it last: a folder with a manifest is complete.
pub fn write_manifest(
    dir: &Path,
    target: &Target,
    quick: bool,
    specs: &[FigureSpec],
    computed: Option<&Computed>,
    files: &[String],
) -> io::Result<()> {
    output::write_atomic(
        &dir.join("manifest.json"),
        &manifest_json(target, quick, specs, computed, files),
    )
}

/// The manifest's text. A configuration's hash is FNV-1a 64 of its `Debug` text: stable for
/// one build of nftwin, and it changes when any field of a point changes. A computed figure
/// has `"computed": true`, its seeds and the hash of its `inputs` instead.
pub fn manifest_json(
    target: &Target,
    quick: bool,
    specs: &[FigureSpec],
    computed: Option<&Computed>,
    files: &[String],
) -> String {
    use output::json_str;
    let mut figures: Vec<String> = specs
        .iter()
        .map(|f| {
            let mut text = String::new();
            let mut seeds: Vec<u64> = Vec::new();
            for p in &f.points {
                text.push_str(&format!("{:?}\n", p.config));
                for r in 0..p.config.replications as u64 {
                    if !seeds.contains(&(p.config.seed + r)) {
                        seeds.push(p.config.seed + r);
                    }
                }
            }
            seeds.sort_unstable();
            let seeds: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
            format!(
                "{{\"id\": {}, \"points\": {}, \"configs_fnv1a64\": \"{:016x}\", \"seeds\": [{}]}}",
                json_str(&f.id),
                f.points.len(),
                base::rng::fnv1a64(text.as_bytes()),
                seeds.join(", ")
            )
        })
        .collect();
    if let Some(c) = computed {
        let seeds: Vec<String> = c.seeds.iter().map(|s| s.to_string()).collect();
        for id in &c.figure_ids {
            figures.push(format!(
                "{{\"id\": {}, \"computed\": true, \"inputs_fnv1a64\": \"{:016x}\", \"seeds\": [{}]}}",
                json_str(id),
                base::rng::fnv1a64(c.inputs.as_bytes()),
                seeds.join(", ")
            ));
        }
    }
    let files: Vec<String> = files.iter().map(|f| json_str(f)).collect();
    format!(
        "{{\n  \"tool\": \"nftwin\",\n  \"version\": {},\n  \"git_revision\": {},\n  \"command\": {},\n  \
         \"target\": {},\n  \"quick\": {},\n  \"figures\": [\n    {}\n  ],\n  \"files\": [{}]\n}}\n",
        json_str(env!("CARGO_PKG_VERSION")),
        json_str(option_env!("NFTWIN_GIT_REVISION").unwrap_or("unknown")),
        json_str(&format!("nftwin reproduce {}{}", target.name, if quick { " --quick" } else { "" })),
        json_str(target.name),
        quick,
        figures.join(",\n    "),
        files.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_resolves_to_every_target_once() {
        let names = vec!["baseline".to_string(), "all".to_string()];
        let got: Vec<&str> = resolve(&names).unwrap().iter().map(|t| t.name).collect();
        let want: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_unknown_target_names_the_known_ones() {
        let e = resolve(&["sharpp".to_string()]).err().unwrap();
        assert_eq!(e.name, "sharpp");
        assert!(e.to_string().contains("baseline"), "{e}");
    }

    #[test]
    fn figure_ids_are_prefixed_by_their_target_and_unique() {
        for t in TARGETS {
            for quick in [true, false] {
                let specs = (t.figures)(quick);
                let computed = t.computed.map(|c| c(quick));
                let mut ids: Vec<&str> = specs.iter().map(|f| f.id.as_str()).collect();
                ids.extend(computed.iter().flat_map(|c| c.figure_ids.iter().map(String::as_str)));
                for id in &ids {
                    assert!(id.starts_with(&format!("{}/", t.name)), "{id}");
                }
                let n = ids.len();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), n);
            }
        }
    }
}
