//! The sink: the receiving host, and the oracle's receiver. It records per flow what arrived,
//! flow completion times, and packets that arrived after a later-sequenced one. (One-way delay
//! goes to the driver's bounded-memory histogram, as it is one value per packet.) (Sources are
//! driven by `workloads` schedules in the driver, which hands each packet it sends to the
//! oracle.)

use std::collections::BTreeMap;

use base::Time;

use crate::fxhash::FxHashMap;
use crate::packet::{Flags, FlowId, Packet};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkFlow {
    pub first_sent: Option<Time>,
    pub packets: u64,
    pub bytes: u64,
    pub max_seq: Option<u32>,
    pub reordered: u64,
    /// When the packet flagged `LAST` arrived (the flow's completion).
    pub completed: Option<Time>,
}

#[derive(Clone, Debug, Default)]
pub struct Sink {
    /// Looked up per packet; reported in flow order.
    flows: FxHashMap<FlowId, SinkFlow>,
    pub received: u64,
}

impl Sink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn handle_packet(&mut self, now: Time, p: &Packet) {
        self.received += 1;
        let f = self.flows.entry(p.flow).or_default();
        f.packets += 1;
        f.bytes += p.size_bytes as u64;
        if f.max_seq.is_some_and(|m| p.seq < m) {
            f.reordered += 1;
        }
        f.max_seq = Some(f.max_seq.map_or(p.seq, |m| m.max(p.seq)));
        if p.seq == 0 {
            f.first_sent = Some(p.sent);
        }
        if p.flags.contains(Flags::LAST) {
            f.completed = Some(now);
        }
    }

    /// Every flow's record, in flow order.
    pub fn flows(&self) -> BTreeMap<FlowId, &SinkFlow> {
        self.flows.iter().map(|(k, v)| (*k, v)).collect()
    }

    /// Flow completion times (first packet sent to last packet received), in ns, in flow order.
    pub fn fcts_ns(&self) -> Vec<(FlowId, u64)> {
        let mut v: Vec<(FlowId, u64)> = self
            .flows
            .iter()
            .filter_map(|(id, f)| {
                Some((*id, f.completed?.saturating_since(f.first_sent?).as_nanos()))
            })
            .collect();
        v.sort_unstable();
        v
    }

    pub fn reordered(&self) -> u64 {
        self.flows.values().map(|f| f.reordered).sum()
    }
}
