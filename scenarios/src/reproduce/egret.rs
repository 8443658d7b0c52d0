//! The `egret` target: Egret (Lin et al., CoNEXT 2019), Figures 3 and 4, Table 3 and job
//! interleaving. Everything but Figure 4 is a computation over `models::egret`; Figure 4 runs
//! in the twin.
//!
//! - `egret/fig3`: the 3-port load balancer of Figure 3, step by step (bars: x = step, one bar
//!   per port, `weight_pct`), from `MaskStack` with the reject and then the alternative policy.
//! - `egret/fig4`: Egret section 4.1.1 in the twin: an L4 load balancer (the switch `lb`, whose
//!   hash-range entries Egret generates) in front of three firewalls; at 100 ms the job
//!   `{Target: firewall-1}`; at 250 ms firewall-2's link goes down, and after
//!   [`DETECTION`] Egret's base update reaches the switch. Lines: the share of the packets each
//!   firewall processed per 5 ms, `traffic_share_pct`, mean over the seeds, for two ways of
//!   carrying out the job: `rehash` (the load balancer's entries change, nothing else: a
//!   stateless load balancer) and `state-move` (observation 3: firewall-1's existing flows are
//!   moved with OpenNF's loss-free move, hash range by hash range, and the new entries follow).
//! - `egret/fig4-oracle`: bars per mode: the oracle's lost updates, flows with mismatched
//!   state, packets lost on the failed link, and flows whose state ended split across
//!   firewalls (in total, and the ones the failure of firewall-2 does not explain).
//! - `egret/table3`: operations and state variables of the three MOPs of section 2.2 and of
//!   the same jobs through Egret, counted from the executed plans (`models::egret::mop`).
//! - `egret/interleave`: the maintenance window for upgrading k of the 11 MMEs: sequential
//!   MOPs vs interleaved Egret jobs admitted while the pool keeps its headroom.
//!
//! Parameters we chose (none is from the paper, which gives no rates or times for Figure 4):
//! websearch flows at load 0.6 of a 10 Gbps access link, each paced at 100 Mbps ([`FLOW_RATE`]); firewalls at 1 us per packet (`NfConfig::default()`); a software switch (20 us per
//! rule, E2's software dataplane; the paper's prototype is on BESS, a software switch); control
//! latency 100 us; failure detection 1 ms; 400 ms runs; bins of 5 ms.

use base::{Bps, Dur, Time};
use models::controller::{ControllerConfig, MoveId};
use models::egret::config::{initial_segments, HashSegment, HASH_SPACE};
use models::egret::mop::{interleave, table3, Sites, WindowTimes};
use models::egret::{
    AnchorMask, ConflictPolicy, DeviceConfig, Egret, EgretOutput, Intent, MaskId, MaskStack, Nib,
    NodeType,
};
use models::nf::NfConfig;
use models::opennf::OpenNfConfig;
use models::oracle::Guarantee;
use models::reroute::move_cookie;
use models::switch::{Action, Cookie, FlowMod, Match, Rule, SwitchConfig, UpdateLatency};
use models::PortId;

use super::{Computed, Figure, FigureSpec, PlotKind, SeedValues, Target};
use crate::config::*;
use crate::driver;
use crate::output::{mean_stderr, TidyRow};

pub const TARGET: Target = Target {
    name: "egret",
    description: "Egret Figures 3 and 4, Table 3 and job interleaving: masks, base update on \
                  failure, MOPs vs intents",
    figures,
    computed: Some(computed),
};

const FIG3: &str = "egret/fig3";
const FIG4: &str = "egret/fig4";
const FIG4_ORACLE: &str = "egret/fig4-oracle";
const TABLE3: &str = "egret/table3";
const INTERLEAVE: &str = "egret/interleave";

/// When the job `{Target: firewall-1}` is submitted.
const JOB_AT: Dur = Dur::from_millis(100);
/// When firewall-2's link goes down.
const FAIL_AT: Dur = Dur::from_millis(250);
/// From the link going down to Egret's base update leaving the controller (ours: an OpenFlow
/// port-status message and the controller's reaction; the paper's BESS setup gives no time).
const DETECTION: Dur = Dur::from_millis(1);
const DURATION: Dur = Dur::from_millis(400);
const BIN: Dur = Dur::from_millis(5);
const LOAD: f64 = 0.6;
const MODES: [Mode; 2] = [Mode::Rehash, Mode::StateMove];
/// Each flow's pacing (ours: 100 Mbps, so that about 60 flows are active at once and the
/// packet shares follow the hash ranges rather than a few elephants).
const FLOW_RATE: Bps = Bps(100_000_000);
/// `egret/fig4-oracle`'s metrics (`split_*` get a `_count` suffix in the CSV).
const ORACLE_METRICS: [&str; 6] = [
    "lost_updates",
    "lost_updates_not_fw2",
    "state_mismatch_flows",
    "lost_link_down_pkts",
    "split_flows",
    "split_flows_not_fw2",
];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    Rehash,
    StateMove,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Rehash => "rehash",
            Mode::StateMove => "state-move",
        }
    }
}

fn seeds(quick: bool) -> Vec<u64> {
    let n = if quick { 2 } else { 10 };
    (1..=n).collect()
}

/// Nothing is a plain scenario sweep: Figure 4 steps the twin itself to read counters.
fn figures(_quick: bool) -> Vec<FigureSpec> {
    vec![]
}

fn computed(quick: bool) -> Computed {
    Computed {
        figure_ids: vec![
            FIG3.into(),
            FIG4.into(),
            FIG4_ORACLE.into(),
            TABLE3.into(),
            INTERLEAVE.into(),
        ],
        seeds: seeds(quick),
        inputs: format!(
            "fig4 {:?} job {JOB_AT:?} fail {FAIL_AT:?} detect {DETECTION:?} duration {DURATION:?} \
             bin {BIN:?} load {LOAD}; sites {:?}; window {:?}",
            fig4_config(Mode::Rehash, 1),
            Sites::default(),
            WindowTimes::default()
        ),
        per_seed,
        build,
    }
}

// ---------------------------------------------------------------------------------------------
// Figure 4 in the twin.

/// Node indices of the Figure 4 scenario.
const H1: u32 = 0;
const LB: u32 = 1;
const FW: [u32; 3] = [2, 3, 4];
const SINK: u32 = 5;
/// The link `lb - fw2` (links: h1-lb, lb-fw1, lb-fw2, lb-fw3, lb-sink).
const FW2_LINK: u32 = 2;
/// The load balancer's port facing firewall `i` (0-based) is `i + 1`.
fn fw_port(i: usize) -> PortId {
    PortId(i as u16 + 1)
}

const LB_PRIORITY: u16 = 100;

/// The load balancer's entries for a configuration version: one rule per hash segment from
/// the source's port; the segment that reaches the top of the hash space is a catch-all one
/// priority lower (the 32-bit hash's value 2^32-1 fits no `[lo, hi)` range).
fn lb_rules(version: u32, segs: &[HashSegment]) -> Vec<Rule> {
    segs.iter()
        .enumerate()
        .map(|(k, s)| {
            let top = s.hi == HASH_SPACE;
            let hash = if top { Match::any() } else { Match::hash_range(s.lo as u32, s.hi as u32) };
            Rule {
                cookie: Cookie(base::rng::fnv1a64(lb_rule_name(version, k).as_bytes())),
                priority: if top { LB_PRIORITY - 1 } else { LB_PRIORITY },
                matcher: Match { in_port: Some(PortId(0)), ..hash },
                actions: vec![Action::Output(fw_port(s.port))],
                idle_timeout: None,
            }
        })
        .collect()
}

/// Rule names double as cookies (the driver's preinstalled rules have `fnv1a64(name)`).
fn lb_rule_name(version: u32, k: usize) -> String {
    format!("egret-lb-v{version}-{k}")
}

fn to_rule_config(version: u32, k: usize, r: &Rule) -> RuleConfig {
    let Action::Output(p) = r.actions[0] else { unreachable!("lb rules output") };
    RuleConfig {
        name: lb_rule_name(version, k),
        priority: r.priority,
        matcher: Match { in_port: None, ..r.matcher.clone() },
        in_from: Some(NodeIdx(H1)),
        actions: vec![RuleAction::OutputTo(NodeIdx(FW[p.0 as usize - 1]))],
        idle_timeout: None,
    }
}

/// Replaces version `from` of the entries by `to`, in one batch (applied together by the
/// software switch).
fn replace(
    from: (u32, &[HashSegment]),
    to: (u32, &[HashSegment]),
    extra: Vec<FlowMod>,
) -> Vec<FlowMod> {
    let mut mods = extra;
    mods.extend((0..from.1.len()).map(|k| FlowMod::Delete {
        cookie: Cookie(base::rng::fnv1a64(lb_rule_name(from.0, k).as_bytes())),
    }));
    mods.extend(lb_rules(to.0, to.1).into_iter().map(FlowMod::Add));
    mods
}

fn nib(stateful: bool) -> Nib {
    let mut n = Nib::new();
    n.add("lb", NodeType::SdnSwitch);
    for f in ["firewall-1", "firewall-2", "firewall-3"] {
        n.add(f, NodeType::Function { stateful });
        n.link("lb", f).expect("invariant: both added");
    }
    n
}

fn segments_of(out: &[EgretOutput]) -> Vec<HashSegment> {
    out.iter()
        .rev()
        .find_map(|o| match o {
            EgretOutput::Configure { config: DeviceConfig::SdnEntries(s), .. } => Some(s.clone()),
            _ => None,
        })
        .expect("invariant: every change at the lb anchor pushes its entries")
}

/// The Figure 4 scenario for a mode; Egret's decisions become its timeline. Egret's inputs
/// (the job, the failure report) do not depend on the traffic, so running the controller
/// ahead of the simulation gives the same configurations at the same times.
fn fig4_config(mode: Mode, seed: u64) -> ScenarioConfig {
    let mut egret = Egret::new(nib(mode == Mode::StateMove), ConflictPolicy::Reject);
    egret.manage("lb", vec![1, 1, 1]).expect("invariant: a valid base");
    let v0 = initial_segments(&egret.weights("lb", 0).expect("managed"));
    egret.add(Time::ZERO, Intent::target("firewall-1"), None).expect("invariant: a valid job");
    let out: Vec<EgretOutput> = std::iter::from_fn(|| egret.poll_output()).collect();
    let v1 = segments_of(&out);
    egret.handle_link("lb", "firewall-2", false).expect("invariant: a managed port");
    let out2: Vec<EgretOutput> = std::iter::from_fn(|| egret.poll_output()).collect();
    let v2 = segments_of(&out2);

    let mut timeline = Vec::new();
    let at = |d: Dur| Time::ZERO + d;
    match mode {
        Mode::Rehash => {
            timeline.push(TimelineEvent {
                at: at(JOB_AT),
                what: TimelineAction::SwitchRules {
                    switch: NodeIdx(LB),
                    mods: replace((0, &v0), (1, &v1), vec![]),
                },
            });
        }
        Mode::StateMove => {
            // Observation 3: the existing traffic of firewall-1 goes with its state, one move
            // per hash range that changes hands (the new traffic follows the same entries).
            let mut moves = 0;
            for (lo, hi, dst) in handovers(&v0, &v1) {
                timeline.push(TimelineEvent {
                    at: at(JOB_AT),
                    what: TimelineAction::Move {
                        flows: Match::hash_range(lo as u32, hi.min(u32::MAX as u64) as u32),
                        src: NodeIdx(FW[0]),
                        dst: NodeIdx(FW[dst]),
                    },
                });
                moves += 1;
            }
            // The base update replaces the moves' redirect entries with the new base's.
            let redirects: Vec<FlowMod> =
                (0..moves).map(|i| FlowMod::Delete { cookie: move_cookie(MoveId(i), 0) }).collect();
            timeline.push(TimelineEvent {
                at: at(FAIL_AT + DETECTION),
                what: TimelineAction::SwitchRules {
                    switch: NodeIdx(LB),
                    mods: replace((0, &v0), (2, &v2), redirects),
                },
            });
        }
    }
    timeline
        .push(TimelineEvent { at: at(FAIL_AT), what: TimelineAction::LinkDown(LinkIdx(FW2_LINK)) });
    if mode == Mode::Rehash {
        timeline.push(TimelineEvent {
            at: at(FAIL_AT + DETECTION),
            what: TimelineAction::SwitchRules {
                switch: NodeIdx(LB),
                mods: replace((1, &v1), (2, &v2), vec![]),
            },
        });
    }
    timeline.sort_by_key(|e| e.at);

    let mut rules: Vec<RuleConfig> =
        lb_rules(0, &v0).iter().enumerate().map(|(k, r)| to_rule_config(0, k, r)).collect();
    for (i, &f) in FW.iter().enumerate() {
        rules.push(RuleConfig {
            name: format!("fw{}-out", i + 1),
            priority: 10,
            matcher: Match::any(),
            in_from: Some(NodeIdx(f)),
            actions: vec![RuleAction::OutputTo(NodeIdx(SINK))],
            idle_timeout: None,
        });
    }
    let switch = SwitchNode {
        config: SwitchConfig { update: UpdateLatency::e2_software(), ..SwitchConfig::default() },
        ingress: true,
        rules,
    };
    let link = |a: u32, b: u32| LinkConfig {
        a: NodeIdx(a),
        b: NodeIdx(b),
        rate: Bps(10_000_000_000),
        delay: Dur::from_micros(1),
        max_waiting_pkts: Some(1000),
        max_waiting_bytes: None,
        loss: 0.0,
    };
    let node = |name: &str, kind: NodeKind| NodeConfig { name: name.into(), kind };
    ScenarioConfig {
        name: format!("egret-fig4-{}", mode.name()),
        seed,
        replications: 1,
        duration: DURATION,
        drain_limit: Dur::from_secs(1),
        nodes: vec![
            node("h1", NodeKind::Source),
            node("lb", NodeKind::Switch(switch)),
            node("firewall-1", NodeKind::Nf(NfConfig::default())),
            node("firewall-2", NodeKind::Nf(NfConfig::default())),
            node("firewall-3", NodeKind::Nf(NfConfig::default())),
            node("sink", NodeKind::Sink),
            node("controller", NodeKind::Controller(ControllerConfig::default())),
        ],
        links: vec![
            link(H1, LB),
            link(LB, FW[0]),
            link(LB, FW[1]),
            link(LB, FW[2]),
            link(LB, SINK),
        ],
        control_latency: Dur::from_micros(100),
        control_jitter: None,
        workloads: vec![WorkloadConfig {
            source: NodeIdx(H1),
            flows: FlowSource::Generated {
                dist: workloads::builtin("websearch").expect("built in"),
                load: LOAD,
                reference: Bps(10_000_000_000),
            },
            mtu: 1500,
            flow_rate: FLOW_RATE,
        }],
        protocol: match mode {
            Mode::Rehash => ProtocolConfig::Reroute(Default::default()),
            Mode::StateMove => ProtocolConfig::OpenNf(OpenNfConfig::opennf(Guarantee::LossFree)),
        },
        timeline,
        metrics: MetricsConfig::default(),
    }
}

/// The hash ranges that leave firewall-1 between two versions of the entries, and where they
/// go: `(lo, hi, firewall index)`.
fn handovers(old: &[HashSegment], new: &[HashSegment]) -> Vec<(u64, u64, usize)> {
    let mut out = Vec::new();
    for o in old.iter().filter(|s| s.port == 0) {
        for n in new.iter().filter(|n| n.port != 0) {
            let (lo, hi) = (o.lo.max(n.lo), o.hi.min(n.hi));
            if lo < hi {
                out.push((lo, hi, n.port));
            }
        }
    }
    out
}

fn bins() -> u64 {
    DURATION.as_nanos() / BIN.as_nanos()
}

/// One seed of Figure 4: both modes, per-bin shares and the oracle's totals.
fn per_seed(seed: u64) -> SeedValues {
    let mut v = SeedValues::new();
    for mode in MODES {
        let cfg = fig4_config(mode, seed);
        let mut b = driver::build(&cfg, seed);
        let mut last = [0u64; 3];
        for k in 1..=bins() {
            b.run_until(Time::ZERO + Dur::from_nanos(k * BIN.as_nanos()));
            let now: Vec<u64> =
                FW.iter().map(|&f| b.nf(NodeIdx(f)).expect("nf").stats().processed).collect();
            let delta: Vec<u64> = (0..3).map(|i| now[i] - last[i]).collect();
            let total: u64 = delta.iter().sum();
            for (i, d) in delta.iter().enumerate() {
                let share = if total == 0 { 0.0 } else { 100.0 * *d as f64 / total as f64 };
                v.insert(format!("{}/fw{}/{k}", mode.name(), i + 1), share);
            }
            last.copy_from_slice(&now);
        }
        b.run();
        // Flows with state at more than one firewall, and those among them that never had
        // state at firewall-2 (the failure cannot explain those).
        let mut holders: std::collections::BTreeMap<u64, Vec<usize>> = Default::default();
        for (i, &f) in FW.iter().enumerate() {
            for (flow, _) in b.nf(NodeIdx(f)).expect("nf").states() {
                holders.entry(flow.0).or_default().push(i);
            }
        }
        let split: Vec<&Vec<usize>> = holders.values().filter(|h| h.len() > 1).collect();
        let outside = split.iter().filter(|h| !h.contains(&1)).count();
        let o = b.outcome(&cfg);
        let m = |k: &str| o.metrics.get(k).copied().unwrap_or(0.0);
        let at_fw2 = |f: u64| holders.get(&f).is_some_and(|h| h.contains(&1));
        let lost_not_fw2: u64 =
            o.oracle.findings.iter().filter(|f| !at_fw2(f.flow.0)).map(|f| f.lost_updates).sum();
        let n = mode.name();
        v.insert(format!("{n}/lost_updates_not_fw2"), lost_not_fw2 as f64);
        v.insert(format!("{n}/lost_updates"), m("lost_updates"));
        v.insert(format!("{n}/state_mismatch_flows"), m("state_mismatch_flows"));
        v.insert(format!("{n}/lost_link_down_pkts"), m("lost_link_down_pkts"));
        v.insert(format!("{n}/split_flows"), split.len() as f64);
        v.insert(format!("{n}/split_flows_not_fw2"), outside as f64);
        v.insert(format!("{n}/moves_failed"), m("moves_failed"));
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Building the figures.

fn tidy(
    figure: &str,
    series: &str,
    x_name: &str,
    x: String,
    metric: &str,
    v: (f64, f64),
    runs: usize,
) -> TidyRow {
    TidyRow {
        figure: figure.into(),
        series: series.into(),
        x_name: x_name.into(),
        x,
        metric: metric.into(),
        value: v.0,
        stderr: v.1,
        runs,
    }
}

/// Figure 3's steps as the mask stack computes them.
pub fn fig3_steps() -> Vec<(&'static str, Vec<u32>)> {
    let mut lb = MaskStack::new(vec![30, 30, 40], ConflictPolicy::Reject).expect("valid base");
    let mut steps = vec![("a-base", lb.weights(0))];
    let job1 = AnchorMask { peers: Some(vec![1, 2]), ..AnchorMask::drain(0) };
    lb.add(MaskId(1), job1, None).expect("job 1 fits");
    steps.push(("b-job1", lb.weights(0)));
    let job2 = AnchorMask { peers: Some(vec![0, 2]), ..AnchorMask::drain(1) };
    let rejected = lb.add(MaskId(2), job2.clone(), None).is_err();
    assert!(rejected, "invariant: Figure 3-c1's job 2 conflicts with job 1");
    steps.push(("c1-job2-rejected", lb.weights(0)));
    let mut alt =
        MaskStack::new(vec![30, 30, 40], ConflictPolicy::Alternative).expect("valid base");
    alt.add(MaskId(1), AnchorMask { peers: Some(vec![1, 2]), ..AnchorMask::drain(0) }, None)
        .expect("fits");
    alt.add(MaskId(2), job2, None).expect("the alternative exists");
    steps.push(("c2-job2-alternative", alt.weights(0)));
    alt.revert(MaskId(1)).expect("active");
    steps.push(("d-job1-reverted", alt.weights(0)));
    steps
}

fn build(per_seed: &[(u64, SeedValues)]) -> Vec<Figure> {
    let runs = per_seed.len();
    let one = |v: f64| (v, 0.0);
    let pct = |ppm: u32| ppm as f64 / 10_000.0;

    let mut fig3 = Vec::new();
    for (step, w) in fig3_steps() {
        for (p, &x) in w.iter().enumerate() {
            fig3.push(tidy(
                FIG3,
                &format!("port{}", p + 1),
                "step",
                step.into(),
                "weight_pct",
                one(pct(x)),
                1,
            ));
        }
    }

    let values = |key: &str| -> Vec<f64> {
        per_seed
            .iter()
            .map(|(_, v)| *v.get(key).expect("invariant: per_seed fills every key"))
            .collect()
    };
    let mut fig4 = Vec::new();
    for mode in MODES {
        for i in 1..=3 {
            for k in 1..=bins() {
                let t = (k * BIN.as_nanos()) as f64 / 1e6;
                let v = mean_stderr(&values(&format!("{}/fw{i}/{k}", mode.name())));
                fig4.push(tidy(
                    FIG4,
                    &format!("{}/firewall-{i}", mode.name()),
                    "time_ms",
                    format!("{t}"),
                    "traffic_share_pct",
                    v,
                    runs,
                ));
            }
        }
    }
    let mut oracle = Vec::new();
    for metric in ORACLE_METRICS {
        for mode in MODES {
            let v = mean_stderr(&values(&format!("{}/{metric}", mode.name())));
            let name = if metric.starts_with("split") {
                format!("{metric}_count")
            } else {
                metric.to_string()
            };
            oracle.push(tidy(FIG4_ORACLE, "twin", "mode", mode.name().into(), &name, v, runs));
        }
    }

    let mut t3 = Vec::new();
    let rows = table3(&Sites::default())
        .expect("invariant: the MOPs and Egret jobs run on the default sites");
    for r in &rows {
        for (series, c) in [("MOP", &r.mop), ("Egret", &r.egret)] {
            t3.push(tidy(
                TABLE3,
                series,
                "job",
                r.job.into(),
                "operations_count",
                one(c.operations as f64),
                1,
            ));
            t3.push(tidy(
                TABLE3,
                series,
                "job",
                r.job.into(),
                "state_variables_count",
                one(c.state_variables as f64),
                1,
            ));
        }
        t3.push(tidy(
            TABLE3,
            "Egret",
            "job",
            r.job.into(),
            "automated_device_configs_count",
            one(r.egret_device_configs as f64),
            1,
        ));
    }

    let mut inter = Vec::new();
    let sites = Sites::default();
    for k in 1..=sites.mmes {
        let w = interleave(&sites, &WindowTimes::default(), k)
            .expect("invariant: one MME fits the headroom");
        inter.push(tidy(
            INTERLEAVE,
            "MOP (sequential)",
            "k",
            k.to_string(),
            "window_min",
            one(w.mop_minutes),
            1,
        ));
        inter.push(tidy(
            INTERLEAVE,
            "Egret (interleaved)",
            "k",
            k.to_string(),
            "window_min",
            one(w.egret_minutes),
            1,
        ));
        inter.push(tidy(
            INTERLEAVE,
            "Egret (interleaved)",
            "k",
            k.to_string(),
            "parallel_jobs_count",
            one(w.egret_parallel as f64),
            1,
        ));
    }

    vec![
        Figure {
            id: FIG3.into(),
            title: "Egret Figure 3: a 3-port load balancer's weights under masks".into(),
            x_label: "step (a base, b job 1, c1 job 2 rejected, c2 alternative, d job 1 reverted)"
                .into(),
            y_label: "port weight (%)".into(),
            plot: PlotKind::Bars,
            metrics: vec!["weight_pct".into()],
            rows: fig3,
        },
        Figure {
            id: FIG4.into(),
            title: "Egret Figure 4: drain firewall-1, firewall-2 fails at 250 ms".into(),
            x_label: "time (ms)".into(),
            y_label: "share of packets processed (%)".into(),
            plot: PlotKind::Lines,
            metrics: vec!["traffic_share_pct".into()],
            rows: fig4,
        },
        Figure {
            id: FIG4_ORACLE.into(),
            title: "Egret Figure 4: what the oracle saw".into(),
            x_label: "how the job was carried out".into(),
            y_label: "count".into(),
            plot: PlotKind::Bars,
            metrics: ORACLE_METRICS
                .iter()
                .map(|m| if m.starts_with("split") { format!("{m}_count") } else { m.to_string() })
                .collect(),
            rows: oracle,
        },
        Figure {
            id: TABLE3.into(),
            title: "Egret Table 3: operator operations and state variables, MOP vs Egret".into(),
            x_label: "job".into(),
            y_label: "count".into(),
            plot: PlotKind::Bars,
            metrics: vec![
                "operations_count".into(),
                "state_variables_count".into(),
                "automated_device_configs_count".into(),
            ],
            rows: t3,
        },
        Figure {
            id: INTERLEAVE.into(),
            title: "Maintenance window to upgrade k of 11 MMEs".into(),
            x_label: "k (MMEs upgraded)".into(),
            y_label: "minutes".into(),
            plot: PlotKind::Lines,
            metrics: vec!["window_min".into(), "parallel_jobs_count".into()],
            rows: inter,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::egret::config::rebalance;

    #[test]
    fn handovers_cover_firewall1s_range() {
        let v0 = initial_segments(&[333_334, 333_333, 333_333]);
        let v1 = rebalance(&v0, &[0, 500_000, 500_000]);
        let h = handovers(&v0, &v1);
        let moved: u64 = h.iter().map(|(lo, hi, _)| hi - lo).sum();
        assert_eq!(moved, v0[0].hi - v0[0].lo);
        assert!(h.iter().any(|x| x.2 == 1) && h.iter().any(|x| x.2 == 2));
    }

    /// The hash ranges the twin moves are the shares Egret's `MoveState` outputs ask for.
    #[test]
    fn state_moves_match_egrets_shares() {
        let mut egret = Egret::new(nib(true), ConflictPolicy::Reject);
        egret.manage("lb", vec![1, 1, 1]).unwrap();
        let v0 = initial_segments(&egret.weights("lb", 0).unwrap());
        egret.add(Time::ZERO, Intent::target("firewall-1"), None).unwrap();
        let out: Vec<EgretOutput> = std::iter::from_fn(|| egret.poll_output()).collect();
        let v1 = segments_of(&out);
        let fw1 = (v0[0].hi - v0[0].lo) as f64;
        let mut seen = 0;
        for o in &out {
            if let EgretOutput::MoveState { src, dst, share } = o {
                assert_eq!(src, "firewall-1");
                let port = ["firewall-1", "firewall-2", "firewall-3"]
                    .iter()
                    .position(|f| f == dst)
                    .unwrap();
                let len: u64 =
                    handovers(&v0, &v1).iter().filter(|h| h.2 == port).map(|h| h.1 - h.0).sum();
                let ppm = len as f64 / fw1 * 1e6;
                assert!(
                    (ppm - *share as f64).abs() <= 1.0,
                    "{dst}: {ppm} ppm of the hash range vs share {share}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
    }
}
