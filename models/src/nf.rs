//! A network-function instance: a FIFO queue, one server, and per-flow state.
//!
//! ```text
//!  packet ──► queue (bounded) ──► service (per-packet time) ──► state update ──► output
//!                                                                 (oracle log)    (suppressed if
//!  controller ──► getPerflow / putPerflow / delPerflow ──► control thread          DO_NOT_OUTPUT)
//!                 (export / import cost per flow)      ──► Perflow / PutDone / DelDone
//! ```
//!
//! - Processing a packet updates its flow's state (packets, bytes, created, last seen, and the
//!   oracle's [`UpdateLog`]); the packet is then output unless flagged `DO_NOT_OUTPUT` (OpenNF
//!   reprocessing, HotMiddlebox section 4: "reprocessed only to update state"). Which packets
//!   change the NF's own state is the NF's kind ([`StateUpdates`]): every packet for an IDS or a
//!   PRADS-like monitor, only connection set-up and teardown for a stateful firewall. Only those
//!   enter the oracle's log; with `selective_cloning`, only those are cloned for reprocessing.
//! - State transfer runs on a control thread beside packet processing, one operation at a time:
//!   an export takes `export_per_flow` per flow and snapshots the state when it completes; an
//!   import takes `import_per_flow` per flow and installs the state when it completes.
//! - With `create_state` off (U-HAUL during a move), a packet of a flow with no state here is
//!   not processed: it is tagged `unseen_tag` and sent straight back out, for the switch to
//!   steer elsewhere. The instance remembers the flows it handed back this way (and those whose
//!   state it deleted meanwhile): they belong to another instance now, so their packets are
//!   handed back even after creation is turned on again; only flows it has never seen get
//!   new state then.
//! - A failed instance drops everything queued and everything that arrives, until restored.

use std::collections::VecDeque;

use base::{Dur, Time};

use crate::fxhash::FxHashMap;
use crate::oracle::UpdateLog;
use crate::packet::{FiveTuple, Flags, FlowId, NodeId, Packet, Xid};
use crate::switch::Match;
use crate::uhaul::{Detection, FlowInfoTable};

#[derive(Clone, Debug, PartialEq)]
pub struct NfConfig {
    /// Time to process one packet.
    pub service: Dur,
    /// Packets that may wait for the server.
    pub queue_capacity: u32,
    /// Bytes of per-flow state (what a transfer carries per flow).
    pub state_bytes_per_flow: u32,
    pub export_per_flow: Dur,
    pub import_per_flow: Dur,
    /// Which packets change a flow's state.
    pub state_updates: StateUpdates,
    /// HotMiddlebox section 4, "Reducing Buffer Capacity Demands": during a move with packet
    /// reprocessing, copy to the controller only the packets that update state ("the latter can
    /// selectively clone packets to reduce buffer demands, and lighten the reprocessing load at
    /// dstInst"). Off: every packet of a moving flow is cloned, as the paper's IDS does.
    pub selective_cloning: bool,
    /// U-HAUL's flow information table: "Every 100ms, an eviction pointer goes through the FIT
    /// to evict entries whose timestamps are not within the last time window ... We have tried
    /// 20ms, 50ms, 100ms as time window values" (section 3.1). Default: the paper's 100 ms.
    pub fit_window: Dur,
}

/// Which packets update a flow's state (HotMiddlebox section 4: "Some NFs routinely update
/// internal state for every packet, e.g. an IPS, IDS, or WAN optimizer, while others only update
/// state for select packets, e.g. a stateful firewall only updates NF state when a TCP handshake
/// completes or a connection finishes").
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum StateUpdates {
    /// IDS, IPS, PRADS-like monitors: every packet updates its flow's state.
    #[default]
    EveryPacket,
    /// A stateful firewall: a flow's state changes when its connection is established and when
    /// it ends. The twin's flows are one direction of a connection, so the handshake is the
    /// flow's first packet (`seq` 0) and the teardown its last (flagged `LAST`); the packets in
    /// between only read the state.
    ConnectionEvents,
    /// A stateless NF (a stateless firewall applying its ACL to each packet on its own): it
    /// keeps no per-flow state at all, so no packet updates any, and there is nothing a
    /// migration could move or split.
    Stateless,
}

impl StateUpdates {
    /// Does processing packet `seq` (the flow's last when `last`) update its flow's state?
    #[inline]
    pub fn updates(self, seq: u32, last: bool) -> bool {
        match self {
            StateUpdates::EveryPacket => true,
            StateUpdates::ConnectionEvents => seq == 0 || last,
            StateUpdates::Stateless => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StateUpdates::EveryPacket => "every-packet",
            StateUpdates::ConnectionEvents => "connection-events",
            StateUpdates::Stateless => "stateless",
        }
    }
}

impl Default for NfConfig {
    /// A PRADS-like monitor: 1 us per packet (1 Mpps per core), 1,000 packets of queue,
    /// and OpenNF-like transfer costs (see `docs/scenarios.md` for the sources).
    fn default() -> Self {
        NfConfig {
            service: Dur::from_micros(1),
            queue_capacity: 1000,
            state_bytes_per_flow: 256,
            export_per_flow: Dur::from_micros(5),
            import_per_flow: Dur::from_micros(5),
            state_updates: StateUpdates::EveryPacket,
            selective_cloning: false,
            fit_window: crate::uhaul::DEFAULT_WINDOW,
        }
    }
}

/// One flow's state at an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowState {
    /// The flow's 5-tuple and hash, so filters select flows as switch rules do.
    pub tuple: FiveTuple,
    pub hash: u32,
    pub packets: u64,
    pub bytes: u64,
    pub created: Time,
    pub last_seen: Time,
    pub log: UpdateLog,
}

/// What an instance does with a packet of a locked flow when it reaches the server
/// (OpenNF's packet events).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// Drop it (OpenNF's move without guarantees).
    Drop,
    /// Send it to the controller instead of processing it (loss-free moves).
    Buffer,
    /// Process it as usual and send a copy to the controller (packet reprocessing,
    /// HotMiddlebox section 4: "srcInst (i) sends the packet to the controller, and (ii)
    /// processes the packet normally").
    Copy,
}

/// How an export locks the flows it exports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ExportLock {
    /// Names the lock for `DisableEvents` and for markers.
    pub id: u64,
    pub action: EventAction,
    /// OpenNF's late locking: lock each flow when its own export starts, instead of every flow
    /// in the filter when the export starts. Flows in the filter without state here (new
    /// flows) are locked from the start either way, so they cannot build state that is never
    /// exported.
    pub late: bool,
}

/// Controller to NF (OpenNF's southbound calls).
#[derive(Clone, Debug, PartialEq)]
pub enum NfCtrl {
    /// Export the state of the flows matching `filter`, one flow at a time (`export_per_flow`
    /// each), streaming a `PerflowChunk` per flow and a `PerflowDone` after the last; with
    /// `lock`, raise packet events for the exported flows as the lock says.
    GetPerflow {
        xid: Xid,
        filter: Match,
        lock: Option<ExportLock>,
    },
    PutPerflow {
        xid: Xid,
        states: Vec<(FlowId, FlowState)>,
    },
    DelPerflow {
        xid: Xid,
        filter: Match,
    },
    /// Whether to create state for flows not seen here; if not, unseen flows' packets are
    /// tagged `unseen_tag` and sent back out unprocessed.
    SetCreateState {
        create: bool,
        unseen_tag: u16,
    },
    /// Stop the packet events of lock `id`.
    DisableEvents {
        id: u64,
    },
    /// OpenNF's P2P `transfer(dstInst, fspace)` (HotMiddlebox section 5): export as
    /// `GetPerflow` does, but send each flow's state, and every packet the lock catches, to
    /// `peer` directly; then a `Done`.
    Transfer {
        xid: Xid,
        peer: NodeId,
        filter: Match,
        lock: ExportLock,
    },
    /// OpenNF's P2P `accept(srcInst)`: import the states `peer` sends (`import_per_flow` each),
    /// keep its packets of a flow until that flow's state is in, and say `TransferDone` when
    /// every state is.
    Accept {
        xid: Xid,
        peer: NodeId,
        id: u64,
    },
    /// SHarP's HSL asks the NF's own state management to move these flows' state to `peer`
    /// (a P2P `Transfer` of exactly these flows, the "exact flow identifiers" SHarP III-B says
    /// HSL hands to it).
    TransferFlows {
        xid: Xid,
        peer: NodeId,
        flows: Vec<FiveTuple>,
        lock: Option<ExportLock>,
        /// Names the transfer in its peer messages: the `id` of the peer's `Accept`, so one
        /// instance can accept several transfers at once.
        id: u64,
    },
    /// Hold packets matching `filter` that arrive directly (not `RELEASED` by the controller)
    /// until a marker with id `id` arrives; then process them in arrival order.
    Hold {
        id: u64,
        filter: Match,
    },
    /// Exports from now on skip flows not seen within `active_within` (`None`: every flow
    /// with state is exported). The state of the skipped flows stays here, as if expired.
    SetExportWindow {
        active_within: Option<Dur>,
    },
    /// U-HAUL's `getElephant` (filter API, section 3.2): run the elephant detection module
    /// over the active flows matching `filter` and answer with `SetFilter`.
    GetElephant {
        xid: Xid,
        filter: Match,
        detection: Detection,
    },
    /// E2's manager to the E2D (software dataplane) of the instance's server (E2 section
    /// 5.4's range filters and exceptions); a driver hands it to the server's
    /// [`crate::e2::migration::E2d`], an instance without one ignores it.
    E2d(crate::e2::migration::E2dCmd),
}

/// NF to controller.
#[derive(Clone, Debug, PartialEq)]
pub enum NfEvent {
    /// One exported flow's state.
    PerflowChunk {
        xid: Xid,
        flow: FlowId,
        state: Box<FlowState>,
    },
    /// The export `xid` is complete after `flows` chunks.
    PerflowDone {
        xid: Xid,
        flows: u64,
    },
    PutDone {
        xid: Xid,
        flows: u64,
    },
    DelDone {
        xid: Xid,
        flows: u64,
    },
    /// P2P: every state `peer` sent has been imported (answers `Accept { xid }`).
    TransferDone {
        xid: Xid,
        flows: u64,
    },
    /// SHarP: a reply of the handover support layer (`ACK`, released).
    Hsl(crate::sharp::HslReply),
    /// E2: an event of the E2D of the instance's server (flows ending, the split's filters in
    /// place, the remaining exceptions).
    E2d(crate::e2::migration::E2dEvent),
    /// Hold `id` ended: its marker arrived (behind every packet released before it) and the
    /// held packets are being served (OpenNF's order-preserving move waits for this).
    HoldEnded {
        id: u64,
    },
    /// A packet of a flow under lock `id` (or a marker that met the lock). `exported`: the
    /// flow is one the lock's export covers (not a flow new during the move).
    Packet {
        id: u64,
        packet: Packet,
        exported: bool,
    },
    /// U-HAUL's `SetFilter` (answers `GetElephant { xid }`): the 5-tuples of the selected
    /// elephants, largest first, with the active flows the detection looked at.
    SetFilter {
        xid: Xid,
        flows: Vec<FiveTuple>,
        active: u64,
    },
}

/// Why an instance dropped a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NfDrop {
    /// The input queue was full.
    Queue,
    /// The instance is down.
    Down,
    /// A lock said so (OpenNF's move without guarantees).
    Protocol,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NfOutput {
    /// A processed (or forwarded-unseen) packet leaves through the instance's port.
    Transmit(Packet),
    ToController(NfEvent),
    Dropped {
        packet: Packet,
        cause: NfDrop,
    },
    /// State was created for a flow (a log event).
    StateCreated {
        flow: FlowId,
    },
    /// To another instance, over their own link (P2P transfer).
    ToPeer {
        peer: NodeId,
        msg: PeerMsg,
    },
}

/// Instance to instance (OpenNF's P2P transfer).
#[derive(Clone, Debug, PartialEq)]
pub enum PeerMsg {
    State {
        id: u64,
        flow: FlowId,
        state: Box<FlowState>,
    },
    /// A packet the sender's lock caught (or the move's marker, after every such packet).
    Packet {
        id: u64,
        packet: Packet,
    },
    /// The sender sent `flows` states.
    Done {
        id: u64,
        flows: u64,
    },
}

impl PeerMsg {
    /// Bytes on the wire: the state's size, the packet's, or a small control message.
    pub fn wire_bytes(&self, state_bytes: u32) -> u32 {
        match self {
            PeerMsg::State { .. } => state_bytes,
            PeerMsg::Packet { packet, .. } => packet.size_bytes,
            PeerMsg::Done { .. } => 64,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NfStats {
    pub processed: u64,
    pub suppressed: u64,
    pub forwarded_unseen: u64,
    pub queue_drops: u64,
    pub down_drops: u64,
    pub max_queue: u64,
    pub flows_exported: u64,
    pub flows_imported: u64,
    pub events_raised: u64,
    /// Packets of a moving flow not cloned because they change no state (selective cloning).
    pub clones_skipped: u64,
    pub protocol_drops: u64,
    pub held: u64,
}

enum ControlOp {
    Export {
        xid: Xid,
        lock: Option<ExportLock>,
        flows: Vec<FlowId>,
        next: usize,
        /// P2P: chunks go to this instance, not the controller.
        peer: Option<NodeId>,
        sent: u64,
        /// Names the export in its peer messages.
        id: u64,
    },
    Import {
        xid: Xid,
        states: Vec<(FlowId, FlowState)>,
    },
    /// P2P: one flow's state from the peer.
    PeerImport {
        id: u64,
        flow: FlowId,
        state: Box<FlowState>,
    },
}

/// P2P: what an accepting instance keeps.
struct Accepting {
    /// The transfer's name in the peer's messages.
    id: u64,
    xid: Xid,
    imported: std::collections::BTreeSet<FlowId>,
    /// The peer's packets of flows whose state is not in yet.
    waiting: std::collections::BTreeMap<FlowId, VecDeque<Packet>>,
    /// States the peer said it sent (after its `Done`).
    expected: Option<u64>,
    complete: bool,
}

/// A lock raising packet events: every flow matching `filter` that has no state here, plus the
/// flows in `flows` (late locking adds them one by one; otherwise all at once).
struct Lock {
    id: u64,
    action: EventAction,
    filter: Match,
    flows: std::collections::BTreeSet<FlowId>,
    /// Flows the filter caught while they had no state here. With `Copy` their first packet
    /// creates state, so they are remembered to stay locked.
    new_flows: std::collections::BTreeSet<FlowId>,
    /// P2P: what the lock catches goes to this instance instead of the controller.
    peer: Option<NodeId>,
}

struct HoldBuf {
    id: u64,
    filter: Match,
    packets: VecDeque<Packet>,
}

/// The NF machine. Call contract as every machine's (see the crate doc).
pub struct Nf {
    cfg: NfConfig,
    queue: VecDeque<Packet>,
    in_service: Option<(Packet, Time)>,
    state: FxHashMap<FlowId, FlowState>,
    create_state: bool,
    unseen_tag: u16,
    /// Flows handed back (or deleted) while `create_state` was off: another instance owns them.
    handed_off: std::collections::BTreeSet<FlowId>,
    control: VecDeque<ControlOp>,
    control_done_at: Option<Time>,
    locks: Vec<Lock>,
    holds: Vec<HoldBuf>,
    /// Released held packets, served before the input queue.
    backlog: VecDeque<Packet>,
    /// P2P transfers being accepted, one per `Accept` id (OpenNF has one at a time; SHarP's
    /// per-flow handovers can overlap).
    accepting: Vec<Accepting>,
    /// U-HAUL's flow monitor (section 3.1), fed by every data packet that arrives.
    fit: FlowInfoTable,
    export_window: Option<Dur>,
    up: bool,
    out: VecDeque<NfOutput>,
    stats: NfStats,
}

impl Nf {
    pub fn new(cfg: NfConfig) -> Nf {
        let fit_window = cfg.fit_window;
        Nf {
            cfg,
            queue: VecDeque::new(),
            in_service: None,
            state: FxHashMap::default(),
            create_state: true,
            unseen_tag: 0,
            handed_off: std::collections::BTreeSet::new(),
            control: VecDeque::new(),
            control_done_at: None,
            locks: Vec::new(),
            holds: Vec::new(),
            backlog: VecDeque::new(),
            accepting: Vec::new(),
            fit: FlowInfoTable::new(fit_window),
            export_window: None,
            up: true,
            out: VecDeque::new(),
            stats: NfStats::default(),
        }
    }

    pub fn stats(&self) -> &NfStats {
        &self.stats
    }

    /// U-HAUL's flow information table.
    pub fn fit(&self) -> &FlowInfoTable {
        &self.fit
    }

    pub fn config(&self) -> &NfConfig {
        &self.cfg
    }

    pub fn flow_state(&self, f: FlowId) -> Option<&FlowState> {
        self.state.get(&f)
    }

    /// Every flow's state, sorted by flow id (for the oracle and reports).
    pub fn states(&self) -> Vec<(FlowId, &FlowState)> {
        let mut v: Vec<_> = self.state.iter().map(|(f, s)| (*f, s)).collect();
        v.sort_by_key(|e| e.0);
        v
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Data packets the instance holds: waiting, in service, or held for a move.
    pub fn holding(&self) -> usize {
        let data = |p: &Packet| usize::from(p.is_data());
        self.queue.iter().map(data).sum::<usize>()
            + self.in_service.as_ref().map_or(0, |(p, _)| data(p))
            + self.holds.iter().flat_map(|h| h.packets.iter()).map(data).sum::<usize>()
            + self.backlog.iter().map(data).sum::<usize>()
            + self
                .accepting
                .iter()
                .flat_map(|a| a.waiting.values().flatten())
                .map(data)
                .sum::<usize>()
    }

    /// Ends hold `id`: its packets are already inside the instance, in their own buffer; they
    /// are served before the input queue (everything in it that matches arrived after them)
    /// and do not count against its bound.
    fn end_hold(&mut self, now: Time, id: u64) {
        if let Some(i) = self.holds.iter().position(|h| h.id == id) {
            let h = self.holds.remove(i);
            self.backlog.extend(h.packets);
            self.out.push_back(NfOutput::ToController(NfEvent::HoldEnded { id }));
            if self.in_service.is_none() {
                self.in_service = self.next_to_serve().map(|p| (p, now + self.cfg.service));
            }
        }
    }

    fn next_to_serve(&mut self) -> Option<Packet> {
        self.backlog.pop_front().or_else(|| self.queue.pop_front())
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn handle_packet(&mut self, now: Time, pkt: Packet) {
        if !self.up {
            if !pkt.flags.contains(Flags::MARKER) {
                self.stats.down_drops += 1;
                self.out.push_back(NfOutput::Dropped { packet: pkt, cause: NfDrop::Down });
            }
            return;
        }
        if pkt.is_data() {
            self.fit.on_packet(now, &pkt.tuple, pkt.hash, pkt.size_bytes);
        }
        if pkt.flags.contains(Flags::MARKER) {
            // A marker ends the hold it names; otherwise it queues behind the data before it.
            let id = pkt.seq as u64;
            if self.holds.iter().any(|h| h.id == id) {
                if !self.queue.is_empty() {
                    // Packets released before the marker still wait in the input queue: the
                    // hold ends when the marker reaches the server behind them, not before
                    // (the held packets are newer). A marker takes no room in the queue.
                    self.queue.push_back(pkt);
                    return;
                }
                self.end_hold(now, id);
                return;
            }
        } else if !pkt.flags.contains(Flags::RELEASED) {
            if let Some(h) = self.holds.iter_mut().find(|h| h.filter.matches_flow(&pkt)) {
                self.stats.held += 1;
                h.packets.push_back(pkt);
                return;
            }
        }
        self.admit(now, pkt);
    }

    /// A packet enters the queue (or the idle server).
    fn admit(&mut self, now: Time, pkt: Packet) {
        // A marker is no flow: it always queues behind the packets before it.
        if pkt.is_data()
            && !self.state.contains_key(&pkt.flow)
            && (!self.create_state || self.handed_off.contains(&pkt.flow))
        {
            if !self.create_state {
                self.handed_off.insert(pkt.flow);
            }
            let mut p = pkt;
            p.tag = self.unseen_tag;
            self.stats.forwarded_unseen += 1;
            self.out.push_back(NfOutput::Transmit(p));
            return;
        }
        if self.in_service.is_none() {
            self.in_service = Some((pkt, now + self.cfg.service));
            return;
        }
        if self.queue.len() >= self.cfg.queue_capacity as usize {
            self.stats.queue_drops += 1;
            self.out.push_back(NfOutput::Dropped { packet: pkt, cause: NfDrop::Queue });
            return;
        }
        self.queue.push_back(pkt);
        self.stats.max_queue = self.stats.max_queue.max(self.queue.len() as u64);
    }

    fn finish_service(&mut self, now: Time) {
        let Some((pkt, done)) = self.in_service else { return };
        if done > now {
            return;
        }
        // The next packet starts when this one ends (a busy server wastes no time).
        self.in_service = self.next_to_serve().map(|p| (p, done + self.cfg.service));
        if pkt.flags.contains(Flags::MARKER) {
            // A marker queued behind released packets ends its hold once they are served.
            if self.holds.iter().any(|h| h.id == pkt.seq as u64) {
                self.end_hold(now, pkt.seq as u64);
            }
            // A marker that meets a lock goes to the controller: everything before it has.
            if let Some(l) = self.locks.iter().find(|l| l.id == pkt.seq as u64) {
                let id = l.id;
                self.out.push_back(match l.peer {
                    Some(peer) => {
                        NfOutput::ToPeer { peer, msg: PeerMsg::Packet { id, packet: pkt } }
                    }
                    None => {
                        NfOutput::ToController(NfEvent::Packet { id, packet: pkt, exported: false })
                    }
                });
            }
            return;
        }
        // OpenNF: a locked flow's packet is not processed (its state is being, or has been,
        // exported); it is dropped or raised to the controller. With reprocessing it is
        // processed, and a copy goes to the controller.
        let has_state = self.state.contains_key(&pkt.flow);
        let updates = self.cfg.state_updates.updates(pkt.seq, pkt.flags.contains(Flags::LAST));
        if let Some(l) = self.locks.iter_mut().find(|l| {
            l.flows.contains(&pkt.flow)
                || l.new_flows.contains(&pkt.flow)
                || (!has_state && l.filter.matches_flow(&pkt))
        }) {
            let (id, exported) = (l.id, l.flows.contains(&pkt.flow));
            if !exported {
                l.new_flows.insert(pkt.flow);
            }
            match l.action {
                EventAction::Drop => {
                    self.stats.protocol_drops += 1;
                    self.out.push_back(NfOutput::Dropped { packet: pkt, cause: NfDrop::Protocol });
                    return;
                }
                EventAction::Buffer => {
                    self.stats.events_raised += 1;
                    self.out.push_back(match l.peer {
                        Some(peer) => {
                            NfOutput::ToPeer { peer, msg: PeerMsg::Packet { id, packet: pkt } }
                        }
                        None => {
                            NfOutput::ToController(NfEvent::Packet { id, packet: pkt, exported })
                        }
                    });
                    return;
                }
                EventAction::Copy if self.cfg.selective_cloning && !updates => {
                    // Selective cloning: dstInst would learn nothing from reprocessing it.
                    self.stats.clones_skipped += 1;
                }
                EventAction::Copy => {
                    // The copy leaves before this packet's chunk could: an export completing
                    // later includes the update, and the controller knows to skip the copy.
                    // It is marked do-not-output from birth: it exists only to update state.
                    self.stats.events_raised += 1;
                    let mut copy = pkt;
                    copy.flags.insert(Flags::DO_NOT_OUTPUT);
                    let ev = NfEvent::Packet { id, packet: copy, exported };
                    self.out.push_back(NfOutput::ToController(ev));
                }
            }
        }
        if self.cfg.state_updates == StateUpdates::Stateless {
            // No per-flow state to create or update: the packet is processed and output.
            self.stats.processed += 1;
            if pkt.flags.contains(Flags::DO_NOT_OUTPUT) {
                self.stats.suppressed += 1;
            } else {
                self.out.push_back(NfOutput::Transmit(pkt));
            }
            return;
        }
        let st = self.state.entry(pkt.flow).or_insert_with(|| {
            self.out.push_back(NfOutput::StateCreated { flow: pkt.flow });
            FlowState {
                tuple: pkt.tuple,
                hash: pkt.hash,
                packets: 0,
                bytes: 0,
                created: now,
                last_seen: now,
                log: UpdateLog::default(),
            }
        });
        st.packets += 1;
        st.bytes += pkt.size_bytes as u64;
        st.last_seen = now;
        if updates {
            st.log.apply(now, pkt.seq);
        }
        self.stats.processed += 1;
        if pkt.flags.contains(Flags::DO_NOT_OUTPUT) {
            self.stats.suppressed += 1;
        } else {
            self.out.push_back(NfOutput::Transmit(pkt));
        }
    }

    pub fn handle_ctrl(&mut self, now: Time, msg: NfCtrl) {
        match msg {
            NfCtrl::GetPerflow { xid, filter, lock } => {
                self.start_export(now, xid, filter, lock, None)
            }
            NfCtrl::Transfer { xid, peer, filter, lock } => {
                self.start_export(now, xid, filter, Some(lock), Some(peer))
            }
            NfCtrl::TransferFlows { xid, peer, flows, lock, id } => {
                let mut ids: Vec<FlowId> = self
                    .state
                    .iter()
                    .filter(|(_, s)| flows.contains(&s.tuple))
                    .map(|(f, _)| *f)
                    .collect();
                ids.sort_unstable();
                // A filter that selects no flow: only the listed flows are locked.
                let none = Match::hash_range(0, 0);
                self.push_export(xid, none, ids, lock, Some(peer), id);
            }
            NfCtrl::Accept { xid, id, .. } => {
                self.accepting.retain(|a| a.id != id);
                self.accepting.push(Accepting {
                    id,
                    xid,
                    imported: Default::default(),
                    waiting: Default::default(),
                    expected: None,
                    complete: false,
                });
            }
            NfCtrl::PutPerflow { xid, states } => {
                self.control.push_back(ControlOp::Import { xid, states })
            }
            NfCtrl::DelPerflow { xid, filter } => {
                let before = self.state.len();
                if !self.create_state {
                    let gone = self.state.iter().filter(|(_, s)| filter_matches_state(&filter, s));
                    self.handed_off.extend(gone.map(|(f, _)| *f));
                }
                self.state.retain(|_, s| !filter_matches_state(&filter, s));
                let flows = (before - self.state.len()) as u64;
                self.out.push_back(NfOutput::ToController(NfEvent::DelDone { xid, flows }));
            }
            NfCtrl::SetCreateState { create, unseen_tag } => {
                self.create_state = create;
                self.unseen_tag = unseen_tag;
            }
            NfCtrl::DisableEvents { id } => self.locks.retain(|l| l.id != id),
            NfCtrl::Hold { id, filter } => {
                self.holds.push(HoldBuf { id, filter, packets: VecDeque::new() })
            }
            NfCtrl::SetExportWindow { active_within } => self.export_window = active_within,
            NfCtrl::GetElephant { xid, filter, detection } => {
                let active = self.fit.active(now, &filter);
                let n = crate::uhaul::select(&active, detection);
                let flows = active[..n].iter().map(|e| e.tuple).collect();
                let active = active.len() as u64;
                self.out.push_back(NfOutput::ToController(NfEvent::SetFilter {
                    xid,
                    flows,
                    active,
                }));
            }
            // The server's E2D, not the instance, acts on these (the driver routes them).
            NfCtrl::E2d(_) => {}
        }
        if self.control_done_at.is_none() {
            self.start_control(now);
        }
    }

    /// Queues an export of the flows matching `filter` that have state here now (to the
    /// controller, or to `peer` for a P2P transfer), and puts their lock in place.
    fn start_export(
        &mut self,
        now: Time,
        xid: Xid,
        filter: Match,
        lock: Option<ExportLock>,
        peer: Option<NodeId>,
    ) {
        let mut flows: Vec<FlowId> = self
            .state
            .iter()
            .filter(|(_, s)| filter_matches_state(&filter, s))
            .filter(|(_, s)| self.export_window.is_none_or(|w| s.last_seen + w >= now))
            .map(|(f, _)| *f)
            .collect();
        flows.sort_unstable();
        self.push_export(xid, filter, flows, lock, peer, lock.map_or(0, |l| l.id));
    }

    fn push_export(
        &mut self,
        xid: Xid,
        filter: Match,
        flows: Vec<FlowId>,
        lock: Option<ExportLock>,
        peer: Option<NodeId>,
        id: u64,
    ) {
        if let Some(l) = lock {
            let locked = if l.late { Default::default() } else { flows.iter().copied().collect() };
            self.locks.push(Lock {
                id: l.id,
                action: l.action,
                filter,
                flows: locked,
                new_flows: Default::default(),
                peer,
            });
        }
        let export = ControlOp::Export { xid, lock, flows, next: 0, peer, sent: 0, id };
        self.control.push_back(export);
    }

    /// Starts the next step of the control thread: the next flow of an export (late locking
    /// locks it now), or a whole import.
    fn start_control(&mut self, now: Time) {
        self.control_done_at = match self.control.front() {
            None => None,
            Some(ControlOp::Export { lock, flows, next, .. }) => {
                if let (Some(l), Some(f)) = (lock, flows.get(*next)) {
                    if l.late {
                        if let Some(lk) = self.locks.iter_mut().find(|k| k.id == l.id) {
                            lk.flows.insert(*f);
                        }
                    }
                }
                // An export of no flows still takes one step to answer.
                let per = if flows.is_empty() { Dur::ZERO } else { self.cfg.export_per_flow };
                Some(now + per)
            }
            Some(ControlOp::PeerImport { .. }) => Some(now + self.cfg.import_per_flow),
            Some(ControlOp::Import { states, .. }) => Some(
                now + Dur::from_nanos(self.cfg.import_per_flow.as_nanos() * states.len() as u64),
            ),
        };
    }

    fn finish_control(&mut self, now: Time) {
        if self.control_done_at.is_none_or(|t| t > now) {
            return;
        }
        let op = self.control.front_mut().expect("invariant: a control op in progress");
        match op {
            ControlOp::Export { xid, flows, next, peer, sent, id, .. } => {
                let (xid, id) = (*xid, *id);
                if let Some(&flow) = flows.get(*next) {
                    *next += 1;
                    // A flow whose state went away meanwhile (deleted) exports nothing.
                    if let Some(st) = self.state.get(&flow) {
                        self.stats.flows_exported += 1;
                        *sent += 1;
                        let state = Box::new(st.clone());
                        self.out.push_back(match *peer {
                            Some(peer) => {
                                NfOutput::ToPeer { peer, msg: PeerMsg::State { id, flow, state } }
                            }
                            None => {
                                NfOutput::ToController(NfEvent::PerflowChunk { xid, flow, state })
                            }
                        });
                    }
                }
                let (done, n, sent, peer) =
                    (*next >= flows.len(), flows.len() as u64, *sent, *peer);
                if done {
                    self.control.pop_front();
                    self.out.push_back(match peer {
                        Some(peer) => {
                            NfOutput::ToPeer { peer, msg: PeerMsg::Done { id, flows: sent } }
                        }
                        None => NfOutput::ToController(NfEvent::PerflowDone { xid, flows: n }),
                    });
                }
            }
            ControlOp::PeerImport { .. } => {
                let Some(ControlOp::PeerImport { id, flow, state }) = self.control.pop_front()
                else {
                    unreachable!("invariant: matched a peer import")
                };
                self.stats.flows_imported += 1;
                self.state.insert(flow, *state);
                if let Some(a) = self.session(id) {
                    a.imported.insert(flow);
                    // The flow's packets that came over the peer link go first.
                    if let Some(w) = a.waiting.remove(&flow) {
                        self.backlog.extend(w);
                    }
                }
                self.check_transfer_done(now);
            }
            ControlOp::Import { .. } => {
                let Some(ControlOp::Import { xid, states }) = self.control.pop_front() else {
                    unreachable!("invariant: matched an import")
                };
                let flows = states.len() as u64;
                self.stats.flows_imported += flows;
                for (f, s) in states {
                    self.state.insert(f, s);
                }
                self.out.push_back(NfOutput::ToController(NfEvent::PutDone { xid, flows }));
            }
        }
        self.start_control(now);
    }

    /// A message from a peer instance (P2P transfer).
    pub fn handle_peer(&mut self, now: Time, msg: PeerMsg) {
        match msg {
            PeerMsg::State { id, flow, state } => {
                self.control.push_back(ControlOp::PeerImport { id, flow, state });
                if self.control_done_at.is_none() {
                    self.start_control(now);
                }
            }
            PeerMsg::Packet { id, packet } if packet.flags.contains(Flags::MARKER) => {
                // The peer has sent everything its lock caught: a hold for this move ends, and
                // the controller learns the move's packets are all here.
                if let Some(i) = self.holds.iter().position(|h| h.id == id) {
                    let h = self.holds.remove(i);
                    self.backlog.extend(h.packets);
                }
                let ev = NfEvent::Packet { id, packet, exported: false };
                self.out.push_back(NfOutput::ToController(ev));
                self.serve_if_idle(now);
            }
            PeerMsg::Packet { id, packet } => {
                let ready = match self.session(id) {
                    Some(a) if !a.complete && !a.imported.contains(&packet.flow) => {
                        a.waiting.entry(packet.flow).or_default().push_back(packet);
                        false
                    }
                    _ => true,
                };
                if ready {
                    // Peer packets precede the direct arrivals of their flow.
                    self.backlog.push_back(packet);
                    self.serve_if_idle(now);
                }
            }
            PeerMsg::Done { id, flows } => {
                if let Some(a) = self.session(id) {
                    a.expected = Some(flows);
                }
                self.check_transfer_done(now);
            }
        }
    }

    fn serve_if_idle(&mut self, now: Time) {
        if self.in_service.is_none() {
            self.in_service = self.next_to_serve().map(|p| (p, now + self.cfg.service));
        }
    }

    /// Every state the peer sent is in: release the packets of flows that had none (new during
    /// the move) and tell the controller.
    fn check_transfer_done(&mut self, now: Time) {
        let mut any = false;
        for a in &mut self.accepting {
            if a.complete || a.expected.is_none_or(|n| (a.imported.len() as u64) < n) {
                continue;
            }
            a.complete = true;
            let (xid, flows) = (a.xid, a.imported.len() as u64);
            let rest: Vec<Packet> =
                std::mem::take(&mut a.waiting).into_values().flatten().collect();
            self.backlog.extend(rest);
            self.out.push_back(NfOutput::ToController(NfEvent::TransferDone { xid, flows }));
            any = true;
        }
        if any {
            self.serve_if_idle(now);
        }
    }

    /// The accepted transfer a peer message names; a peer that names none it was told of
    /// (an id of 0) feeds the latest.
    fn session(&mut self, id: u64) -> Option<&mut Accepting> {
        match self.accepting.iter().position(|a| a.id == id) {
            Some(i) => self.accepting.get_mut(i),
            None => self.accepting.last_mut(),
        }
    }

    /// The instance fails: everything queued or in service is dropped (returned as outputs).
    pub fn fail(&mut self) {
        self.up = false;
        let lost: Vec<Packet> = self
            .in_service
            .take()
            .map(|p| p.0)
            .into_iter()
            .chain(self.backlog.drain(..))
            .chain(self.queue.drain(..))
            .chain(self.holds.iter_mut().flat_map(|h| h.packets.drain(..)).collect::<Vec<_>>())
            .collect();
        for packet in lost.into_iter().filter(|p| !p.flags.contains(Flags::MARKER)) {
            self.stats.down_drops += 1;
            self.out.push_back(NfOutput::Dropped { packet, cause: NfDrop::Down });
        }
    }

    /// The instance is restored, empty, with the state it had.
    pub fn restore(&mut self) {
        self.up = true;
    }

    pub fn handle_timeout(&mut self, now: Time) {
        // Several packets may complete by `now` if the driver woke late; finish them in order.
        while self.in_service.is_some_and(|(_, t)| t <= now) {
            self.finish_service(now);
        }
        self.finish_control(now);
    }

    pub fn poll_output(&mut self) -> Option<NfOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        match (self.in_service.map(|s| s.1), self.control_done_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Does an NF flow filter select this flow? Filters look at the 5-tuple and hash only.
fn filter_matches_state(filter: &Match, s: &FlowState) -> bool {
    filter.matches_tuple(&s.tuple, s.hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(flow: u64, seq: u32, flags: Flags) -> Packet {
        Packet { flags, ..Packet::for_test(flow, seq) }
    }

    /// The marker that ends hold (or lock) `id`.
    fn marker(id: u32) -> Packet {
        Packet {
            flow: crate::packet::MARKER_FLOW,
            seq: id,
            flags: Flags::MARKER,
            ..pkt(0, 0, Flags::empty())
        }
    }

    fn nf(queue: u32) -> Nf {
        Nf::new(NfConfig { queue_capacity: queue, ..NfConfig::default() })
    }

    /// Runs every timeout and returns all outputs.
    fn settle(n: &mut Nf) -> Vec<NfOutput> {
        let mut out = vec![];
        loop {
            out.extend(std::iter::from_fn(|| n.poll_output()));
            match n.poll_timeout() {
                Some(t) => n.handle_timeout(t),
                None => return out,
            }
        }
    }

    /// SHarP's per-flow handovers: two transfers from the same peer at once, each accepted
    /// under its own id, each answered by its own `TransferDone`.
    #[test]
    fn two_accepted_transfers_from_one_peer_complete_each_on_its_own() {
        let (mut src, mut dst) = (nf(10), nf(10));
        for f in [1, 2] {
            src.handle_packet(Time::ZERO, pkt(f, 0, Flags::empty()));
        }
        settle(&mut src);
        let (a, b) = (Xid(1), Xid(2));
        dst.handle_ctrl(Time::ZERO, NfCtrl::Accept { xid: a, peer: NodeId(1), id: 10 });
        dst.handle_ctrl(Time::ZERO, NfCtrl::Accept { xid: b, peer: NodeId(1), id: 20 });
        for (f, id) in [(1, 10), (2, 20)] {
            let flows = vec![Packet::for_test(f, 0).tuple];
            let t = NfCtrl::TransferFlows { xid: Xid(9), peer: NodeId(2), flows, lock: None, id };
            src.handle_ctrl(Time::ZERO, t);
        }
        let mut done = Vec::new();
        for o in settle(&mut src) {
            if let NfOutput::ToPeer { msg, .. } = o {
                dst.handle_peer(Time::ZERO, msg);
                for o in settle(&mut dst) {
                    if let NfOutput::ToController(NfEvent::TransferDone { xid, flows }) = o {
                        done.push((xid, flows));
                    }
                }
            }
        }
        assert_eq!(done, vec![(a, 1), (b, 1)]);
    }

    #[test]
    fn output_suppression_updates_state_and_outputs_nothing() {
        let mut n = nf(10);
        n.handle_packet(Time::ZERO, pkt(1, 0, Flags::DO_NOT_OUTPUT));
        n.handle_packet(Time::ZERO, pkt(1, 1, Flags::DO_NOT_OUTPUT));
        let out = settle(&mut n);
        assert!(!out.iter().any(|o| matches!(o, NfOutput::Transmit(_))), "{out:?}");
        let st = n.flow_state(FlowId(1)).unwrap();
        assert_eq!((st.packets, st.log.updates), (2, 2));
        assert_eq!(n.stats().suppressed, 2);
    }

    #[test]
    fn packets_are_served_one_at_a_time_and_a_full_queue_drops() {
        let mut n = nf(1);
        for s in 0..3 {
            n.handle_packet(Time::ZERO, pkt(1, s, Flags::empty()));
        }
        // One in service, one waiting, the third dropped.
        let out = settle(&mut n);
        assert!(matches!(out[0], NfOutput::Dropped { cause: NfDrop::Queue, .. }));
        let sent: Vec<_> = out.iter().filter(|o| matches!(o, NfOutput::Transmit(_))).collect();
        assert_eq!(sent.len(), 2);
        assert_eq!(n.stats().queue_drops, 1);
    }

    #[test]
    fn export_and_import_take_their_cost_and_carry_the_log() {
        let mut a = nf(10);
        for s in 0..3 {
            a.handle_packet(Time::ZERO, pkt(1, s, Flags::empty()));
            a.handle_packet(Time::ZERO, pkt(2, s, Flags::empty()));
        }
        settle(&mut a);
        let t0 = Time::ZERO + Dur::from_millis(1);
        let filter = Match { sport: Some(2), ..Match::any() };
        a.handle_ctrl(t0, NfCtrl::GetPerflow { xid: Xid(1), filter, lock: None });
        // One flow matches: 5 us of export.
        assert_eq!(a.poll_timeout(), Some(t0 + Dur::from_micros(5)));
        let out = settle(&mut a);
        let NfOutput::ToController(NfEvent::PerflowChunk { flow, state, .. }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(*flow, FlowId(2));
        assert_eq!(out[1], NfOutput::ToController(NfEvent::PerflowDone { xid: Xid(1), flows: 1 }));
        let states = vec![(*flow, (**state).clone())];
        let mut b = nf(10);
        b.handle_ctrl(t0, NfCtrl::PutPerflow { xid: Xid(2), states });
        let out = settle(&mut b);
        assert_eq!(out, vec![NfOutput::ToController(NfEvent::PutDone { xid: Xid(2), flows: 1 })]);
        assert_eq!(b.flow_state(FlowId(2)).unwrap().log, a.flow_state(FlowId(2)).unwrap().log);
    }

    #[test]
    fn with_state_creation_off_unseen_flows_are_tagged_and_sent_on() {
        let mut n = nf(10);
        n.handle_packet(Time::ZERO, pkt(1, 0, Flags::empty()));
        settle(&mut n);
        n.handle_ctrl(Time::ZERO, NfCtrl::SetCreateState { create: false, unseen_tag: 7 });
        n.handle_packet(Time::ZERO, pkt(2, 0, Flags::empty())); // unseen
        n.handle_packet(Time::ZERO, pkt(1, 1, Flags::empty())); // known: processed
        let out = settle(&mut n);
        assert!(matches!(&out[0], NfOutput::Transmit(p) if p.flow == FlowId(2) && p.tag == 7));
        assert!(n.flow_state(FlowId(2)).is_none());
        assert_eq!(n.flow_state(FlowId(1)).unwrap().packets, 2);
    }

    #[test]
    fn with_state_creation_on_again_handed_back_flows_stay_handed_back_and_new_ones_get_state() {
        let mut n = nf(10);
        n.handle_ctrl(Time::ZERO, NfCtrl::SetCreateState { create: false, unseen_tag: 7 });
        n.handle_packet(Time::ZERO, pkt(2, 0, Flags::empty())); // handed back
        settle(&mut n);
        n.handle_ctrl(Time::ZERO, NfCtrl::SetCreateState { create: true, unseen_tag: 7 });
        n.handle_packet(Time::ZERO, pkt(2, 1, Flags::empty())); // still another's
        n.handle_packet(Time::ZERO, pkt(3, 0, Flags::empty())); // never seen: new state
        let out = settle(&mut n);
        assert!(matches!(&out[0], NfOutput::Transmit(p) if p.flow == FlowId(2) && p.tag == 7));
        assert!(n.flow_state(FlowId(2)).is_none());
        assert_eq!(n.flow_state(FlowId(3)).unwrap().packets, 1);
    }

    #[test]
    fn a_failed_instance_drops_what_it_held_and_what_arrives() {
        let mut n = nf(10);
        for s in 0..3 {
            n.handle_packet(Time::ZERO, pkt(1, s, Flags::empty()));
        }
        n.fail();
        n.handle_packet(Time::ZERO, pkt(1, 3, Flags::empty()));
        let out = settle(&mut n);
        assert_eq!(
            out.iter()
                .filter(|o| matches!(o, NfOutput::Dropped { cause: NfDrop::Down, .. }))
                .count(),
            4
        );
    }

    #[test]
    fn a_firewall_updates_state_on_connection_set_up_and_teardown_only() {
        let cfg = NfConfig { state_updates: StateUpdates::ConnectionEvents, ..NfConfig::default() };
        let mut n = Nf::new(cfg);
        for s in 0..5 {
            let flags = if s == 4 { Flags::LAST } else { Flags::empty() };
            n.handle_packet(Time::ZERO, pkt(1, s, flags));
        }
        let out = settle(&mut n);
        // Every packet is processed and output; two of them change the state.
        assert_eq!(out.iter().filter(|o| matches!(o, NfOutput::Transmit(_))).count(), 5);
        let st = n.flow_state(FlowId(1)).unwrap();
        assert_eq!(st.packets, 5);
        assert_eq!(st.log.applied.iter().collect::<Vec<_>>(), vec![0, 4]);
    }

    #[test]
    fn a_stateless_nf_processes_and_outputs_every_packet_and_keeps_no_state() {
        let cfg = NfConfig { state_updates: StateUpdates::Stateless, ..NfConfig::default() };
        let mut n = Nf::new(cfg);
        for s in 0..3 {
            let flags = if s == 2 { Flags::LAST } else { Flags::empty() };
            n.handle_packet(Time::ZERO, pkt(1, s, flags));
            n.handle_packet(Time::ZERO, pkt(2, s, flags));
        }
        let out = settle(&mut n);
        assert_eq!(out.iter().filter(|o| matches!(o, NfOutput::Transmit(_))).count(), 6);
        assert!(!out.iter().any(|o| matches!(o, NfOutput::StateCreated { .. })));
        assert_eq!(n.stats().processed, 6);
        assert!(n.states().is_empty());
    }

    /// HotMiddlebox section 4: with reprocessing, a firewall that clones selectively sends the
    /// controller only the packets that change state; one that does not, sends them all.
    #[test]
    fn selective_cloning_copies_only_the_packets_that_update_state() {
        for selective in [false, true] {
            let cfg = NfConfig {
                state_updates: StateUpdates::ConnectionEvents,
                selective_cloning: selective,
                ..NfConfig::default()
            };
            let mut n = Nf::new(cfg);
            n.handle_packet(Time::ZERO, pkt(1, 0, Flags::empty()));
            settle(&mut n);
            let t0 = Time::ZERO + Dur::from_millis(1);
            let lock = ExportLock { id: 4, action: EventAction::Copy, late: false };
            let get = NfCtrl::GetPerflow { xid: Xid(1), filter: Match::any(), lock: Some(lock) };
            n.handle_ctrl(t0, get);
            n.handle_packet(t0, pkt(1, 1, Flags::empty())); // reads the state
            n.handle_packet(t0, pkt(1, 2, Flags::LAST)); // teardown: an update
            n.handle_packet(t0, pkt(2, 0, Flags::empty())); // a new connection: an update
            let out = settle(&mut n);
            let copies: Vec<(u64, u32)> = out
                .iter()
                .filter_map(|o| match o {
                    NfOutput::ToController(NfEvent::Packet { id: 4, packet, .. }) => {
                        assert!(packet.flags.contains(Flags::DO_NOT_OUTPUT));
                        Some((packet.flow.0, packet.seq))
                    }
                    _ => None,
                })
                .collect();
            // srcInst keeps processing and outputting all of them either way.
            assert_eq!(out.iter().filter(|o| matches!(o, NfOutput::Transmit(_))).count(), 3);
            if selective {
                assert_eq!(copies, vec![(1, 2), (2, 0)]);
                assert_eq!(n.stats().clones_skipped, 1);
            } else {
                assert_eq!(copies, vec![(1, 1), (1, 2), (2, 0)]);
                assert_eq!(n.stats().clones_skipped, 0);
            }
        }
    }

    #[test]
    fn late_locking_locks_each_flow_when_its_export_starts() {
        let mut n = nf(100);
        for f in 1..=2 {
            n.handle_packet(Time::ZERO, pkt(f, 0, Flags::empty()));
        }
        settle(&mut n);
        let t0 = Time::ZERO + Dur::from_millis(1);
        let lock = ExportLock { id: 9, action: EventAction::Buffer, late: true };
        n.handle_ctrl(
            t0,
            NfCtrl::GetPerflow { xid: Xid(1), filter: Match::any(), lock: Some(lock) },
        );
        // Flow 1 exports during [t0, t0 + 5 us), flow 2 during [t0 + 5 us, t0 + 10 us).
        n.handle_packet(t0, pkt(1, 1, Flags::empty())); // flow 1 is locked: an event
        n.handle_packet(t0, pkt(2, 1, Flags::empty())); // flow 2 is not yet: processed
        n.handle_packet(t0, pkt(3, 0, Flags::empty())); // a new flow in the filter: an event
        let out = settle(&mut n);
        let events: Vec<u64> = out
            .iter()
            .filter_map(|o| match o {
                NfOutput::ToController(NfEvent::Packet { id: 9, packet, .. }) => {
                    Some(packet.flow.0)
                }
                _ => None,
            })
            .collect();
        assert_eq!(events, vec![1, 3]);
        assert_eq!(n.flow_state(FlowId(2)).unwrap().packets, 2);
        assert_eq!(n.flow_state(FlowId(1)).unwrap().packets, 1);
        n.handle_ctrl(t0, NfCtrl::DisableEvents { id: 9 });
        n.handle_packet(t0, pkt(1, 2, Flags::empty()));
        settle(&mut n);
        assert_eq!(n.flow_state(FlowId(1)).unwrap().packets, 2);
    }

    #[test]
    fn a_hold_keeps_direct_packets_until_its_marker_and_lets_released_ones_through() {
        let mut n = nf(100);
        n.handle_ctrl(Time::ZERO, NfCtrl::Hold { id: 4, filter: Match::any() });
        n.handle_packet(Time::ZERO, pkt(1, 5, Flags::empty())); // direct: held
        n.handle_packet(Time::ZERO, pkt(1, 4, Flags::RELEASED)); // from the controller: at once
        assert_eq!(n.holding(), 2);
        let out = settle(&mut n);
        assert_eq!(out.len(), 2); // state created + packet 4 transmitted
        n.handle_packet(Time::ZERO, marker(4));
        settle(&mut n);
        assert_eq!(
            n.flow_state(FlowId(1)).unwrap().log.applied.iter().collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert_eq!(n.flow_state(FlowId(1)).unwrap().log.reordered, 0);
        assert_eq!(n.holding(), 0);
    }

    /// The marker follows the released packets; if they still wait in the input queue when it
    /// arrives, the held (newer) packets must not overtake them.
    #[test]
    fn a_hold_ends_only_after_the_released_packets_queued_before_its_marker() {
        let mut n = nf(100);
        n.handle_ctrl(Time::ZERO, NfCtrl::Hold { id: 4, filter: Match::any() });
        n.handle_packet(Time::ZERO, pkt(1, 10, Flags::empty())); // direct: held
        for s in 1..=3 {
            n.handle_packet(Time::ZERO, pkt(1, s, Flags::RELEASED)); // 1 served, 2 and 3 queued
        }
        n.handle_packet(Time::ZERO, marker(4));
        settle(&mut n);
        let log = &n.flow_state(FlowId(1)).unwrap().log;
        assert_eq!(log.applied.iter().collect::<Vec<_>>(), vec![1, 2, 3, 10]);
        assert_eq!(log.reordered, 0);
        assert_eq!(n.holding(), 0);
    }
}
