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
        if !self.control_done_at.is_some_and(|t| t <= now) {
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
