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
//!   reprocessing, HotMiddlebox section 4: "reprocessed only to update state").
//! - State transfer runs on a control thread beside packet processing, one operation at a time:
//!   an export takes `export_per_flow` per flow and snapshots the state when it completes; an
//!   import takes `import_per_flow` per flow and installs the state when it completes.
//! - With `create_state` off (U-HAUL during a move), a packet of a flow with no state here is
//!   not processed: it is tagged `unseen_tag` and sent straight back out, for the switch to
//!   steer elsewhere.
//! - A failed instance drops everything queued and everything that arrives, until restored.

use std::collections::VecDeque;

use base::{Dur, Time};

use crate::fxhash::FxHashMap;
use crate::oracle::UpdateLog;
use crate::packet::{FiveTuple, Flags, FlowId, Packet, Xid};
use crate::switch::Match;

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

/// Controller to NF (OpenNF's southbound calls).
#[derive(Clone, Debug, PartialEq)]
pub enum NfCtrl {
    GetPerflow {
        xid: Xid,
        filter: Match,
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
}

/// NF to controller.
#[derive(Clone, Debug, PartialEq)]
pub enum NfEvent {
    Perflow { xid: Xid, states: Vec<(FlowId, FlowState)> },
    PutDone { xid: Xid, flows: u64 },
    DelDone { xid: Xid, flows: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum NfOutput {
    /// A processed (or forwarded-unseen) packet leaves through the instance's port.
    Transmit(Packet),
    ToController(NfEvent),
    /// Dropped: the queue was full (`down == false`) or the instance is down.
    Dropped {
        packet: Packet,
        down: bool,
    },
    /// State was created for a flow (a log event).
    StateCreated {
        flow: FlowId,
    },
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
}

enum ControlOp {
    Export { xid: Xid, filter: Match },
    Import { xid: Xid, states: Vec<(FlowId, FlowState)> },
}

/// The NF machine. Call contract as every machine's (see the crate doc).
pub struct Nf {
    cfg: NfConfig,
    queue: VecDeque<Packet>,
    in_service: Option<(Packet, Time)>,
    state: FxHashMap<FlowId, FlowState>,
    create_state: bool,
    unseen_tag: u16,
    control: VecDeque<ControlOp>,
    control_done_at: Option<Time>,
    up: bool,
    out: VecDeque<NfOutput>,
    stats: NfStats,
}

impl Nf {
    pub fn new(cfg: NfConfig) -> Nf {
        Nf {
            cfg,
            queue: VecDeque::new(),
            in_service: None,
            state: FxHashMap::default(),
            create_state: true,
            unseen_tag: 0,
            control: VecDeque::new(),
            control_done_at: None,
            up: true,
            out: VecDeque::new(),
            stats: NfStats::default(),
        }
    }

    pub fn stats(&self) -> &NfStats {
        &self.stats
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

    /// Packets the instance holds: waiting or in service.
    pub fn holding(&self) -> usize {
        self.queue.len() + usize::from(self.in_service.is_some())
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn handle_packet(&mut self, now: Time, pkt: Packet) {
        if !self.up {
            self.stats.down_drops += 1;
            self.out.push_back(NfOutput::Dropped { packet: pkt, down: true });
            return;
        }
        if !self.create_state && !self.state.contains_key(&pkt.flow) {
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
            self.out.push_back(NfOutput::Dropped { packet: pkt, down: false });
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
        st.log.apply(now, pkt.seq);
        self.stats.processed += 1;
        if pkt.flags.contains(Flags::DO_NOT_OUTPUT) {
            self.stats.suppressed += 1;
        } else {
            self.out.push_back(NfOutput::Transmit(pkt));
        }
        // The next packet starts when this one ends (a busy server wastes no time).
        self.in_service = self.queue.pop_front().map(|p| (p, done + self.cfg.service));
    }

    pub fn handle_ctrl(&mut self, now: Time, msg: NfCtrl) {
        match msg {
            NfCtrl::GetPerflow { xid, filter } => {
                self.control.push_back(ControlOp::Export { xid, filter })
            }
            NfCtrl::PutPerflow { xid, states } => {
                self.control.push_back(ControlOp::Import { xid, states })
            }
            NfCtrl::DelPerflow { xid, filter } => {
                let before = self.state.len();
                self.state.retain(|_, s| !filter_matches_state(&filter, s));
                let flows = (before - self.state.len()) as u64;
                self.out.push_back(NfOutput::ToController(NfEvent::DelDone { xid, flows }));
            }
            NfCtrl::SetCreateState { create, unseen_tag } => {
                self.create_state = create;
                self.unseen_tag = unseen_tag;
            }
        }
        if self.control_done_at.is_none() {
            self.start_control(now);
        }
    }

    fn start_control(&mut self, now: Time) {
        self.control_done_at = self.control.front().map(|op| {
            let (per, n) = match op {
                ControlOp::Export { filter, .. } => (
                    self.cfg.export_per_flow,
                    self.state.values().filter(|s| filter_matches_state(filter, s)).count(),
                ),
                ControlOp::Import { states, .. } => (self.cfg.import_per_flow, states.len()),
            };
            now + Dur::from_nanos(per.as_nanos() * n as u64)
        });
    }

    fn finish_control(&mut self, now: Time) {
        if self.control_done_at.is_none_or(|t| t > now) {
            return;
        }
        match self.control.pop_front().expect("invariant: a control op in progress") {
            ControlOp::Export { xid, filter } => {
                let mut states: Vec<(FlowId, FlowState)> = self
                    .state
                    .iter()
                    .filter(|(_, s)| filter_matches_state(&filter, s))
                    .map(|(f, s)| (*f, s.clone()))
                    .collect();
                states.sort_by_key(|e| e.0);
                self.stats.flows_exported += states.len() as u64;
                self.out.push_back(NfOutput::ToController(NfEvent::Perflow { xid, states }));
            }
            ControlOp::Import { xid, states } => {
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

    /// The instance fails: everything queued or in service is dropped (returned as outputs).
    pub fn fail(&mut self) {
        self.up = false;
        let lost: Vec<Packet> =
            self.in_service.take().map(|p| p.0).into_iter().chain(self.queue.drain(..)).collect();
        for packet in lost {
            self.stats.down_drops += 1;
            self.out.push_back(NfOutput::Dropped { packet, down: true });
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
    use crate::packet::FiveTuple;

    fn pkt(flow: u64, seq: u32, flags: Flags) -> Packet {
        Packet {
            flow: FlowId(flow),
            seq,
            tuple: FiveTuple { src: 1, dst: 2, sport: flow as u16, dport: 80, proto: 6 },
            hash: flow as u32,
            size_bytes: 1000,
            sent: Time::ZERO,
            flags,
            tag: 0,
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
        assert!(matches!(out[0], NfOutput::Dropped { down: false, .. }));
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
        a.handle_ctrl(
            t0,
            NfCtrl::GetPerflow { xid: Xid(1), filter: Match { sport: Some(2), ..Match::any() } },
        );
        // One flow matches: 5 us of export.
        assert_eq!(a.poll_timeout(), Some(t0 + Dur::from_micros(5)));
        let out = settle(&mut a);
        let NfOutput::ToController(NfEvent::Perflow { states, .. }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].0, FlowId(2));
        let mut b = nf(10);
        b.handle_ctrl(t0, NfCtrl::PutPerflow { xid: Xid(2), states: states.clone() });
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
    fn a_failed_instance_drops_what_it_held_and_what_arrives() {
        let mut n = nf(10);
        for s in 0..3 {
            n.handle_packet(Time::ZERO, pkt(1, s, Flags::empty()));
        }
        n.fail();
        n.handle_packet(Time::ZERO, pkt(1, 3, Flags::empty()));
        let out = settle(&mut n);
        assert_eq!(
            out.iter().filter(|o| matches!(o, NfOutput::Dropped { down: true, .. })).count(),
            4
        );
    }
}
