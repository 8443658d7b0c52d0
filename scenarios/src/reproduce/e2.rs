//! The `e2` target: E2 (Palkar et al., SOSP 2015), Figure 9, computed rather than simulated.
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

use models::e2::fig9::{fig9, GraphKind, Scheme, E2_SEARCH_STEPS, FIG9_FILL};
use models::e2::hardware::RackSpec;

use super::{Computed, Figure, FigureSpec, PlotKind, SeedValues, Target};
use crate::output::{mean_stderr, TidyRow};

pub const TARGET: Target = Target {
    name: "e2",
    description: "E2 Figure 9: max cluster throughput of E2's placement vs Random and Packing",
    figures,
    computed: Some(computed),
};

const FIG9: &str = "e2/fig9";
const FIG9_RATIO: &str = "e2/fig9-ratio";
const X_NAME: &str = "graph";
const METRIC: &str = "max_throughput_gbps";
/// The schemes in bar order.
const SCHEMES: [Scheme; 3] = [Scheme::E2, Scheme::Packing, Scheme::Random];
/// The ratios of `e2/fig9-ratio`: (numerator, denominator).
const RATIOS: [(Scheme, Scheme); 2] = [(Scheme::E2, Scheme::Random), (Scheme::E2, Scheme::Packing)];

/// Seeds 1..=N.
fn seeds(quick: bool) -> Vec<u64> {
    let n = if quick { 5 } else { 30 };
    (1..=n).collect()
}

/// Nothing is simulated.
fn figures(_quick: bool) -> Vec<FigureSpec> {
    vec![]
}

fn computed(quick: bool) -> Computed {
    Computed {
        figure_ids: vec![FIG9.into(), FIG9_RATIO.into()],
        seeds: seeds(quick),
        inputs: format!(
            "models::e2::fig9 rack {:?} fill {FIG9_FILL} e2_search_steps {E2_SEARCH_STEPS}",
            RackSpec::e2_rack()
        ),
        per_seed,
        build,
    }
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
