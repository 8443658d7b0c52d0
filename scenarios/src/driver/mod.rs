//! The sim driver: hosts the `models` machines inside `sim-core` and wires them from a
//! [`ScenarioConfig`].
//!
//! ```text
//!  Source ──link──► Switch ──link──► NF ──link──► Switch ──link──► Sink
//!                     │  ▲                │  ▲
//!          control    ▼  │   (latency)    ▼  │
//!                   Controller ◄──────────────┘        Timeline ──► moves, failures
//! ```
//!
//! - One sim entity per node, in node order, so `EntityId(i)`, `NodeIdx(i)` and `NodeId(i)`
//!   name the same node; the timeline is the last entity.
//! - Data packets cross `sim-core` links; control messages go directly with the scenario's
//!   control latency (each way), and an operator's command reaches the controller at once.
//! - Each machine's `poll_timeout` is mirrored by one cancellable engine timer, re-armed only
//!   when the deadline changes.
//! - Every drop anywhere (link queue, downed link, random loss, NF queue, switch, controller
//!   buffer) is reported to the oracle with its cause, so its accounting balances.

mod entities;
mod results;

use std::cell::RefCell;
use std::rc::Rc;

use base::Time;
use models::controller::{Controller, ControllerInput};
use models::nf::{Nf, NfCtrl, StateUpdates};
use models::packet::{NodeId, Packet, PortId};
use models::reroute::Reroute;
use models::switch::{Action, Match, Rule, Switch, SwitchCtrl};
use sim_core::{EntityId, LinkId, LinkParams, Simulation};

use crate::config::{
    FlowSource, NodeIdx, NodeKind, ProtocolConfig, RuleAction, ScenarioConfig, TimelineAction,
};
pub use results::{MoveRecord, RunOutcome, METRIC_NAMES};

use entities::{
    ControlChannel, ControllerEntity, NfEntity, Shared, SinkEntity, SourceEntity, SwitchEntity,
    TimelineEntity,
};

/// The one message type of a scenario simulation.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A data packet on a link.
    Data(Packet),
    // Control messages are boxed: they are rare, and a small `Msg` keeps every data packet's
    // trip through link FIFOs and the event queue cheap (56 bytes instead of 104).
    ToSwitch(Box<SwitchCtrl>),
    ToNf(Box<NfCtrl>),
    ToController(Box<ControllerInput>),
    /// Instance to instance (P2P transfer), over their link.
    Peer(Box<models::nf::PeerMsg>),
    NfFail,
    NfRestore,
    /// A machine's timer (or a source's next emission).
    Wake,
    /// The timeline's `i`-th event is due.
    Timeline(usize),
}

/// Ports of one node: for port `p`, the outgoing link and the neighbour.
#[derive(Clone, Debug)]
pub(crate) struct Ports {
    pub out: Vec<LinkId>,
    pub neighbour: Vec<NodeIdx>,
    /// For every link of the simulation (by id), the port at its receiving end (shared by all
    /// nodes: each link has exactly one receiver, so one table serves everyone).
    pub rx_port: Rc<[PortId]>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports { out: Vec::new(), neighbour: Vec::new(), rx_port: Rc::from(Vec::new()) }
    }
}

impl Ports {
    pub fn port_to(&self, n: NodeIdx) -> Option<PortId> {
        self.neighbour.iter().position(|&x| x == n).map(|p| PortId(p as u16))
    }
}

/// Builds and runs one replication with master seed `seed`.
pub fn run_once(cfg: &ScenarioConfig, seed: u64) -> RunOutcome {
    let mut b = build(cfg, seed);
    b.run();
    b.outcome(cfg)
}

/// A built simulation and the bookkeeping its entities share.
pub struct Built {
    pub sim: Simulation<Msg>,
    shared: entities::SharedRef,
    seed: u64,
    horizon: Time,
}

impl Built {
    /// Runs until the network is empty or the drain limit after `duration`.
    pub fn run(&mut self) {
        self.sim.run_until(self.horizon);
    }

    /// Runs until `t` (for tests that stop mid-traffic).
    pub fn run_until(&mut self, t: Time) {
        self.sim.run_until(t);
    }

    /// Data packets inside the network now: on links, held by NF instances, buffered at the
    /// controller. Counted from the elements, independently of the oracle.
    pub fn packets_in_network(&self, cfg: &ScenarioConfig) -> u64 {
        let data = |m: &Msg| match m {
            Msg::Data(p) => p.is_data(),
            Msg::Peer(b) => {
                matches!(&**b, models::nf::PeerMsg::Packet { packet, .. } if packet.is_data())
            }
            _ => false,
        };
        let links: usize = (0..cfg.links.len() * 2)
            .map(|l| self.sim.link(LinkId(l as u32)).in_flight_matching(data))
            .sum();
        let mut held = 0;
        for (i, n) in cfg.nodes.iter().enumerate() {
            let id = EntityId(i as u32);
            match n.kind {
                NodeKind::Nf(_) => {
                    let e = self.sim.entity::<NfEntity>(id).expect("nf");
                    held += e.nf.holding()
                        + e.hsl.as_ref().map_or(0, |h| h.holding())
                        + e.e2d.as_ref().map_or(0, |d| d.held())
                }
                NodeKind::Controller(_) => {
                    let c =
                        &self.sim.entity::<ControllerEntity>(id).expect("controller").controller;
                    held += c.buffer().data_len() + c.inbox_packets();
                }
                _ => {}
            }
        }
        (links + held) as u64 + self.shared.borrow().ctrl_transit
    }

    /// The update log of `flow` at NF instance `node`, if it holds state for it (for tests and
    /// debugging protocols).
    pub fn nf_log(&self, node: NodeIdx, flow: u64) -> Option<models::oracle::UpdateLog> {
        let e = self.sim.entity::<NfEntity>(EntityId(node.0))?;
        e.nf.flow_state(models::packet::FlowId(flow)).map(|s| s.log.clone())
    }

    /// The NF instance at `node` (for reproduce targets that read per-instance counters and
    /// states mid-run).
    pub fn nf(&self, node: NodeIdx) -> Option<&models::nf::Nf> {
        self.sim.entity::<NfEntity>(EntityId(node.0)).map(|e| &e.nf)
    }

    /// The switch at `node` (for reproduce targets that read rule counters mid-run or after).
    pub fn switch(&self, node: NodeIdx) -> Option<&Switch> {
        self.sim.entity::<SwitchEntity>(EntityId(node.0)).map(|e| &e.switch)
    }

    /// Every sink's flow completion times `(flow, ns)`, in flow order (for figures that need
    /// them per flow, e.g. U-HAUL's mice).
    pub fn flow_fcts_ns(&self, cfg: &ScenarioConfig) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = cfg
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, NodeKind::Sink))
            .flat_map(|(i, _)| {
                let e = self.sim.entity::<SinkEntity>(EntityId(i as u32)).expect("sink");
                e.sink.fcts_ns().into_iter().map(|(f, ns)| (f.0, ns))
            })
            .collect();
        v.sort_unstable();
        v
    }

    pub fn outcome(&self, cfg: &ScenarioConfig) -> RunOutcome {
        results::collect(cfg, self.seed, &self.sim, &self.shared.borrow())
    }
}

/// Builds the simulation (exposed for benchmarks and progress bars).
/// A node's end of the control channel, its jitter drawn from `control/<node>/jitter`.
fn control_channel(cfg: &ScenarioConfig, sim: &Simulation<Msg>, node: &str) -> ControlChannel {
    ControlChannel::new(cfg, sim.rng().stream(&format!("control/{node}/jitter")))
}

pub fn build(cfg: &ScenarioConfig, seed: u64) -> Built {
    let mut sim: Simulation<Msg> = Simulation::new(seed);
    let shared = Rc::new(RefCell::new(Shared::new(cfg.metrics.delay_window)));
    let n = cfg.nodes.len();
    let controller = cfg.controller().map(|c| EntityId(c.0));
    let timeline_id = EntityId(n as u32);

    // Ports: each link adds one port at each end, in file order.
    let mut ports = vec![Ports::default(); n];
    let mut link_ids: Vec<(LinkId, LinkId)> = Vec::with_capacity(cfg.links.len());
    let mut rx_port: Vec<PortId> = Vec::with_capacity(cfg.links.len() * 2);
    // Links need entity ids, which are the node indices; create entities first with empty
    // port maps, then the links, then hand each entity its ports.
    for (i, node) in cfg.nodes.iter().enumerate() {
        let me = NodeIdx(i as u32);
        let id = match &node.kind {
            NodeKind::Source => sim.add_entity(SourceEntity::new(cfg, me, seed, shared.clone())),
            NodeKind::Sink => {
                sim.add_entity(SinkEntity::new(shared.clone(), cfg.metrics.delay_window))
            }
            NodeKind::Switch(s) => {
                let rng = sim.rng().stream(&format!("switch/{}/updates", node.name));
                sim.add_entity(SwitchEntity::new(
                    Switch::new(s.config.clone(), rng),
                    s.ingress,
                    controller,
                    control_channel(cfg, &sim, &node.name),
                    shared.clone(),
                ))
            }
            NodeKind::Nf(c) => {
                if c.state_updates != StateUpdates::EveryPacket {
                    shared.borrow_mut().oracle.set_state_updates(NodeId(i as u32), c.state_updates);
                }
                let mut e = NfEntity::new(
                    Nf::new(c.clone()),
                    controller,
                    control_channel(cfg, &sim, &node.name),
                    shared.clone(),
                );
                if let ProtocolConfig::Sharp(_, hsl) = &cfg.protocol {
                    e.hsl = Some(models::sharp::Hsl::new(node_id(me), hsl.clone()));
                }
                // E2: the server of every instance a move splits runs an E2D from the start
                // (it tracks the instance's flows before any split).
                if let ProtocolConfig::E2MigrationAvoidance(c) = &cfg.protocol {
                    let splits = cfg
                        .timeline
                        .iter()
                        .any(|e| matches!(e.what, TimelineAction::Move { src, .. } if src == me));
                    if splits {
                        e.e2d = Some(models::e2::migration::E2d::new(c.e2d_per_rule));
                    }
                }
                sim.add_entity(e)
            }
            NodeKind::Controller(c) => sim.add_entity(ControllerEntity::new(
                Controller::new(c.clone(), protocol(&cfg.protocol)),
                control_channel(cfg, &sim, &node.name),
                shared.clone(),
            )),
        };
        assert_eq!(id.0 as usize, i, "invariant: entity ids follow node indices");
    }
    for (li, l) in cfg.links.iter().enumerate() {
        let p = LinkParams {
            rate: l.rate,
            prop: l.delay,
            max_waiting_pkts: l.max_waiting_pkts,
            max_waiting_bytes: l.max_waiting_bytes,
            loss: l.loss,
        };
        let (a, b) = (l.a, l.b);
        let name =
            |x: NodeIdx, y: NodeIdx| format!("{}-{}#{li}", cfg.node(x).name, cfg.node(y).name);
        let ab = sim.add_link(&name(a, b), EntityId(a.0), EntityId(b.0), p.clone());
        let ba = sim.add_link(&name(b, a), EntityId(b.0), EntityId(a.0), p);
        let pa = PortId(ports[a.0 as usize].out.len() as u16);
        let pb = PortId(ports[b.0 as usize].out.len() as u16);
        ports[a.0 as usize].out.push(ab);
        ports[a.0 as usize].neighbour.push(b);
        debug_assert_eq!((ab.0 as usize, ba.0 as usize), (rx_port.len(), rx_port.len() + 1));
        rx_port.push(pb); // a -> b arrives on b's port
        rx_port.push(pa);
        ports[b.0 as usize].out.push(ba);
        ports[b.0 as usize].neighbour.push(a);
        link_ids.push((ab, ba));
    }
    let rx_port: Rc<[PortId]> = rx_port.into();
    for p in &mut ports {
        p.rx_port = rx_port.clone();
    }
    for (i, node) in cfg.nodes.iter().enumerate() {
        let id = EntityId(i as u32);
        let p = ports[i].clone();
        match &node.kind {
            NodeKind::Source => sim.entity_mut::<SourceEntity>(id).expect("source").set_ports(p),
            NodeKind::Sink => {}
            NodeKind::Switch(s) => {
                let rules = s.rules.iter().map(|r| resolve_rule(r, &p)).collect();
                let from_source = p
                    .neighbour
                    .iter()
                    .map(|&nb| matches!(cfg.node(nb).kind, NodeKind::Source))
                    .collect();
                let e = sim.entity_mut::<SwitchEntity>(id).expect("switch");
                e.set_ports(p, from_source);
                e.preinstall(rules);
            }
            NodeKind::Nf(_) => {
                let is_nf = |n: NodeIdx| matches!(cfg.node(n).kind, NodeKind::Nf(_));
                sim.entity_mut::<NfEntity>(id).expect("nf").set_ports(p, is_nf)
            }
            NodeKind::Controller(_) => {}
        }
    }
    let timeline = TimelineEntity::new(cfg, &ports, link_ids, controller, shared.clone());
    // E2: the tunnel from each split instance's E2D through the move's switch to the new
    // instance (E2 section 6; infrastructure, in place before any move).
    if let ProtocolConfig::E2MigrationAvoidance(_) = &cfg.protocol {
        let tunnels: std::collections::BTreeSet<_> =
            timeline.requests().map(|r| (r.switch.0, r.src_port, r.dst_port)).collect();
        for (switch, src_port, dst_port) in tunnels {
            let rule = models::e2::avoidance::tunnel_rule(src_port, dst_port);
            let e = sim.entity_mut::<SwitchEntity>(EntityId(switch)).expect("switch");
            e.preinstall(vec![rule]);
        }
    }
    let t = sim.add_entity(timeline);
    assert_eq!(t, timeline_id);
    Built { sim, shared, seed, horizon: horizon(cfg) }
}

/// The protocol machine a configuration names.
pub fn protocol(p: &ProtocolConfig) -> Box<dyn models::controller::Protocol> {
    match p {
        ProtocolConfig::Reroute(c) => Box::new(Reroute::new(c.clone())),
        ProtocolConfig::OpenNf(c) => Box::new(models::opennf::OpenNf::new(c.clone())),
        ProtocolConfig::Uhaul(c) => Box::new(models::uhaul::Uhaul::new(c.clone())),
        ProtocolConfig::Sharp(c, _) => Box::new(models::sharp::Sharp::new(c.clone())),
        ProtocolConfig::E2MigrationAvoidance(c) => {
            Box::new(models::e2::avoidance::E2Avoidance::new(c.clone()))
        }
    }
}

/// A configured rule with neighbour names turned into ports (validated configs name only
/// neighbours, so every lookup succeeds).
fn resolve_rule(r: &crate::config::RuleConfig, p: &Ports) -> Rule {
    let port = |n: NodeIdx| p.port_to(n).expect("invariant: validated rules name neighbours");
    Rule {
        cookie: models::switch::Cookie(fnv(&r.name)),
        priority: r.priority,
        matcher: Match { in_port: r.in_from.map(port), ..r.matcher.clone() },
        actions: r
            .actions
            .iter()
            .map(|a| match a {
                RuleAction::OutputTo(n) => Action::Output(port(*n)),
                RuleAction::Other(a) => *a,
            })
            .collect(),
        idle_timeout: r.idle_timeout,
    }
}

fn fnv(s: &str) -> u64 {
    base::rng::fnv1a64(s.as_bytes())
}

/// The node id a `models` machine uses for a node.
pub(crate) fn node_id(i: NodeIdx) -> NodeId {
    NodeId(i.0)
}

/// The fair sharing of source `me`'s link, if its workloads ask for it
/// ([`crate::config::SourcePacing::FairShare`]; validation makes every workload of a source
/// agree). The shared rate is the source's link's.
pub fn source_fair_share(cfg: &ScenarioConfig, me: NodeIdx) -> Option<workloads::FairShare> {
    let slow_start =
        cfg.workloads.iter().filter(|w| w.source == me).find_map(|w| match w.pacing {
            crate::config::SourcePacing::FairShare { slow_start } => Some(slow_start),
            crate::config::SourcePacing::OpenLoop => None,
        })?;
    let link = cfg.links.iter().find(|l| l.a == me || l.b == me)?;
    Some(workloads::FairShare::new(link.rate, slow_start))
}

/// Flows a source will send, with each flow's MTU and pacing rate: a trace's flows that start
/// before `duration`, or Poisson arrivals generated for `[0, duration)`.
///
/// Generated flows come from `workloads::Arrivals` with the source's own master seed, drawn
/// from the run's stream `"workload/<source>"`, so two sources never share arrivals. Flow `i`
/// of the source with ordinal `k` (its rank among sources) gets id and synthetic tuple
/// `k << 32 | i`, unique across sources.
pub fn source_flows(
    cfg: &ScenarioConfig,
    me: NodeIdx,
    seed: u64,
) -> Vec<(workloads::Flow, u32, base::Bps)> {
    let mut out = Vec::new();
    let name = &cfg.node(me).name;
    let ordinal =
        cfg.nodes[..me.0 as usize].iter().filter(|n| matches!(n.kind, NodeKind::Source)).count()
            as u64;
    let end = Time::ZERO + cfg.duration;
    for w in cfg.workloads.iter().filter(|w| w.source == me) {
        match &w.flows {
            FlowSource::Trace { flows, .. } => {
                out.extend(flows.iter().filter(|f| f.start < end).map(|f| (*f, w.mtu, w.flow_rate)))
            }
            FlowSource::Generated { dist, load, reference } => {
                // The load in force over time: the workload's, then each `set_load` for this
                // source. Segment k draws from `"workload/<source>"` (k = 0) or
                // `"workload/<source>/segment<k>"`, so adding a load change late in a run leaves
                // the flows before it as they were.
                let mut segments = vec![(Time::ZERO, *load)];
                for e in &cfg.timeline {
                    if let TimelineAction::SetLoad { source, load } = e.what {
                        if source == me && e.at < end {
                            segments.push((e.at, load));
                        }
                    }
                }
                for (k, &(from, load)) in segments.iter().enumerate() {
                    let to = segments.get(k + 1).map_or(end, |s| s.0);
                    if to <= from {
                        continue;
                    }
                    let stream = match k {
                        0 => format!("workload/{name}"),
                        k => format!("workload/{name}/segment{k}"),
                    };
                    let own_seed = base::RngStreams::new(seed).stream(&stream).next_u64();
                    let params =
                        workloads::ArrivalParams { load, link: *reference, duration: to - from };
                    let arrivals =
                        workloads::Arrivals::new(dist, &params, &base::RngStreams::new(own_seed))
                            .expect("invariant: validated workloads have a positive load and rate");
                    let base_id = (ordinal << 32) + out.len() as u64;
                    out.extend(arrivals.map(|f| {
                        let id = base_id + f.id.0;
                        let flow = workloads::Flow {
                            id: workloads::FlowId(id),
                            start: from + (f.start - Time::ZERO),
                            tuple: workloads::FiveTuple::synthetic(id),
                            size_bytes: f.size_bytes.max(1),
                        };
                        (flow, w.mtu, w.flow_rate)
                    }));
                }
            }
        }
    }
    out.sort_by_key(|(f, _, _)| (f.start, f.id));
    out
}

/// The time a scenario's simulated traffic lasts at most (for progress bars).
pub fn horizon(cfg: &ScenarioConfig) -> Time {
    Time::ZERO + cfg.duration + cfg.drain_limit
}
