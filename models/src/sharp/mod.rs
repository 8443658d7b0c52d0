//! SHarP, the seamless handover protocol (Peuster, Kuettner, Karl: "Let the state follow its
//! flows"), section III-C: the controller side here, the handover support layer (HSL) that
//! sits in each VNF in [`hsl`].
//!
//! ```text
//!  Ctrl                         IngrSw                     VNF_1 (src)    VNF_n (dst)
//!   | detection 2r+1 -> Ctrl,     |
//!   | forward 2r -> VNF_n ------->|  (phase 1: packets of the request go to Ctrl, buffered;
//!   |<---- packet-in (new flow) --|   each new flow gets an exact entry -> Ctrl)
//!   | exact(flow) -> Ctrl ------->|
//!   |<---- FlowRemoved(detection: idle for max silence)
//!   | packet-out START_HO ------->|------------------------->|------------>|
//!   |<------------------------------------------------ ACK --|---- ACK ----|
//!   | (phase 2) packet-out marked buffer ------------------------------->| ctrl_buff
//!   | exact -> VNF_n + BUFFER_FOLLOW_UP dup ->|   direct packets ------->| sw_buff
//!   | packet-out test packet ---->|                                      |
//!   |<---- dup(test packet): everything Ctrl must buffer has been seen   |
//!   | exact -> VNF_n (no dup); packet-out BUFFER_END --------------------->|
//!   |                                          state transfer P2P ------->|
//!   |<-------------------------------------------- released (ctrl_buff, then sw_buff)
//!   | (phase 3) delete exact entries ->|
//! ```
//!
//! - A handover request carries an OpenFlow-like match, a priority `r` and the destination
//!   VNF. Requests at different priorities coexist: their entries sit at `2r+1` / `2r`, so a
//!   later request at a higher `r` overrides a lower one's forwarding entry.
//! - **Bidirectional flows**: "performing symmetric handover steps on the ingress and the
//!   egress switch at the same time". The driver hands one [`MoveRequest`] per switch that
//!   steers to both VNFs, with the same [`MoveId`]; each becomes a *side* of one handover.
//!   `START_HO` goes once to each VNF (through the first side's switch) and says how many sides
//!   there are; each side ends its controller buffer with its own `BUFFER_END`.
//! - **Ingress and egress on one switch** (Fig. 1 has two; "Our design extends to any number
//!   of switches"): the exact entries carry "no wildcard fields", the in-port included, so the
//!   VNFs' output of a handed-over flow that re-enters the same switch is forwarded by the
//!   switch's own rules, neither taken to Ctrl again nor sent back into `VNF_n`. The test
//!   packet enters the table as if on the flow's in-port ([`SwitchCtrl::PacketOutTable`]).
//! - Control messages to the VNFs travel in the data plane (packet-out, then the VNF's link) as
//!   [`CtrlPacket`]s; the HSL's replies reach the controller over the control channel (the
//!   paper sends them through a switch as packet-ins; we do not model that switch hop).
//! - Message accounting (section IV-A). Control plane, `2T + C` plus the follow-up copies
//!   `D`: [`SharpStats::buffered`] is `T`, the redirected packets buffered at the controller
//!   (or, late, forwarded at once marked), each one packet-in and one marked packet-out (2T);
//!   `C` is every rule change and its done, the `START_HO`s, `BUFFER_END`s, the test packet
//!   and its copy, the ACKs and the release (`reproduce::sharp::sharp_c`);
//!   [`SharpStats::follow_up`] is `D`, the `BUFFER_FOLLOW_UP` copies of data packets: one
//!   packet-in each, never buffered nor sent out, so neither `T` (which is "buffered at the
//!   controller" and costs two messages) nor `C` (they grow with the rate). Section IV-A's
//!   `2T + C` has no term for them; the authors' prototype receives them too (it takes the
//!   first as "the last packet to enqueue"). Data plane, `V + 2R + C`: the HSL counts them
//!   ([`HslStats`]): `V` the VNFs' state messages, `R` the packets into `ctrl_buff` and
//!   `sw_buff` (each in, then released to the NF: 2R; T of them are the `ctrl_buff` ones), `C`
//!   the control packets (`START_HO`s, `BUFFER_END`s, the test packet).
//! - When `START_HO` goes out ([`StartHo`]): after the detection phase, for every flow the
//!   request detected (III-C as written, the default), or per flow from its first packet-in,
//!   each flow then being a handover of its own whose parent is the request.

pub mod hsl;

use std::collections::BTreeMap;

use base::{Dur, Time};

use crate::controller::{Io, MoveId, MoveLog, MoveRequest, Protocol};
use crate::nf::NfEvent;
use crate::oracle::{Guarantee, LossCause};
use crate::packet::{FiveTuple, Flags, NodeId, Packet, PortId, Xid, MARKER_FLOW};
use crate::switch::{
    Action, Cookie, FlowMod, Match, PacketInReason, Rule, SwitchCtrl, SwitchEvent,
};

pub use hsl::{Hsl, HslConfig, HslFault, HslOutput, HslReply, HslReplyKind, HslStats};

/// The priority of exact per-flow entries: "These exact entries implicitly have the highest
/// priority since no wildcard fields are used anymore" (Open vSwitch's rule, III-C).
pub const EXACT_PRIORITY: u16 = u16::MAX;

/// When a flow's handover starts, that is when the controller sends `START_HO`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum StartHo {
    /// Section III-C as written: "When the detection phase is over, Ctrl sends START_HO
    /// messages to the involved VNFs": one handover for every flow the request detected, after
    /// the detection entry's idle timeout (the maximum silence).
    #[default]
    AfterDetection,
    /// Each detected flow is handed over on its own from its first packet-in: "the controller
    /// learns about all flows that are affected by the handover and can generate exact match
    /// entries for each of these flows to hand them over one by one" (III-C), with detection
    /// and "handover initialization" both in phase 1 (Fig. 3a) and a maximum delay bounded by
    /// "the time it takes the controller to notify the VNF about the handover and the VNFs to
    /// synchronize the state" (IV-B, Fig. 5b), which has no maximum silence in it. The
    /// authors' prototype does this (it starts a flow's handover on its first packet-in). Every
    /// other step is III-C's: the exact entry sends the flow to Ctrl until both ACKs are in. A
    /// flow's exact entry is removed only once the request's detection phase is over, or its
    /// packets would meet the detection entry again as a new flow.
    PerFlow,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SharpConfig {
    /// The request priority `r` of requests not listed in `priorities`.
    pub priority: u16,
    /// Per request (the timeline's move number): its priority `r`.
    pub priorities: BTreeMap<u32, u16>,
    /// The detection entry's idle timeout: "The detection phase stays active until a maximum
    /// silence time, which is set as the idle timeout of the detection entry".
    pub max_silence: Dur,
    /// When `START_HO` goes out.
    pub start: StartHo,
}

impl Default for SharpConfig {
    /// `r = 100` (entries at 201 / 200, above the scenarios' steering rules) and a 15 ms maximum
    /// silence (ours: the paper gives no value; it must exceed the gap between two packets of
    /// a flow, or the flow goes undetected and is "treated as a new flow" without its state,
    /// and the slowest flow of the paper's experiments sends every 10 ms).
    fn default() -> Self {
        SharpConfig {
            priority: 100,
            priorities: BTreeMap::new(),
            max_silence: Dur::from_millis(15),
            start: StartHo::AfterDetection,
        }
    }
}

impl SharpConfig {
    /// The largest `r` whose entries (`2r+1`) stay below the exact entries.
    pub const MAX_PRIORITY: u16 = (EXACT_PRIORITY - 2) / 2;

    fn r(&self, id: MoveId) -> u16 {
        self.priorities.get(&id.0).copied().unwrap_or(self.priority)
    }
}

/// The kinds of SHarP control packets in the data plane.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CtrlKind {
    /// `START_HO`, one per detected flow ("the exact flow identifier"); the last is flagged.
    StartHo = 1,
    /// Follows the last marked packet the controller releases towards the destination on one
    /// side (the controller has released its whole buffer there; [17]'s details are not in our
    /// copy of the paper, the name is ours).
    BufferEnd = 2,
    /// The test packet of the `BUFFER_FOLLOW_UP` window.
    Test = 3,
}

/// A SHarP control message as it travels in the data plane. Packed into a [`Packet`] flagged
/// `MARKER | SHARP_CTRL` (never data for the oracle): `seq` the handover, `tuple` the flow,
/// `hash` the kind and side count, `tag` the flow count, `sent` the two VNFs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CtrlPacket {
    pub kind: CtrlKind,
    pub id: MoveId,
    pub src: NodeId,
    pub dst: NodeId,
    pub flow: FiveTuple,
    /// `START_HO`: how many flows the handover moves, and how many sides it has.
    pub flows: u16,
    pub sides: u8,
    /// The last `START_HO` of its handover.
    pub last: bool,
}

const NO_TUPLE: FiveTuple = FiveTuple { src: 0, dst: 0, sport: 0, dport: 0, proto: 0 };

impl CtrlPacket {
    pub fn encode(&self) -> Packet {
        let mut flags = Flags::MARKER;
        flags.insert(Flags::SHARP_CTRL);
        if self.last {
            flags.insert(Flags::LAST);
        }
        Packet {
            flow: MARKER_FLOW,
            seq: self.id.0,
            tuple: self.flow,
            hash: self.kind as u32 | (self.sides as u32) << 8,
            size_bytes: 64,
            sent: Time::from_nanos((self.src.0 as u64) << 32 | self.dst.0 as u64),
            flags,
            tag: self.flows,
        }
    }

    /// `None` for anything but a well-formed SHarP control packet.
    pub fn decode(p: &Packet) -> Option<CtrlPacket> {
        if !p.flags.contains(Flags::SHARP_CTRL) || !p.flags.contains(Flags::MARKER) {
            return None;
        }
        let kind = match p.hash & 0xff {
            1 => CtrlKind::StartHo,
            2 => CtrlKind::BufferEnd,
            3 => CtrlKind::Test,
            _ => return None,
        };
        let nodes = p.sent.as_nanos();
        Some(CtrlPacket {
            kind,
            id: MoveId(p.seq),
            src: NodeId((nodes >> 32) as u32),
            dst: NodeId(nodes as u32),
            flow: p.tuple,
            flows: p.tag,
            sides: (p.hash >> 8) as u8,
            last: p.flags.contains(Flags::LAST),
        })
    }
}

/// The tag ("mark (e.g. by VLAN tag)") of packets the controller buffered and releases.
pub fn ctrl_mark(id: MoveId) -> u16 {
    0x8000 | ((id.0 as u16 & 0x3fff) << 1)
}

/// The tag the redirected exact entries put on packets they send straight to the destination,
/// so its HSL knows to keep them in `sw_buff` (ours: the paper leaves how HSL recognises them
/// to [17]).
pub fn sw_mark(id: MoveId) -> u16 {
    ctrl_mark(id) | 1
}

/// What the controller counts for section IV-A.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharpStats {
    /// `T`: data packets processed at the controller (packet-in, then packet-out marked): two
    /// control-plane messages each.
    pub buffered: u64,
    /// `D`: `BUFFER_FOLLOW_UP` copies of data packets received (and discarded: their originals
    /// are in `sw_buff`): one control-plane message each, outside section IV-A's `2T + C`.
    pub follow_up: u64,
    pub exact_entries: u64,
    pub handovers_finished: u64,
    pub unexpected: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Phase 1: flow detection.
    Detection,
    /// `START_HO` sent, waiting for both ACKs.
    Init,
    /// Phase 2: the destination buffers; the state moves.
    Handover,
    /// Phase 3: removing the handover entries.
    Cleanup,
    Done,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum SideState {
    /// Exact entries send the side's flows to the controller, which buffers them.
    Buffering,
    /// Exact entries redirected with `BUFFER_FOLLOW_UP` duplication; waiting for the test
    /// packet.
    FollowUp,
    /// `BUFFER_END` sent: the controller buffers nothing more for this side.
    Released,
    /// Exact entries being deleted.
    Cleaning,
    Clean,
}

struct Side {
    req: MoveRequest,
    /// Detection entries still installed (one per in-port).
    detection: Vec<Cookie>,
    /// Detected flows and their exact entries, in detection order.
    exact: Vec<Exact>,
    state: SideState,
}

/// A detected flow's exact entry: the flow as it enters the side's switch, in-port included.
#[derive(Copy, Clone, Debug)]
struct Exact {
    flow: FiveTuple,
    in_port: PortId,
    cookie: Cookie,
}

struct Handover {
    r: u16,
    src: NodeId,
    dst: NodeId,
    sides: Vec<Side>,
    phase: Phase,
    acks: u8,
    /// [`StartHo::PerFlow`]: the request a flow's handover belongs to (`None` for a request).
    parent: Option<MoveId>,
    /// [`StartHo::PerFlow`]: a request's flow handovers, in detection order.
    children: Vec<MoveId>,
    /// [`StartHo::PerFlow`]: the destination released this flow while its request was still
    /// detecting; its cleanup waits for the detection phase to end.
    released: bool,
}

/// [`StartHo::PerFlow`]: flow handovers are numbered from here (below 0x4000, as the marks
/// carry 14 bits of a handover's id), so requests must be numbered below it. The numbers wrap
/// after 8192 flow handovers: at most that many may be in progress at once.
pub const FLOW_HANDOVER_BASE: u32 = 0x2000;

#[derive(Copy, Clone, Debug)]
enum Pending {
    Install,
    Redirect(MoveId, usize),
    Cleanup(MoveId, usize),
}

/// The SHarP controller application.
pub struct Sharp {
    cfg: SharpConfig,
    handovers: BTreeMap<MoveId, Handover>,
    pending: BTreeMap<Xid, Pending>,
    next_xid: u64,
    next_cookie: u64,
    next_child: u32,
    stats: SharpStats,
}

fn group(id: MoveId, side: usize) -> u64 {
    0x5a00_0000_0000_0000 | (id.0 as u64) << 8 | side as u64
}

impl Sharp {
    pub fn new(cfg: SharpConfig) -> Sharp {
        Sharp {
            cfg,
            handovers: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_xid: 1,
            next_cookie: 0x5a5a_0000_0000_0000,
            next_child: 0,
            stats: SharpStats::default(),
        }
    }

    pub fn stats(&self) -> &SharpStats {
        &self.stats
    }

    fn xid(&mut self, p: Pending) -> Xid {
        let x = Xid(self.next_xid);
        self.next_xid += 1;
        self.pending.insert(x, p);
        x
    }

    fn cookie(&mut self) -> Cookie {
        self.next_cookie += 1;
        Cookie(self.next_cookie)
    }

    /// Installs a side's flow detection entries (2r+1, idle timeout = maximum silence) and
    /// forwarding entries (2r) on its switch.
    fn add_side(&mut self, r: u16, req: MoveRequest, io: &mut Io<'_>) -> Side {
        let mut detect = Vec::new();
        let mut forward = Vec::new();
        for &p in &req.in_ports {
            let matcher = Match { in_port: Some(p), ..req.flows.clone() };
            // III-C: "a so-called flow detection table entry ... matches all flows specified by
            // the handover request and forwards their packets to Ctrl. The priority of this
            // entry p_t is set to p_t = 2r + 1".
            detect.push(Rule {
                cookie: self.cookie(),
                priority: 2 * r + 1,
                matcher: matcher.clone(),
                actions: vec![Action::ToController],
                idle_timeout: Some(self.cfg.max_silence),
            });
            // "This entry has priority 2r + 0 such that it will only be used once the detection
            // table entry is removed."
            forward.push(Rule {
                cookie: self.cookie(),
                priority: 2 * r,
                matcher,
                actions: vec![Action::Output(req.dst_port)],
                idle_timeout: None,
            });
        }
        let detection = detect.iter().map(|r| r.cookie).collect();
        let mods = detect.into_iter().chain(forward).map(FlowMod::Add).collect();
        let xid = self.xid(Pending::Install);
        io.to_switch(req.switch, SwitchCtrl::FlowMods { xid, mods });
        Side { req, detection, exact: Vec::new(), state: SideState::Buffering }
    }

    fn send_ctrl(io: &mut Io<'_>, switch: NodeId, port: PortId, c: CtrlPacket) {
        io.to_switch(switch, SwitchCtrl::PacketOut { packet: c.encode(), out: Some(port) });
    }

    /// "When the detection phase is over, Ctrl sends START_HO messages to the involved VNFs
    /// using a PACKET OUT event on IngrSw to inject them into the data plane."
    fn start_ho(id: MoveId, h: &mut Handover, io: &mut Io<'_>) {
        h.phase = Phase::Init;
        // A flow entering on two in-ports has two exact entries but one state to move.
        let mut flows: Vec<FiveTuple> = Vec::new();
        for e in h.sides.iter().flat_map(|s| &s.exact) {
            if !flows.contains(&e.flow) {
                flows.push(e.flow);
            }
        }
        let n = flows.len().min(u16::MAX as usize) as u16;
        let list = if flows.is_empty() { vec![NO_TUPLE] } else { flows };
        let side0 = &h.sides[0].req;
        for port in [side0.src_port, side0.dst_port] {
            for (i, f) in list.iter().enumerate() {
                let c = CtrlPacket {
                    kind: CtrlKind::StartHo,
                    id,
                    src: h.src,
                    dst: h.dst,
                    flow: *f,
                    flows: n,
                    sides: h.sides.len() as u8,
                    last: i + 1 == list.len(),
                };
                Self::send_ctrl(io, side0.switch, port, c);
            }
        }
    }

    /// Phase 2 on every side: "Ctrl starts to mark ... and release the packets from its buffer
    /// and sends them towards the destination VNF_n via IngrSw ... At the same time, Ctrl
    /// updates the exact forwarding table entry to forward all new packets of the flow arriving
    /// at IngrSw directly to VNF_n", duplicating them to Ctrl (`BUFFER_FOLLOW_UP`) for a while.
    fn phase2(&mut self, id: MoveId, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        h.phase = Phase::Handover;
        let (src, dst) = (h.src, h.dst);
        let mut redirects = Vec::new();
        for (si, side) in h.sides.iter_mut().enumerate() {
            for mut p in io.release(group(id, si)) {
                p.tag = ctrl_mark(id);
                let out = Some(side.req.dst_port);
                io.to_switch(side.req.switch, SwitchCtrl::PacketOut { packet: p, out });
            }
            if side.exact.is_empty() {
                side.state = SideState::Released;
                let end = buffer_end(id, src, dst);
                Self::send_ctrl(io, side.req.switch, side.req.dst_port, end);
                continue;
            }
            side.state = SideState::FollowUp;
            let actions = vec![
                Action::SetTag(sw_mark(id)),
                Action::Output(side.req.dst_port),
                Action::DupToController,
            ];
            let mods = side
                .exact
                .iter()
                .map(|e| FlowMod::Modify { cookie: e.cookie, actions: actions.clone() })
                .collect();
            redirects.push((si, side.req.switch, mods));
        }
        for (si, switch, mods) in redirects {
            let xid = self.xid(Pending::Redirect(id, si));
            io.to_switch(switch, SwitchCtrl::FlowMods { xid, mods });
        }
    }

    /// The side's packets reaching the controller from now on were forwarded already: end the
    /// duplication and close the destination's `ctrl_buff` for this side.
    fn end_follow_up(&mut self, id: MoveId, si: usize, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        let (src, dst) = (h.src, h.dst);
        let side = &mut h.sides[si];
        side.state = SideState::Released;
        let actions = vec![Action::SetTag(sw_mark(id)), Action::Output(side.req.dst_port)];
        let mods = side
            .exact
            .iter()
            .map(|e| FlowMod::Modify { cookie: e.cookie, actions: actions.clone() })
            .collect();
        let (switch, port) = (side.req.switch, side.req.dst_port);
        Self::send_ctrl(io, switch, port, buffer_end(id, src, dst));
        let xid = self.xid(Pending::Install);
        io.to_switch(switch, SwitchCtrl::FlowMods { xid, mods });
    }

    /// Phase 3: "Ctrl can remove the additional handover table entries from IngrSw"; the
    /// forwarding entry (2r) stays as the final forwarding state.
    fn cleanup(&mut self, id: MoveId, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        h.phase = Phase::Cleanup;
        io.log(MoveLog::StateMoved { id: h.parent.unwrap_or(id) });
        let mut batches = Vec::new();
        for (si, side) in h.sides.iter_mut().enumerate() {
            if side.exact.is_empty() {
                side.state = SideState::Clean;
                continue;
            }
            side.state = SideState::Cleaning;
            let mods = side.exact.iter().map(|e| FlowMod::Delete { cookie: e.cookie }).collect();
            batches.push((si, side.req.switch, mods));
        }
        for (si, switch, mods) in batches {
            let xid = self.xid(Pending::Cleanup(id, si));
            io.to_switch(switch, SwitchCtrl::FlowMods { xid, mods });
        }
        self.try_finish(id, io);
    }

    fn try_finish(&mut self, id: MoveId, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        if h.phase == Phase::Cleanup && h.sides.iter().all(|s| s.state == SideState::Clean) {
            h.phase = Phase::Done;
            match h.parent {
                Some(parent) => self.try_finish_request(parent, io),
                None => {
                    self.stats.handovers_finished += 1;
                    io.log(MoveLog::Finished { id });
                }
            }
        }
    }

    /// [`StartHo::PerFlow`]: a request is over once its detection phase is and every flow
    /// handed over has been cleaned up.
    fn try_finish_request(&mut self, id: MoveId, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get(&id) else { return };
        let done = |c: &MoveId| self.handovers.get(c).is_none_or(|c| c.phase == Phase::Done);
        if h.phase != Phase::Handover || !h.children.iter().all(done) {
            return;
        }
        if h.children.is_empty() {
            io.log(MoveLog::StateMoved { id });
        }
        self.handovers.get_mut(&id).expect("invariant: present").phase = Phase::Done;
        self.stats.handovers_finished += 1;
        io.log(MoveLog::Finished { id });
    }

    /// [`StartHo::PerFlow`]: the request's detection entries are gone; the flows released
    /// meanwhile can drop their handover entries now.
    fn detection_over(&mut self, id: MoveId, io: &mut Io<'_>) {
        let Some(h) = self.handovers.get_mut(&id) else { return };
        h.phase = Phase::Handover;
        let children = h.children.clone();
        let waiting: Vec<MoveId> = children
            .into_iter()
            .filter(|c| {
                self.handovers.get(c).is_some_and(|c| c.released && c.phase == Phase::Handover)
            })
            .collect();
        for c in waiting {
            self.cleanup(c, io);
        }
        self.try_finish_request(id, io);
    }

    /// [`StartHo::PerFlow`]: a flow of request `parent` detected on side `si`, its exact entry
    /// just sent: its own handover, which starts at once.
    fn start_flow(&mut self, parent: MoveId, si: usize, exact: Exact, io: &mut Io<'_>) -> MoveId {
        let id = MoveId(FLOW_HANDOVER_BASE + self.next_child % FLOW_HANDOVER_BASE);
        self.next_child += 1;
        let p = self.handovers.get_mut(&parent).expect("invariant: the request exists");
        p.children.push(id);
        let side = Side {
            req: p.sides[si].req.clone(),
            detection: Vec::new(),
            exact: vec![exact],
            state: SideState::Buffering,
        };
        let mut h = Handover {
            r: p.r,
            src: p.src,
            dst: p.dst,
            sides: vec![side],
            phase: Phase::Init,
            acks: 0,
            parent: Some(parent),
            children: Vec::new(),
            released: false,
        };
        Self::start_ho(id, &mut h, io);
        self.handovers.insert(id, h);
        id
    }

    /// The handover and side a data packet-in belongs to: the one with an exact entry for its
    /// flow, else the highest-priority one in detection whose request matches.
    fn owner(&self, from: NodeId, in_port: PortId, p: &Packet) -> Option<(MoveId, usize)> {
        let mut best: Option<(u16, MoveId, usize)> = None;
        for (id, h) in &self.handovers {
            if h.phase >= Phase::Cleanup {
                continue;
            }
            for (si, s) in h.sides.iter().enumerate() {
                if s.req.switch != from {
                    continue;
                }
                if s.exact.iter().any(|e| e.flow == p.tuple && e.in_port == in_port) {
                    return Some((*id, si));
                }
                let matches = s.req.in_ports.contains(&in_port) && s.req.flows.matches_flow(p);
                if matches && !s.detection.is_empty() && best.is_none_or(|b| h.r > b.0) {
                    best = Some((h.r, *id, si));
                }
            }
        }
        best.map(|b| (b.1, b.2))
    }

    fn on_data_packet_in(&mut self, from: NodeId, in_port: PortId, p: Packet, io: &mut Io<'_>) {
        let Some((mut id, mut si)) = self.owner(from, in_port, &p) else {
            self.stats.unexpected += 1;
            io.drop_packet(p, LossCause::Protocol);
            return;
        };
        self.stats.buffered += 1;
        let new_flow = {
            let h = &self.handovers[&id];
            !h.sides[si].exact.iter().any(|e| e.flow == p.tuple && e.in_port == in_port)
        };
        if new_flow {
            // "one exact table entry for each flow is installed in IngrSw which forwards all
            // packets of this particular flow to Ctrl".
            let exact = Exact { flow: p.tuple, in_port, cookie: self.cookie() };
            let xid = self.xid(Pending::Install);
            let per_flow = self.cfg.start == StartHo::PerFlow;
            let h = self.handovers.get_mut(&id).expect("invariant: owner exists");
            if !per_flow {
                h.sides[si].exact.push(exact);
            }
            self.stats.exact_entries += 1;
            let rule = Rule {
                cookie: exact.cookie,
                priority: EXACT_PRIORITY,
                // "no wildcard fields are used anymore": the in-port too. Where the VNFs'
                // output re-enters this switch (it is also the egress switch), the flow's
                // packets from the VNFs must not meet this entry: they would go to Ctrl, or
                // once redirected back into VNF_n, a second time.
                matcher: Match { in_port: Some(in_port), ..Match::flow(&p.tuple) },
                actions: vec![Action::ToController],
                idle_timeout: None,
            };
            io.to_switch(from, SwitchCtrl::FlowMods { xid, mods: vec![FlowMod::Add(rule)] });
            if per_flow {
                id = self.start_flow(id, si, exact, io);
                si = 0;
            }
        }
        let h = self.handovers.get_mut(&id).expect("invariant: owner exists");
        let side = &h.sides[si];
        match side.state {
            SideState::Buffering => {
                io.buffer(group(id, si), p);
            }
            // In flight between IngrSw and Ctrl when the entries were redirected: forwarded
            // at once, marked, behind the released buffer.
            _ => {
                let mut p = p;
                p.tag = ctrl_mark(id);
                let out = Some(side.req.dst_port);
                io.to_switch(side.req.switch, SwitchCtrl::PacketOut { packet: p, out });
            }
        }
    }
}

fn buffer_end(id: MoveId, src: NodeId, dst: NodeId) -> CtrlPacket {
    CtrlPacket {
        kind: CtrlKind::BufferEnd,
        id,
        src,
        dst,
        flow: NO_TUPLE,
        flows: 0,
        sides: 0,
        last: true,
    }
}

impl Protocol for Sharp {
    fn name(&self) -> &'static str {
        "sharp"
    }

    fn guarantee(&self) -> Guarantee {
        Guarantee::LossFreeOrderPreserving
    }

    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
        let id = req.id;
        let r = self.cfg.r(id);
        if self.cfg.start == StartHo::PerFlow && id.0 >= FLOW_HANDOVER_BASE {
            let reason = format!("request {} is numbered above the flow handovers' range", id.0);
            io.log(MoveLog::Failed { id, reason });
            return;
        }
        match self.handovers.get(&id).map(|h| h.phase) {
            // The same request on another switch: the symmetric side of a bidirectional flow.
            Some(Phase::Detection) => {
                let side = self.add_side(r, req, io);
                self.handovers.get_mut(&id).expect("invariant: present").sides.push(side);
            }
            Some(_) => self.stats.unexpected += 1,
            None => {
                io.log(MoveLog::Started { id });
                let (src, dst) = (req.src, req.dst);
                let side = self.add_side(r, req, io);
                let h = Handover {
                    r,
                    src,
                    dst,
                    sides: vec![side],
                    phase: Phase::Detection,
                    acks: 0,
                    parent: None,
                    children: Vec::new(),
                    released: false,
                };
                self.handovers.insert(id, h);
            }
        }
    }

    fn on_switch_event(&mut self, from: NodeId, event: SwitchEvent, io: &mut Io<'_>) {
        match event {
            SwitchEvent::PacketIn { in_port, packet, reason } => {
                if let Some(c) = CtrlPacket::decode(&packet) {
                    // The test packet is back: "Ctrl ... will immediately know that it has seen
                    // all packets not yet forwarded to VNF_n once it sees the test packet".
                    let side = self.handovers.get(&c.id).and_then(|h| {
                        h.sides
                            .iter()
                            .position(|s| s.req.switch == from && s.state == SideState::FollowUp)
                    });
                    match (c.kind, reason, side) {
                        (CtrlKind::Test, PacketInReason::Duplicate, Some(si)) => {
                            self.end_follow_up(c.id, si, io)
                        }
                        _ => self.stats.unexpected += 1,
                    }
                    return;
                }
                if packet.flags.contains(Flags::MARKER) {
                    self.stats.unexpected += 1;
                    return;
                }
                if reason == PacketInReason::Duplicate {
                    // III-C: "Ctrl instructs IngrSw for a short time to duplicate and flag
                    // packets (BUFFER_FOLLOW_UP) that are forwarded to VNF_n and to send the
                    // flagged copy of them also to Ctrl." Its original went to VNF_n's sw_buff,
                    // so the copy is neither buffered nor sent on: one control-plane message,
                    // `D`, which IV-A's `2T + C` ("T < R is the subset of the redirected
                    // packets that is buffered at the controller") leaves out.
                    self.stats.follow_up += 1;
                    return;
                }
                self.on_data_packet_in(from, in_port, packet, io);
            }
            SwitchEvent::FlowRemoved { cookie, .. } => {
                let found = self.handovers.iter_mut().find(|(_, h)| {
                    h.phase == Phase::Detection
                        && h.sides.iter().any(|s| s.detection.contains(&cookie))
                });
                let Some((&id, h)) = found else {
                    self.stats.unexpected += 1;
                    return;
                };
                for s in &mut h.sides {
                    s.detection.retain(|c| *c != cookie);
                }
                // "Flows that have not been detected during this time are treated as new
                // flows"; once every side's detection entry is gone, the handover starts.
                if h.sides.iter().all(|s| s.detection.is_empty()) {
                    match self.cfg.start {
                        StartHo::AfterDetection => Self::start_ho(id, h, io),
                        StartHo::PerFlow => self.detection_over(id, io),
                    }
                }
            }
            SwitchEvent::FlowModsDone { xid } => match self.pending.remove(&xid) {
                Some(Pending::Install) => {}
                Some(Pending::Redirect(id, si)) => {
                    // The redirect is in force: "inject a test packet into the data plane at
                    // IngrSw", through the table as if it had entered on a detected flow's
                    // in-port, where it meets that flow's exact entry with the duplication.
                    let Some(h) = self.handovers.get(&id) else { return };
                    let side = &h.sides[si];
                    let in_port = side.exact[0].in_port;
                    let test = CtrlPacket {
                        kind: CtrlKind::Test,
                        id,
                        src: h.src,
                        dst: h.dst,
                        flow: side.exact[0].flow,
                        flows: 0,
                        sides: 0,
                        last: true,
                    };
                    let mut packet = test.encode();
                    packet.size_bytes = 64;
                    let inject = SwitchCtrl::PacketOutTable { packet, in_port };
                    io.to_switch(side.req.switch, inject);
                }
                Some(Pending::Cleanup(id, si)) => {
                    if let Some(h) = self.handovers.get_mut(&id) {
                        h.sides[si].state = SideState::Clean;
                    }
                    self.try_finish(id, io);
                }
                None => self.stats.unexpected += 1,
            },
            SwitchEvent::FlowModFailed { xid, cookie, error } => {
                self.stats.unexpected += 1;
                let id = match self.pending.get(&xid) {
                    Some(Pending::Redirect(id, _) | Pending::Cleanup(id, _)) => Some(*id),
                    _ => None,
                };
                if let Some(id) = id {
                    let id = self.handovers.get(&id).and_then(|h| h.parent).unwrap_or(id);
                    let reason = format!("rule {cookie:?} refused: {error:?}");
                    io.log(MoveLog::Failed { id, reason });
                }
            }
        }
    }

    fn on_nf_event(&mut self, from: NodeId, event: NfEvent, io: &mut Io<'_>) {
        let NfEvent::Hsl(reply) = event else {
            self.stats.unexpected += 1;
            return;
        };
        let id = MoveId(reply.id);
        let Some(h) = self.handovers.get_mut(&id) else {
            self.stats.unexpected += 1;
            return;
        };
        match reply.kind {
            HslReplyKind::Ack if h.phase == Phase::Init && (from == h.src || from == h.dst) => {
                h.acks += 1;
                // "Once Ctrl receives the ACKs it enters the second phase".
                if h.acks == 2 {
                    self.phase2(id, io);
                }
            }
            // "The third phase of the handover ... is entered once Ctrl has released all its
            // buffered packets and the state management mechanism at the VNFs indicates that
            // all state has been moved."
            HslReplyKind::Released if h.phase == Phase::Handover && from == h.dst => {
                let detecting = h.parent.and_then(|p| self.handovers.get(&p)).map(|p| p.phase);
                if detecting == Some(Phase::Detection) {
                    self.handovers.get_mut(&id).expect("invariant: present").released = true;
                } else {
                    self.cleanup(id, io)
                }
            }
            _ => self.stats.unexpected += 1,
        }
    }

    fn counters(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("sharp_ctrl_processed_pkts", self.stats.buffered as f64),
            ("sharp_follow_up_pkts", self.stats.follow_up as f64),
            ("protocol_unexpected", self.stats.unexpected as f64),
        ]
    }
}

#[cfg(test)]
fn hsl_test_parse(tag: u16) -> Option<(MoveId, bool)> {
    hsl::parse_mark(tag)
}

#[cfg(test)]
mod tests;
