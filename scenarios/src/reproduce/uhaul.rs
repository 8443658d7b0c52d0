//! The `uhaul` target: U-HAUL (Liu et al., APSys 2016), section 4, on the twin.
//!
//! The testbed of section 4.1 ([`testbed`]): a traffic generator, one switch, a controller and
//! two PRADS-like instances, `h1 -> s1 -> prads1 (or prads2) -> s1 -> sink`, 10 Gbps links;
//! "flows arrive and finish dynamically according to a Poisson process with an average load
//! of 1, i.e., 10Gbps"; "We generate five traces of flows using the three workloads ... and
//! choose a random time after 2 seconds into the traces to start migration. The same traces
//! are used for the different schemes compared." Seed `s` is trace `s` of every workload, and
//! its migration instant is `2 s + U[0, 1 s)` (stream `uhaul/migration`; the paper does not
//! bound the "random time", the 1 s span is ours).
//!
//! Parameters we had to choose, and where they come from:
//!
//! - **Per-flow rate** ([`Workload::flow_rate`]): the twin's sources are open loop, so a flow
//!   of `S` bytes is active for `S / r`. The paper reports the average number of active flows
//!   (seen within the last 100 ms) at migration: 142.3 web search, 364.0 Facebook, 955.4
//!   Azure (section 4.2). With Poisson arrivals at rate `lambda` that count is about
//!   `lambda x 100 ms + load x C / r`, so `r = C / (N_paper - lambda x 0.1 s)`: 145 Mbps
//!   (web search), 55 Mbps (fb-cache), 24.7 Mbps (azure-wan). This matches the testbed's
//!   reported input condition, not any result.
//! - **Elephant definitions** in MB of 10^6 bytes; `rho` of a definition is the workload CDF's
//!   byte share of larger flows (`FlowSizeDist::byte_fraction_above`), "computed offline".
//! - **Ground truth** of the detection tables: a flow is an elephant if its size in the trace
//!   exceeds the definition ("comparing the detection output of our EDM with the trace files
//!   that record the actual size of flows", section 4.2). The rates are over the flows active
//!   at the migration instant: false positive rate = FP / (FP + TN), false negative rate =
//!   FN / (TP + FN), accuracy = (TP + TN) / active. A trace without any true elephant among
//!   its active flows has no false negative rate; the mean is over the traces that have one
//!   (`runs` says how many).
//! - **Table 8**: the FIT size after each 100 ms eviction pass of the first second of each
//!   trace, fed with every packet of the trace in time order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use base::{Bps, Dur, RngStreams, Time};
use models::uhaul::{select, Detection, FlowInfoTable, DEFAULT_WINDOW};

use super::opennf::{prads_move, CTRL_PER_MSG};
use super::{Computed, Figure, FigureSpec, PlotKind, Point, SeedValues, Target};
use crate::config::{
    FlowSource, NodeIdx, NodeKind, ProtocolConfig, ScenarioConfig, WorkloadConfig,
};
use crate::output::{mean_stderr, TidyRow};

pub const TARGET: Target = Target {
    name: "uhaul",
    description: "U-HAUL: OpenNF move time (Fig. 2), elephant detection accuracy (Tables 1-5), \
                  FIT size (Table 8) on web search, Facebook cache and Azure WAN",
    figures,
    computed: Some(computed),
};

const GBPS10: Bps = Bps(10_000_000_000);
const MTU: u32 = 1500;
const MB: f64 = 1e6;

/// One workload of section 4 and what the paper reports of it.
pub struct Workload {
    /// The `workloads` catalog name.
    pub name: &'static str,
    /// The figures' series name.
    pub series: &'static str,
    pub definitions_mb: &'static [f64],
    /// Average active flows at migration in the paper (section 4.2).
    pub paper_active: f64,
}

pub const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "websearch",
        series: "web search",
        definitions_mb: &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        paper_active: 142.3,
    },
    Workload {
        name: "fb-cache",
        series: "Facebook",
        definitions_mb: &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        paper_active: 364.0,
    },
    Workload {
        name: "azure-wan",
        series: "Azure WAN",
        definitions_mb: &[1.0, 1.5, 2.0, 2.5],
        paper_active: 955.4,
    },
];

impl Workload {
    pub fn dist(&self) -> workloads::FlowSizeDist {
        workloads::builtin(self.name).expect("invariant: a catalog workload")
    }

    /// `C / (N_paper - lambda x W)` (module doc).
    pub fn flow_rate(&self) -> Bps {
        let lambda = workloads::arrival_rate(1.0, GBPS10, self.dist().mean());
        let window_s = DEFAULT_WINDOW.as_nanos() as f64 / 1e9;
        let long = self.paper_active - lambda * window_s;
        assert!(long > 1.0, "invariant: the paper's active flows exceed one window of arrivals");
        Bps((GBPS10.0 as f64 / long).round() as u64)
    }

    /// rho: the byte share of flows larger than `mb`.
    pub fn rho(&self, mb: f64) -> f64 {
        self.dist().byte_fraction_above(mb * MB)
    }
}

/// The migration instant of trace `seed`: 2 s + U[0, 1 s).
pub fn migration_at(seed: u64) -> Time {
    let u = RngStreams::new(seed).stream("uhaul/migration").uniform();
    Time::ZERO + Dur::from_secs(2) + Dur::from_nanos((u * 1e9) as u64)
}

/// Section 4.1's testbed: `h1 -> s1 -> prads1 | prads2 -> s1 -> sink` (node indices: h1 0,
/// s1 1, prads1 2, prads2 3, sink 4, controller 5), the workload at load 1 of 10 Gbps, every
/// flow paced at the workload's [`Workload::flow_rate`], the calibrated PRADS-like instances
/// and controller of the `opennf-enh` target, Open vSwitch's software rule updates, and a
/// move of every flow of prads1 to prads2 at the trace's migration instant with `protocol`.
/// Flows start until `duration`.
pub fn testbed(w: &Workload, seed: u64, protocol: ProtocolConfig, duration: Dur) -> ScenarioConfig {
    let at = migration_at(seed) - Time::ZERO;
    let mut cfg = crate::testkit::reroute_pair(None, duration, Some(at));
    cfg.name = format!("uhaul-{}", w.name);
    cfg.seed = seed;
    for n in &mut cfg.nodes {
        match &mut n.kind {
            NodeKind::Nf(c) => *c = super::opennf::prads(),
            NodeKind::Controller(c) => c.per_msg = CTRL_PER_MSG,
            NodeKind::Switch(s) => s.config.update = models::switch::UpdateLatency::e2_software(),
            _ => {}
        }
    }
    cfg.nodes[2].name = "prads1".into();
    cfg.nodes[3].name = "prads2".into();
    cfg.workloads = vec![WorkloadConfig {
        source: NodeIdx(0),
        flows: FlowSource::Generated { dist: w.dist(), load: 1.0, reference: GBPS10 },
        mtu: MTU,
        flow_rate: w.flow_rate(),
    }];
    cfg.protocol = protocol;
    cfg
}

fn seeds(quick: bool) -> Vec<u64> {
    let n = if quick { 2 } else { 5 };
    (1..=n).collect()
}

fn figures(quick: bool) -> Vec<FigureSpec> {
    use models::opennf::OpenNfConfig;
    use models::oracle::Guarantee;
    let reps = if quick { 1 } else { 3 };
    let plain = |g| OpenNfConfig { guarantee: g, ..OpenNfConfig::split_merge() };
    let (ng, lf, lfop) = (Guarantee::None, Guarantee::LossFree, Guarantee::LossFreeOrderPreserving);
    let bars = [
        ("without PL/ER", "NG", plain(ng)),
        ("without PL/ER", "LF", plain(lf)),
        ("without PL/ER", "LF+OP", plain(lfop)),
        ("PL+ER", "NG", OpenNfConfig::opennf(ng)),
        ("PL+ER", "LF", OpenNfConfig::opennf(lf)),
        ("PL+ER", "LF+OP", OpenNfConfig::opennf(lfop)),
    ];
    let fig2a = FigureSpec {
        id: "uhaul/fig2a".into(),
        title: "U-HAUL Figure 2a: OpenNF move time of 1000 flows by guarantee (PRADS-like)".into(),
        x_name: "guarantee".into(),
        x_label: "guarantee".into(),
        y_label: "move duration (ms)".into(),
        plot: PlotKind::Bars,
        metrics: vec!["move_duration_ms".into()],
        points: bars
            .into_iter()
            .map(|(series, x, p)| Point {
                series: series.into(),
                x: x.into(),
                config: prads_move(1000, p, reps),
            })
            .collect(),
    };
    let counts: Vec<u32> =
        if quick { vec![200, 600, 1000] } else { (1..=10).map(|k| k * 100).collect() };
    let fig2b = FigureSpec {
        id: "uhaul/fig2b".into(),
        title: "U-HAUL Figure 2b: OpenNF move time vs flows moved (LF+OP, PL+ER, PRADS-like)"
            .into(),
        x_name: "flows".into(),
        x_label: "flows moved".into(),
        y_label: "move duration (ms)".into(),
        plot: PlotKind::Lines,
        metrics: vec!["move_duration_ms".into()],
        points: counts
            .iter()
            .map(|&n| Point {
                series: "LF+OP PL+ER".into(),
                x: n.to_string(),
                config: prads_move(n, OpenNfConfig::opennf(lfop), reps),
            })
            .collect(),
    };
    vec![fig2a, fig2b]
}

const TABLE1_3: &str = "uhaul/table1-3";
const TABLE4_5: &str = "uhaul/table4-5";
const TABLE8: &str = "uhaul/table8";
/// Table 8's epochs: the first second.
const EPOCHS: u64 = 10;

fn computed(quick: bool) -> Computed {
    let rates: Vec<String> =
        WORKLOADS.iter().map(|w| format!("{} {} bps", w.name, w.flow_rate().0)).collect();
    Computed {
        figure_ids: vec![TABLE1_3.into(), TABLE4_5.into(), TABLE8.into()],
        seeds: seeds(quick),
        inputs: format!(
            "uhaul testbed load 1 of 10 Gbps, mtu {MTU}, flow rates {rates:?}, window {:?}, \
             migration 2 s + U[0, 1 s)",
            DEFAULT_WINDOW
        ),
        per_seed,
        build,
    }
}

fn key(w: &Workload, mb: f64, what: &str) -> String {
    format!("{}/{mb}/{what}", w.name)
}

/// The flows of trace `seed` of `w` (exactly those the testbed's source sends), their packets
/// fed to a FIT in time order up to the migration instant; then both detections.
fn per_seed(seed: u64) -> SeedValues {
    let mut v = SeedValues::new();
    for w in &WORKLOADS {
        detection(w, seed, &mut v);
    }
    v
}

fn detection(w: &Workload, seed: u64, v: &mut SeedValues) {
    let at = migration_at(seed);
    let cfg = testbed(w, seed, ProtocolConfig::Reroute(Default::default()), at - Time::ZERO);
    let flows = crate::driver::source_flows(&cfg, NodeIdx(0), seed);
    let rate = w.flow_rate();
    let sizes: std::collections::BTreeMap<u64, u64> =
        flows.iter().map(|(f, _, _)| (f.tuple.hash64(), f.size_bytes)).collect();
    let tuples: Vec<(models::FiveTuple, u32)> = flows
        .iter()
        .map(|(f, _, _)| {
            let t = &f.tuple;
            let m = models::FiveTuple {
                src: u32::from(t.src),
                dst: u32::from(t.dst),
                sport: t.sport,
                dport: t.dport,
                proto: t.proto,
            };
            (m, (t.hash64() >> 32) as u32)
        })
        .collect();
    // Merge every flow's packets in time order (ties: flow order, then packet order).
    let mut next: BinaryHeap<Reverse<(Time, usize, u64)>> =
        (0..flows.len()).map(|i| Reverse((flows[i].0.start, i, 0))).collect();
    let mut fit = FlowInfoTable::new(DEFAULT_WINDOW);
    let mut epochs = Vec::new();
    while let Some(Reverse((t, i, k))) = next.pop() {
        if t > at {
            break;
        }
        for (pass_at, len) in fit.advance(t) {
            epochs.push((pass_at, len));
        }
        let f = &flows[i].0;
        let bytes = (f.size_bytes - k * MTU as u64).min(MTU as u64) as u32;
        fit.on_packet(t, &tuples[i].0, tuples[i].1, bytes);
        if (k + 1) * (MTU as u64) < f.size_bytes {
            // The source's pacing: packet k leaves at start + tx_time(8 k mtu, rate).
            let nt = f.start + base::tx_time(8 * (k + 1) as u128 * MTU as u128, rate);
            next.push(Reverse((nt, i, k + 1)));
        }
    }
    for (k, (_, len)) in epochs.iter().take(EPOCHS as usize).enumerate() {
        v.insert(format!("{}/fit/{}", w.name, k + 1), *len as f64);
    }
    let active = fit.active(at, &models::switch::Match::any());
    v.insert(format!("{}/active", w.name), active.len() as f64);
    for &mb in w.definitions_mb {
        let def = (mb * MB) as u64;
        let truth: Vec<bool> = active.iter().map(|e| sizes[&e.flow_id] > def).collect();
        let positives = truth.iter().filter(|t| **t).count();
        let negatives = truth.len() - positives;
        let rates = |n: usize| {
            let fp = truth[..n].iter().filter(|t| !**t).count();
            let fneg = truth[n..].iter().filter(|t| **t).count();
            let pct =
                |a: usize, b: usize| if b == 0 { f64::NAN } else { 100.0 * a as f64 / b as f64 };
            (pct(fp, negatives), pct(fneg, positives), pct(truth.len() - fp - fneg, truth.len()))
        };
        let prop = rates(select(&active, Detection::Proportion { rho: w.rho(mb) }));
        let size = rates(select(&active, Detection::Size { definition_bytes: def }));
        v.insert(key(w, mb, "prop_fp"), prop.0);
        v.insert(key(w, mb, "prop_fn"), prop.1);
        v.insert(key(w, mb, "prop_acc"), prop.2);
        v.insert(key(w, mb, "size_fn"), size.1);
        v.insert(key(w, mb, "elephants"), positives as f64);
    }
}

fn row(
    figure: &str,
    series: &str,
    x_name: &str,
    x: String,
    metric: &str,
    vals: &[f64],
) -> Option<TidyRow> {
    let defined: Vec<f64> = vals.iter().copied().filter(|x| !x.is_nan()).collect();
    if defined.is_empty() {
        return None;
    }
    let (value, stderr) = mean_stderr(&defined);
    Some(TidyRow {
        figure: figure.into(),
        series: series.into(),
        x_name: x_name.into(),
        x,
        metric: metric.into(),
        value,
        stderr,
        runs: defined.len(),
    })
}

fn values(per_seed: &[(u64, SeedValues)], k: &str) -> Vec<f64> {
    per_seed.iter().map(|(_, v)| *v.get(k).expect("invariant: per_seed fills every key")).collect()
}

fn build(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let mut t13 = Vec::new();
    let mut t45 = Vec::new();
    let mut t8 = Vec::new();
    for w in &WORKLOADS {
        for &mb in w.definitions_mb {
            let x = mb.to_string();
            let get = |what: &str| values(per_seed, &key(w, mb, what));
            for (metric, what) in [
                ("false_positive_pct", "prop_fp"),
                ("false_negative_pct", "prop_fn"),
                ("accuracy_pct", "prop_acc"),
            ] {
                t13.extend(row(TABLE1_3, w.series, "elephant_mb", x.clone(), metric, &get(what)));
            }
            let series = format!("{} size-based", w.series);
            t45.extend(row(
                TABLE4_5,
                &series,
                "elephant_mb",
                x.clone(),
                "false_negative_pct",
                &get("size_fn"),
            ));
            let series = format!("{} proportion-based", w.series);
            t45.extend(row(
                TABLE4_5,
                &series,
                "elephant_mb",
                x.clone(),
                "false_negative_pct",
                &get("prop_fn"),
            ));
        }
        for k in 1..=EPOCHS {
            let vals = values(per_seed, &format!("{}/fit/{k}", w.name));
            t8.extend(row(TABLE8, w.series, "epoch_100ms", k.to_string(), "fit_entries", &vals));
        }
    }
    vec![
        Figure {
            id: TABLE1_3.into(),
            title: "U-HAUL Tables 1-3: proportion-based detection, false positives and negatives"
                .into(),
            x_label: "elephant definition (MB)".into(),
            y_label: "percent of active flows".into(),
            plot: PlotKind::Lines,
            metrics: vec![
                "false_positive_pct".into(),
                "false_negative_pct".into(),
                "accuracy_pct".into(),
            ],
            rows: t13,
        },
        Figure {
            id: TABLE4_5.into(),
            title: "U-HAUL Tables 4-5: false negatives, size-based vs proportion-based".into(),
            x_label: "elephant definition (MB)".into(),
            y_label: "false negative rate (%)".into(),
            plot: PlotKind::Lines,
            metrics: vec!["false_negative_pct".into()],
            rows: t45,
        },
        Figure {
            id: TABLE8.into(),
            title: "U-HAUL Table 8: FIT entries after each 100 ms eviction pass".into(),
            x_label: "eviction epoch (x 100 ms)".into(),
            y_label: "FIT entries".into(),
            plot: PlotKind::Lines,
            metrics: vec!["fit_entries".into()],
            rows: t8,
        },
    ]
}
