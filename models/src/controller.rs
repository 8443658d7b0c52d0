//! The SDN controller: one message at a time, a packet buffer, and a slot for a protocol.
//!
//! ```text
//!  switch events ─┐                                   ┌─► FlowMods / PacketOut ─► switches
//!  NF events ─────┼─► inbox (FIFO) ─► per-message ─► protocol ─► get/put/delPerflow ─► NFs
//!  operator cmds ─┘                   cost            │
//!                                                    └─► packet buffer (capacity, occupancy)
//! ```
//!
//! Every input, an operator's command included, waits its turn and costs `per_msg` of the
//! controller's time before the protocol sees it, so a loaded controller queues. The protocol
//! may buffer packets (grouped by a key it chooses, e.g. a flow or a move) up to the buffer's
//! capacity; a packet that does not fit is dropped and reported with cause `ControllerBuffer`.

use std::collections::{BTreeMap, VecDeque};

use base::{Dur, Time};

use crate::nf::{NfCtrl, NfEvent};
use crate::oracle::{Guarantee, LossCause};
use crate::packet::{NodeId, Packet, PortId};
use crate::switch::{Match, SwitchCtrl, SwitchEvent};

#[derive(Clone, Debug, PartialEq)]
pub struct ControllerConfig {
    /// Controller time spent on each input before the protocol handles it.
    pub per_msg: Dur,
    /// Packets the buffer holds at most.
    pub buffer_capacity: u32,
}

impl Default for ControllerConfig {
    /// 10 us per message (a controller handling 100k messages per second) and room for 10,000
    /// packets; `docs/scenarios.md` gives the reasoning.
    fn default() -> Self {
        ControllerConfig { per_msg: Dur::from_micros(10), buffer_capacity: 10_000 }
    }
}

/// An operator's request, numbered by the timeline.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MoveId(pub u32);

/// Move the flows matching `flows` from NF instance `src` to `dst`. The driver resolves the
/// topology: `switch` steers traffic to both instances, `in_ports` are its ports on which that
/// traffic arrives, `src_port` and `dst_port` face `src` and `dst`.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveRequest {
    pub id: MoveId,
    pub flows: Match,
    pub src: NodeId,
    pub dst: NodeId,
    pub switch: NodeId,
    pub in_ports: Vec<PortId>,
    pub src_port: PortId,
    pub dst_port: PortId,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ControllerInput {
    Switch { from: NodeId, event: SwitchEvent },
    Nf { from: NodeId, event: NfEvent },
    Move(MoveRequest),
}

impl ControllerInput {
    /// The data packet this input carries, if any (markers are not data).
    pub fn carried_packet(&self) -> Option<&Packet> {
        let p = match self {
            ControllerInput::Switch { event: SwitchEvent::PacketIn { packet, .. }, .. } => packet,
            ControllerInput::Nf { event: NfEvent::Packet { packet, .. }, .. } => packet,
            _ => return None,
        };
        p.is_data().then_some(p)
    }
}

/// What a protocol reports of a move's life, for metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoveLog {
    Started {
        id: MoveId,
    },
    /// Every flow's state is at the destination (the state transfer is over).
    StateMoved {
        id: MoveId,
    },
    /// The move is complete: traffic goes to `dst` and the protocol has nothing left to do.
    Finished {
        id: MoveId,
    },
    /// The protocol could not carry out the move (e.g. a rule was refused).
    Failed {
        id: MoveId,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ControllerOutput {
    ToSwitch { to: NodeId, msg: SwitchCtrl },
    ToNf { to: NodeId, msg: NfCtrl },
    Dropped { packet: Packet, cause: LossCause },
    Log { at: Time, log: MoveLog },
}

/// The controller's packet buffer.
#[derive(Clone, Debug, Default)]
pub struct PacketBuffer {
    capacity: u32,
    groups: BTreeMap<u64, VecDeque<Packet>>,
    len: u32,
    max: u32,
    /// `(time, occupancy)` after every change.
    occupancy: Vec<(Time, u32)>,
}

impl PacketBuffer {
    pub fn new(capacity: u32) -> Self {
        PacketBuffer { capacity, ..Default::default() }
    }
    pub fn len(&self) -> u32 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn max(&self) -> u32 {
        self.max
    }
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    pub fn occupancy(&self) -> &[(Time, u32)] {
        &self.occupancy
    }
    /// Buffered packets the oracle accounts for (reprocessing copies excluded).
    pub fn data_len(&self) -> usize {
        self.groups.values().flatten().filter(|p| p.is_data()).count()
    }

    pub fn group_len(&self, group: u64) -> usize {
        self.groups.get(&group).map_or(0, |g| g.len())
    }

    fn record(&mut self, now: Time) {
        match self.occupancy.last_mut() {
            Some(last) if last.0 == now => last.1 = self.len,
            _ => self.occupancy.push((now, self.len)),
        }
    }

    /// Appends to `group`; hands the packet back if the buffer is full.
    pub fn push(&mut self, now: Time, group: u64, p: Packet) -> Result<(), Packet> {
        if self.len >= self.capacity {
            return Err(p);
        }
        self.groups.entry(group).or_default().push_back(p);
        self.len += 1;
        self.max = self.max.max(self.len);
        self.record(now);
        Ok(())
    }

    /// Removes and returns `group`'s packets in arrival order.
    pub fn take(&mut self, now: Time, group: u64) -> VecDeque<Packet> {
        let g = self.groups.remove(&group).unwrap_or_default();
        if !g.is_empty() {
            self.len -= g.len() as u32;
            self.record(now);
        }
        g
    }

    /// The group holding the most packets (ties: the lowest key).
    pub fn largest_group(&self) -> Option<u64> {
        self.groups.iter().max_by_key(|(k, g)| (g.len(), std::cmp::Reverse(**k))).map(|(k, _)| *k)
    }
}

/// What a protocol may do while it handles an input.
pub struct Io<'a> {
    now: Time,
    out: &'a mut VecDeque<ControllerOutput>,
    buffer: &'a mut PacketBuffer,
}

impl Io<'_> {
    pub fn now(&self) -> Time {
        self.now
    }
    pub fn to_switch(&mut self, to: NodeId, msg: SwitchCtrl) {
        self.out.push_back(ControllerOutput::ToSwitch { to, msg });
    }
    pub fn to_nf(&mut self, to: NodeId, msg: NfCtrl) {
        self.out.push_back(ControllerOutput::ToNf { to, msg });
    }
    pub fn log(&mut self, log: MoveLog) {
        self.out.push_back(ControllerOutput::Log { at: self.now, log });
    }
    /// Buffers `p` in `group`; if the buffer is full the packet is dropped and reported.
    pub fn buffer(&mut self, group: u64, p: Packet) -> bool {
        match self.buffer.push(self.now, group, p) {
            Ok(()) => true,
            Err(packet) => {
                self.drop_packet(packet, LossCause::ControllerBuffer);
                false
            }
        }
    }
    pub fn release(&mut self, group: u64) -> VecDeque<Packet> {
        self.buffer.take(self.now, group)
    }
    pub fn buffer_ref(&self) -> &PacketBuffer {
        self.buffer
    }
    pub fn drop_packet(&mut self, packet: Packet, cause: LossCause) {
        self.out.push_back(ControllerOutput::Dropped { packet, cause });
    }
}

/// A migration protocol's controller side, as a sans-IO machine.
pub trait Protocol {
    /// As the paper names it.
    fn name(&self) -> &'static str;
    /// What the protocol promises; the oracle's verdict checks it.
    fn guarantee(&self) -> Guarantee;
    fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>);
    fn on_switch_event(&mut self, from: NodeId, event: SwitchEvent, io: &mut Io<'_>);
    fn on_nf_event(&mut self, from: NodeId, event: NfEvent, io: &mut Io<'_>);
    /// Early or stale calls are no-ops.
    fn on_timeout(&mut self, _io: &mut Io<'_>) {}
    fn poll_timeout(&self) -> Option<Time> {
        None
    }
    /// Protocol-specific counters for the results (names as in the tidy format's metrics).
    fn counters(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerStats {
    pub messages: u64,
    pub max_inbox: u64,
    /// Inputs a protocol did not expect in its state (counted, never a panic).
    pub unexpected: u64,
}

/// The controller machine. Call contract as every machine's (see the crate doc).
pub struct Controller {
    cfg: ControllerConfig,
    inbox: VecDeque<ControllerInput>,
    busy_until: Option<Time>,
    buffer: PacketBuffer,
    protocol: Box<dyn Protocol>,
    out: VecDeque<ControllerOutput>,
    stats: ControllerStats,
}

impl Controller {
    pub fn new(cfg: ControllerConfig, protocol: Box<dyn Protocol>) -> Controller {
        let buffer = PacketBuffer::new(cfg.buffer_capacity);
        Controller {
            cfg,
            inbox: VecDeque::new(),
            busy_until: None,
            buffer,
            protocol,
            out: VecDeque::new(),
            stats: ControllerStats::default(),
        }
    }

    pub fn protocol(&self) -> &dyn Protocol {
        &*self.protocol
    }
    pub fn buffer(&self) -> &PacketBuffer {
        &self.buffer
    }
    pub fn stats(&self) -> &ControllerStats {
        &self.stats
    }

    /// Data packets waiting in the inbox (carried by packet-ins and packet events).
    pub fn inbox_packets(&self) -> usize {
        self.inbox.iter().filter(|i| i.carried_packet().is_some()).count()
    }

    pub fn handle(&mut self, now: Time, input: ControllerInput) {
        self.inbox.push_back(input);
        self.stats.max_inbox = self.stats.max_inbox.max(self.inbox.len() as u64);
        if self.busy_until.is_none() {
            self.busy_until = Some(now + self.cfg.per_msg);
        }
    }

    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(done) = self.busy_until.filter(|t| *t <= now) {
            let input = self.inbox.pop_front().expect("invariant: busy means a message is in hand");
            self.stats.messages += 1;
            let mut io = Io { now: done, out: &mut self.out, buffer: &mut self.buffer };
            match input {
                ControllerInput::Switch { from, event } => {
                    self.protocol.on_switch_event(from, event, &mut io)
                }
                ControllerInput::Nf { from, event } => {
                    self.protocol.on_nf_event(from, event, &mut io)
                }
                ControllerInput::Move(req) => self.protocol.on_move(req, &mut io),
            }
            self.busy_until = (!self.inbox.is_empty()).then(|| done + self.cfg.per_msg);
        }
        if self.protocol.poll_timeout().is_some_and(|t| t <= now) {
            let mut io = Io { now, out: &mut self.out, buffer: &mut self.buffer };
            self.protocol.on_timeout(&mut io);
        }
    }

    pub fn poll_output(&mut self) -> Option<ControllerOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        match (self.busy_until, self.protocol.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u32) -> Packet {
        Packet::for_test(1, seq)
    }

    /// Buffers every packet-in it sees; logs each move.
    struct Buffering;
    impl Protocol for Buffering {
        fn name(&self) -> &'static str {
            "buffering"
        }
        fn guarantee(&self) -> Guarantee {
            Guarantee::None
        }
        fn on_move(&mut self, req: MoveRequest, io: &mut Io<'_>) {
            io.log(MoveLog::Started { id: req.id });
        }
        fn on_switch_event(&mut self, _: NodeId, e: SwitchEvent, io: &mut Io<'_>) {
            if let SwitchEvent::PacketIn { packet, .. } = e {
                io.buffer(7, packet);
            }
        }
        fn on_nf_event(&mut self, _: NodeId, _: NfEvent, _: &mut Io<'_>) {}
    }

    fn packet_in(seq: u32) -> ControllerInput {
        ControllerInput::Switch {
            from: NodeId(0),
            event: SwitchEvent::PacketIn {
                in_port: PortId(0),
                packet: pkt(seq),
                reason: crate::switch::PacketInReason::Action,
            },
        }
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let cfg = ControllerConfig { per_msg: Dur::ZERO, buffer_capacity: 2 };
        let mut c = Controller::new(cfg, Box::new(Buffering));
        for s in 0..3 {
            c.handle(Time::ZERO, packet_in(s));
        }
        c.handle_timeout(Time::ZERO);
        let out: Vec<_> = std::iter::from_fn(|| c.poll_output()).collect();
        assert_eq!(
            out,
            vec![ControllerOutput::Dropped { packet: pkt(2), cause: LossCause::ControllerBuffer }]
        );
        assert_eq!((c.buffer().len(), c.buffer().max()), (2, 2));
        assert_eq!(c.buffer().occupancy(), &[(Time::ZERO, 2)]);
    }

    #[test]
    fn a_loaded_controller_queues_messages() {
        let cfg = ControllerConfig { per_msg: Dur::from_micros(10), buffer_capacity: 100 };
        let mut c = Controller::new(cfg, Box::new(Buffering));
        for s in 0..3 {
            c.handle(Time::ZERO, packet_in(s));
        }
        // Three messages at t = 0 are handled at 10, 20 and 30 us.
        let mut handled = vec![];
        while let Some(t) = c.poll_timeout() {
            c.handle_timeout(t);
            handled.push((t.as_nanos() / 1000, c.buffer().len()));
        }
        assert_eq!(handled, vec![(10, 1), (20, 2), (30, 3)]);
        assert_eq!(c.stats().max_inbox, 3);
    }
}
