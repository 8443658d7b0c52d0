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
//!   firewall processed per 5 ms, `traffic_share_pct`, mean over the seeds, for three cases
//!   behind the same stateless load balancer ([`Mode`]): (a) `a-stateless-fw`, stateless
//!   firewalls; (b) `b-stateful-fw-state-move`, stateful firewalls whose drained flows Egret
//!   moves with OpenNF's loss-free move, hash range by hash range, before the new entries
//!   follow (observation 3); and `control-stateful-fw-rehash`, stateful firewalls re-hashed
//!   without their state, to show the oracle finds split state when there is some.
//! - `egret/fig4-oracle`: bars per case: the oracle's lost updates, flows with mismatched
//!   state, packets lost on the failed link and elsewhere, flows whose state ended split across
//!   firewalls (in total, and the ones the failure of firewall-2 does not explain), and, where
//!   only Egret's entries steer, the load balancer's audit of every packet against the weights
//!   of the configuration that steered it.
//! - `egret/table3`: operations and state variables of the three MOPs of section 2.2 and of
//!   the same jobs through Egret, counted from the executed plans (`models::egret::mop`).
//! - `egret/interleave`: the maintenance window for upgrading k of the 11 MMEs: sequential
//!   MOPs vs interleaved Egret jobs admitted while the pool keeps its headroom.
//!
//! Parameters we chose (none is from the paper, which gives no rates or times for Figure 4):
//! websearch flows at load 0.6 of a 10 Gbps access link, each paced at 100 Mbps ([`FLOW_RATE`]);
//! firewalls at 1 us per packet (`NfConfig::default()`), stateful ones updating state at
//! connection set-up and teardown (`StateUpdates::ConnectionEvents`); a software switch (20 us per
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
use models::nf::{NfConfig, StateUpdates};
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
const MODES: [Mode; 3] = [Mode::StatelessFw, Mode::StatefulRehash, Mode::StatefulStateMove];
/// Each flow's pacing (ours: 100 Mbps, so that about 60 flows are active at once and the
/// packet shares follow the hash ranges rather than a few elephants).
const FLOW_RATE: Bps = Bps(100_000_000);
/// `egret/fig4-oracle`'s metrics, for every mode (`split_*` get a `_count` suffix in the CSV).
const ORACLE_METRICS: [&str; 9] = [
    "lost_updates",
    "lost_updates_not_fw2",
    "state_mismatch_flows",
    "state_mismatch_flows_not_fw2",
    "lost_link_down_pkts",
    "lost_other_pkts",
    "split_flows",
    "split_flows_not_fw2",
    "processed_pkts",
];
/// The panels of `egret/fig4-oracle`'s plot.
const PLOTTED_ORACLE_METRICS: [&str; 3] =
    ["split_flows_not_fw2_count", "lost_updates_not_fw2", "misrouted_pkts"];
/// The load balancer's audit of its own forwarding, for the modes where only Egret's entries
/// steer traffic ([`Mode::audited`]).
const AUDIT_METRICS: [&str; 2] = ["audited_pkts", "misrouted_pkts"];

/// The cases of Figure 4. The load balancer is the same in all three: stateless, it hashes
/// each packet's flow over its weights (Egret's hash-range entries) and keeps no connection
/// table. What differs is the firewalls and how Egret carries out the job.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// Case (a): stateless firewalls (each applies its ACL to every packet on its own and
    /// keeps no per-flow state). Re-hashing a flow to another firewall splits nothing.
    StatelessFw,
    /// The oracle's control: the same load balancer and entries, but the firewalls are
    /// stateful and Egret is told they are not (no state moves). The oracle must see split
    /// state here, or its zero in the other cases means nothing.
    StatefulRehash,
    /// Case (b): stateful firewalls, and Egret moves firewall-1's existing flows with their
    /// state (observation 3, OpenNF's loss-free move) before the new entries take over.
    StatefulStateMove,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::StatelessFw => "a-stateless-fw",
            Mode::StatefulRehash => "control-stateful-fw-rehash",
            Mode::StatefulStateMove => "b-stateful-fw-state-move",
        }
    }

    /// The case's x value in `egret/fig4-oracle` (short, so the plot's labels fit).
    fn short(self) -> &'static str {
        match self {
            Mode::StatelessFw => "a",
            Mode::StatefulRehash => "control",
            Mode::StatefulStateMove => "b",
        }
    }

    /// The firewalls' kind: stateless, or a stateful firewall (state set up and torn down
    /// with the connection, `StateUpdates::ConnectionEvents`).
    fn nf(self) -> NfConfig {
        let state_updates = match self {
            Mode::StatelessFw => StateUpdates::Stateless,
            Mode::StatefulRehash | Mode::StatefulStateMove => StateUpdates::ConnectionEvents,
        };
        NfConfig { state_updates, ..NfConfig::default() }
    }

    /// What Egret's NIB says the firewalls are (so whether it asks for state moves).
    fn nib_stateful(self) -> bool {
        self == Mode::StatefulStateMove
    }

    /// Only Egret's entries steer traffic (no move redirects or controller releases), so the
    /// load balancer can audit each packet against the entries' weights.
    fn audited(self) -> bool {
        self != Mode::StatefulStateMove
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
            fig4_config(Mode::StatelessFw, 1),
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
                actions: vec![
                    Action::SetTag(version_tag(version)),
                    Action::Output(fw_port(s.port)),
                ],
                idle_timeout: None,
            }
        })
        .collect()
}

/// The tag the entries of a configuration version put on the packets they steer (0 is no
/// tag), so that the way back can check the packet against that version's weights.
fn version_tag(version: u32) -> u16 {
    version as u16 + 1
}

/// The way back from firewall `fw` (0-based) with the audit: for every configuration version
/// and every hash range it gives to `fw`, an entry matching the version's tag and the range
/// (`audit-*`); anything else firewall `fw` processed falls to `fw{n}-out` (priority 10), whose
/// counter is then the packets that did not go where the weights said. A hash of exactly
/// 2^32-1 fits no `[lo, hi)` range and would count as misrouted (a false alarm, never a
/// missed one).
fn return_rules(fw: usize, audit: &[(u32, &[HashSegment])]) -> Vec<RuleConfig> {
    let mut rules = Vec::new();
    for &(version, segs) in audit {
        for (k, s) in segs.iter().enumerate().filter(|(_, s)| s.port == fw) {
            let hi = s.hi.min(u32::MAX as u64) as u32;
            rules.push(RuleConfig {
                name: format!("audit-fw{}-v{version}-{k}", fw + 1),
                priority: 20,
                matcher: Match {
                    tag: Some(version_tag(version)),
                    ..Match::hash_range(s.lo as u32, hi)
                },
                in_from: Some(NodeIdx(FW[fw])),
                actions: vec![RuleAction::OutputTo(NodeIdx(SINK))],
                idle_timeout: None,
            });
        }
    }
    rules.push(RuleConfig {
        name: format!("fw{}-out", fw + 1),
        priority: 10,
        matcher: Match::any(),
        in_from: Some(NodeIdx(FW[fw])),
        actions: vec![RuleAction::OutputTo(NodeIdx(SINK))],
        idle_timeout: None,
    });
    rules
}

/// Rule names double as cookies (the driver's preinstalled rules have `fnv1a64(name)`).
fn lb_rule_name(version: u32, k: usize) -> String {
    format!("egret-lb-v{version}-{k}")
}

fn to_rule_config(version: u32, k: usize, r: &Rule) -> RuleConfig {
    let [tag, Action::Output(p)] = r.actions[..] else { unreachable!("lb rules tag, output") };
    RuleConfig {
        name: lb_rule_name(version, k),
        priority: r.priority,
        matcher: Match { in_port: None, ..r.matcher.clone() },
        in_from: Some(NodeIdx(H1)),
        actions: vec![RuleAction::Other(tag), RuleAction::OutputTo(NodeIdx(FW[p.0 as usize - 1]))],
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
    let mut egret = Egret::new(nib(mode.nib_stateful()), ConflictPolicy::Reject);
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
        Mode::StatelessFw | Mode::StatefulRehash => {
            timeline.push(TimelineEvent {
                at: at(JOB_AT),
                what: TimelineAction::SwitchRules {
                    switch: NodeIdx(LB),
                    mods: replace((0, &v0), (1, &v1), vec![]),
                },
            });
        }
        Mode::StatefulStateMove => {
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
    if mode != Mode::StatefulStateMove {
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
    let versions: Vec<(u32, &[HashSegment])> =
        if mode.audited() { vec![(0, &v0), (1, &v1), (2, &v2)] } else { vec![] };
    for fw in 0..FW.len() {
        rules.extend(return_rules(fw, &versions));
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
            node("firewall-1", NodeKind::Nf(mode.nf())),
            node("firewall-2", NodeKind::Nf(mode.nf())),
            node("firewall-3", NodeKind::Nf(mode.nf())),
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
            pacing: Default::default(),
        }],
        protocol: match mode {
            Mode::StatelessFw | Mode::StatefulRehash => ProtocolConfig::Reroute(Default::default()),
            Mode::StatefulStateMove => {
                ProtocolConfig::OpenNf(OpenNfConfig::opennf(Guarantee::LossFree))
            }
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

/// The names of the load balancer's preinstalled entries.
fn cfg_rules(cfg: &ScenarioConfig) -> Vec<String> {
    match &cfg.nodes[LB as usize].kind {
        NodeKind::Switch(sw) => sw.rules.iter().map(|r| r.name.clone()).collect(),
        _ => unreachable!("invariant: node {LB} is the load balancer"),
    }
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
        let not_fw2 = || o.oracle.findings.iter().filter(|f| !at_fw2(f.flow.0));
        let lost_not_fw2: u64 = not_fw2().map(|f| f.lost_updates).sum();
        let mismatch_not_fw2 = not_fw2().filter(|f| f.state_mismatch).count();
        let processed: u64 =
            FW.iter().map(|&f| b.nf(NodeIdx(f)).expect("nf").stats().processed).sum();
        let n = mode.name();
        v.insert(format!("{n}/lost_updates_not_fw2"), lost_not_fw2 as f64);
        v.insert(format!("{n}/lost_updates"), m("lost_updates"));
        v.insert(format!("{n}/state_mismatch_flows"), m("state_mismatch_flows"));
        v.insert(format!("{n}/state_mismatch_flows_not_fw2"), mismatch_not_fw2 as f64);
        v.insert(format!("{n}/lost_link_down_pkts"), m("lost_link_down_pkts"));
        v.insert(
            format!("{n}/lost_other_pkts"),
            (o.oracle.lost_packets_total() as f64 - m("lost_link_down_pkts")).max(0.0),
        );
        v.insert(format!("{n}/split_flows"), split.len() as f64);
        v.insert(format!("{n}/split_flows_not_fw2"), outside as f64);
        v.insert(format!("{n}/processed_pkts"), processed as f64);
        v.insert(format!("{n}/moves_failed"), m("moves_failed"));
        if mode.audited() {
            // The load balancer's counters on the way back: packets checked against the
            // weights of the version that steered them, and the ones that failed the check.
            let lb = b.switch(NodeIdx(LB)).expect("lb");
            let (mut audited, mut misrouted) = (0, 0);
            for rule in &cfg_rules(&cfg) {
                let c = lb.rule_counters(Cookie(base::rng::fnv1a64(rule.as_bytes())));
                let pkts = c.map_or(0, |c| c.packets);
                if rule.starts_with("audit-") {
                    audited += pkts;
                } else if rule.ends_with("-out") {
                    misrouted += pkts;
                }
            }
            v.insert(format!("{n}/audited_pkts"), audited as f64);
            v.insert(format!("{n}/misrouted_pkts"), misrouted as f64);
        }
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
    let audit = AUDIT_METRICS
        .iter()
        .flat_map(|m| MODES.iter().filter(|mode| mode.audited()).map(move |mode| (*m, *mode)));
    let all = ORACLE_METRICS.iter().flat_map(|m| MODES.iter().map(move |mode| (*m, *mode)));
    for (metric, mode) in all.chain(audit) {
        let v = mean_stderr(&values(&format!("{}/{metric}", mode.name())));
        let name = if metric.starts_with("split") {
            format!("{metric}_count")
        } else {
            metric.to_string()
        };
        oracle.push(tidy(FIG4_ORACLE, "twin", "case", mode.short().into(), &name, v, runs));
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
            title: "Egret Fig. 4 oracle: a stateless FW, b state moved, control re-hashed".into(),
            x_label: "case".into(),
            y_label: "count".into(),
            plot: PlotKind::Bars,
            // The CSV has every metric; the plot the three that tell the cases apart.
            metrics: PLOTTED_ORACLE_METRICS.iter().map(|m| m.to_string()).collect(),
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

    /// The entries of every version give each firewall its composed weight's share of the
    /// hash space (the audit's reference), to the rounding: the last port takes up to one hash
    /// value per port more.
    #[test]
    fn lb_entries_give_each_firewall_its_weight() {
        let mut egret = Egret::new(nib(false), ConflictPolicy::Reject);
        egret.manage("lb", vec![1, 1, 1]).unwrap();
        let mut segs = initial_segments(&egret.weights("lb", 0).unwrap());
        let check = |segs: &[HashSegment], w: &[u32]| {
            for (p, &w) in w.iter().enumerate() {
                let len: u64 = segs.iter().filter(|s| s.port == p).map(|s| s.hi - s.lo).sum();
                let want = w as f64 / 1e6 * HASH_SPACE as f64;
                assert!((len as f64 - want).abs() <= 3.0, "port {p}: {len} vs {want}");
            }
        };
        check(&segs, &egret.weights("lb", 0).unwrap());
        egret.add(Time::ZERO, Intent::target("firewall-1"), None).unwrap();
        segs = segments_of(&std::iter::from_fn(|| egret.poll_output()).collect::<Vec<_>>());
        check(&segs, &egret.weights("lb", 0).unwrap());
        assert_eq!(egret.weights("lb", 0).unwrap(), vec![0, 500_000, 500_000]);
        egret.handle_link("lb", "firewall-2", false).unwrap();
        segs = segments_of(&std::iter::from_fn(|| egret.poll_output()).collect::<Vec<_>>());
        check(&segs, &egret.weights("lb", 0).unwrap());
        assert_eq!(egret.weights("lb", 0).unwrap(), vec![0, 0, 1_000_000]);
    }

    /// The audit can fail: a load balancer whose first entries send firewall-1's range to
    /// firewall-2 (not what the weights say) is caught on the way back, packet by packet.
    #[test]
    fn the_audit_catches_a_load_balancer_that_ignores_its_weights() {
        let mut cfg = fig4_config(Mode::StatelessFw, 1);
        let NodeKind::Switch(sw) = &mut cfg.nodes[LB as usize].kind else { unreachable!() };
        let wrong = sw.rules.iter_mut().find(|r| r.name == lb_rule_name(0, 0)).unwrap();
        wrong.actions[1] = RuleAction::OutputTo(NodeIdx(FW[1]));
        // Only until the job replaces these entries.
        let mut b = driver::build(&cfg, 1);
        b.run_until(Time::ZERO + JOB_AT);
        let lb = b.switch(NodeIdx(LB)).unwrap();
        let misrouted = lb.rule_counters(Cookie(base::rng::fnv1a64(b"fw2-out"))).unwrap().packets;
        let fw2 = b.nf(NodeIdx(FW[1])).unwrap().stats().processed;
        assert!(misrouted > 0 && misrouted < fw2, "{misrouted} of {fw2} at firewall-2");
        assert_eq!(b.nf(NodeIdx(FW[0])).unwrap().stats().processed, 0);
    }

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
