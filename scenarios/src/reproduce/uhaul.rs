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
//! - **How the generator sends** ([`PACING`]): the paper says only that "flows arrive and
//!   finish dynamically according to a Poisson process with an average load of 1, i.e.,
//!   10Gbps" and that the trace files "record the actual size of flows" and their "start
//!   times and FCTs" (sections 4.1, 4.2, 4.4): flows end when their bytes are through, not at
//!   a set rate. We take the generator to open one TCP connection per flow, as the traffic
//!   generators behind its web search workload do (DCTCP, [5]): the flows in progress share
//!   the generator's 10 Gbps link evenly (`pacing = "fair-share"`, `workloads::FairShare`),
//!   each starting in slow start with RFC 6928's initial window of 10 packets and a round
//!   trip of 100 us (ours: the order of a data-center LAN's round trip, DCTCP's setting; the
//!   paper gives none). The twin has no ACK path, so the sender does not slow down when the
//!   NF or the controller holds its packets: a migration delays a flow's packets, not its
//!   sending. The schedule is the same for every scheme and is the trace's ground truth
//!   (each flow's end = its last bit leaving the generator).
//!   The former choice, open-loop pacing of every flow at the rate that gives the paper's
//!   active-flow counts (`r = C / (N_paper - lambda x 100 ms)`: 145, 55, 24.7 Mbps), made
//!   mice live hundreds of ms; it stays available as `pacing = "open-loop"` with `flow_rate`.
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
//! - **Sensitivity to the load** (ours, not in the paper): the same traces' seeds drawn at
//!   loads 0.3, 0.5 and 0.8 ([`SENSITIVITY_LOADS`]) beside the paper's 1: detection at every
//!   definition (`uhaul/detection-load`), the OpenNF and U-HAUL migrations at the smallest and
//!   largest definition (`uhaul/dieout-load`: die-out, missed flows, flows in progress and the
//!   fair share each gets), and at every definition at 0.8 ([`TRADEOFF_LOAD`],
//!   `uhaul/total-load`: Figures 7-10 and Tables 6-13 at loads 0.8 and 1; full run only).
//!   Definitions with the same rho are one U-HAUL run (fb-cache has no flow above 3.8 MB, so
//!   rho is 0 from 4 MB up). Under fair sharing the load sets how many flows are in progress and so
//!   how fast each goes; at load 1 processor sharing is critical and the backlog at 2-3 s
//!   varies widely between traces. The figures test the previous explanation of the die-out
//!   gap (flows slower than the paper's) instead of leaving it a guess.
//! - **Detection measurements** (`uhaul/table1-3`, `uhaul/table4-5`): beside the rates, rho,
//!   the share of the FIT's current bytes held by the true elephants and by the flows already
//!   past the definition, how far (current / final size) the missed elephants had got, and
//!   how many flows each detection selects. When the flows past the definition hold more than
//!   rho of the current bytes, the proportion-based prefix stops inside the size-based
//!   selection, so its false negatives cannot be fewer.

use base::{Bps, Dur, RngStreams, Time};
use models::uhaul::{select, Detection, FlowInfoTable, DEFAULT_WINDOW};

use super::opennf::{prads_move, CTRL_PER_MSG};
use super::{Computed, Figure, FigureSpec, PlotKind, Point, SeedValues, Target};
use crate::config::{
    FlowSource, NodeIdx, NodeKind, ProtocolConfig, ScenarioConfig, SourcePacing, WorkloadConfig,
};
use crate::output::{mean_stderr, TidyRow};

pub const TARGET: Target = Target {
    name: "uhaul",
    description: "U-HAUL: OpenNF move time (Fig. 2), elephant detection (Tables 1-5), FIT size \
                  (Table 8), downtime, buffer, mice FCT, missed flows, die-out and total time \
                  vs OpenNF (Figs. 7-10, Tables 6-13) on web search, Facebook and Azure WAN",
    figures,
    computed: Some(computed),
};

const GBPS10: Bps = Bps(10_000_000_000);
const MTU: u32 = 1500;
const MB: f64 = 1e6;

/// The testbed generator's sending (module doc): its flows share its 10 Gbps link, each in
/// slow start from 10 packets (RFC 6928) with a 100 us round trip (ours).
pub const PACING: SourcePacing = SourcePacing::FairShare {
    slow_start: Some(workloads::SlowStart {
        rtt: Dur::from_micros(100),
        initial_window: workloads::DEFAULT_INITIAL_WINDOW,
    }),
};

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
/// s1 1, prads1 2, prads2 3, sink 4, controller 5), the workload at load 1 of 10 Gbps sent
/// as [`PACING`] says, the calibrated PRADS-like instances
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
        flow_rate: GBPS10,
        pacing: PACING,
    }];
    cfg.protocol = protocol;
    cfg
}

/// Traces per workload.
fn traces(quick: bool) -> u64 {
    if quick {
        1
    } else {
        5
    }
}

/// A computed task is one trace of one workload: `quick x 1000 + workload x 100 + trace`
/// (the manifest's seeds). The trace number is the run's seed.
const QUICK_TASK: u64 = 1000;

fn tasks(quick: bool) -> Vec<u64> {
    let q = if quick { QUICK_TASK } else { 0 };
    (0..WORKLOADS.len() as u64)
        .flat_map(|w| (1..=traces(quick)).map(move |t| q + w * 100 + t))
        .collect()
}

fn task_workload(task: u64) -> &'static Workload {
    &WORKLOADS[((task % QUICK_TASK) / 100) as usize]
}

fn figures(quick: bool) -> Vec<FigureSpec> {
    use models::opennf::OpenNfConfig;
    use models::oracle::Guarantee;
    let reps = if quick { 1 } else { 3 };
    let lfop = Guarantee::LossFreeOrderPreserving;
    let fig2a = super::opennf::fig2a(
        "uhaul/fig2a",
        "U-HAUL Figure 2a: OpenNF move time of 1000 flows by guarantee (PRADS-like)",
        reps,
    );
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
    Computed {
        figure_ids: [
            TABLE1_3,
            TABLE4_5,
            TABLE8,
            FIG7_9,
            TABLE6_7,
            FIG10,
            TABLE10_11,
            TABLE12_13,
            DIEOUT_LOAD,
            DETECTION_LOAD,
            TOTAL_LOAD,
        ]
        .map(String::from)
        .to_vec(),
        seeds: tasks(quick),
        inputs: format!(
            "uhaul testbed load 1 of 10 Gbps, mtu {MTU}, pacing {PACING:?}, window {:?}, \
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
fn per_seed(task: u64) -> SeedValues {
    let mut v = SeedValues::new();
    let (w, trace) = (task_workload(task), task % 100);
    for load in SENSITIVITY_LOADS.into_iter().chain([1.0]) {
        detection(w, trace, load, &mut v);
    }
    let quick = task >= QUICK_TASK;
    let defs = if quick { quick_definitions(w) } else { w.definitions_mb.to_vec() };
    migrations(w, trace, 1.0, &defs, &mut v);
    load_sensitivity(w, trace, quick, &mut v);
    v
}

/// The key of a value of the trace drawn at `load` (load 1: the main runs' [`key`]).
fn load_key(w: &Workload, load: f64, mb: f64, what: &str) -> String {
    if load == 1.0 {
        key(w, mb, what)
    } else {
        format!("{}/load{load}/{mb}/{what}", w.name)
    }
}

/// Detection on trace `seed` of `w` drawn at `load` (1 in the paper; the lower loads for the
/// sensitivity figures): the FIT at the migration instant, both detections against the trace.
fn detection(w: &Workload, seed: u64, load: f64, v: &mut SeedValues) {
    let at = migration_at(seed);
    let mut cfg = testbed(w, seed, ProtocolConfig::Reroute(Default::default()), at - Time::ZERO);
    if let FlowSource::Generated { load: l, .. } = &mut cfg.workloads[0].flows {
        *l = load;
    }
    let flows = crate::driver::source_flows(&cfg, NodeIdx(0), seed);
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
    let index: std::collections::BTreeMap<u64, usize> =
        flows.iter().enumerate().map(|(i, (f, _, _))| (f.id.0, i)).collect();
    // The source's packets in sending order (the schedule the testbed's source follows).
    let mut fit = FlowInfoTable::new(DEFAULT_WINDOW);
    let mut epochs = Vec::new();
    for p in sent(&cfg, &flows) {
        if p.time > at {
            break;
        }
        for (pass_at, len) in fit.advance(p.time) {
            epochs.push((pass_at, len));
        }
        let i = index[&p.flow.id.0];
        fit.on_packet(p.time, &tuples[i].0, tuples[i].1, p.bytes);
    }
    let active = fit.active(at, &models::switch::Match::any());
    if load == 1.0 {
        for (k, (_, len)) in epochs.iter().take(EPOCHS as usize).enumerate() {
            v.insert(format!("{}/fit/{}", w.name, k + 1), *len as f64);
        }
        v.insert(format!("{}/active", w.name), active.len() as f64);
    }
    let key = |w: &Workload, mb: f64, what: &str| load_key(w, load, mb, what);
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
        let n_prop = select(&active, Detection::Proportion { rho: w.rho(mb) });
        let n_size = select(&active, Detection::Size { definition_bytes: def });
        let prop = rates(n_prop);
        let size = rates(n_size);
        // Why the two detections differ (module doc, "Detection measurements"): the share of
        // the FIT's current bytes that the true elephants hold, and that the flows already past
        // the definition hold, against rho; and how far the missed elephants had got.
        let total: u64 = active.iter().map(|e| e.bytes).sum();
        let share = |keep: &dyn Fn(usize) -> bool| {
            let b: u64 = (0..active.len()).filter(|i| keep(*i)).map(|i| active[i].bytes).sum();
            if total == 0 {
                f64::NAN
            } else {
                100.0 * b as f64 / total as f64
            }
        };
        v.insert(key(w, mb, "rho"), 100.0 * w.rho(mb));
        v.insert(key(w, mb, "elephant_share"), share(&|i| truth[i]));
        v.insert(key(w, mb, "past_def_share"), share(&|i| active[i].bytes > def));
        v.insert(key(w, mb, "prop_selected"), n_prop as f64);
        // Both selections are prefixes of the same sorted list: a shorter proportion-based one
        // is inside the size-based one (its FN cannot be fewer), a longer one contains it.
        v.insert(key(w, mb, "prop_inside_size"), if n_prop < n_size { 100.0 } else { 0.0 });
        v.insert(key(w, mb, "size_selected"), n_size as f64);
        let progress: Vec<f64> = (n_prop..active.len())
            .filter(|i| truth[*i])
            .map(|i| 100.0 * active[i].bytes as f64 / sizes[&active[i].flow_id] as f64)
            .collect();
        if !progress.is_empty() {
            v.insert(
                key(w, mb, "fn_progress"),
                progress.iter().sum::<f64>() / progress.len() as f64,
            );
        }
        v.insert(key(w, mb, "prop_fp"), prop.0);
        v.insert(key(w, mb, "prop_fn"), prop.1);
        v.insert(key(w, mb, "prop_acc"), prop.2);
        v.insert(key(w, mb, "size_fn"), size.1);
        v.insert(key(w, mb, "elephants"), positives as f64);
    }
}

/// The packets the testbed's source sends, in order: its fair-share schedule ([`PACING`]).
fn sent(
    cfg: &ScenarioConfig,
    flows: &[(workloads::Flow, u32, Bps)],
) -> impl Iterator<Item = workloads::SentPacket> {
    let fs = crate::driver::source_fair_share(cfg, NodeIdx(0))
        .expect("invariant: the testbed's source shares its link");
    fs.schedule(flows.iter().map(|(f, mtu, _)| (*f, *mtu)).collect::<Vec<_>>())
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

/// The values of key `k` over the tasks that have it (the tasks of its workload).
fn values(per_seed: &[(u64, SeedValues)], k: &str) -> Vec<f64> {
    per_seed.iter().filter_map(|(_, v)| v.get(k).copied()).collect()
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
                ("rho_pct", "rho"),
                ("elephant_current_share_pct", "elephant_share"),
                ("past_definition_current_share_pct", "past_def_share"),
                ("missed_elephant_progress_pct", "fn_progress"),
                ("proportion_inside_size_pct", "prop_inside_size"),
            ] {
                t13.extend(row(TABLE1_3, w.series, "elephant_mb", x.clone(), metric, &get(what)));
            }
            // The flows the rates are over (paper: 142.3, 364.0, 955.4 on average).
            let active = values(per_seed, &format!("{}/active", w.name));
            t13.extend(row(TABLE1_3, w.series, "elephant_mb", x.clone(), "active_flows", &active));
            let series = format!("{} size-based", w.series);
            t45.extend(row(
                TABLE4_5,
                &series,
                "elephant_mb",
                x.clone(),
                "false_negative_pct",
                &get("size_fn"),
            ));
            t45.extend(row(
                TABLE4_5,
                &series,
                "elephant_mb",
                x.clone(),
                "selected_flows",
                &get("size_selected"),
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
            t45.extend(row(
                TABLE4_5,
                &series,
                "elephant_mb",
                x.clone(),
                "selected_flows",
                &get("prop_selected"),
            ));
        }
        for k in 1..=EPOCHS {
            let vals = values(per_seed, &format!("{}/fit/{k}", w.name));
            t8.extend(row(TABLE8, w.series, "epoch_100ms", k.to_string(), "fit_entries", &vals));
        }
    }
    let mut figs = vec![
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
                "active_flows".into(),
                "rho_pct".into(),
                "elephant_current_share_pct".into(),
                "past_definition_current_share_pct".into(),
                "missed_elephant_progress_pct".into(),
                "proportion_inside_size_pct".into(),
            ],
            rows: t13,
        },
        Figure {
            id: TABLE4_5.into(),
            title: "U-HAUL Tables 4-5: false negatives, size-based vs proportion-based".into(),
            x_label: "elephant definition (MB)".into(),
            y_label: "false negative rate (%)".into(),
            plot: PlotKind::Lines,
            metrics: vec!["false_negative_pct".into(), "selected_flows".into()],
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
    ];
    figs.extend(migration_figures(per_seed));
    figs
}

// ---------------------------------------------------------------------------------------------
// Section 4.3-4.5: the migrations, OpenNF (every flow) vs U-HAUL (elephants), in the twin.

/// The testbed controller's cost per input for the migrations. OpenNF's loss-free move sends
/// every packet of a moved flow that reaches srcInst during the transfer through the
/// controller; at load 1 of 10 Gbps that is up to 833K packets per second, which the
/// `opennf-enh` calibration's 133 us per input (7.5K inputs per second, fitted to Figure 2's
/// 6 packets per second per flow) cannot carry: the controller's queue would grow without
/// bound. We keep the calibrated PRADS export and import (200 us per flow) and give the
/// controller 1 us per input (ours), so that the state transfer, not the controller, sets the
/// downtime, as the paper's numbers imply.
pub const TESTBED_PER_MSG: Dur = Dur::from_micros(1);
/// NF queues, link queues and the controller buffer are large enough that no run drops a
/// packet: the comparison is of the protocols, not of overflow (ours).
const TESTBED_QUEUE: u32 = 1_000_000;
/// Flows keep starting this long after the migration starts; the run then drains for at most
/// [`DRAIN`]. Every move here finishes well within (ours: the traces end there to bound the
/// run time; flows still running at the end are not completed, which only affects FCTs of
/// flows that are not mice).
const AFTER_MOVE: Dur = Dur::from_millis(200);
const DRAIN: Dur = Dur::from_millis(500);

/// The definitions simulated with `--quick` (a subset: the smallest, a middle one, the largest).
fn quick_definitions(w: &Workload) -> Vec<f64> {
    let d = w.definitions_mb;
    vec![d[0], d[d.len() / 2], d[d.len() - 1]]
}

/// The migration testbed: [`testbed`] with the migration controller and queues.
pub fn migration_testbed(w: &Workload, trace: u64, protocol: ProtocolConfig) -> ScenarioConfig {
    let at = migration_at(trace) - Time::ZERO;
    let mut cfg = testbed(w, trace, protocol, at + AFTER_MOVE);
    cfg.drain_limit = DRAIN;
    for n in &mut cfg.nodes {
        match &mut n.kind {
            NodeKind::Nf(c) => c.queue_capacity = TESTBED_QUEUE,
            NodeKind::Controller(c) => {
                c.per_msg = TESTBED_PER_MSG;
                c.buffer_capacity = TESTBED_QUEUE;
            }
            _ => {}
        }
    }
    for l in &mut cfg.links {
        l.max_waiting_pkts = Some(TESTBED_QUEUE);
    }
    cfg
}

struct Migration {
    downtime_ms: f64,
    buffer_pkts: f64,
    honoured: bool,
    finished: Option<Time>,
    elephants: f64,
    /// Of the candidates (flows active at the migration's start), those whose state is at
    /// prads1 (srcInst) after the run, and those at prads2 (moved).
    at_src: std::collections::BTreeSet<u64>,
    moved: std::collections::BTreeSet<u64>,
    fcts: std::collections::BTreeMap<u64, u64>,
}

fn migrate(cfg: &ScenarioConfig, trace: u64, candidates: &[u64]) -> Migration {
    let mut b = crate::driver::build(cfg, trace);
    b.run();
    let r = b.outcome(cfg);
    let m = r.moves.first();
    let finished = m.and_then(|m| m.finished);
    // Downtime, section 4.3: "time elapsed between the beginning of the moveElephant call and
    // the finish time of the last delPerflow call" (the move's Started to Finished).
    let downtime_ms = r.metrics.get("move_duration_ms").copied().unwrap_or(f64::NAN);
    Migration {
        downtime_ms,
        // "Buffer usage refers to the overall memory used to buffer packets that arrive during
        // the state transfer": the controller buffer's peak, in packets.
        buffer_pkts: r.metrics["max_controller_buffer_pkts"],
        // Loss-free by the oracle: no duplicate output, and no lost update but for packets
        // still in the network when the run stops (flows that outlive the trace).
        honoured: finished.is_some()
            && r.oracle.duplicate_outputs == 0
            && r.oracle.lost_updates <= r.oracle.in_flight,
        finished,
        elephants: r.metrics.get("elephants_moved").copied().unwrap_or(0.0),
        at_src: candidates.iter().copied().filter(|f| b.nf_log(NodeIdx(2), *f).is_some()).collect(),
        moved: candidates.iter().copied().filter(|f| b.nf_log(NodeIdx(3), *f).is_some()).collect(),
        fcts: b.flow_fcts_ns(cfg).into_iter().collect(),
    }
}

/// Sets the testbed's trace to `load` (of 10 Gbps).
fn set_load(cfg: &mut ScenarioConfig, load: f64) {
    if let FlowSource::Generated { load: l, .. } = &mut cfg.workloads[0].flows {
        *l = load;
    }
}

/// OpenNF and U-HAUL at each of `defs` on trace `trace` of `w` drawn at `load`.
fn migrations(w: &Workload, trace: u64, load: f64, defs: &[f64], v: &mut SeedValues) {
    use models::opennf::OpenNfConfig;
    use models::oracle::Guarantee;
    let at = migration_at(trace);
    // "we set the guarantee to be loss-free, the scope to be per-flow state, and the
    // optimizations to be parallelizing and early-release for both schemes" (section 4.1).
    // OpenNF moves the state of every active flow: PRADS expires idle connections, the twin's
    // NF keeps state forever, so its export skips flows idle for longer than the EDM's window
    // (without it, OpenNF would also move every flow that ended since the trace began).
    let onf_cfg = OpenNfConfig {
        active_within: Some(DEFAULT_WINDOW),
        ..OpenNfConfig::opennf(Guarantee::LossFree)
    };
    let mut onf = migration_testbed(w, trace, ProtocolConfig::OpenNf(onf_cfg));
    set_load(&mut onf, load);
    let flows = crate::driver::source_flows(&onf, NodeIdx(0), trace);
    // A flow's end in the trace: its last bit leaves the generator ("flows start times and
    // FCTs from the trace files", section 4.4), by the schedule the source follows.
    let ends: std::collections::BTreeMap<u64, Time> =
        sent(&onf, &flows).filter(|p| p.last).map(|p| (p.flow.id.0, p.end)).collect();
    let end = |f: &workloads::Flow| ends[&f.id.0];
    let active: Vec<(u64, Time)> = flows
        .iter()
        .filter(|(f, _, _)| f.start < at && end(f) > at)
        .map(|(f, _, _)| (f.id.0, end(f)))
        .collect();
    let ids: Vec<u64> = active.iter().map(|a| a.0).collect();
    let o = migrate(&onf, trace, &ids);
    // The flows whose life overlaps OpenNF's move: active at its start, or new during it.
    let onf_done = o.finished.unwrap_or(at);
    let overlapping: Vec<u64> = flows
        .iter()
        .filter(|(f, _, _)| f.start < onf_done && end(f) > at)
        .map(|(f, _, _)| f.id.0)
        .collect();
    let onf_key = |what: &str| {
        if load == 1.0 {
            format!("{}/onf/{what}", w.name)
        } else {
            format!("{}/load{load}/onf/{what}", w.name)
        }
    };
    v.insert(onf_key("downtime"), o.downtime_ms);
    v.insert(onf_key("buffer"), o.buffer_pkts);
    v.insert(onf_key("ok"), f64::from(u8::from(o.honoured)));
    // Definitions with the same rho (fb-cache above 3.8 MB: 0) are the same U-HAUL run: it is
    // run once and its result used for each.
    let mut runs: std::collections::BTreeMap<u64, Migration> = std::collections::BTreeMap::new();
    for &mb in defs {
        let rho = w.rho(mb);
        let u = runs.entry(rho.to_bits()).or_insert_with(|| {
            let uh = ProtocolConfig::Uhaul(models::uhaul::UhaulConfig::paper(rho));
            let mut cfg = migration_testbed(w, trace, uh);
            set_load(&mut cfg, load);
            migrate(&cfg, trace, &ids)
        });
        let u = &*u;
        let k = |what: &str| load_key(w, load, mb, what);
        v.insert(k("uh_downtime"), u.downtime_ms);
        v.insert(k("uh_buffer"), u.buffer_pkts);
        v.insert(k("uh_ok"), f64::from(u8::from(u.honoured)));
        v.insert(k("uh_elephants"), u.elephants);
        v.insert(k("downtime_reduction"), 100.0 * (1.0 - u.downtime_ms / o.downtime_ms));
        v.insert(k("buffer_saving"), 100.0 * (1.0 - u.buffer_pkts / o.buffer_pkts.max(1.0)));
        // Section 4.3:
        // "FCT reduction is defined as the ratio between the mice flow's FCT in OpenNF and its
        // FCT in U-HAUL ... We calculate FCT reduction for all mice flows excluded in U-HAUL's
        // state migration." The paper does not say how one number comes of many flows; we
        // report both the ratio of their mean FCTs (`fct_reduction`, long mice weigh most) and
        // the mean of the per-flow ratios (`fct_reduction_flow_mean`, every mouse the same),
        // over the flows completed in both runs.
        // The mice are the flows overlapping OpenNF's move that U-HAUL did not move: every
        // such flow but the elephants (active at the start, state at prads2 afterwards); the
        // flows new during the move count too: OpenNF buffers them until its export ends,
        // U-HAUL sends them to prads2 at once.
        let (mut fo, mut fu) = (0u128, 0u128);
        let (mut ratios, mut n) = (0.0, 0u32);
        // The same ratio of means over the mice in progress at OpenNF's move start and over
        // those new during it, and the mean FCTs themselves: which mice set the ratio.
        let in_progress: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
        let mut split = [(0u128, 0u128, 0u32); 2];
        for f in overlapping.iter().filter(|f| !u.moved.contains(f)) {
            if let (Some(a), Some(b)) = (o.fcts.get(f), u.fcts.get(f)) {
                let part = &mut split[usize::from(in_progress.contains(f))];
                part.0 += *a as u128;
                part.1 += *b as u128;
                part.2 += 1;
                fo += *a as u128;
                fu += *b as u128;
                if *b > 0 {
                    ratios += *a as f64 / *b as f64;
                    n += 1;
                }
            }
        }
        v.insert(k("fct_reduction"), if fu == 0 { f64::NAN } else { fo as f64 / fu as f64 });
        v.insert(k("fct_reduction_flow_mean"), if n == 0 { f64::NAN } else { ratios / n as f64 });
        let ratio =
            |p: (u128, u128, u32)| if p.1 == 0 { f64::NAN } else { p.0 as f64 / p.1 as f64 };
        v.insert(k("fct_reduction_new"), ratio(split[0]));
        v.insert(k("fct_reduction_in_progress"), ratio(split[1]));
        let (mice, sum_o, sum_u) = (split[0].2 + split[1].2, fo as f64, fu as f64);
        if mice > 0 {
            v.insert(k("mice_fct_onf"), sum_o / 1e6 / mice as f64);
            v.insert(k("mice_fct_uh"), sum_u / 1e6 / mice as f64);
            v.insert(k("mice_new_pct"), 100.0 * split[0].2 as f64 / mice as f64);
        }
        let (missed, dieout_ms) = missed_and_dieout(&active, u);
        v.insert(k("missed"), missed as f64);
        v.insert(k("dieout"), dieout_ms);
        v.insert(k("total"), u.downtime_ms + dieout_ms);
        v.insert(k("in_progress"), active.len() as f64);
    }
}

/// Section 4.4: missed flows "persist after migration finishes, and therefore should have
/// been included in the migration", counted "by comparing U-HAUL downtime with flows start
/// times and FCTs from the trace files": of the flows in progress at the migration's start
/// (`active`: id and end in the trace), those left at srcInst that end after the move
/// finished. Section 4.5: die-out time is "time elapsed between the completion of states
/// transfer and the termination time of the last missed flow" (we take the move's end, after
/// the last delPerflow, as the completion; its `StateMoved` is at most the last `delPerflow`'s
/// round trip earlier), 0 without missed flows. Returns (missed flows, die-out in ms).
fn missed_and_dieout(active: &[(u64, Time)], u: &Migration) -> (usize, f64) {
    let done = u.finished.unwrap_or(Time::ZERO + Dur::from_secs(u64::MAX / 2_000_000_000));
    let missed: Vec<Time> =
        active.iter().filter(|(f, e)| u.at_src.contains(f) && *e > done).map(|a| a.1).collect();
    let dieout_ms = missed.iter().map(|e| (*e - done).as_nanos() as f64 / 1e6).fold(0.0, f64::max);
    (missed.len(), dieout_ms)
}

/// The die-out sensitivity's loads, beside the paper's load 1 (`uhaul/dieout-load`).
const SENSITIVITY_LOADS: [f64; 3] = [0.3, 0.5, 0.8];

/// The definitions of the die-out sensitivity: the smallest and the largest (`--quick`: the
/// smallest).
fn sensitivity_definitions(w: &Workload, quick: bool) -> Vec<f64> {
    let d = w.definitions_mb;
    if quick {
        vec![d[0]]
    } else {
        vec![d[0], d[d.len() - 1]]
    }
}

/// The load at which the full run simulates every definition, for the total-time trade-off
/// (`uhaul/total-load`).
const TRADEOFF_LOAD: f64 = 0.8;

/// `uhaul/dieout-load`: the same migrations with the trace drawn at a lower load. Under fair
/// sharing a flow's rate is the link over the flows in progress, so the load sets how long a
/// flow left at srcInst lives on after the move; the paper's die-out (0.1-17 ms) needs flows
/// that end within milliseconds of the move. [`TRADEOFF_LOAD`] gets every definition (the
/// full run), the others the smallest and the largest.
fn load_sensitivity(w: &Workload, trace: u64, quick: bool, v: &mut SeedValues) {
    for load in SENSITIVITY_LOADS {
        let defs = if load == TRADEOFF_LOAD && !quick {
            w.definitions_mb.to_vec()
        } else {
            sensitivity_definitions(w, quick)
        };
        migrations(w, trace, load, &defs, v);
    }
}

const FIG7_9: &str = "uhaul/fig7-9";
const TABLE6_7: &str = "uhaul/table6-7";
const FIG10: &str = "uhaul/fig10";
const TABLE10_11: &str = "uhaul/table10-11";
const TABLE12_13: &str = "uhaul/table12-13";
const DIEOUT_LOAD: &str = "uhaul/dieout-load";
const DETECTION_LOAD: &str = "uhaul/detection-load";
const TOTAL_LOAD: &str = "uhaul/total-load";

/// `uhaul/total-load`: Figures 7-10 and Tables 6-13 at load 1 and at [`TRADEOFF_LOAD`], every
/// definition (the full run; `--quick` has the smallest at the lower load).
fn total_load_figure(per_seed: &[(u64, SeedValues)]) -> Figure {
    let mut rows = Vec::new();
    for w in &WORKLOADS {
        for load in [TRADEOFF_LOAD, 1.0] {
            let series = format!("{}, load {load}", w.series);
            for &mb in w.definitions_mb {
                let x = mb.to_string();
                let get = |what: &str| values(per_seed, &load_key(w, load, mb, what));
                for (metric, vals) in [
                    ("total_ms", get("total")),
                    ("downtime_ms", get("uh_downtime")),
                    ("dieout_ms", get("dieout")),
                    ("missed_flows", get("missed")),
                    ("downtime_reduction_pct", get("downtime_reduction")),
                    ("buffer_saving_pct", get("buffer_saving")),
                    ("fct_reduction_ratio", get("fct_reduction")),
                    ("fct_reduction_flow_mean_ratio", get("fct_reduction_flow_mean")),
                ] {
                    rows.extend(row(TOTAL_LOAD, &series, "elephant_mb", x.clone(), metric, &vals));
                }
            }
        }
    }
    Figure {
        id: TOTAL_LOAD.into(),
        title: "U-HAUL Figures 7-10 and Tables 6-13 at load 1 and 0.8 (twin sensitivity)".into(),
        x_label: "elephant definition (MB)".into(),
        y_label: "per metric".into(),
        plot: PlotKind::Lines,
        metrics: [
            "total_ms",
            "downtime_ms",
            "dieout_ms",
            "missed_flows",
            "downtime_reduction_pct",
            "buffer_saving_pct",
            "fct_reduction_ratio",
            "fct_reduction_flow_mean_ratio",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// `uhaul/detection-load`: Tables 1-5's detection on the traces drawn at each load: false
/// negatives of both detections, the proportion-based accuracy, and the share of the FIT's
/// current bytes held by flows already past the definition against rho (when that share
/// exceeds rho, the proportion-based prefix stops inside the size-based selection).
fn detection_load_figure(per_seed: &[(u64, SeedValues)]) -> Figure {
    let mut rows = Vec::new();
    for w in &WORKLOADS {
        for load in SENSITIVITY_LOADS.into_iter().chain([1.0]) {
            for &mb in w.definitions_mb {
                let x = mb.to_string();
                let get = |what: &str| values(per_seed, &load_key(w, load, mb, what));
                for (series, metric, what) in [
                    ("proportion-based", "false_negative_pct", "prop_fn"),
                    ("proportion-based", "accuracy_pct", "prop_acc"),
                    ("size-based", "false_negative_pct", "size_fn"),
                    ("FIT", "past_definition_current_share_pct", "past_def_share"),
                    ("FIT", "rho_pct", "rho"),
                ] {
                    let series = format!("{} {series}, load {load}", w.series);
                    rows.extend(row(
                        DETECTION_LOAD,
                        &series,
                        "elephant_mb",
                        x.clone(),
                        metric,
                        &get(what),
                    ));
                }
            }
        }
    }
    Figure {
        id: DETECTION_LOAD.into(),
        title: "U-HAUL detection vs the trace's load (twin sensitivity)".into(),
        x_label: "elephant definition (MB)".into(),
        y_label: "percent".into(),
        plot: PlotKind::Lines,
        metrics: [
            "false_negative_pct",
            "accuracy_pct",
            "past_definition_current_share_pct",
            "rho_pct",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// `uhaul/dieout-load`: die-out, missed flows, downtime and the flows in progress at the
/// migration (with the fair share they leave each, the link over their number) against the
/// trace's load, at the smallest and the largest definition; load 1 is the main runs'.
fn dieout_load_figure(per_seed: &[(u64, SeedValues)]) -> Figure {
    let mut rows = Vec::new();
    for w in &WORKLOADS {
        for mb in sensitivity_definitions(w, false) {
            let series = format!("{} {mb} MB", w.series);
            for load in SENSITIVITY_LOADS.into_iter().chain([1.0]) {
                let get = |what: &str| values(per_seed, &load_key(w, load, mb, what));
                let onf_ok = if load == 1.0 {
                    values(per_seed, &format!("{}/onf/ok", w.name))
                } else {
                    values(per_seed, &format!("{}/load{load}/onf/ok", w.name))
                };
                let in_progress = get("in_progress");
                let rate: Vec<f64> =
                    in_progress.iter().map(|n| GBPS10.0 as f64 / 1e6 / n.max(1.0)).collect();
                let x = load.to_string();
                for (metric, vals) in [
                    ("dieout_ms", get("dieout")),
                    ("missed_flows", get("missed")),
                    ("downtime_ms", get("uh_downtime")),
                    ("in_progress_flows", in_progress),
                    ("fair_share_mbps", rate),
                    ("loss_free_runs_ratio", get("uh_ok")),
                    ("opennf_loss_free_runs_ratio", onf_ok),
                ] {
                    rows.extend(row(DIEOUT_LOAD, &series, "load", x.clone(), metric, &vals));
                }
            }
        }
    }
    Figure {
        id: DIEOUT_LOAD.into(),
        title: "U-HAUL die-out and missed flows vs the trace's load (twin sensitivity)".into(),
        x_label: "load (of 10 Gbps)".into(),
        y_label: "per metric".into(),
        plot: PlotKind::Lines,
        metrics: [
            "dieout_ms",
            "missed_flows",
            "downtime_ms",
            "in_progress_flows",
            "fair_share_mbps",
            "loss_free_runs_ratio",
            "opennf_loss_free_runs_ratio",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

fn migration_figures(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let mut f79 = Vec::new();
    let mut per_def: [Vec<TidyRow>; 4] = Default::default();
    let mut t67 = Vec::new();
    const X: &str = "elephant_mb";
    for w in &WORKLOADS {
        let onf = |what: &str| values(per_seed, &format!("{}/onf/{what}", w.name));
        for &mb in w.definitions_mb {
            let x = mb.to_string();
            let get = |what: &str| values(per_seed, &key(w, mb, what));
            if get("uh_downtime").is_empty() {
                continue;
            }
            let s_onf = format!("{} OpenNF", w.series);
            let s_uh = format!("{} U-HAUL", w.series);
            f79.extend(row(FIG7_9, &s_onf, X, x.clone(), "downtime_ms", &onf("downtime")));
            f79.extend(row(FIG7_9, &s_uh, X, x.clone(), "downtime_ms", &get("uh_downtime")));
            f79.extend(row(FIG7_9, &s_onf, X, x.clone(), "buffer_pkts", &onf("buffer")));
            f79.extend(row(FIG7_9, &s_uh, X, x.clone(), "buffer_pkts", &get("uh_buffer")));
            f79.extend(row(FIG7_9, &s_onf, X, x.clone(), "loss_free_runs_ratio", &onf("ok")));
            f79.extend(row(FIG7_9, &s_uh, X, x.clone(), "loss_free_runs_ratio", &get("uh_ok")));
            f79.extend(row(
                FIG7_9,
                &s_uh,
                X,
                x.clone(),
                "downtime_reduction_pct",
                &get("downtime_reduction"),
            ));
            f79.extend(row(
                FIG7_9,
                &s_uh,
                X,
                x.clone(),
                "buffer_saving_pct",
                &get("buffer_saving"),
            ));
            f79.extend(row(FIG7_9, &s_uh, X, x.clone(), "elephants_moved", &get("uh_elephants")));
            t67.extend(row(
                TABLE6_7,
                w.series,
                X,
                x.clone(),
                "fct_reduction_flow_mean_ratio",
                &get("fct_reduction_flow_mean"),
            ));
            for (metric, what) in [
                ("fct_reduction_new_ratio", "fct_reduction_new"),
                ("fct_reduction_in_progress_ratio", "fct_reduction_in_progress"),
                ("mice_fct_opennf_ms", "mice_fct_onf"),
                ("mice_fct_uhaul_ms", "mice_fct_uh"),
                ("mice_new_during_move_pct", "mice_new_pct"),
            ] {
                t67.extend(row(TABLE6_7, w.series, X, x.clone(), metric, &get(what)));
            }
            for (i, (fig, metric, what)) in [
                (TABLE6_7, "fct_reduction_ratio", "fct_reduction"),
                (FIG10, "missed_flows", "missed"),
                (TABLE10_11, "dieout_ms", "dieout"),
                (TABLE12_13, "total_ms", "total"),
            ]
            .into_iter()
            .enumerate()
            {
                per_def[i].extend(row(fig, w.series, X, x.clone(), metric, &get(what)));
            }
        }
    }
    let [t67_ratio, f10, t1011, t1213] = per_def;
    t67.extend(t67_ratio);
    let fig = |id: &str, title: &str, y: &str, metrics: Vec<&str>, rows| Figure {
        id: id.into(),
        title: title.into(),
        x_label: "elephant definition (MB)".into(),
        y_label: y.into(),
        plot: PlotKind::Lines,
        metrics: metrics.into_iter().map(String::from).collect(),
        rows,
    };
    vec![
        fig(
            FIG7_9,
            "U-HAUL Figures 7-9: downtime and controller buffer, OpenNF vs U-HAUL",
            "per metric",
            vec![
                "downtime_ms",
                "buffer_pkts",
                "downtime_reduction_pct",
                "buffer_saving_pct",
                "elephants_moved",
                "loss_free_runs_ratio",
            ],
            f79,
        ),
        fig(
            TABLE6_7,
            "U-HAUL Tables 6-7: mice FCT under OpenNF / under U-HAUL",
            "ratio",
            vec![
                "fct_reduction_ratio",
                "fct_reduction_flow_mean_ratio",
                "fct_reduction_new_ratio",
                "fct_reduction_in_progress_ratio",
                "mice_fct_opennf_ms",
                "mice_fct_uhaul_ms",
                "mice_new_during_move_pct",
            ],
            t67,
        ),
        fig(
            FIG10,
            "U-HAUL Figure 10 (and Table 9): missed flows",
            "flows",
            vec!["missed_flows"],
            f10,
        ),
        fig(
            TABLE10_11,
            "U-HAUL Tables 10-11: die-out time of missed flows",
            "ms",
            vec!["dieout_ms"],
            t1011,
        ),
        fig(
            TABLE12_13,
            "U-HAUL Tables 12-13: total time = downtime + die-out",
            "ms",
            vec!["total_ms"],
            t1213,
        ),
        dieout_load_figure(per_seed),
        detection_load_figure(per_seed),
        total_load_figure(per_seed),
    ]
}
