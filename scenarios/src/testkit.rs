//! Scenarios built in code, for tests and benchmarks that must not depend on the file parser.

use base::{Bps, Dur, Time};
use models::controller::ControllerConfig;
use models::nf::NfConfig;
use models::reroute::RerouteConfig;
use models::switch::{Match, SwitchConfig};

use crate::config::*;

const GBPS10: Bps = Bps(10_000_000_000);

/// Per-flow pacing of the two-switch scenario: at load 0.8 about eight 1 Gbps flows are active
/// at once, so the 10 Gbps access link overflows only when more than ten overlap (about 6% of
/// packets at load 0.8, counted as `link_queue` losses). Open-loop flows at the full 10 Gbps
/// would overflow it whenever two overlap (a quarter of the packets).
const FLOW_RATE_BPS: u64 = 1_000_000_000;

fn link(a: u32, b: u32) -> LinkConfig {
    LinkConfig {
        a: NodeIdx(a),
        b: NodeIdx(b),
        rate: GBPS10,
        delay: Dur::from_micros(1),
        max_waiting_pkts: Some(1000),
        max_waiting_bytes: None,
        loss: 0.0,
    }
}

fn rule(name: &str, priority: u16, matcher: Match, from: u32, to: u32) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        priority,
        matcher,
        in_from: Some(NodeIdx(from)),
        actions: vec![RuleAction::OutputTo(NodeIdx(to))],
        idle_timeout: None,
    }
}

fn switch(rules: Vec<RuleConfig>) -> NodeKind {
    NodeKind::Switch(SwitchNode { config: SwitchConfig::default(), ingress: true, rules })
}

fn node(name: &str, kind: NodeKind) -> NodeConfig {
    NodeConfig { name: name.into(), kind }
}

fn websearch(source: u32, load: f64, flow_rate: Bps) -> WorkloadConfig {
    WorkloadConfig {
        source: NodeIdx(source),
        flows: FlowSource::Generated {
            dist: workloads::builtin("websearch").expect("built in"),
            load,
            reference: GBPS10,
        },
        mtu: 1500,
        flow_rate,
        pacing: Default::default(),
    }
}

/// `h1 -> s1 -> fw1 (or fw2) -> s1 -> sink`, a controller, websearch at `load` of 10 Gbps for
/// `duration` with flows paced at 1 Gbps (so about `10 * load` flows are active at once), and, if `move_at` is set, a move of every flow from fw1 to fw2 then, with
/// `reroute`. Node indices: h1 0, s1 1, fw1 2, fw2 3, sink 4, controller 5.
pub fn reroute_pair(load: Option<f64>, duration: Dur, move_at: Option<Dur>) -> ScenarioConfig {
    let rules = vec![
        rule("to-fw1", 10, Match::any(), 0, 2),
        rule("fw1-out", 10, Match::any(), 2, 4),
        rule("fw2-out", 10, Match::any(), 3, 4),
    ];
    ScenarioConfig {
        name: "reroute-pair".into(),
        seed: 1,
        replications: 1,
        duration,
        drain_limit: Dur::from_secs(1),
        nodes: vec![
            node("h1", NodeKind::Source),
            node("s1", switch(rules)),
            node("fw1", NodeKind::Nf(NfConfig::default())),
            node("fw2", NodeKind::Nf(NfConfig::default())),
            node("sink", NodeKind::Sink),
            node("controller", NodeKind::Controller(ControllerConfig::default())),
        ],
        links: vec![link(0, 1), link(1, 2), link(1, 3), link(1, 4)],
        control_latency: Dur::from_micros(100),
        control_jitter: None,
        workloads: load.map(|l| websearch(0, l, Bps(1_000_000_000))).into_iter().collect(),
        protocol: ProtocolConfig::Reroute(RerouteConfig::default()),
        timeline: move_at
            .map(|at| TimelineEvent {
                at: Time::ZERO + at,
                what: TimelineAction::Move {
                    flows: Match::any(),
                    src: NodeIdx(2),
                    dst: NodeIdx(3),
                },
            })
            .into_iter()
            .collect(),
        metrics: MetricsConfig::default(),
    }
}

/// Two switches and four NFs, no migration: `h1 -> s1 -> nf1..nf4 (by hash quarter) -> s2 ->
/// sink`, websearch at `load` of 10 Gbps with flows paced at 1 Gbps. The NFs serve a packet in 0.5 us, so a quarter of the
/// traffic never queues them. Node indices: h1 0, s1 1, s2 2, nf1..nf4 3..6, sink 7.
pub fn two_switch_four_nf(load: f64, duration: Dur) -> ScenarioConfig {
    let quarter = 1u64 << 30;
    let mut s1_rules = Vec::new();
    let mut s2_rules = Vec::new();
    for k in 0..4u32 {
        let lo = (k as u64 * quarter) as u32;
        let hi = ((k as u64 + 1) * quarter).min(u32::MAX as u64 + 1);
        // The last range must include u32::MAX: [lo, hi) with hi = 2^32 does not fit a u32,
        // so the top quarter's rule is a catch-all at a lower priority.
        let m = if k == 3 { Match::any() } else { Match::hash_range(lo, hi as u32) };
        let prio = if k == 3 { 5 } else { 10 };
        s1_rules.push(rule(&format!("to-nf{}", k + 1), prio, m, 0, 3 + k));
        s2_rules.push(rule(&format!("nf{}-out", k + 1), 10, Match::any(), 3 + k, 7));
    }
    let nf = NfConfig { service: Dur::from_nanos(500), ..NfConfig::default() };
    let mut nodes = vec![node("h1", NodeKind::Source), node("s1", switch(s1_rules))];
    let mut s2 = switch(s2_rules);
    if let NodeKind::Switch(s) = &mut s2 {
        s.ingress = false;
    }
    nodes.push(node("s2", s2));
    for k in 1..=4 {
        nodes.push(node(&format!("nf{k}"), NodeKind::Nf(nf.clone())));
    }
    nodes.push(node("sink", NodeKind::Sink));
    let mut links = vec![link(0, 1)];
    for k in 0..4 {
        links.push(link(1, 3 + k));
        links.push(link(3 + k, 2));
    }
    links.push(link(2, 7));
    ScenarioConfig {
        name: "two-switch-four-nf".into(),
        seed: 1,
        replications: 1,
        duration,
        drain_limit: Dur::from_secs(1),
        nodes,
        links,
        control_latency: Dur::from_micros(100),
        control_jitter: None,
        workloads: vec![websearch(0, load, Bps(FLOW_RATE_BPS))],
        protocol: ProtocolConfig::Reroute(RerouteConfig::default()),
        timeline: vec![],
        metrics: MetricsConfig::default(),
    }
}

/// An OpenNF move experiment: `h1 -> s1 -> src -> s1 -> sink` carrying `flows` long-lived flows
/// at an aggregate `rate_pps` (each flow paced at `rate_pps / flows` packets of 1500 bytes per
/// second, flow `k` starting at `k / rate_pps` s so the packets interleave evenly), and one
/// move of every flow from `src` to `dst` at `move_at`, once every flow has sent its first
/// packet. The flows run until `duration`; the run may go on up to `drain_limit` after it for
/// the move to finish. Node indices: h1 0, s1 1, src 2, dst 3, sink 4, controller 5.
#[allow(clippy::too_many_arguments)]
pub fn opennf_flows(
    flows: u32,
    rate_pps: f64,
    nf: NfConfig,
    controller: ControllerConfig,
    update: models::switch::UpdateLatency,
    protocol: models::opennf::OpenNfConfig,
    move_at: Dur,
    duration: Dur,
) -> ScenarioConfig {
    const MTU: u32 = 1500;
    let per_flow_pps = rate_pps / flows as f64;
    let secs = duration.as_nanos() as f64 / 1e9;
    let trace: Vec<workloads::Flow> = (0..flows as u64)
        .map(|k| {
            let start_ns = (k as f64 * 1e9 / rate_pps).round() as u64;
            let packets = (per_flow_pps * (secs - start_ns as f64 / 1e9)).ceil().max(1.0) as u64;
            workloads::Flow {
                id: workloads::FlowId(k),
                start: Time::ZERO + Dur::from_nanos(start_ns),
                size_bytes: packets * MTU as u64,
                tuple: workloads::FiveTuple::synthetic(k),
            }
        })
        .collect();
    let mut cfg = reroute_pair(None, duration, Some(move_at));
    cfg.name = "opennf-flows".into();
    cfg.drain_limit = Dur::from_secs(120);
    for n in &mut cfg.nodes {
        match &mut n.kind {
            NodeKind::Nf(c) => *c = nf.clone(),
            NodeKind::Controller(c) => *c = controller.clone(),
            NodeKind::Switch(s) => s.config.update = update.clone(),
            _ => {}
        }
    }
    cfg.nodes[2].name = "src".into();
    cfg.nodes[3].name = "dst".into();
    cfg.workloads = vec![WorkloadConfig {
        source: NodeIdx(0),
        flows: FlowSource::Trace { path: "opennf-flows (built in code)".into(), flows: trace },
        mtu: MTU,
        flow_rate: Bps((per_flow_pps * MTU as f64 * 8.0).round() as u64),
        pacing: Default::default(),
    }];
    cfg.protocol = ProtocolConfig::OpenNf(protocol);
    cfg
}

/// The SHarP paper's Figure 1 testbed, as its section IV-B runs it: two hosts, an ingress and
/// an egress switch, two VNFs between them (with a management link for their own state
/// transfer), and a constant UDP flow with sequence numbers from h1 to h2 and, if
/// `bidirectional`, one back from h2 to h1 at the same rate (the paper's Host2 echoes
/// Host1's packets; we send an independent reverse flow, so its packets are counted and
/// checked on their own). The flows are handed over from VNF1 to VNFn at `handover_at`.
///
/// Node indices: h1 0, ingr 1, vnf1 2, vnfn 3, egr 4, h2 5, h1rx 6, h2rx 7, controller 8.
#[derive(Clone, Debug, PartialEq)]
pub struct SharpTestbed {
    pub pps: f64,
    pub packet_bytes: u32,
    pub bidirectional: bool,
    /// The artificial delay before the VNFs' state transfer (section IV-B); SHarP only.
    pub transfer_delay: Dur,
    /// Bytes of state per flow the VNFs move over their 1 Gbps management link.
    pub state_bytes: u32,
    /// Controller <-> switch / VNF latency, each way.
    pub control_latency: Dur,
    pub handover_at: Dur,
    /// Traffic after the handover request (plus the transfer delay).
    pub tail: Dur,
    pub sharp: models::sharp::SharpConfig,
    /// Run OpenNF's move (on the ingress switch) instead of SHarP.
    pub opennf: Option<models::opennf::OpenNfConfig>,
}

impl Default for SharpTestbed {
    /// The parameters we had to choose, none given by the paper: 2 ms control latency each way
    /// (a Python controller, Ryu, on the emulation host), switch rule updates of 100 us per rule
    /// (Open vSwitch's software table), 10 KB of state per flow (section IV-A's "10 packets of
    /// 1000 bytes"), the handover requested at 100 ms and 300 ms of traffic after it.
    fn default() -> Self {
        SharpTestbed {
            pps: 1000.0,
            packet_bytes: 1000,
            bidirectional: true,
            transfer_delay: Dur::ZERO,
            state_bytes: 10_000,
            control_latency: Dur::from_millis(2),
            handover_at: Dur::from_millis(100),
            tail: Dur::from_millis(300),
            sharp: models::sharp::SharpConfig::default(),
            opennf: None,
        }
    }
}

pub fn sharp_testbed(p: &SharpTestbed) -> ScenarioConfig {
    use models::switch::UpdateLatency;
    let duration = p.handover_at + p.transfer_delay + p.tail;
    let ovs = SwitchConfig {
        update: UpdateLatency::Software { per_rule: Dur::from_micros(100) },
        ..SwitchConfig::default()
    };
    let sw = |rules: Vec<RuleConfig>| {
        NodeKind::Switch(SwitchNode { config: ovs.clone(), ingress: true, rules })
    };
    // The VNFs: a packet in 10 us; a queue that takes whatever HSL releases at once (the
    // prototype's Unix socket is flow-controlled, it does not drop).
    let vnf = NfConfig {
        service: Dur::from_micros(10),
        queue_capacity: 1_000_000,
        state_bytes_per_flow: p.state_bytes,
        ..NfConfig::default()
    };
    let ingr = vec![
        rule("to-vnf1", 10, Match::any(), 0, 2),
        rule("vnf1-to-h1", 10, Match::any(), 2, 6),
        rule("vnfn-to-h1", 10, Match::any(), 3, 6),
    ];
    let egr = vec![
        rule("vnf1-to-h2", 10, Match::any(), 2, 7),
        rule("vnfn-to-h2", 10, Match::any(), 3, 7),
        rule("back-to-vnf1", 10, Match::any(), 5, 2),
    ];
    let gbps = |a: u32, b: u32| LinkConfig {
        rate: Bps(1_000_000_000),
        delay: Dur::from_micros(50),
        max_waiting_pkts: Some(100_000),
        ..link(a, b)
    };
    let packets = (p.pps * duration.as_nanos() as f64 / 1e9).ceil() as u64;
    let rate = Bps((p.pps * p.packet_bytes as f64 * 8.0).round() as u64);
    let flow = |id: u64, src: [u8; 4], dst: [u8; 4]| WorkloadConfig {
        source: NodeIdx(if id == 1 { 0 } else { 5 }),
        flows: FlowSource::Trace {
            path: "sharp testbed (built in code)".into(),
            flows: vec![workloads::Flow {
                id: workloads::FlowId(id),
                start: Time::ZERO,
                size_bytes: packets * p.packet_bytes as u64,
                tuple: workloads::FiveTuple {
                    src: src.into(),
                    dst: dst.into(),
                    sport: 5000,
                    dport: 5001,
                    proto: 17,
                },
            }],
        },
        mtu: p.packet_bytes,
        flow_rate: rate,
        pacing: Default::default(),
    };
    let mut workloads = vec![flow(1, [10, 0, 0, 1], [10, 0, 0, 2])];
    if p.bidirectional {
        workloads.push(flow(2, [10, 0, 0, 2], [10, 0, 0, 1]));
    }
    let protocol = match &p.opennf {
        Some(c) => ProtocolConfig::OpenNf(c.clone()),
        None => ProtocolConfig::Sharp(
            p.sharp.clone(),
            models::sharp::HslConfig { transfer_delay: p.transfer_delay, ..Default::default() },
        ),
    };
    ScenarioConfig {
        name: "sharp-testbed".into(),
        seed: 1,
        replications: 1,
        duration,
        drain_limit: Dur::from_secs(5),
        nodes: vec![
            node("h1", NodeKind::Source),
            node("ingr", sw(ingr)),
            node("vnf1", NodeKind::Nf(vnf.clone())),
            node("vnfn", NodeKind::Nf(vnf)),
            node("egr", sw(egr)),
            node("h2", NodeKind::Source),
            node("h1rx", NodeKind::Sink),
            node("h2rx", NodeKind::Sink),
            node("controller", NodeKind::Controller(ControllerConfig::default())),
        ],
        links: vec![
            gbps(0, 1),
            gbps(1, 2),
            gbps(1, 3),
            gbps(2, 4),
            gbps(3, 4),
            gbps(4, 5),
            gbps(1, 6),
            gbps(4, 7),
            // The VNFs' management network (their peer-to-peer state transfer).
            gbps(2, 3),
        ],
        control_latency: p.control_latency,
        control_jitter: None,
        workloads,
        protocol,
        timeline: vec![TimelineEvent {
            at: Time::ZERO + p.handover_at,
            what: TimelineAction::Move { flows: Match::any(), src: NodeIdx(2), dst: NodeIdx(3) },
        }],
        metrics: MetricsConfig::default(),
    }
}
