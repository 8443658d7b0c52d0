//! OpenNF's `move` of per-flow state from `srcInst` to `dstInst`, with its three guarantees and
//! its two optimizations, and Split/Merge's buffering as the comparison.
//!
//! ```text
//!  controller                     srcInst                 dstInst              switch
//!   | getPerflow(fspace, lock) --->|  (locks flows; their packets become events / drops)
//!   |<-------- chunk(f1), chunk(f2), ..., done
//!   | putPerflow(f1) ----------------------------------->|        (parallelizing: per chunk)
//!   |<------------------------------------------ putDone(f1)      (early release: f1's
//!   | packet-out(buffered f1 packets, RELEASED) ---------------------------------->| -> dstInst
//!   |  ... all flows imported: release the rest ...
//!   | [order-preserving: hold(fspace) -> dstInst]
//!   | flowMods(fspace -> dstInst) ------------------------------------------------>|
//!   |<-------------------------------------------------------------- flowModsDone
//!   | packet-out(marker -> srcInst) ---------------------------------------------->|
//!   |<-- event(marker): srcInst has sent everything it got
//!   | [order-preserving: packet-out(marker -> dstInst): dstInst releases its hold]
//!   | disableEvents, delPerflow -> srcInst                              => Finished
//! ```
//!
//! - **No guarantee**: "In the simplest case, OpenNF drops all packets in fspace that arrive at
//!   srcInst during a state transfer" (HotMiddlebox section 2): the lock drops.
//! - **Loss-free**: "packets in fspace are buffered at the controller until the state transfer
//!   completes ... in OpenNF the packet events come from srcInst" (section 2): the lock raises
//!   each packet to the controller, which buffers it (per flow) and sends it to dstInst once the
//!   flow's state is imported. Packets released through the controller can still arrive after
//!   later packets that reach dstInst directly, so loss-free moves may reorder updates.
//! - **Loss-free and order-preserving**: the forwarding update is split in two: dstInst first
//!   holds the direct arrivals of fspace, and releases them only after a marker that the
//!   controller sends behind the last packet it released (the data path is FIFO). The paper's
//!   own two-phase update is not given in the copies we have; this one keeps the same message
//!   pattern (a rule update, then the controller's last packets, then direct traffic) and is
//!   checked by the oracle. Its cost lands on dstInst: it serves the held backlog before new
//!   arrivals, so a hold that outlasts what its input queue absorbs loses packets there (the
//!   oracle reports them as `nf_queue` losses and lost updates).
//! - **Packet reprocessing** (section 4): srcInst keeps processing and sends copies; dstInst
//!   reprocesses them without output once the flow's state is there. A copy that reaches the
//!   controller before its flow's chunk is already in that chunk's state and is skipped. On a
//!   full buffer the controller drops the copies of the flow with the most, and re-exports
//!   that flow's state. Since a re-export may land after the switch update, dstInst holds
//!   direct arrivals (as for order preservation) until every re-import has landed.
//! - **Parallelizing**: each flow's state is put to dstInst as soon as it is exported, instead
//!   of after the whole export.
//! - **Late locking, early release (LLER)**: "packets from a given flow are processed at srcInst
//!   until srcInst starts to export state pertaining to that flow. Similarly, the controller
//!   releases buffered packets from a flow as soon as dstInst has imported all state pertaining
//!   to the flow" (section 3). Without LLER (Split/Merge's buffering): every flow is locked
//!   when the export starts and nothing is released before every flow is imported.

use std::collections::{BTreeMap, BTreeSet};

use base::{Dur, Time};

use crate::controller::{Io, MoveId, MoveLog, MoveRequest, Protocol};
use crate::nf::{EventAction, ExportLock, FlowState, NfCtrl, NfEvent};
use crate::oracle::Guarantee;
use crate::packet::{Flags, FlowId, NodeId, Packet, Xid, MARKER_FLOW};
use crate::reroute::redirect_rules;
use crate::switch::{Match, SwitchCtrl, SwitchEvent};

#[derive(Clone, Debug, PartialEq)]
pub struct OpenNfConfig {
    pub guarantee: Guarantee,
    /// Put each flow's state as soon as it is exported.
    pub parallelize: bool,
    /// Release a flow's buffered packets as soon as its state is imported.
    pub early_release: bool,
    /// Lock a flow only when its own export starts.
    pub late_locking: bool,
    /// Packet reprocessing (HotMiddlebox section 4): srcInst keeps processing the moved flows
    /// and sends copies, which dstInst reprocesses without output once the flow's state is
    /// there; a full buffer triggers the overflow recovery of section 4 / 6.3.
    pub reprocess: bool,
    /// Peer-to-peer transfer (HotMiddlebox section 5): state and the moved flows' packets go
    /// from srcInst to dstInst over their own link; the controller only coordinates.
    /// (Not combined with `reprocess`: a P2P move buffers at dstInst.)
    pub p2p: bool,
    /// Priority of the redirecting rules; above the steering rules they override.
    pub priority: u16,
    /// Export only flows seen within this long before the export (`None`: every flow with
    /// state). Stands for an NF that expires idle state (PRADS drops idle connections), which
    /// the twin's NF does not do by itself; see `NfCtrl::SetExportWindow`.
    pub active_within: Option<Dur>,
    /// A deliberate bug, for proving that `nftwin check` catches one (never set otherwise).
    pub fault: Option<OpenNfFault>,
}

/// Deliberate bugs `nftwin check --inject-fault` can plant, to show the oracle catches them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpenNfFault {
    /// Order preservation without its second phase: dstInst takes direct packets at once
    /// instead of holding them until the released ones are through.
    SkipOrderHold,
}

impl OpenNfConfig {
    /// OpenNF with a guarantee, parallelizing and LLER on (U-HAUL Figure 2's "PL+ER").
    pub fn opennf(guarantee: Guarantee) -> Self {
        OpenNfConfig {
            guarantee,
            parallelize: true,
            early_release: true,
            late_locking: true,
            reprocess: false,
            p2p: false,
            priority: 1000,
            active_within: None,
            fault: None,
        }
    }

    /// A P2P move with a guarantee (and LLER).
    pub fn p2p(guarantee: Guarantee) -> Self {
        OpenNfConfig { p2p: true, ..Self::opennf(guarantee) }
    }

    /// A loss-free move with packet reprocessing (and parallelizing and LLER).
    pub fn reprocessing() -> Self {
        OpenNfConfig { reprocess: true, ..Self::opennf(Guarantee::LossFree) }
    }

    /// Split/Merge's move: loss-free buffering without LLER or parallelizing (HotMiddlebox
    /// Figure 2's comparison).
    pub fn split_merge() -> Self {
        OpenNfConfig {
            guarantee: Guarantee::LossFree,
            parallelize: false,
            early_release: false,
            late_locking: false,
            reprocess: false,
            p2p: false,
            priority: 1000,
            active_within: None,
            fault: None,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Exporting and importing state.
    Transfer,
    /// Waiting for the redirecting rules to take effect.
    Redirect,
    /// Waiting for srcInst to return the marker.
    Drain,
    /// Order preservation: waiting for dstInst to report that the marker behind the last
    /// released packet ended its hold (the marker is sent again every `MARKER_RETRY`).
    Release,
    Done,
}

#[derive(Clone, Debug)]
enum Pending {
    Export(MoveId),
    Put(MoveId, Vec<FlowId>),
    Rules(MoveId),
    /// Overflow recovery: the re-export of one flow's state, and its put.
    Reexport(MoveId, FlowId),
    Reput(MoveId, FlowId),
    /// P2P: dstInst's `accept`, answered by `TransferDone`.
    Accept(MoveId),
}

struct Move {
    req: MoveRequest,
    phase: Phase,
    export_done: bool,
    exported: BTreeSet<FlowId>,
    imported: BTreeSet<FlowId>,
    /// Flows with packets in the controller's buffer.
    buffered: BTreeSet<FlowId>,
    pending_puts: usize,
    /// Chunks kept until the export ends (without parallelizing).
    collected: Vec<(FlowId, FlowState)>,
    all_imported: bool,
    /// Reprocessing: flows whose (latest) chunk arrived, flows with a put in flight, and flows
    /// being re-exported after an overflow.
    chunk_seen: BTreeSet<FlowId>,
    /// Puts in flight per flow: its initial put and, after an overflow, a re-put may overlap;
    /// copies wait for the last.
    importing: BTreeMap<FlowId, u32>,
    reexporting: BTreeSet<FlowId>,
    /// srcInst returned the drain marker: it will send nothing more.
    drained: bool,
    /// Order preservation's last step: the marker that ends dstInst's hold was sent, and is
    /// sent again at this instant unless dstInst reports the hold ended.
    marker_retry: Option<Time>,
}

/// How long the controller waits for dstInst to report its hold ended before it sends the
/// marker again (ours: a marker crosses the data plane, which can lose it, e.g. on a link that
/// fails mid-move; 20 ms is well above the scenarios' control round trips of 0.2 to 12 ms).
pub const MARKER_RETRY: Dur = Dur::from_millis(20);

/// The OpenNF controller application.
pub struct OpenNf {
    cfg: OpenNfConfig,
    name: &'static str,
    next_xid: u64,
    moves: BTreeMap<MoveId, Move>,
    pending: BTreeMap<Xid, Pending>,
    /// Inputs that fit no move in its current state (counted, never a panic).
    pub unexpected: u64,
    /// Flows re-exported after a buffer overflow (reprocessing).
    pub reexports: u64,
    /// Log each move's life (off when U-HAUL drives per-flow moves and logs its own).
    log_moves: bool,
}

/// A buffer group per (move, flow), so simultaneous moves never mix their packets.
fn group(id: MoveId, f: FlowId) -> u64 {
    ((id.0 as u64) << 48) ^ f.0
}

fn marker(id: MoveId) -> Packet {
    Packet {
        flow: MARKER_FLOW,
        seq: id.0,
        tuple: crate::packet::FiveTuple { src: 0, dst: 0, sport: 0, dport: 0, proto: 0 },
        hash: 0,
        size_bytes: 64,
        sent: base::Time::ZERO,
        flags: Flags::MARKER,
        tag: 0,
    }
}

impl OpenNf {
    pub fn new(cfg: OpenNfConfig) -> OpenNf {
        let name = if cfg.late_locking || cfg.early_release || cfg.parallelize {
            "opennf"
        } else {
            "split-merge"
        };
        OpenNf {
            cfg,
            name,
            next_xid: 1,
            moves: BTreeMap::new(),
            pending: BTreeMap::new(),
            unexpected: 0,
            reexports: 0,
            log_moves: true,
        }
    }

    /// Moves are not logged: U-HAUL's `moveElephant` runs one OpenNF move per elephant and
    /// logs the whole as one move.
    pub fn without_move_logs(mut self) -> Self {
        self.log_moves = false;
        self
    }

    /// `(state moved, finished)` of move `id`, if it exists.
    pub fn move_progress(&self, id: MoveId) -> Option<(bool, bool)> {
        self.moves.get(&id).map(|m| (m.all_imported, m.phase == Phase::Done))
    }

    fn log(&self, io: &mut Io<'_>, log: MoveLog) {
        if self.log_moves {
            io.log(log);
        }
    }

    fn xid(&mut self, p: Pending) -> Xid {
        let x = Xid(self.next_xid);
        self.next_xid += 1;
        self.pending.insert(x, p);
        x
    }

    fn release(io: &mut Io<'_>, m: &MoveRequest, mut p: Packet, reprocess: bool) {
        p.flags.insert(Flags::RELEASED);
        if reprocess {
            // HotMiddlebox section 4: "the controller marks the flow's buffered packets with a
            // 'do-not-output' flag and sends them to dstInst for reprocessing".
            p.flags.insert(Flags::DO_NOT_OUTPUT);
        }
        io.to_switch(m.switch, SwitchCtrl::PacketOut { packet: p, out: Some(m.dst_port) });
    }

    fn release_flows(io: &mut Io<'_>, m: &mut Move, flows: &[FlowId], reprocess: bool) {
        for f in flows {
            if m.buffered.remove(f) {
                for p in io.release(group(m.req.id, *f)) {
                    Self::release(io, &m.req, p, reprocess);
                }
            }
        }
    }

    /// Every flow's state is at dstInst: release the rest and point the switch at dstInst.
    fn all_imported(&mut self, id: MoveId, io: &mut Io<'_>) {
        let hold = self.holds_at_dst();
        self.log(io, MoveLog::StateMoved { id });
        let Some(m) = self.moves.get_mut(&id) else { return };
        m.all_imported = true;
        // Flows with a re-export or a put still in flight keep their copies until it lands.
        let flows: Vec<FlowId> = m
            .buffered
            .iter()
            .filter(|f| !m.importing.contains_key(f) && !m.reexporting.contains(f))
            .copied()
            .collect();
        Self::release_flows(io, m, &flows, self.cfg.reprocess);
        if hold {
            io.to_nf(m.req.dst, NfCtrl::Hold { id: id.0 as u64, filter: m.req.flows.clone() });
        }
        let mods = redirect_rules(&m.req, self.cfg.priority);
        m.phase = Phase::Redirect;
        let switch = m.req.switch;
        let x = self.xid(Pending::Rules(id));
        io.to_switch(switch, SwitchCtrl::FlowMods { xid: x, mods });
    }

    fn on_packet_event(&mut self, id: MoveId, packet: Packet, exported: bool, io: &mut Io<'_>) {
        let early = self.cfg.early_release;
        let Some(m) = self.moves.get_mut(&id) else {
            self.unexpected += 1;
            return;
        };
        if packet.flags.contains(Flags::MARKER) {
            if m.phase != Phase::Drain {
                self.unexpected += 1;
                return;
            }
            m.drained = true;
            return self.try_finish(id, io);
        }
        let f = packet.flow;
        if self.cfg.reprocess {
            return self.on_copy(id, packet, exported, io);
        }
        let releasable = m.all_imported
            || (early && (m.imported.contains(&f) || (m.export_done && !m.exported.contains(&f))));
        if releasable {
            Self::release(io, &m.req, packet, false);
        } else if io.buffer(group(id, f), packet) {
            m.buffered.insert(f);
        }
    }

    /// Finishes a drained move once nothing is left in flight for it: srcInst has raised every
    /// packet it received, every re-export and put has landed, and nothing is buffered.
    /// Does dstInst hold direct arrivals until the move is over? For order preservation, and
    /// for reprocessing: a re-export after an overflow may land after the switch update, and
    /// section 6.3's proof has the direct packets p_k..p_n processed after the re-imported
    /// S_{1,j-1}, not before it (a re-import would overwrite their updates).
    fn holds_at_dst(&self) -> bool {
        if self.cfg.fault == Some(OpenNfFault::SkipOrderHold) {
            return false;
        }
        self.cfg.guarantee == Guarantee::LossFreeOrderPreserving || self.cfg.reprocess
    }

    fn try_finish(&mut self, id: MoveId, io: &mut Io<'_>) {
        // With P2P, srcInst forwarded the marker to dstInst itself, ending its hold.
        let op = self.holds_at_dst() && !self.cfg.p2p;
        let log_moves = self.log_moves;
        let Some(m) = self.moves.get_mut(&id) else { return };
        let idle = m.reexporting.is_empty() && m.importing.is_empty() && m.buffered.is_empty();
        if !(m.drained && idle) || matches!(m.phase, Phase::Release | Phase::Done) {
            return;
        }
        io.to_nf(m.req.src, NfCtrl::DisableEvents { id: id.0 as u64 });
        let x = Xid(self.next_xid);
        self.next_xid += 1;
        // "state is kept on srcInst until some time after the move operation completes"
        // (section 4): it goes now.
        io.to_nf(m.req.src, NfCtrl::DelPerflow { xid: x, filter: m.req.flows.clone() });
        // Everything srcInst sent has been released (or dropped), so dstInst may take direct
        // traffic: a marker behind the last released packet ends its hold. The move is over
        // when dstInst says so; a marker the data plane lost is sent again.
        if op {
            Self::send_marker(m, io);
            m.phase = Phase::Release;
            return;
        }
        m.phase = Phase::Done;
        if log_moves {
            io.log(MoveLog::Finished { id });
        }
    }

    fn send_marker(m: &mut Move, io: &mut Io<'_>) {
        let packet = marker(m.req.id);
        io.to_switch(m.req.switch, SwitchCtrl::PacketOut { packet, out: Some(m.req.dst_port) });
        m.marker_retry = Some(io.now() + MARKER_RETRY);
    }

    /// dstInst's hold for move `id` ended: an order-preserving move is complete.
    fn on_hold_ended(&mut self, id: u64, io: &mut Io<'_>) {
        let Some((&mid, m)) = self.moves.iter_mut().find(|(k, _)| k.0 as u64 == id) else {
            self.unexpected += 1;
            return;
        };
        if m.phase != Phase::Release {
            self.unexpected += 1;
            return;
        }
        m.phase = Phase::Done;
        m.marker_retry = None;
        self.log(io, MoveLog::Finished { id: mid });
    }

    /// Reprocessing: a copy of a packet srcInst has processed (and output).
    fn on_copy(&mut self, id: MoveId, packet: Packet, exported: bool, io: &mut Io<'_>) {
        let Some(m) = self.moves.get_mut(&id) else { return };
        let f = packet.flow;
        // A copy that reached us before its flow's (latest) chunk is already in that chunk's
        // state; so is any copy of a flow being re-exported (section 6.3: the re-exported
        // S_{1,j-1} replaces whatever dstInst has, and only p_j onward are reprocessed).
        if m.reexporting.contains(&f) || (exported && !m.chunk_seen.contains(&f)) {
            return;
        }
        let releasable = !m.importing.contains_key(&f)
            && (m.all_imported || m.imported.contains(&f) || (m.export_done && !exported));
        if releasable {
            return Self::release(io, &m.req, packet, true);
        }
        let b = io.buffer_ref();
        if b.len() >= b.capacity() {
            // Overflow recovery (section 4): "identify the flow with the largest number of
            // currently buffered packets and drop all buffered packets for this flow. Then, we
            // re-export and import just the state pertaining to the affected flow." The copies
            // dropped were processed at srcInst, whose state is current, so nothing is lost.
            if let Some(g) = b.largest_group() {
                let victim = FlowId(g ^ ((id.0 as u64) << 48));
                let dropped = io.release(g);
                m.buffered.remove(&victim);
                m.reexporting.insert(victim);
                self.reexports += 1;
                if let Some(p) = dropped.front() {
                    let (src, filter) = (m.req.src, Match::flow(&p.tuple));
                    let x = Xid(self.next_xid);
                    self.next_xid += 1;
                    self.pending.insert(x, Pending::Reexport(id, victim));
                    io.to_nf(src, NfCtrl::GetPerflow { xid: x, filter, lock: None });
                }
                if victim == f {
                    return;
                }
            }
        }
        if io.buffer(group(id, f), packet) {
            self.moves.get_mut(&id).expect("present").buffered.insert(f);
        }
    }
}

impl Protocol for OpenNf {
    fn name(&self) -> &'static str {
        self.name
    }

    fn counters(&self) -> Vec<(&'static str, f64)> {
        vec![("reexports", self.reexports as f64), ("protocol_unexpected", self.unexpected as f64)]
    }

    fn guarantee(&self) -> Guarantee {
        self.cfg.guarantee
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.moves.values().filter_map(|m| m.marker_retry).min()
    }

    fn on_timeout(&mut self, io: &mut Io<'_>) {
        let now = io.now();
        for m in self.moves.values_mut() {
            if m.phase == Phase::Release && m.marker_retry.is_some_and(|t| t <= now) {
                Self::send_marker(m, io);
            }
        }
    }

    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
        let id = req.id;
        self.log(io, MoveLog::Started { id });
        // One move at a time per flow and instance: a move whose flow space may overlap one in
        // progress at the same instances is refused (its flows' state is already locked and
        // leaving; a second export would race the first).
        let busy = self.moves.values().any(|m| {
            m.phase != Phase::Done
                && [m.req.src, m.req.dst].iter().any(|n| *n == req.src || *n == req.dst)
                && m.req.flows.may_overlap(&req.flows)
        });
        if busy {
            let reason = "its flows overlap a move in progress at the same instances".to_string();
            self.log(io, MoveLog::Failed { id, reason });
            return;
        }
        let action = match self.cfg.guarantee {
            Guarantee::None => EventAction::Drop,
            _ if self.cfg.reprocess => EventAction::Copy,
            _ => EventAction::Buffer,
        };
        let lock = ExportLock { id: id.0 as u64, action, late: self.cfg.late_locking };
        if self.cfg.p2p {
            // Section 5: accept(srcInst) on dstInst, then transfer(dstInst, fspace) on srcInst.
            let action = if action == EventAction::Copy { EventAction::Buffer } else { action };
            let x = self.xid(Pending::Accept(id));
            io.to_nf(req.dst, NfCtrl::Accept { xid: x, peer: req.src, id: id.0 as u64 });
            let lock = ExportLock { action, ..lock };
            let t = Xid(self.next_xid);
            self.next_xid += 1;
            let filter = req.flows.clone();
            io.to_nf(req.src, NfCtrl::Transfer { xid: t, peer: req.dst, filter, lock });
        } else {
            if let Some(w) = self.cfg.active_within {
                io.to_nf(req.src, NfCtrl::SetExportWindow { active_within: Some(w) });
            }
            let x = self.xid(Pending::Export(id));
            let filter = req.flows.clone();
            io.to_nf(req.src, NfCtrl::GetPerflow { xid: x, filter, lock: Some(lock) });
        }
        self.moves.insert(
            id,
            Move {
                req,
                phase: Phase::Transfer,
                export_done: false,
                exported: BTreeSet::new(),
                imported: BTreeSet::new(),
                buffered: BTreeSet::new(),
                pending_puts: 0,
                collected: Vec::new(),
                all_imported: false,
                chunk_seen: BTreeSet::new(),
                importing: BTreeMap::new(),
                reexporting: BTreeSet::new(),
                drained: false,
                marker_retry: None,
            },
        );
    }

    fn on_switch_event(&mut self, _from: NodeId, event: SwitchEvent, io: &mut Io<'_>) {
        match event {
            SwitchEvent::FlowModsDone { xid } => {
                let Some(Pending::Rules(id)) = self.pending.remove(&xid) else {
                    self.unexpected += 1;
                    return;
                };
                let Some(m) = self.moves.get_mut(&id) else { return };
                // The rules are in effect: no new packet goes to srcInst. A marker behind the
                // packets already on their way tells when srcInst has seen the last of them.
                m.phase = Phase::Drain;
                io.to_switch(
                    m.req.switch,
                    SwitchCtrl::PacketOut { packet: marker(id), out: Some(m.req.src_port) },
                );
            }
            SwitchEvent::FlowModFailed { xid, error, .. } => {
                if let Some(Pending::Rules(id)) = self.pending.get(&xid) {
                    io.log(MoveLog::Failed { id: *id, reason: format!("rule refused: {error:?}") });
                }
            }
            _ => self.unexpected += 1,
        }
    }

    fn on_nf_event(&mut self, _from: NodeId, event: NfEvent, io: &mut Io<'_>) {
        match event {
            NfEvent::PerflowChunk { xid, flow, state } => {
                let id = match self.pending.get(&xid).cloned() {
                    Some(Pending::Export(id)) => id,
                    Some(Pending::Reexport(id, f)) if f == flow => {
                        // The re-exported state replaces dstInst's; copies from now on apply.
                        let Some(m) = self.moves.get_mut(&id) else { return };
                        m.reexporting.remove(&flow);
                        *m.importing.entry(flow).or_default() += 1;
                        let dst = m.req.dst;
                        let x = self.xid(Pending::Reput(id, flow));
                        io.to_nf(dst, NfCtrl::PutPerflow { xid: x, states: vec![(flow, *state)] });
                        return;
                    }
                    _ => {
                        self.unexpected += 1;
                        return;
                    }
                };
                let parallel = self.cfg.parallelize;
                let Some(m) = self.moves.get_mut(&id) else { return };
                m.exported.insert(flow);
                m.chunk_seen.insert(flow);
                *m.importing.entry(flow).or_default() += 1;
                if parallel {
                    let dst = m.req.dst;
                    m.pending_puts += 1;
                    let x = self.xid(Pending::Put(id, vec![flow]));
                    io.to_nf(dst, NfCtrl::PutPerflow { xid: x, states: vec![(flow, *state)] });
                } else {
                    m.collected.push((flow, *state));
                }
            }
            NfEvent::PerflowDone { xid, .. } => {
                let id = match self.pending.remove(&xid) {
                    Some(Pending::Export(id)) => id,
                    Some(Pending::Reexport(id, f)) => {
                        // No state left to re-export (the flow's state went away): stop
                        // discarding its copies.
                        if let Some(m) = self.moves.get_mut(&id) {
                            m.reexporting.remove(&f);
                        }
                        return self.try_finish(id, io);
                    }
                    _ => {
                        self.unexpected += 1;
                        return;
                    }
                };
                let Some(m) = self.moves.get_mut(&id) else { return };
                m.export_done = true;
                if !m.collected.is_empty() {
                    let states = std::mem::take(&mut m.collected);
                    let flows = states.iter().map(|s| s.0).collect();
                    let dst = m.req.dst;
                    m.pending_puts += 1;
                    let x = self.xid(Pending::Put(id, flows));
                    io.to_nf(dst, NfCtrl::PutPerflow { xid: x, states });
                }
                let m = &self.moves[&id];
                if m.pending_puts == 0 {
                    self.all_imported(id, io);
                } else if self.cfg.early_release {
                    // Flows that had no state at srcInst (new during the move) wait for nothing.
                    let m = self.moves.get_mut(&id).expect("present");
                    let new: Vec<FlowId> =
                        m.buffered.iter().filter(|f| !m.exported.contains(f)).copied().collect();
                    Self::release_flows(io, m, &new, self.cfg.reprocess);
                }
            }
            NfEvent::PutDone { xid, .. } => {
                let (id, flows, initial) = match self.pending.remove(&xid) {
                    Some(Pending::Put(id, flows)) => (id, flows, true),
                    Some(Pending::Reput(id, f)) => (id, vec![f], false),
                    _ => {
                        self.unexpected += 1;
                        return;
                    }
                };
                let (early, reprocess) =
                    (self.cfg.early_release || self.cfg.reprocess, self.cfg.reprocess);
                let Some(m) = self.moves.get_mut(&id) else { return };
                for f in &flows {
                    if let Some(n) = m.importing.get_mut(f) {
                        *n -= 1;
                        if *n == 0 {
                            m.importing.remove(f);
                        }
                    }
                }
                m.imported.extend(flows.iter().copied());
                let ready: Vec<FlowId> = flows
                    .iter()
                    .filter(|f| !m.reexporting.contains(f) && !m.importing.contains_key(f))
                    .copied()
                    .collect();
                if early || m.all_imported {
                    Self::release_flows(io, m, &ready, reprocess);
                }
                if !initial {
                    return self.try_finish(id, io);
                }
                m.pending_puts -= 1;
                if m.export_done && m.pending_puts == 0 {
                    self.all_imported(id, io);
                }
            }
            NfEvent::Packet { id, packet, exported } => {
                self.on_packet_event(MoveId(id as u32), packet, exported, io)
            }
            NfEvent::DelDone { .. } => {}
            NfEvent::SetFilter { .. } => self.unexpected += 1,
            NfEvent::TransferDone { xid, .. } => match self.pending.remove(&xid) {
                Some(Pending::Accept(id)) => {
                    if let Some(m) = self.moves.get_mut(&id) {
                        m.export_done = true;
                    }
                    self.all_imported(id, io)
                }
                _ => self.unexpected += 1,
            },
            NfEvent::Hsl(_) | NfEvent::E2d(_) => self.unexpected += 1,
            NfEvent::HoldEnded { id } => self.on_hold_ended(id, io),
        }
    }
}
