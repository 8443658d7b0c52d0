//! The `e2` target: E2 (Palkar et al., SOSP 2015), Figures 9, 10, 11 and the strawmen of
//! section 7.2, computed by code rather than from scenario files.
//!
//! Figure 9 is the maximum throughput the section 7.2 rack (24 servers of 15 NF cores, 10 Gbps
//! NICs, 24 external 10 Gbps ports) sustains with E2's placement and the "Random" and
//! "Packing" strawmen, on a 5-node chain and a 10-node random graph. The twin's data comes
//! from `models::e2::fig9` (graph generation, sizing, the three placements and the
//! throughput bound, all seeded; see that module for which choices are ours): one seed draws
//! one graph of each kind and places it with every scheme.
//!
//! - `e2/fig9`: bars, x = graph kind, one bar per scheme, `max_throughput_gbps` mean and
//!   standard error over the seeds.
//! - `e2/fig9-ratio`: bars, x = graph kind, series `E2/Random` and `E2/Packing`; metric
//!   `ratio_of_means` (the ratio of the bars of `e2/fig9`; stderr by the delta method,
//!   ignoring the covariance of two schemes on the same graphs) and `mean_of_seed_ratios`
//!   (each seed's ratio, averaged; stderr over the seeds).
//!
//! Figures 10, 11 and the strawmen come from the split experiment of
//! [`super::e2_split`] (its module doc names every parameter and its source), run for the
//! first [`split_seeds`] seeds:
//!
//! - `e2/fig10`: lines over time (s), migration avoidance, series `original` (A) and `new`
//!   (A'), metric `load_mbps` per 100 ms bin; A splits at 2 s.
//! - `e2/fig11`: lines over time, migration avoidance: `added_latency_us` (a bin's mean packet
//!   latency minus the mean before the split), `detour_added_latency_us` (the same for the
//!   packets detoured through A's E2D, against all packets before the split) and
//!   `switch_gbps` (what the hardware switch receives: ingress plus detoured packets).
//! - `e2/strawmen`: bars, one group (x = the split time, 2 s), one bar per strategy:
//!   `imbalance_pct` over the last 2 s of the run (`100 (max - min) / max` of the two
//!   instances' loads), `hw_rules_max`, `converged_s` (split to the last rule in the hardware
//!   switch; the run length when it never got there), `pause_ms` (always-migrate's OpenNF move,
//!   from its start to the import of the last flow's state).
//! - `e2/strawmen-more`: the same bars for `balanced_after_s` (split to the first 2 s window
//!   from which the imbalance stays within 10% to the end; the run length when never),
//!   `flows_moved`, the oracle's `lost_updates` and `reordered_updates`,
//!   `imbalance_from_ideal_pct` (the paper's "within 10% of ideal": `100 (max - min) / (max +
//!   min)` over the last 2 s) and `new_load_at_5_6s_flows` (A''s load over the 1 s around
//!   5.6 s after the split, in flows' worth of 1 Gbps / 10,000 flows: the paper's "shifting
//!   load equivalent to roughly 5,000 flows in 5.6 seconds") and `held_max_pkts` (the most
//!   packets held at once: always-migrate's OpenNF controller buffer).

use models::e2::fig9::{fig9, GraphKind, Scheme, E2_SEARCH_STEPS, FIG9_FILL};
use models::e2::hardware::RackSpec;

use base::{Dur, Time};
use models::e2::migration::{SplitPhase, Strategy};

use super::e2_split::{run as run_split, SplitExperiment, SplitResult};
use super::{Computed, Figure, FigureSpec, PlotKind, SeedValues, Target};
use crate::output::{mean_stderr, TidyRow};

pub const TARGET: Target = Target {
    name: "e2",
    description: "E2 Figures 9-11: placement vs Random and Packing; splitting with migration avoidance vs always- and never-migrate",
    figures,
    computed: Some(computed),
};

const FIG9: &str = "e2/fig9";
const FIG9_RATIO: &str = "e2/fig9-ratio";
const FIG10: &str = "e2/fig10";
const FIG11: &str = "e2/fig11";
const STRAWMEN: &str = "e2/strawmen";
const STRAWMEN_MORE: &str = "e2/strawmen-more";
const X_NAME: &str = "graph";
const METRIC: &str = "max_throughput_gbps";
/// The schemes in bar order.
const SCHEMES: [Scheme; 4] = [Scheme::E2, Scheme::E2CutOnly, Scheme::Packing, Scheme::Random];
/// The ratios of `e2/fig9-ratio`: (numerator, denominator).
const RATIOS: [(Scheme, Scheme); 4] = [
    (Scheme::E2, Scheme::Random),
    (Scheme::E2, Scheme::Packing),
    (Scheme::E2CutOnly, Scheme::Random),
    (Scheme::E2CutOnly, Scheme::Packing),
];

/// Seeds 1..=N.
fn seeds(quick: bool) -> Vec<u64> {
    let n = if quick { 5 } else { 30 };
    (1..=n).collect()
}

/// Nothing is simulated.
fn figures(_quick: bool) -> Vec<FigureSpec> {
    vec![]
}

/// The split experiments run for seeds `1..=split_seeds`, for `split_duration` of traffic
/// (quick: one 20 s run per strategy; full: three 60 s runs, long enough for migration
/// avoidance's heavy-tailed exceptions to drain below the push threshold).
pub fn split_seeds(quick: bool) -> u64 {
    if quick {
        1
    } else {
        3
    }
}

pub fn split_duration(quick: bool) -> Dur {
    Dur::from_secs(if quick { 20 } else { 60 })
}

fn computed(quick: bool) -> Computed {
    let x = SplitExperiment::paper(Strategy::MigrationAvoidance, 0, split_duration(quick));
    Computed {
        figure_ids: vec![
            FIG9.into(),
            FIG9_RATIO.into(),
            FIG10.into(),
            FIG11.into(),
            STRAWMEN.into(),
            STRAWMEN_MORE.into(),
        ],
        seeds: seeds(quick),
        inputs: format!(
            "models::e2::fig9 rack {:?} fill {FIG9_FILL} e2_search_steps {E2_SEARCH_STEPS}; \
             split experiment {x:?} seeds 1..={}",
            RackSpec::e2_rack(),
            split_seeds(quick)
        ),
        per_seed: if quick { per_seed_quick } else { per_seed_full },
        build,
    }
}

fn per_seed_quick(seed: u64) -> SeedValues {
    let mut v = per_seed(seed);
    if seed <= split_seeds(true) {
        split_values(seed, split_duration(true), &mut v);
    }
    v
}

fn per_seed_full(seed: u64) -> SeedValues {
    let mut v = per_seed(seed);
    if seed <= split_seeds(false) {
        split_values(seed, split_duration(false), &mut v);
    }
    v
}

/// The strawmen table's metrics, in bar order: `e2/strawmen` (what the paper compares) takes
/// the first four, `e2/strawmen-more` the rest.
/// `balanced_after_s`'s window: as long as `imbalance_pct`'s (the run's last 2 s). With 1 s
/// windows even always-migrate, balanced from the split on, has windows over 10% late in
/// the run: short flows of 62.5 kB make one second's load noisy.
const BALANCE_WINDOW: Dur = Dur::from_secs(2);

const STRAW_METRICS: [&str; 11] = [
    "imbalance_pct",
    "hw_rules_max",
    "converged_s",
    "pause_ms",
    "balanced_after_s",
    "flows_moved",
    "lost_updates",
    "reordered_updates",
    "imbalance_from_ideal_pct",
    "new_load_at_5_6s_flows",
    "held_max_pkts",
];

fn secs(t: Time) -> f64 {
    t.as_nanos() as f64 / 1e9
}

/// One seed's split experiments, as `fig10/<instance>/<bin>`, `fig11/<metric>/<bin>` and
/// `straw/<strategy>/<metric>` values.
fn split_values(seed: u64, duration: Dur, v: &mut SeedValues) {
    for strategy in Strategy::ALL {
        let x = SplitExperiment::paper(strategy, seed, duration);
        let r = run_split(&x);
        if strategy == Strategy::MigrationAvoidance {
            fig10_11_values(&r, v);
        }
        let end = Time::ZERO + duration;
        let split = r.split_requested.unwrap_or(end);
        let since = |t: Option<Time>| secs(t.unwrap_or(end)) - secs(split);
        let two_s = Time::ZERO + Dur::from_nanos(duration.as_nanos().saturating_sub(2_000_000_000));
        // The paper's "shifting load equivalent to roughly 5,000 flows in 5.6 seconds": A''s
        // load over the 1 s around 5.6 s after the split, in flows' worth (1 Gbps / 10,000).
        let around = split + Dur::from_millis(5_100);
        let (_, new_bytes) = r.bytes_between(around, around + Dur::from_secs(1));
        let new_flows = new_bytes as f64 * 8.0 / 1e6 / x.flow_worth_mbps();
        let values = [
            r.imbalance_pct(two_s, end),
            r.max_hw_rules as f64,
            since(r.phase_at(SplitPhase::Converged)),
            r.pause.map_or(0.0, |p| p.as_secs_f64() * 1e3),
            since(r.balanced_from(10.0, BALANCE_WINDOW)),
            r.flows_moved as f64,
            r.oracle.lost_updates as f64,
            r.oracle.reordered_updates as f64,
            r.imbalance_from_ideal_pct(two_s, end),
            new_flows,
            r.max_held as f64,
        ];
        for (m, x) in STRAW_METRICS.iter().zip(values) {
            v.insert(format!("straw/{}/{m}", strategy.name()), x);
        }
    }
}

fn fig10_11_values(r: &SplitResult, v: &mut SeedValues) {
    let split = r.split_requested.expect("invariant: the paper's experiment splits at 2 s");
    let before = r.mean_latency_us(Time::ZERO, split);
    for (i, b) in r.bins.iter().enumerate() {
        let (a, n) = r.load_mbps(b);
        v.insert(format!("fig10/original/{i:05}"), a);
        v.insert(format!("fig10/new/{i:05}"), n);
        if b.delivered > 0 {
            let mean = b.latency_ns as f64 / b.delivered as f64 / 1e3;
            v.insert(format!("fig11/added_latency_us/{i:05}"), mean - before);
        }
        if b.detoured_delivered > 0 {
            let mean = b.detoured_latency_ns as f64 / b.detoured_delivered as f64 / 1e3;
            v.insert(format!("fig11/detour_added_latency_us/{i:05}"), mean - before);
        }
        let gbps = b.switch_bytes as f64 * 8.0 / r.bin.as_secs_f64() / 1e9;
        v.insert(format!("fig11/switch_gbps/{i:05}"), gbps);
    }
}

/// Rows of a time series: every key `<prefix>/<bin>` over the seeds that have it.
fn series_rows(
    per_seed: &[(u64, SeedValues)],
    figure: &str,
    prefix: &str,
    series: &str,
    metric: &str,
) -> Vec<TidyRow> {
    let mut bins: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for (_, v) in per_seed {
        for (k, x) in v.range(format!("{prefix}/")..) {
            let Some(bin) = k.strip_prefix(prefix).and_then(|b| b.strip_prefix('/')) else {
                break;
            };
            bins.entry(bin).or_default().push(*x);
        }
    }
    bins.into_iter()
        .map(|(bin, xs)| {
            let i: u64 = bin.parse().expect("invariant: bins are numbered");
            // The bin's centre, in seconds (bins are 100 ms).
            let t = (i as f64 + 0.5) / 10.0;
            let (m, e) = mean_stderr(&xs);
            TidyRow {
                figure: figure.into(),
                series: series.into(),
                x_name: "time_s".into(),
                x: format!("{t:.2}"),
                metric: metric.into(),
                value: m,
                stderr: e,
                runs: xs.len(),
            }
        })
        .collect()
}

fn split_figures(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let mut fig10 = series_rows(per_seed, FIG10, "fig10/original", "original", "load_mbps");
    fig10.extend(series_rows(per_seed, FIG10, "fig10/new", "new", "load_mbps"));
    let ma = Strategy::MigrationAvoidance.name();
    let mut fig11 = Vec::new();
    for m in ["added_latency_us", "detour_added_latency_us", "switch_gbps"] {
        fig11.extend(series_rows(per_seed, FIG11, &format!("fig11/{m}"), ma, m));
    }
    let straw_rows = |figure: &str, metrics: &[&str]| {
        let mut rows = Vec::new();
        for st in Strategy::ALL {
            for m in metrics {
                let key = format!("straw/{}/{m}", st.name());
                let xs: Vec<f64> =
                    per_seed.iter().filter_map(|(_, v)| v.get(&key).copied()).collect();
                if xs.is_empty() {
                    continue;
                }
                let (value, stderr) = mean_stderr(&xs);
                rows.push(TidyRow {
                    figure: figure.into(),
                    series: st.name().into(),
                    // One group: each metric's panel shows the three strategies side by side.
                    x_name: "split_at_s".into(),
                    x: "2".into(),
                    metric: m.to_string(),
                    value,
                    stderr,
                    runs: xs.len(),
                });
            }
        }
        rows
    };
    let (main, more) = STRAW_METRICS.split_at(4);
    vec![
        Figure {
            id: FIG10.into(),
            title: "E2 Figure 10: load at the original and new instance (split at 2 s)".into(),
            x_label: "time (s)".into(),
            y_label: "traffic load (Mbps)".into(),
            plot: PlotKind::Lines,
            metrics: vec!["load_mbps".into()],
            rows: fig10,
        },
        Figure {
            id: FIG11.into(),
            title: "E2 Figure 11: added latency and switch bandwidth during the split".into(),
            x_label: "time (s)".into(),
            y_label: "added latency (us) / switch bandwidth (Gbps)".into(),
            plot: PlotKind::Lines,
            metrics: vec![
                "added_latency_us".into(),
                "detour_added_latency_us".into(),
                "switch_gbps".into(),
            ],
            rows: fig11,
        },
        Figure {
            id: STRAWMEN.into(),
            title: "E2 7.2: migration avoidance vs always-migrate and never-migrate".into(),
            x_label: "split at 2 s".into(),
            y_label: "value (unit in the metric name)".into(),
            plot: PlotKind::Bars,
            metrics: main.iter().map(|m| m.to_string()).collect(),
            rows: straw_rows(STRAWMEN, main),
        },
        Figure {
            id: STRAWMEN_MORE.into(),
            title: "E2 7.2: balance, moved state and the oracle's findings per strategy".into(),
            x_label: "split at 2 s".into(),
            y_label: "value (unit in the metric name)".into(),
            plot: PlotKind::Bars,
            metrics: more.iter().map(|m| m.to_string()).collect(),
            rows: straw_rows(STRAWMEN_MORE, more),
        },
    ]
}

fn key(kind: GraphKind, scheme: Scheme) -> String {
    format!("{}/{}", kind.name(), scheme.name())
}

/// One seed: every graph kind and scheme's maximum throughput, in Gbps.
fn per_seed(seed: u64) -> SeedValues {
    fig9(&[seed])
        .into_iter()
        .map(|s| {
            let gbps = s.per_seed.first().expect("invariant: one seed gives one value").1;
            (key(s.kind, s.scheme), gbps)
        })
        .collect()
}

fn values(per_seed: &[(u64, SeedValues)], kind: GraphKind, scheme: Scheme) -> Vec<f64> {
    per_seed
        .iter()
        .map(|(_, v)| *v.get(&key(kind, scheme)).expect("invariant: per_seed fills every key"))
        .collect()
}

fn row(
    figure: &str,
    series: String,
    kind: GraphKind,
    metric: &str,
    v: (f64, f64),
    runs: usize,
) -> TidyRow {
    TidyRow {
        figure: figure.into(),
        series,
        x_name: X_NAME.into(),
        x: kind.name().into(),
        metric: metric.into(),
        value: v.0,
        stderr: v.1,
        runs,
    }
}

fn build(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let mut figures = fig9_figures(per_seed);
    figures.extend(split_figures(per_seed));
    figures
}

fn fig9_figures(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let runs = per_seed.len();
    let mut bars = Vec::new();
    for scheme in SCHEMES {
        for kind in GraphKind::ALL {
            let v = mean_stderr(&values(per_seed, kind, scheme));
            bars.push(row(FIG9, scheme.name().into(), kind, METRIC, v, runs));
        }
    }
    let mut ratios = Vec::new();
    for metric in ["ratio_of_means", "mean_of_seed_ratios"] {
        for (num, den) in RATIOS {
            let series = format!("{}/{}", num.name(), den.name());
            for kind in GraphKind::ALL {
                let (a, b) = (values(per_seed, kind, num), values(per_seed, kind, den));
                let v = if metric == "ratio_of_means" {
                    let ((ma, sa), (mb, sb)) = (mean_stderr(&a), mean_stderr(&b));
                    let r = ma / mb;
                    (r, r * ((sa / ma).powi(2) + (sb / mb).powi(2)).sqrt())
                } else {
                    let r: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x / y).collect();
                    mean_stderr(&r)
                };
                ratios.push(row(FIG9_RATIO, series.clone(), kind, metric, v, runs));
            }
        }
    }
    vec![
        Figure {
            id: FIG9.into(),
            title: "E2 Figure 9: maximum cluster throughput by placement".into(),
            x_label: "policy graph (5-node chain, 10-node random graph)".into(),
            y_label: "max cluster throughput (Gbps)".into(),
            plot: PlotKind::Bars,
            metrics: vec![METRIC.into()],
            rows: bars,
        },
        Figure {
            id: FIG9_RATIO.into(),
            title: "E2 Figure 9: E2's throughput over the strawmen".into(),
            x_label: "policy graph".into(),
            y_label: "throughput ratio".into(),
            plot: PlotKind::Bars,
            metrics: vec!["ratio_of_means".into(), "mean_of_seed_ratios".into()],
            rows: ratios,
        },
    ]
}
