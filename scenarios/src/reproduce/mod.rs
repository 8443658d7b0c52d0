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
//! [`run_target`] is one target end to end, as the CLI runs it: the jobs go through a
//! [`RunCache`] (`<out>/<target>/.runs/`, each finished run stored as it ends, read back with
//! `--resume`), a raised cancel flag (Ctrl-C) stops new runs and writes nothing, and the
//! manifest is removed on entry and written last. [`index_markdown`] is `all`'s index.
//!
//! Adding a target: a module beside `baseline.rs` with a `pub const TARGET: Target`, and one
//! line in [`TARGETS`]. Adding a figure: one more `FigureSpec` from its `figures` function.

pub mod baseline;
pub mod claims;
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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};

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
    let results: Vec<RunOutcome> = run_jobs(&jobs, threads, bar, cancel)?;
    let metrics: Vec<&Metrics> = results.iter().map(|r| &r.metrics).collect();
    Some(build_figures(specs, &metrics))
}

/// [`run_figures`] through a [`RunCache`]: a run the cache holds (when it reads) is not run
/// again, and every run that finishes is stored as it finishes, so a cancelled call keeps its
/// finished runs for the next one. `Ok(None)` if `cancel` was set before every run finished;
/// an error if a finished run cannot be stored.
pub fn run_figures_cached(
    specs: &[FigureSpec],
    threads: usize,
    bar: Option<&ProgressBar>,
    cancel: &AtomicBool,
    cache: &RunCache,
) -> io::Result<Option<Vec<Figure>>> {
    use rayon::prelude::*;
    use std::sync::atomic::Ordering;
    let jobs = jobs_of(specs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .expect("invariant: a thread pool of a positive size can be built");
    let results: Vec<io::Result<Option<Metrics>>> = pool.install(|| {
        jobs.par_iter()
            .map(|j| {
                let metrics = match cache.load(j.config, j.seed) {
                    Some(m) => {
                        cache.hits.fetch_add(1, Ordering::Relaxed);
                        m
                    }
                    None => {
                        if cancel.load(Ordering::Relaxed) {
                            return Ok(None);
                        }
                        let m = crate::driver::run_once(j.config, j.seed).metrics;
                        cache.store(j.config, j.seed, &m)?;
                        m
                    }
                };
                if let Some(b) = bar {
                    b.inc(1);
                }
                Ok(Some(metrics))
            })
            .collect()
    });
    let mut metrics = Vec::with_capacity(results.len());
    for r in results {
        match r? {
            Some(m) => metrics.push(m),
            None => return Ok(None),
        }
    }
    let refs: Vec<&Metrics> = metrics.iter().collect();
    Ok(Some(build_figures(specs, &refs)))
}

/// One run's metrics (`RunOutcome::metrics`): all a figure keeps of a run.
pub type Metrics = BTreeMap<String, f64>;

/// The figures of `specs` from every job's metrics, in [`jobs_of`] order.
fn build_figures(specs: &[FigureSpec], results: &[&Metrics]) -> Vec<Figure> {
    let mut rest: &[&Metrics] = results;
    specs
        .iter()
        .map(|spec| {
            let mut rows = Vec::new();
            for p in &spec.points {
                let (runs, tail) = rest.split_at(p.config.replications as usize);
                rest = tail;
                let mut point_rows = output::rows_for_metrics(
                    &spec.id,
                    &p.series,
                    &spec.x_name,
                    &p.x,
                    runs.iter().copied(),
                );
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
        .collect()
}

/// The folder, inside a target's, of its finished runs (`--resume`).
pub const RUNS_DIR: &str = ".runs";

/// Finished runs' metrics on disk, one file per run: `<dir>/<key>.json`, the key the FNV-1a 64
/// hash of the run's configuration (`Debug` text, as in the manifest) and seed, the metrics as
/// their exact `f64` bits so a resumed figure is byte-identical. Runs are always stored; they
/// are read back only if `read` (`--resume`). A file that does not read back exactly as it
/// would be written (a foreign or damaged file, another key) counts as absent: the run reruns.
#[derive(Debug)]
pub struct RunCache {
    pub dir: PathBuf,
    pub read: bool,
    /// How many runs were read back rather than run.
    pub hits: AtomicU64,
}

impl RunCache {
    pub fn new(dir: PathBuf, read: bool) -> RunCache {
        RunCache { dir, read, hits: AtomicU64::new(0) }
    }

    /// The run's key: FNV-1a 64 of its configuration's `Debug` text and its seed.
    pub fn key(config: &ScenarioConfig, seed: u64) -> u64 {
        base::rng::fnv1a64(format!("{config:?}\nseed {seed}\n").as_bytes())
    }

    fn path(&self, key: u64) -> PathBuf {
        self.dir.join(format!("{key:016x}.json"))
    }

    /// The stored metrics of the run, if `read` and stored.
    pub fn load(&self, config: &ScenarioConfig, seed: u64) -> Option<Metrics> {
        if !self.read {
            return None;
        }
        let key = Self::key(config, seed);
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        let metrics = parse_run_json(&text)?;
        (run_json(key, seed, &metrics) == text).then_some(metrics)
    }

    /// Stores the run's metrics (temp + rename).
    pub fn store(&self, config: &ScenarioConfig, seed: u64, metrics: &Metrics) -> io::Result<()> {
        let key = Self::key(config, seed);
        output::write_atomic(&self.path(key), &run_json(key, seed, metrics))
    }
}

/// A cached run's text: its key, its seed and every metric's `f64` bits in hex.
fn run_json(key: u64, seed: u64, metrics: &Metrics) -> String {
    let mut s = format!(
        "{{\n  \"run_fnv1a64\": \"{key:016x}\",\n  \"seed\": {seed},\n  \"metrics_f64_bits\": {{"
    );
    for (i, (k, v)) in metrics.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        s.push_str(&format!("{sep}\n    {}: \"{:016x}\"", output::json_str(k), v.to_bits()));
    }
    s.push_str("\n  }\n}\n");
    s
}

/// The metrics of a [`run_json`] text (its names unescaped only as far as the round trip in
/// [`RunCache::load`] needs: a name that needed escaping fails that check).
fn parse_run_json(text: &str) -> Option<Metrics> {
    let mut metrics = Metrics::new();
    for line in text.lines().filter(|l| l.starts_with("    \"")) {
        let line = line.trim().trim_end_matches(',');
        let (name, bits) = line.strip_prefix('"')?.rsplit_once("\": \"")?;
        let bits = u64::from_str_radix(bits.strip_suffix('"')?, 16).ok()?;
        metrics.insert(name.to_string(), f64::from_bits(bits));
    }
    Some(metrics)
}

/// How [`run_target`] runs a target.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub quick: bool,
    /// The output folder; the target writes into `<out>/<target>/`.
    pub out: PathBuf,
    pub threads: usize,
    /// Read back the runs an earlier, interrupted call finished (`--resume`).
    pub resume: bool,
}

/// A target [`run_target`] finished and wrote.
#[derive(Clone, Debug)]
pub struct TargetDone {
    pub figures: Vec<Figure>,
    /// The files written, relative to the target's folder (`manifest.json` last).
    pub files: Vec<String>,
    /// Simulated runs plus computed seeds.
    pub runs: u64,
    /// Simulated runs read back from an earlier call instead of run.
    pub resumed: u64,
}

/// Runs one target and writes its folder: the figures' CSVs and PNGs, then `manifest.json`.
///
/// On entry the folder loses its `manifest.json` (so while it runs, and if it is interrupted,
/// it does not look complete) and any `*.tmp`; without `resume`, also its finished runs.
/// Every finished simulated run is stored in `<folder>/.runs/` as it finishes (computed
/// figures are not stored: they rerun). If `cancel` is set, no new run starts and nothing
/// more is written but the runs already under way: `Ok(None)`. `bar` gets the run count as
/// its length and advances once per run.
pub fn run_target(
    target: &Target,
    opts: &RunOptions,
    bar: Option<&ProgressBar>,
    cancel: &AtomicBool,
) -> io::Result<Option<TargetDone>> {
    use std::sync::atomic::Ordering;
    let specs: Vec<FigureSpec> = (target.figures)(opts.quick);
    let computed = target.computed.map(|c| c(opts.quick));
    let runs = jobs_of(&specs).len() as u64 + computed.as_ref().map_or(0, |c| c.seeds.len() as u64);
    if let Some(b) = bar {
        b.set_length(runs);
    }
    let dir = opts.out.join(target.name);
    prepare_target_dir(&dir, opts.resume)?;
    let cache = RunCache::new(dir.join(RUNS_DIR), opts.resume);
    let Some(mut figures) = run_figures_cached(&specs, opts.threads, bar, cancel, &cache)? else {
        return Ok(None);
    };
    if let Some(c) = &computed {
        match run_computed(c, opts.threads, bar, cancel) {
            Some(f) => figures.extend(f),
            None => return Ok(None),
        }
    }
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut files = Vec::new();
    for fig in &figures {
        files.extend(write_figure(&dir, fig)?);
    }
    write_manifest(&dir, target, opts.quick, &specs, computed.as_ref(), &files)?;
    files.push("manifest.json".into());
    Ok(Some(TargetDone { figures, files, runs, resumed: cache.hits.load(Ordering::Relaxed) }))
}

/// Removes `<dir>/manifest.json` and every `*.tmp` in `dir` and its runs folder; without
/// `resume`, the runs folder too. A missing folder is fine.
pub fn prepare_target_dir(dir: &Path, resume: bool) -> io::Result<()> {
    let runs = dir.join(RUNS_DIR);
    remove_if_present(&dir.join("manifest.json"))?;
    for d in [dir, runs.as_path()] {
        let entries = match std::fs::read_dir(d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                remove_if_present(&path)?;
            }
        }
    }
    if !resume {
        match std::fs::remove_dir_all(&runs) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Removes a file; a missing one is fine.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// One finished target in the `<out>/README.md` index.
pub struct IndexEntry<'a> {
    pub target: &'a Target,
    pub done: &'a TargetDone,
    /// Wall-clock seconds the target took (the index's only machine-dependent content).
    pub seconds: f64,
}

/// The `<out>/README.md` index of a `nftwin reproduce all`: the command, a table of the
/// targets (runs, time), then per target its description and every figure's title, PNG
/// (embedded, linked relative to `<out>`) and CSV.
pub fn index_markdown(command: &str, entries: &[IndexEntry<'_>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut s = String::from("# nftwin reproduction results\n\n");
    s.push_str(&format!(
        "Written by `{command}` (nftwin {}, revision {}). Each folder holds a target's tidy \
         CSVs and PNGs and, written last, its `manifest.json` (what ran: configurations hashed, \
         seeds); a folder without a manifest was interrupted. Times are wall-clock on the \
         machine that ran the command, the only content here that varies between runs.\n\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("NFTWIN_GIT_REVISION").unwrap_or("unknown"),
    ));
    s.push_str("| Target | Description | Figures | Runs | Time (s) |\n|---|---|---:|---:|---:|\n");
    let mut total_runs = 0;
    let mut total_seconds = 0.0;
    for e in entries {
        total_runs += e.done.runs;
        total_seconds += e.seconds;
        s.push_str(&format!(
            "| [{name}](#{name}) | {} | {} | {} | {:.1} |\n",
            cell(e.target.description),
            e.done.figures.len(),
            e.done.runs,
            e.seconds,
            name = e.target.name,
        ));
    }
    s.push_str(&format!("| **all** | | | {total_runs} | {total_seconds:.1} |\n"));
    s.push_str(
        "\nThe papers' claims, each checked against these figures (paper value, twin value, \
         verdict and its rule): [claims.md](claims.md), [claims.csv](claims.csv).\n",
    );
    for e in entries {
        let name = e.target.name;
        s.push_str(&format!("\n## {name}\n\n{}\n\n", e.target.description));
        s.push_str(&format!("{} runs", e.done.runs));
        if e.done.resumed > 0 {
            s.push_str(&format!(
                " ({} read back from an interrupted earlier call)",
                e.done.resumed
            ));
        }
        s.push_str(&format!(" in {:.1} s; [manifest.json]({name}/manifest.json).\n", e.seconds));
        for fig in &e.done.figures {
            let stem = file_stem(&fig.id);
            s.push_str(&format!(
                "\n### {}: {}\n\n![{}]({name}/{stem}.png)\n\nData: [{stem}.csv]({name}/{stem}.csv)\n",
                fig.id, fig.title, fig.title
            ));
        }
    }
    s
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
