//! The sim entities that host `models` machines. Each forwards the machine's outputs to links,
//! the control channel or the oracle, and mirrors its `poll_timeout` with one engine timer.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;

use base::{tx_time, Bps, Dur, Time};
use models::controller::{Controller, ControllerInput, ControllerOutput, MoveLog, MoveRequest};
use models::host::Sink;
use models::nf::{Nf, NfDrop, NfOutput, PeerMsg};
use models::oracle::{LossCause, Oracle, UpdateLog};
use models::packet::{FiveTuple, Flags, FlowId, Packet, PacketKey, PortId};
use models::switch::{Rule, Switch, SwitchCtrl, SwitchDrop, SwitchOutput};
use sim_core::metrics::Histogram;
use sim_core::{Ctx, Entity, EntityId, LinkId, Offer, Origin, TimerHandle};

use super::{node_id, Msg, Ports};
use crate::config::{NodeIdx, NodeKind, ScenarioConfig, TimelineAction};

/// What every entity of a run shares: the oracle, and the controller's move log.
pub(crate) struct Shared {
    pub oracle: Oracle,
    pub moves: Vec<(Time, MoveLog)>,
    /// Data packets inside control messages on their way (packet-ins and packet events to the
    /// controller, packet-outs to switches), for the accounting check.
    pub ctrl_transit: u64,
    /// `MetricsConfig::delay_window`, and what happened to each data packet sent in it (which
    /// instance output it, whether it was raised to the controller), for the window's
    /// per-path delays (`results.rs`).
    pub window: Option<(Time, Time)>,
    pub window_marks: BTreeMap<PacketKey, WindowMark>,
}

impl Shared {
    pub fn new(window: Option<(Time, Time)>) -> Self {
        Shared {
            oracle: Oracle::new(),
            moves: Vec::new(),
            ctrl_transit: 0,
            window,
            window_marks: BTreeMap::new(),
        }
    }

    /// The mark of `p` if it is a data packet sent during the delay window.
    fn window_mark(&mut self, p: &Packet) -> Option<&mut WindowMark> {
        let (from, to) = self.window?;
        (from <= p.sent && p.sent < to && !p.flags.contains(Flags::MARKER))
            .then(|| self.window_marks.entry(p.key()).or_default())
    }
}

/// What became of one packet sent during the delay window (HotMiddlebox 6.1's three cases: a
/// packet processed normally by srcInst, one output by srcInst and reprocessed by dstInst, one
/// processed only by dstInst).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WindowMark {
    /// The NF instance that output it (the last one, if several did).
    pub output_by: Option<models::packet::NodeId>,
    /// An instance raised it to the controller as a packet event (buffered, then released).
    pub raised: bool,
    /// An instance sent a do-not-output copy of it to the controller (reprocessing).
    pub copied: bool,
    /// Its one-way delay, from the source to the sink (the last arrival, if output twice).
    pub delay_ns: Option<u64>,
}

/// Sends an input to the controller over the control channel, counting the data packet it
/// carries (if any) as in transit.
fn to_controller(
    ctx: &mut Ctx<'_, Msg>,
    shared: &SharedRef,
    c: EntityId,
    ctl: &mut ControlChannel,
    input: ControllerInput,
) {
    if input.carried_packet().is_some() {
        shared.borrow_mut().ctrl_transit += 1;
    }
    let delay = ctl.delay(ctx.now(), c);
    ctx.send(c, delay, Msg::ToController(Box::new(input)));
}

/// One entity's end of the control channel: every message takes `control_latency`, plus, with
/// `control_jitter`, a random extra delay drawn uniformly in `[0, max]` from the entity's own
/// stream. An ordered channel (the default) delivers each destination's messages in the order
/// they were sent (a TCP connection per peer): a message never arrives before the one sent
/// before it to the same peer. Without jitter every message takes exactly the latency.
pub(crate) struct ControlChannel {
    latency: Dur,
    jitter: Option<(crate::config::ControlJitter, sim_core::Rng)>,
    /// Ordered channel: per destination, the arrival time of the last message sent.
    last: std::collections::BTreeMap<u32, Time>,
}

impl ControlChannel {
    pub fn new(cfg: &ScenarioConfig, rng: sim_core::Rng) -> Self {
        ControlChannel {
            latency: cfg.control_latency,
            jitter: cfg.control_jitter.map(|j| (j, rng)),
            last: Default::default(),
        }
    }

    /// The delay of a message sent `now` to `to`.
    pub fn delay(&mut self, now: Time, to: EntityId) -> Dur {
        let Some((j, rng)) = &mut self.jitter else { return self.latency };
        let extra = Dur::from_nanos(rng.below(j.max.as_nanos() + 1));
        let mut at = now + self.latency + extra;
        if j.ordered {
            let last = self.last.entry(to.0).or_insert(Time::ZERO);
            at = at.max(*last);
            *last = at;
        }
        at.saturating_since(now)
    }
}

/// Is this a packet the oracle accounts for (not a marker, not a reprocessing copy)?
fn is_data(p: &Packet) -> bool {
    p.is_data()
}

/// A reprocessing copy: data flagged do-not-output (not a marker).
fn is_copy(flags: &Flags) -> bool {
    flags.contains(Flags::DO_NOT_OUTPUT) && !flags.contains(Flags::MARKER)
}

pub(crate) type SharedRef = Rc<RefCell<Shared>>;

/// Offers `pkt` to `link`; a refusal is a drop with its cause.
fn send_data(ctx: &mut Ctx<'_, Msg>, shared: &SharedRef, link: LinkId, pkt: Packet) {
    let (key, data, pkt_flags) = (pkt.key(), pkt.is_data(), pkt.flags);
    let cause = match ctx.transmit(link, Msg::Data(pkt), pkt.size_bytes) {
        Offer::Queued { .. } => return,
        Offer::QueueFull(_) => LossCause::LinkQueue,
        Offer::Lost(_) => LossCause::LinkRandom,
        Offer::Down(_) => LossCause::LinkDown,
    };
    // A lost copy is not a lost packet (its original is accounted for), but the network may
    // lose the update it carries.
    if data {
        shared.borrow_mut().oracle.on_drop(key, cause);
    } else if is_copy(&pkt_flags) {
        shared.borrow_mut().oracle.on_copy_drop(key, cause);
    }
}

/// One engine timer mirroring a machine's `poll_timeout`.
#[derive(Default)]
struct Alarm {
    armed: Option<(Time, TimerHandle)>,
}

impl Alarm {
    fn sync(&mut self, ctx: &mut Ctx<'_, Msg>, want: Option<Time>) {
        if self.armed.map(|a| a.0) == want {
            return;
        }
        if let Some((_, h)) = self.armed.take() {
            ctx.cancel_timer(h);
        }
        if let Some(t) = want {
            let t = t.max(ctx.now());
            self.armed = Some((t, ctx.set_timer(t, Msg::Wake)));
        }
    }
    /// Our timer fired: it is no longer armed.
    fn fired(&mut self, origin: Origin) -> bool {
        match (origin, self.armed) {
            (Origin::Timer(h), Some((_, a))) if h == a => {
                self.armed = None;
                true
            }
            _ => false,
        }
    }
}

fn to_models_tuple(t: &workloads::FiveTuple) -> FiveTuple {
    FiveTuple {
        src: u32::from(t.src),
        dst: u32::from(t.dst),
        sport: t.sport,
        dport: t.dport,
        proto: t.proto,
    }
}

// ---------------------------------------------------------------------------------------------

struct ActiveFlow {
    id: FlowId,
    tuple: FiveTuple,
    hash: u32,
    start: Time,
    size: u64,
    mtu: u32,
    rate: Bps,
    next_seq: u32,
    packets: u32,
}

impl ActiveFlow {
    /// Open-loop pacing (`docs/workloads.md`): packet k leaves at start + tx_time(8 k mtu, rate).
    fn time_of(&self, k: u32) -> Time {
        self.start + tx_time(8 * k as u128 * self.mtu as u128, self.rate)
    }
}

/// The packets of a fair-sharing source, and the next one to send.
type FairSchedule = (
    workloads::FairShareSchedule<std::vec::IntoIter<(workloads::Flow, u32)>>,
    Option<workloads::SentPacket>,
);

/// A traffic source: sends its flows' packets on its one link, paced per flow (open loop) or
/// sharing the link among its flows (`workloads::FairShare`).
pub(crate) struct SourceEntity {
    flows: Vec<(workloads::Flow, u32, Bps)>,
    fair: Option<FairSchedule>,
    next_flow: usize,
    active: Vec<ActiveFlow>,
    /// (next packet time, index into `active`).
    due: BinaryHeap<Reverse<(Time, usize)>>,
    free: Vec<usize>,
    link: Option<LinkId>,
    shared: SharedRef,
    pub sent: u64,
}

impl SourceEntity {
    pub fn new(cfg: &ScenarioConfig, me: NodeIdx, seed: u64, shared: SharedRef) -> Self {
        let flows = super::source_flows(cfg, me, seed);
        let fair = super::source_fair_share(cfg, me).map(|fs| {
            let mut sched =
                fs.schedule(flows.iter().map(|(f, mtu, _)| (*f, *mtu)).collect::<Vec<_>>());
            let first = sched.next();
            (sched, first)
        });
        SourceEntity {
            flows,
            fair,
            next_flow: 0,
            active: Vec::new(),
            due: BinaryHeap::new(),
            free: Vec::new(),
            link: None,
            shared,
            sent: 0,
        }
    }

    pub fn set_ports(&mut self, p: Ports) {
        self.link = p.out.first().copied();
    }

    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    fn next_time(&self) -> Option<Time> {
        if let Some((_, next)) = &self.fair {
            return next.map(|p| p.time);
        }
        let a = self.flows.get(self.next_flow).map(|f| f.0.start);
        let b = self.due.peek().map(|r| r.0 .0);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends the fair-share schedule's packets due by `now`.
    fn send_fair(&mut self, ctx: &mut Ctx<'_, Msg>, now: Time) {
        let link = self.link.expect("invariant: a validated source has a link");
        let (sched, next) = self.fair.as_mut().expect("invariant: a fair-sharing source");
        while let Some(p) = next.filter(|p| p.time <= now) {
            *next = sched.next();
            let h = p.flow.tuple.hash64();
            let mut flags = Flags::empty();
            if p.last {
                flags.insert(Flags::LAST);
            }
            let pkt = Packet {
                flow: FlowId(p.flow.id.0),
                seq: u32::try_from(p.seq).expect("invariant: fewer than 2^32 packets per flow"),
                tuple: to_models_tuple(&p.flow.tuple),
                hash: (h >> 32) as u32,
                size_bytes: p.bytes,
                sent: now,
                flags,
                tag: 0,
            };
            self.sent += 1;
            self.shared.borrow_mut().oracle.on_sent(&pkt);
            send_data(ctx, &self.shared, link, pkt);
        }
    }

    fn schedule(&self, ctx: &mut Ctx<'_, Msg>) {
        if let Some(t) = self.next_time() {
            let me = ctx.me();
            ctx.send(me, t.saturating_since(ctx.now()), Msg::Wake);
        }
    }
}

impl Entity<Msg> for SourceEntity {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        self.schedule(ctx);
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, _: Origin, _: Msg) {
        let now = ctx.now();
        if self.fair.is_some() {
            self.send_fair(ctx, now);
            self.schedule(ctx);
            return;
        }
        while let Some((f, mtu, rate)) = self.flows.get(self.next_flow).filter(|f| f.0.start <= now)
        {
            let packets = u32::try_from(f.size_bytes.div_ceil(*mtu as u64)).unwrap_or(u32::MAX);
            let h = f.tuple.hash64();
            let af = ActiveFlow {
                id: FlowId(f.id.0),
                tuple: to_models_tuple(&f.tuple),
                hash: (h >> 32) as u32,
                start: f.start,
                size: f.size_bytes,
                mtu: *mtu,
                rate: *rate,
                next_seq: 0,
                packets,
            };
            let slot = match self.free.pop() {
                Some(s) => {
                    self.active[s] = af;
                    s
                }
                None => {
                    self.active.push(af);
                    self.active.len() - 1
                }
            };
            self.due.push(Reverse((f.start, slot)));
            self.next_flow += 1;
        }
        let link = self.link.expect("invariant: a validated source has a link");
        while let Some(&Reverse((t, slot))) = self.due.peek() {
            if t > now {
                break;
            }
            self.due.pop();
            let f = &mut self.active[slot];
            let seq = f.next_seq;
            let last = seq + 1 == f.packets;
            let size = if last { (f.size - seq as u64 * f.mtu as u64) as u32 } else { f.mtu };
            let mut flags = Flags::empty();
            if last {
                flags.insert(Flags::LAST);
            }
            let pkt = Packet {
                flow: f.id,
                seq,
                tuple: f.tuple,
                hash: f.hash,
                size_bytes: size,
                sent: now,
                flags,
                tag: 0,
            };
            f.next_seq += 1;
            if last {
                self.free.push(slot);
            } else {
                self.due.push(Reverse((f.time_of(seq + 1), slot)));
            }
            self.sent += 1;
            self.shared.borrow_mut().oracle.on_sent(&pkt);
            send_data(ctx, &self.shared, link, pkt);
        }
        self.schedule(ctx);
    }
}

// ---------------------------------------------------------------------------------------------

/// The receiving host.
pub(crate) struct SinkEntity {
    pub sink: Sink,
    pub delay_ns: Histogram,
    /// Delays of the packets sent during `window` (see `MetricsConfig::delay_window`).
    pub window_delay_ns: Histogram,
    window: Option<(Time, Time)>,
    shared: SharedRef,
}

impl SinkEntity {
    pub fn new(shared: SharedRef, window: Option<(Time, Time)>) -> Self {
        SinkEntity {
            sink: Sink::new(),
            delay_ns: Histogram::new(),
            window_delay_ns: Histogram::new(),
            window,
            shared,
        }
    }
}

impl Entity<Msg> for SinkEntity {
    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, _: Origin, msg: Msg) {
        if let Msg::Data(p) = msg {
            self.sink.handle_packet(ctx.now(), &p);
            let delay = ctx.now().saturating_since(p.sent).as_nanos();
            self.delay_ns.record(delay);
            if self.window.is_some_and(|(from, to)| from <= p.sent && p.sent < to) {
                self.window_delay_ns.record(delay);
            }
            let mut shared = self.shared.borrow_mut();
            if let Some(m) = shared.window_mark(&p).filter(|_| p.is_data()) {
                m.delay_ns = Some(delay);
            }
            shared.oracle.on_output(&p);
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A switch.
pub(crate) struct SwitchEntity {
    pub switch: Switch,
    ingress: bool,
    /// Per port: does it face a source (packets from it pass the oracle's ingress)?
    from_source: Vec<bool>,
    ports: Ports,
    controller: Option<EntityId>,
    ctl: ControlChannel,
    alarm: Alarm,
    shared: SharedRef,
}

impl SwitchEntity {
    pub fn new(
        switch: Switch,
        ingress: bool,
        controller: Option<EntityId>,
        ctl: ControlChannel,
        shared: SharedRef,
    ) -> Self {
        SwitchEntity {
            switch,
            ingress,
            from_source: Vec::new(),
            ports: Ports::default(),
            controller,
            ctl,
            alarm: Alarm::default(),
            shared,
        }
    }

    pub fn set_ports(&mut self, p: Ports, from_source: Vec<bool>) {
        self.ports = p;
        self.from_source = from_source;
    }

    pub fn preinstall(&mut self, rules: Vec<Rule>) {
        self.switch
            .preinstall(Time::ZERO, rules)
            .expect("invariant: validation checks initial rules against the table capacity");
    }

    fn drain(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let me = node_id(NodeIdx(ctx.me().0));
        while let Some(o) = self.switch.poll_output() {
            match o {
                SwitchOutput::Transmit { port, packet } => {
                    match self.ports.out.get(port.0 as usize) {
                        Some(&link) => send_data(ctx, &self.shared, link, packet),
                        None => self
                            .shared
                            .borrow_mut()
                            .oracle
                            .on_drop(packet.key(), LossCause::RuleDrop),
                    }
                }
                // The timeline's own rule pushes (`SwitchRules`) answer to nobody.
                SwitchOutput::ToController(
                    models::switch::SwitchEvent::FlowModsDone { xid }
                    | models::switch::SwitchEvent::FlowModFailed { xid, .. },
                ) if xid.0 & 1 << 63 != 0 => {}
                SwitchOutput::ToController(event) => match self.controller {
                    Some(c) => to_controller(
                        ctx,
                        &self.shared,
                        c,
                        &mut self.ctl,
                        ControllerInput::Switch { from: me, event },
                    ),
                    None => {
                        if let models::switch::SwitchEvent::PacketIn { packet, .. } = event {
                            self.shared
                                .borrow_mut()
                                .oracle
                                .on_drop(packet.key(), LossCause::TableMiss);
                        }
                    }
                },
                SwitchOutput::Dropped { packet, cause } => {
                    let c = match cause {
                        SwitchDrop::TableMiss => LossCause::TableMiss,
                        SwitchDrop::Rule => LossCause::RuleDrop,
                    };
                    self.shared.borrow_mut().oracle.on_drop(packet.key(), c);
                }
            }
        }
        self.alarm.sync(ctx, self.switch.poll_timeout());
    }
}

impl Entity<Msg> for SwitchEntity {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        self.alarm.sync(ctx, self.switch.poll_timeout());
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, origin: Origin, msg: Msg) {
        let now = ctx.now();
        match (origin, msg) {
            (Origin::Link(l), Msg::Data(p)) => {
                let port = self.ports.rx_port[l.0 as usize];
                if self.ingress && self.from_source.get(port.0 as usize).copied().unwrap_or(false) {
                    self.shared.borrow_mut().oracle.on_ingress(&p);
                }
                self.switch.handle_packet(now, port, p);
            }
            (_, Msg::ToSwitch(m)) => {
                if let Some(packet) = m.injected() {
                    if is_data(packet) {
                        self.shared.borrow_mut().ctrl_transit -= 1;
                    }
                }
                self.switch.handle_ctrl(now, *m)
            }
            (o, Msg::Wake) if self.alarm.fired(o) => self.switch.handle_timeout(now),
            _ => {}
        }
        self.drain(ctx);
    }
}

// ---------------------------------------------------------------------------------------------

/// An NF instance. It sends what it outputs on its last link (in file order) that does not
/// lead to another NF: back to its switch when it has one such link, onward when it sits
/// between two switches (bump in the wire, with the onward link declared last). Links to other
/// NF instances carry P2P transfers.
pub(crate) struct NfEntity {
    pub nf: Nf,
    /// SHarP's handover support layer, between the instance's ports and the NF.
    pub hsl: Option<models::sharp::Hsl>,
    /// E2: the E2D of the instance's server (the software dataplane in front of it), on an
    /// instance a migration-avoidance move splits. It sees every data packet first: it keeps
    /// the instance's flows and exceptions local and detours new flows of the moved range,
    /// tagged, back through the switch to the new instance.
    pub e2d: Option<models::e2::migration::E2d>,
    /// Messages this instance sent to another instance (state, packets, done): SHarP's `V`.
    pub peer_msgs: u64,
    link: Option<LinkId>,
    /// Between two switches: the first switch-facing link, and the flows that arrived on the
    /// onward one (they leave by the first: the reverse direction of a bidirectional flow).
    back: Option<(LinkId, PortId)>,
    reverse_flows: std::collections::BTreeSet<FlowId>,
    /// Links to other NF instances (P2P transfer), by node.
    peers: Vec<(NodeIdx, LinkId)>,
    controller: Option<EntityId>,
    ctl: ControlChannel,
    alarm: Alarm,
    shared: SharedRef,
    rx_port: Rc<[PortId]>,
}

impl NfEntity {
    pub fn new(
        nf: Nf,
        controller: Option<EntityId>,
        ctl: ControlChannel,
        shared: SharedRef,
    ) -> Self {
        NfEntity {
            nf,
            hsl: None,
            e2d: None,
            peer_msgs: 0,
            link: None,
            back: None,
            reverse_flows: Default::default(),
            peers: Vec::new(),
            controller,
            ctl,
            alarm: Alarm::default(),
            shared,
            rx_port: Rc::from(Vec::new()),
        }
    }

    pub fn set_ports(&mut self, p: Ports, is_nf: impl Fn(NodeIdx) -> bool) {
        let ports = p.out.iter().zip(&p.neighbour);
        self.link = ports
            .clone()
            .filter(|(_, n)| !is_nf(**n))
            .map(|(l, _)| *l)
            .last()
            .or(p.out.last().copied());
        self.peers = ports.clone().filter(|(_, n)| is_nf(**n)).map(|(l, n)| (*n, *l)).collect();
        let outer: Vec<usize> = (0..p.out.len()).filter(|&i| !is_nf(p.neighbour[i])).collect();
        if let [first, .., last] = outer[..] {
            self.back = Some((p.out[first], PortId(last as u16)));
        }
        self.rx_port = p.rx_port.clone();
    }

    /// Every flow's update log, for the oracle.
    pub fn logs(&self) -> Vec<(FlowId, &UpdateLog)> {
        self.nf.states().into_iter().map(|(f, s)| (f, &s.log)).collect()
    }

    /// Runs the HSL's outputs into the NF (or to the controller) until both are quiet.
    fn drain(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let me = node_id(NodeIdx(ctx.me().0));
        let now = ctx.now();
        loop {
            let mut busy = false;
            while let Some(o) = self.hsl.as_mut().and_then(|h| h.poll_output()) {
                busy = true;
                match o {
                    models::sharp::HslOutput::ToNf(p) => self.nf.handle_packet(now, p),
                    models::sharp::HslOutput::NfCtrl(c) => self.nf.handle_ctrl(now, c),
                    models::sharp::HslOutput::Reply(r) => {
                        if let Some(c) = self.controller {
                            let event = models::nf::NfEvent::Hsl(r);
                            let input = ControllerInput::Nf { from: me, event };
                            to_controller(ctx, &self.shared, c, &mut self.ctl, input);
                        }
                    }
                }
            }
            busy |= self.drain_nf(ctx, me);
            busy |= self.drain_e2d(ctx, me);
            if !busy {
                break;
            }
        }
        let hsl = self.hsl.as_ref().and_then(|h| h.poll_timeout());
        let want = match (self.nf.poll_timeout(), hsl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let want = match (want, self.e2d.as_ref().and_then(|d| d.poll_timeout())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.alarm.sync(ctx, want);
    }

    /// The E2D's events to the controller and the packets it releases; `true` if there were
    /// any.
    fn drain_e2d(&mut self, ctx: &mut Ctx<'_, Msg>, me: models::packet::NodeId) -> bool {
        let Some(d) = &mut self.e2d else { return false };
        let mut any = false;
        let mut released = Vec::new();
        let mut events = Vec::new();
        while let Some(ev) = d.poll_event() {
            any = true;
            // Migration avoidance does not use the flow tracker's starts: they stay on the
            // server (E2 5.4's manager hears of flows as they end, through the exceptions).
            if !matches!(ev, models::e2::migration::E2dEvent::FlowStarted(_)) {
                events.push(ev);
            }
        }
        while let Some(p) = d.poll_released() {
            any = true;
            released.push(p);
        }
        if let Some(c) = self.controller {
            for ev in events {
                let input = ControllerInput::Nf { from: me, event: models::nf::NfEvent::E2d(ev) };
                to_controller(ctx, &self.shared, c, &mut self.ctl, input);
            }
        }
        for p in released {
            self.detour(ctx, p);
        }
        any
    }

    /// Sends `p` back to the switch tagged for the tunnel to the new instance.
    fn detour(&mut self, ctx: &mut Ctx<'_, Msg>, mut p: Packet) {
        p.tag = models::e2::avoidance::DETOUR_TAG;
        let link = self.link.expect("invariant: a validated NF has a link");
        send_data(ctx, &self.shared, link, p);
    }

    /// The NF's outputs; `true` if there were any.
    fn drain_nf(&mut self, ctx: &mut Ctx<'_, Msg>, me: models::packet::NodeId) -> bool {
        let mut any = false;
        while let Some(o) = self.nf.poll_output() {
            any = true;
            match o {
                NfOutput::Transmit(p) => {
                    let link = match self.back {
                        Some((first, _)) if self.reverse_flows.contains(&p.flow) => first,
                        _ => self.link.expect("invariant: a validated NF has a link"),
                    };
                    if p.is_data() {
                        if let Some(m) = self.shared.borrow_mut().window_mark(&p) {
                            m.output_by = Some(me);
                        }
                    }
                    send_data(ctx, &self.shared, link, p);
                }
                NfOutput::ToController(event) => {
                    if let models::nf::NfEvent::Packet { packet, .. } = &event {
                        if let Some(m) = self.shared.borrow_mut().window_mark(packet) {
                            if packet.flags.contains(Flags::DO_NOT_OUTPUT) {
                                m.copied = true;
                            } else {
                                m.raised = true;
                            }
                        }
                    }
                    if let Some(h) = &mut self.hsl {
                        if h.handle_nf_event(ctx.now(), &event) {
                            continue;
                        }
                    }
                    if let Some(c) = self.controller {
                        let input = ControllerInput::Nf { from: me, event };
                        to_controller(ctx, &self.shared, c, &mut self.ctl, input);
                    }
                }
                NfOutput::Dropped { packet, cause } => {
                    let c = match cause {
                        NfDrop::Queue => LossCause::NfQueue,
                        NfDrop::Down => LossCause::NfDown,
                        NfDrop::Protocol => LossCause::Protocol,
                    };
                    if is_data(&packet) {
                        self.shared.borrow_mut().oracle.on_drop(packet.key(), c);
                    }
                }
                NfOutput::StateCreated { .. } => {}
                NfOutput::ToPeer { peer, msg } => {
                    self.peer_msgs += 1;
                    let to = NodeIdx(peer.0);
                    let bytes = msg.wire_bytes(self.nf.config().state_bytes_per_flow);
                    let carried = match &msg {
                        PeerMsg::Packet { packet, .. } if is_data(packet) => Some(packet.key()),
                        _ => None,
                    };
                    match self.peers.iter().find(|(n, _)| *n == to) {
                        Some(&(_, link)) => {
                            let cause = match ctx.transmit(link, Msg::Peer(Box::new(msg)), bytes) {
                                Offer::Queued { .. } => None,
                                Offer::QueueFull(_) => Some(LossCause::LinkQueue),
                                Offer::Lost(_) => Some(LossCause::LinkRandom),
                                Offer::Down(_) => Some(LossCause::LinkDown),
                            };
                            if let (Some(c), Some(k)) = (cause, carried) {
                                self.shared.borrow_mut().oracle.on_drop(k, c);
                            }
                        }
                        // No link between the instances: the transfer crosses the network with
                        // the control channel's latency.
                        None => {
                            if carried.is_some() {
                                self.shared.borrow_mut().ctrl_transit += 1;
                            }
                            let delay = self.ctl.delay(ctx.now(), EntityId(to.0));
                            ctx.send(EntityId(to.0), delay, Msg::Peer(Box::new(msg)));
                        }
                    }
                }
            }
        }
        any
    }
}

impl Entity<Msg> for NfEntity {
    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, origin: Origin, msg: Msg) {
        let now = ctx.now();
        match (origin, msg) {
            (origin, Msg::Data(p)) => {
                if let (Some((_, onward)), Origin::Link(l)) = (self.back, origin) {
                    if self.rx_port[l.0 as usize] == onward && p.is_data() {
                        self.reverse_flows.insert(p.flow);
                    }
                }
                // The server's E2D sees data first (it runs whether or not the instance is up).
                use models::e2::migration::Steer;
                let steer = match &mut self.e2d {
                    Some(d) if p.is_data() => d.steer(p),
                    _ => Steer::Local(p),
                };
                let p = match steer {
                    Steer::Local(p) => Some(p),
                    Steer::Detour(p) => {
                        self.detour(ctx, p);
                        None
                    }
                    Steer::Held => None,
                };
                match (&mut self.hsl, p) {
                    (_, None) => {}
                    // A down instance's HSL is down with it: the NF drops what arrives.
                    (Some(h), Some(p)) if self.nf.is_up() => h.handle_packet(now, p),
                    (_, Some(p)) => self.nf.handle_packet(now, p),
                }
            }
            (_, Msg::ToNf(m)) => match (*m, &mut self.e2d) {
                (models::nf::NfCtrl::E2d(cmd), Some(d)) => d.handle_cmd(now, cmd),
                (m, _) => self.nf.handle_ctrl(now, m),
            },
            (origin, Msg::Peer(m)) => {
                if !matches!(origin, Origin::Link(_)) {
                    if let PeerMsg::Packet { packet, .. } = &*m {
                        if is_data(packet) {
                            self.shared.borrow_mut().ctrl_transit -= 1;
                        }
                    }
                }
                self.nf.handle_peer(now, *m)
            }
            (_, Msg::NfFail) => {
                self.nf.fail();
                for p in self.hsl.as_mut().map(|h| h.fail()).unwrap_or_default() {
                    if is_data(&p) {
                        self.shared.borrow_mut().oracle.on_drop(p.key(), LossCause::NfDown);
                    }
                }
            }
            (_, Msg::NfRestore) => self.nf.restore(),
            (o, Msg::Wake) if self.alarm.fired(o) => {
                self.nf.handle_timeout(now);
                if let Some(h) = &mut self.hsl {
                    h.handle_timeout(now);
                }
                if let Some(d) = &mut self.e2d {
                    d.handle_timeout(now);
                }
            }
            _ => {}
        }
        self.drain(ctx);
    }
}

// ---------------------------------------------------------------------------------------------

/// The controller.
pub(crate) struct ControllerEntity {
    pub controller: Controller,
    /// Control-plane messages (section IV-A of SHarP counts them): every input but an
    /// operator's request, every output to a switch or NF; a batch of rule changes counts
    /// one message per rule (one OpenFlow FlowMod each).
    pub ctrl_msgs: u64,
    /// Inputs carrying a data packet (packet-ins, packet events).
    pub ctrl_pkts_in: u64,
    ctl: ControlChannel,
    alarm: Alarm,
    shared: SharedRef,
}

impl ControllerEntity {
    pub fn new(controller: Controller, ctl: ControlChannel, shared: SharedRef) -> Self {
        ControllerEntity {
            controller,
            ctrl_msgs: 0,
            ctrl_pkts_in: 0,
            ctl,
            alarm: Alarm::default(),
            shared,
        }
    }
}

impl Entity<Msg> for ControllerEntity {
    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, origin: Origin, msg: Msg) {
        let now = ctx.now();
        match (origin, msg) {
            (_, Msg::ToController(input)) => {
                if input.carried_packet().is_some() {
                    self.shared.borrow_mut().ctrl_transit -= 1;
                    self.ctrl_pkts_in += 1;
                }
                if !matches!(*input, ControllerInput::Move(_)) {
                    self.ctrl_msgs += 1;
                }
                self.controller.handle(now, *input)
            }
            (o, Msg::Wake) if self.alarm.fired(o) => self.controller.handle_timeout(now),
            _ => {}
        }
        while let Some(o) = self.controller.poll_output() {
            match o {
                ControllerOutput::ToSwitch { to, msg } => {
                    self.ctrl_msgs += match &msg {
                        SwitchCtrl::FlowMods { mods, .. } => mods.len() as u64,
                        SwitchCtrl::PacketOut { .. } | SwitchCtrl::PacketOutTable { .. } => 1,
                    };
                    if let Some(packet) = msg.injected() {
                        if is_data(packet) {
                            self.shared.borrow_mut().ctrl_transit += 1;
                        }
                    }
                    let delay = self.ctl.delay(now, EntityId(to.0));
                    ctx.send(EntityId(to.0), delay, Msg::ToSwitch(Box::new(msg)))
                }
                ControllerOutput::ToNf { to, msg } => {
                    self.ctrl_msgs += 1;
                    let delay = self.ctl.delay(now, EntityId(to.0));
                    ctx.send(EntityId(to.0), delay, Msg::ToNf(Box::new(msg)))
                }
                ControllerOutput::Dropped { packet, cause } => {
                    if is_data(&packet) {
                        self.shared.borrow_mut().oracle.on_drop(packet.key(), cause)
                    }
                }
                ControllerOutput::Log { at, log } => self.shared.borrow_mut().moves.push((at, log)),
            }
        }
        self.alarm.sync(ctx, self.controller.poll_timeout());
    }
}

// ---------------------------------------------------------------------------------------------

/// The scenario's timeline: migrations, failures and restorations at their times.
pub(crate) struct TimelineEntity {
    events: Vec<(Time, TimelineAction)>,
    /// Per move: the resolved request.
    requests: Vec<Option<MoveRequest>>,
    /// SHarP: per move, the same request on every further switch that steers to both
    /// instances (the egress side of a bidirectional flow).
    sides: Vec<Vec<MoveRequest>>,
    /// Per config link: its two one-way sim links.
    links: Vec<(LinkId, LinkId)>,
    controller: Option<EntityId>,
    shared: SharedRef,
    control_latency: Dur,
}

impl TimelineEntity {
    /// Every resolved move request, in timeline order.
    pub fn requests(&self) -> impl Iterator<Item = &MoveRequest> {
        self.requests.iter().flatten()
    }

    pub fn new(
        cfg: &ScenarioConfig,
        ports: &[Ports],
        links: Vec<(LinkId, LinkId)>,
        controller: Option<EntityId>,
        shared: SharedRef,
    ) -> Self {
        let mut next_move = 0;
        let requests: Vec<Option<MoveRequest>> = cfg
            .timeline
            .iter()
            .map(|e| match &e.what {
                TimelineAction::Move { flows, src, dst } => {
                    let id = models::controller::MoveId(next_move);
                    next_move += 1;
                    resolve_move(cfg, ports, id, flows.clone(), *src, *dst)
                }
                _ => None,
            })
            .collect();
        let sharp = matches!(cfg.protocol, crate::config::ProtocolConfig::Sharp(..));
        let sides = requests
            .iter()
            .map(|r: &Option<MoveRequest>| match r {
                Some(r) if sharp => further_sides(cfg, ports, r),
                _ => Vec::new(),
            })
            .collect();
        TimelineEntity {
            events: cfg.timeline.iter().map(|e| (e.at, e.what.clone())).collect(),
            requests,
            sides,
            links,
            controller,
            shared,
            control_latency: cfg.control_latency,
        }
    }
}

/// The switch that steers to both `src` and `dst`, its ports facing upstream traffic
/// (sources and other switches), and its port to `dst`.
fn resolve_move(
    cfg: &ScenarioConfig,
    ports: &[Ports],
    id: models::controller::MoveId,
    flows: models::switch::Match,
    src: NodeIdx,
    dst: NodeIdx,
) -> Option<MoveRequest> {
    let (si, sp) = ports.iter().enumerate().find(|(i, p)| {
        matches!(cfg.nodes[*i].kind, NodeKind::Switch(_))
            && p.port_to(src).is_some()
            && p.port_to(dst).is_some()
    })?;
    let in_ports = sp
        .neighbour
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(cfg.node(**n).kind, NodeKind::Source | NodeKind::Switch(_)))
        .map(|(p, _)| PortId(p as u16))
        .collect();
    Some(MoveRequest {
        id,
        flows,
        src: node_id(src),
        dst: node_id(dst),
        switch: node_id(NodeIdx(si as u32)),
        in_ports,
        src_port: sp.port_to(src)?,
        dst_port: sp.port_to(dst)?,
    })
}

/// `req` on every switch after `req.switch` (in node order) that steers to both instances.
fn further_sides(cfg: &ScenarioConfig, ports: &[Ports], req: &MoveRequest) -> Vec<MoveRequest> {
    let (src, dst) = (NodeIdx(req.src.0), NodeIdx(req.dst.0));
    ports
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            *i as u32 > req.switch.0
                && matches!(cfg.nodes[*i].kind, NodeKind::Switch(_))
                && p.port_to(src).is_some()
                && p.port_to(dst).is_some()
        })
        .filter_map(|(i, p)| {
            let in_ports = p
                .neighbour
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    matches!(cfg.node(**n).kind, NodeKind::Source | NodeKind::Switch(_))
                })
                .map(|(k, _)| PortId(k as u16))
                .collect();
            Some(MoveRequest {
                switch: node_id(NodeIdx(i as u32)),
                in_ports,
                src_port: p.port_to(src)?,
                dst_port: p.port_to(dst)?,
                ..req.clone()
            })
        })
        .collect()
}

impl Entity<Msg> for TimelineEntity {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let me = ctx.me();
        for (i, (at, _)) in self.events.iter().enumerate() {
            ctx.send(me, at.saturating_since(Time::ZERO), Msg::Timeline(i));
        }
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, _: Origin, msg: Msg) {
        let Msg::Timeline(i) = msg else { return };
        match &self.events[i].1 {
            TimelineAction::Move { .. } => {
                if let (Some(req), Some(c)) = (self.requests[i].clone(), self.controller) {
                    ctx.send(c, Dur::ZERO, Msg::ToController(Box::new(ControllerInput::Move(req))));
                    for side in self.sides[i].clone() {
                        let input = ControllerInput::Move(side);
                        ctx.send(c, Dur::ZERO, Msg::ToController(Box::new(input)));
                    }
                }
            }
            TimelineAction::LinkDown(l) | TimelineAction::LinkUp(l) => {
                let up = matches!(self.events[i].1, TimelineAction::LinkUp(_));
                let (ab, ba) = self.links[l.0 as usize];
                for link in [ab, ba] {
                    for m in ctx.set_link_up(link, up) {
                        let Msg::Data(p) = m else { continue };
                        let mut shared = self.shared.borrow_mut();
                        if p.is_data() {
                            shared.oracle.on_drop(p.key(), LossCause::LinkDown);
                        } else if is_copy(&p.flags) {
                            shared.oracle.on_copy_drop(p.key(), LossCause::LinkDown);
                        }
                    }
                }
            }
            // Load changes shape the sources' flow lists when they are built.
            TimelineAction::SetLoad { .. } => {}
            TimelineAction::NfFail(n) => ctx.send(EntityId(n.0), Dur::ZERO, Msg::NfFail),
            TimelineAction::NfRestore(n) => ctx.send(EntityId(n.0), Dur::ZERO, Msg::NfRestore),
            TimelineAction::SwitchRules { switch, mods } => {
                // Transaction ids of their own (high bit set), apart from the protocols'.
                let xid = models::Xid(1 << 63 | i as u64);
                let msg = SwitchCtrl::FlowMods { xid, mods: mods.clone() };
                ctx.send(EntityId(switch.0), self.control_latency, Msg::ToSwitch(Box::new(msg)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ControlJitter;

    fn channel(jitter: Option<ControlJitter>) -> ControlChannel {
        let mut cfg = crate::testkit::reroute_pair(None, Dur::from_millis(1), None);
        cfg.control_latency = Dur::from_micros(100);
        cfg.control_jitter = jitter;
        ControlChannel::new(&cfg, sim_core::RngStreams::new(7).stream("control/test/jitter"))
    }

    /// Sends a message to `to` every microsecond; returns the arrival times.
    fn arrivals(ch: &mut ControlChannel, to: EntityId, n: u64) -> Vec<Time> {
        (0..n)
            .map(|i| {
                let now = Time::ZERO + Dur::from_micros(i);
                now + ch.delay(now, to)
            })
            .collect()
    }

    #[test]
    fn channel_without_jitter_takes_exactly_the_latency() {
        let mut ch = channel(None);
        let now = Time::ZERO + Dur::from_millis(3);
        assert_eq!(ch.delay(now, EntityId(1)), Dur::from_micros(100));
    }

    #[test]
    fn ordered_channel_with_jitter_delays_within_bounds_and_never_reorders() {
        let j = ControlJitter { max: Dur::from_micros(500), ordered: true };
        let mut ch = channel(Some(j));
        let at = arrivals(&mut ch, EntityId(1), 1000);
        assert!(at.windows(2).all(|w| w[0] <= w[1]), "FIFO per channel");
        let delays: Vec<u64> =
            at.iter().enumerate().map(|(i, t)| t.as_nanos() - i as u64 * 1000).collect();
        assert!(delays.iter().all(|&d| d >= 100_000), "never faster than the latency");
        // FIFO may hold a message behind a slower one, but no longer than the largest draw.
        assert!(delays.iter().all(|&d| d <= 600_000), "{:?}", delays.iter().max());
        assert!(delays.iter().any(|&d| d > 300_000), "the jitter adds delay");
        // Another destination is its own channel: its first message is not held back.
        let other = ch.delay(Time::ZERO + Dur::from_micros(1000), EntityId(2));
        assert!(other <= Dur::from_micros(600));
    }

    #[test]
    fn unordered_channel_with_jitter_lets_messages_overtake() {
        let j = ControlJitter { max: Dur::from_micros(500), ordered: false };
        let at = arrivals(&mut channel(Some(j)), EntityId(1), 1000);
        assert!(at.windows(2).any(|w| w[0] > w[1]), "some message overtakes an earlier one");
    }
}
