//! The correctness oracle (ARCHITECTURE.md, "The correctness oracle").
//!
//! Every data packet carries `(flow, seq)`. The oracle is told:
//! - what each source sent ([`Oracle::on_sent`]) and what passed the ingress switch
//!   ([`Oracle::on_ingress`]);
//! - every drop, with its cause ([`Oracle::on_drop`]);
//! - every packet output at a sink ([`Oracle::on_output`]);
//! - at the end, every NF's per-flow [`UpdateLog`] (the log travels with the state when a
//!   protocol moves it).
//!
//! It reports, per flow and in total:
//! - `lost_updates`: packets that passed ingress whose update is not in the flow's final
//!   owner's state, split into those the network lost (a link queue, a downed link, random
//!   loss: no protocol could have applied them) and the rest (the protocol's or an NF's doing);
//!   (For NFs whose state changes only on some packets, a stateful firewall's connection
//!   set-up and teardown, only those packets are updates: [`Oracle::set_state_updates`].)
//! - `reordered_updates`: updates the final owner applied after a later-sequenced one;
//! - `duplicate_updates`: updates applied twice to the final owner's state;
//! - `duplicate_outputs`: packets output at a sink more than once;
//! - `lost_packets` by cause: sent, never delivered, with the last drop recorded for it;
//! - `state_mismatch`: flows whose final digest differs from the digest of their ingress
//!   sequence (network losses excluded).
//!
//! The **final owner** of a flow is the NF instance holding state for it that applied an update
//! last (ties: the lowest node id). A flow that reached no NF has no state to check; it is
//! counted in `flows_without_state`. Ingress order is taken to be sequence order (one path
//! from source to ingress); an ingress arrival out of sequence order is counted in
//! `ingress_out_of_order` so a scenario that breaks the assumption shows it.
//!
//! Each protocol declares a [`Guarantee`]; [`OracleReport::verdict`] checks it.

use std::collections::BTreeMap;
use std::fmt;

use base::Time;

use crate::fxhash::FxHashMap;
use crate::nf::StateUpdates;
use crate::packet::{Flags, FlowId, NodeId, Packet, PacketKey};

/// A set of sequence numbers as sorted, disjoint, non-adjacent half-open ranges: one range for a
/// flow whose packets arrived in order, a few more for gaps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqSet {
    ranges: Vec<(u32, u32)>,
    len: u64,
}

impl SeqSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `seq`; false if it was already present.
    pub fn insert(&mut self, seq: u32) -> bool {
        // Fast path: extends the last range (in-order arrival).
        if let Some(last) = self.ranges.last_mut() {
            if last.1 == seq {
                last.1 += 1;
                self.len += 1;
                return true;
            }
        }
        // The first range starting after seq.
        let i = self.ranges.partition_point(|r| r.0 <= seq);
        if i > 0 && seq < self.ranges[i - 1].1 {
            return false;
        }
        let joins_prev = i > 0 && self.ranges[i - 1].1 == seq;
        let joins_next = i < self.ranges.len() && self.ranges[i].0 == seq + 1;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 += 1,
            (false, true) => self.ranges[i].0 = seq,
            (false, false) => self.ranges.insert(i, (seq, seq + 1)),
        }
        self.len += 1;
        true
    }

    pub fn contains(&self, seq: u32) -> bool {
        let i = self.ranges.partition_point(|r| r.0 <= seq);
        i > 0 && seq < self.ranges[i - 1].1
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every member, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|&(a, b)| a..b)
    }

    /// The number of ranges (1 for a contiguous set).
    pub fn runs(&self) -> usize {
        self.ranges.len()
    }
}

/// `digest' = H(digest, seq)`: order-sensitive, fixed (splitmix64's finalizer).
#[inline]
pub fn digest_step(digest: u64, seq: u32) -> u64 {
    let mut z = digest ^ (seq as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a flow's state records of the updates applied to it. It moves with the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateLog {
    pub applied: SeqSet,
    pub digest: u64,
    pub updates: u64,
    pub reordered: u64,
    pub duplicates: u64,
    pub max_seq: Option<u32>,
    /// When the last update was applied (by whichever instance held the state then).
    pub last_update: Time,
}

impl UpdateLog {
    pub fn apply(&mut self, now: Time, seq: u32) {
        if self.max_seq.is_some_and(|m| seq < m) {
            self.reordered += 1;
        }
        self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
        if !self.applied.insert(seq) {
            self.duplicates += 1;
        }
        self.digest = digest_step(self.digest, seq);
        self.updates += 1;
        self.last_update = now;
    }
}

/// Why a packet was dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LossCause {
    /// A link's drop-tail queue was full.
    LinkQueue,
    /// The link was down (or went down with the packet on it).
    LinkDown,
    /// Random loss on the wire.
    LinkRandom,
    /// An NF instance's input queue was full.
    NfQueue,
    /// The controller's packet buffer was full.
    ControllerBuffer,
    /// A protocol dropped it on purpose (e.g. OpenNF's move without guarantees).
    Protocol,
    /// No switch rule matched.
    TableMiss,
    /// A switch rule dropped it.
    RuleDrop,
    /// An NF instance was down.
    NfDown,
}

impl LossCause {
    pub const ALL: [LossCause; 9] = [
        LossCause::LinkQueue,
        LossCause::LinkDown,
        LossCause::LinkRandom,
        LossCause::NfQueue,
        LossCause::ControllerBuffer,
        LossCause::Protocol,
        LossCause::TableMiss,
        LossCause::RuleDrop,
        LossCause::NfDown,
    ];

    /// Losses no protocol could have prevented.
    pub fn is_network(self) -> bool {
        matches!(self, LossCause::LinkQueue | LossCause::LinkDown | LossCause::LinkRandom)
    }

    pub fn name(self) -> &'static str {
        match self {
            LossCause::LinkQueue => "link_queue",
            LossCause::LinkDown => "link_down",
            LossCause::LinkRandom => "link_random",
            LossCause::NfQueue => "nf_queue",
            LossCause::ControllerBuffer => "controller_buffer",
            LossCause::Protocol => "protocol",
            LossCause::TableMiss => "table_miss",
            LossCause::RuleDrop => "rule_drop",
            LossCause::NfDown => "nf_down",
        }
    }
}

/// What a protocol promises (OpenNF's guarantees).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guarantee {
    None,
    LossFree,
    LossFreeOrderPreserving,
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guarantee::None => "none",
            Guarantee::LossFree => "loss-free",
            Guarantee::LossFreeOrderPreserving => "loss-free+order-preserving",
        })
    }
}

#[derive(Default)]
struct FlowBook {
    sent: SeqSet,
    ingress: SeqSet,
    delivered: SeqSet,
    duplicate_outputs: u64,
    /// (seq, cause) in the order recorded; the last one for a seq is its cause.
    drops: Vec<(u32, LossCause)>,
    /// The sequence number of the flow's last packet (flagged `LAST`), once it passed ingress.
    last: Option<u32>,
}

/// The oracle's bookkeeping for one run.
#[derive(Default)]
pub struct Oracle {
    /// Looked up per packet; iterated only in `finish`, in flow order.
    flows: FxHashMap<FlowId, FlowBook>,
    ingress_out_of_order: u64,
    /// Which ingress packets are updates the final owner must hold, per NF instance whose
    /// state changes only on some packets (every packet otherwise).
    state_updates: BTreeMap<NodeId, StateUpdates>,
}

/// One flow's findings (only flows with a problem are listed in a report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowFinding {
    pub flow: FlowId,
    pub owner: Option<NodeId>,
    pub lost_updates: u64,
    pub lost_updates_network: u64,
    pub reordered_updates: u64,
    pub duplicate_updates: u64,
    pub duplicate_outputs: u64,
    pub state_mismatch: bool,
}

/// The oracle's totals for a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleReport {
    pub flows: u64,
    pub sent: u64,
    /// Distinct packets delivered.
    pub delivered: u64,
    pub in_flight: u64,
    pub lost_packets: BTreeMap<LossCause, u64>,
    pub duplicate_outputs: u64,
    pub lost_updates: u64,
    pub lost_updates_network: u64,
    pub reordered_updates: u64,
    pub duplicate_updates: u64,
    pub state_mismatch: u64,
    pub flows_without_state: u64,
    pub ingress_out_of_order: u64,
    pub findings: Vec<FlowFinding>,
}

/// A per-run verdict on a declared guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub guarantee: Guarantee,
    /// Did the run honour the declared guarantee?
    pub honoured: bool,
    /// What broke it, if anything (empty when honoured).
    pub violations: Vec<String>,
    /// Did the run keep every stronger property too (no loss, no reordering, no mismatch, no
    /// duplicate)? A `none` run can honour its guarantee and still be unclean.
    pub clean: bool,
}

impl Oracle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Instance `nf` changes a flow's state only on the packets `kind` names: when it is a
    /// flow's final owner, the other packets are not expected in the flow's log.
    pub fn set_state_updates(&mut self, nf: NodeId, kind: StateUpdates) {
        self.state_updates.insert(nf, kind);
    }

    pub fn on_sent(&mut self, p: &Packet) {
        self.flows.entry(p.flow).or_default().sent.insert(p.seq);
    }

    pub fn on_ingress(&mut self, p: &Packet) {
        let book = self.flows.entry(p.flow).or_default();
        if book.ingress.iter_last().is_some_and(|l| p.seq < l) {
            self.ingress_out_of_order += 1;
        }
        book.ingress.insert(p.seq);
        if p.flags.contains(Flags::LAST) {
            book.last = Some(p.seq);
        }
    }

    pub fn on_drop(&mut self, key: PacketKey, cause: LossCause) {
        self.flows.entry(key.flow).or_default().drops.push((key.seq, cause));
    }

    pub fn on_output(&mut self, p: &Packet) {
        let book = self.flows.entry(p.flow).or_default();
        if !book.delivered.insert(p.seq) {
            book.duplicate_outputs += 1;
        }
    }

    /// The report, given every NF's per-flow logs as `(instance, flow, log)`.
    pub fn finish<'a>(
        &self,
        states: impl IntoIterator<Item = (NodeId, FlowId, &'a UpdateLog)>,
    ) -> OracleReport {
        // The final owner of each flow: latest update, then lowest node id.
        let mut owners: BTreeMap<FlowId, (NodeId, &UpdateLog)> = BTreeMap::new();
        for (node, flow, log) in states {
            let better = owners.get(&flow).is_none_or(|(n, l)| {
                (log.last_update, std::cmp::Reverse(node)) > (l.last_update, std::cmp::Reverse(*n))
            });
            if better {
                owners.insert(flow, (node, log));
            }
        }
        let mut r = OracleReport {
            ingress_out_of_order: self.ingress_out_of_order,
            ..OracleReport::default()
        };
        let mut flows: Vec<(&FlowId, &FlowBook)> = self.flows.iter().collect();
        flows.sort_unstable_by_key(|e| *e.0);
        for (&flow, book) in flows {
            r.flows += 1;
            r.sent += book.sent.len();
            r.delivered += book.delivered.len();
            r.duplicate_outputs += book.duplicate_outputs;
            let mut last_cause: BTreeMap<u32, LossCause> = BTreeMap::new();
            for &(seq, cause) in &book.drops {
                last_cause.insert(seq, cause);
            }
            for seq in book.sent.iter() {
                if book.delivered.contains(seq) {
                    continue;
                }
                match last_cause.get(&seq) {
                    Some(c) => *r.lost_packets.entry(*c).or_default() += 1,
                    None => r.in_flight += 1,
                }
            }
            let mut f = FlowFinding {
                flow,
                owner: None,
                lost_updates: 0,
                lost_updates_network: 0,
                reordered_updates: 0,
                duplicate_updates: 0,
                duplicate_outputs: book.duplicate_outputs,
                state_mismatch: false,
            };
            match owners.get(&flow) {
                None => r.flows_without_state += u64::from(!book.ingress.is_empty()),
                Some(&(node, log)) => {
                    f.owner = Some(node);
                    let mut expected = 0;
                    let kind = self.state_updates.get(&node).copied().unwrap_or_default();
                    for seq in book.ingress.iter() {
                        if !kind.updates(seq, book.last == Some(seq)) {
                            continue;
                        }
                        let network = last_cause.get(&seq).is_some_and(|c| c.is_network());
                        if !network {
                            expected = digest_step(expected, seq);
                        }
                        if !log.applied.contains(seq) {
                            if network {
                                f.lost_updates_network += 1;
                            } else {
                                f.lost_updates += 1;
                            }
                        }
                    }
                    f.reordered_updates = log.reordered;
                    f.duplicate_updates = log.duplicates;
                    f.state_mismatch = log.digest != expected;
                }
            }
            r.lost_updates += f.lost_updates;
            r.lost_updates_network += f.lost_updates_network;
            r.reordered_updates += f.reordered_updates;
            r.duplicate_updates += f.duplicate_updates;
            r.state_mismatch += u64::from(f.state_mismatch);
            let problem =
                f.lost_updates + f.reordered_updates + f.duplicate_updates + f.duplicate_outputs
                    > 0
                    || f.state_mismatch;
            if problem {
                r.findings.push(f);
            }
        }
        r
    }
}

impl SeqSet {
    fn iter_last(&self) -> Option<u32> {
        self.ranges.last().map(|r| r.1 - 1)
    }
}

impl OracleReport {
    pub fn lost_packets_total(&self) -> u64 {
        self.lost_packets.values().sum()
    }

    /// Every packet sent is delivered, lost with a cause, or still in flight.
    pub fn balances(&self) -> bool {
        self.sent == self.delivered + self.lost_packets_total() + self.in_flight
    }

    /// Checks `g` against this run. `loss-free`: no update lost by the protocol and no duplicate
    /// output; `loss-free+order-preserving`: also no reordered update and no state mismatch
    /// (the digest is order-sensitive). `none` promises nothing and is always honoured.
    pub fn verdict(&self, g: Guarantee) -> Verdict {
        let mut v = Vec::new();
        if g >= Guarantee::LossFree {
            if self.lost_updates > 0 {
                v.push(format!("{} lost updates", self.lost_updates));
            }
            if self.duplicate_outputs > 0 {
                v.push(format!("{} duplicate outputs", self.duplicate_outputs));
            }
        }
        if g >= Guarantee::LossFreeOrderPreserving {
            if self.reordered_updates > 0 {
                v.push(format!("{} reordered updates", self.reordered_updates));
            }
            if self.state_mismatch > 0 {
                v.push(format!("{} flows with mismatched state", self.state_mismatch));
            }
        }
        let clean = self.lost_updates
            + self.reordered_updates
            + self.duplicate_updates
            + self.duplicate_outputs
            + self.state_mismatch
            == 0;
        Verdict { guarantee: g, honoured: v.is_empty(), violations: v, clean }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(flow: u64, seq: u32) -> Packet {
        Packet::for_test(flow, seq)
    }

    #[test]
    fn seqset_merges_ranges_and_rejects_duplicates() {
        let mut s = SeqSet::new();
        for x in [0, 1, 2, 5, 4, 3, 9] {
            assert!(s.insert(x));
        }
        assert!(!s.insert(4));
        assert_eq!(s.len(), 7);
        assert_eq!(s.runs(), 2);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5, 9]);
        assert!(s.contains(9) && !s.contains(6));
    }

    fn run(ingress: &[u32], applied_at_owner: &[u32]) -> OracleReport {
        let mut o = Oracle::new();
        for &s in ingress {
            o.on_sent(&p(1, s));
            o.on_ingress(&p(1, s));
            o.on_output(&p(1, s));
        }
        let mut log = UpdateLog::default();
        for &s in applied_at_owner {
            log.apply(Time::from_nanos(s as u64), s);
        }
        o.finish([(NodeId(1), FlowId(1), &log)])
    }

    #[test]
    fn a_clean_run_has_no_findings() {
        let r = run(&[0, 1, 2, 3], &[0, 1, 2, 3]);
        assert_eq!((r.lost_updates, r.reordered_updates, r.state_mismatch), (0, 0, 0));
        assert!(r.verdict(Guarantee::LossFreeOrderPreserving).honoured);
        assert!(r.balances());
    }

    #[test]
    fn a_missing_update_is_lost_and_mismatches() {
        let r = run(&[0, 1, 2, 3], &[0, 2, 3]);
        assert_eq!(r.lost_updates, 1);
        assert_eq!(r.state_mismatch, 1);
        let v = r.verdict(Guarantee::LossFree);
        assert!(!v.honoured && !v.clean);
        assert!(r.verdict(Guarantee::None).honoured);
    }

    #[test]
    fn reordering_breaks_order_preservation_but_not_loss_freedom() {
        let r = run(&[0, 1, 2, 3], &[0, 2, 1, 3]);
        assert_eq!((r.lost_updates, r.reordered_updates, r.state_mismatch), (0, 1, 1));
        assert!(r.verdict(Guarantee::LossFree).honoured);
        assert!(!r.verdict(Guarantee::LossFreeOrderPreserving).honoured);
    }

    #[test]
    fn for_a_firewall_only_set_up_and_teardown_are_expected_updates() {
        let report = |applied: &[u32]| {
            let mut o = Oracle::new();
            o.set_state_updates(NodeId(1), StateUpdates::ConnectionEvents);
            for s in 0..5 {
                let mut pkt = p(1, s);
                if s == 4 {
                    pkt.flags.insert(Flags::LAST);
                }
                o.on_sent(&pkt);
                o.on_ingress(&pkt);
                o.on_output(&pkt);
            }
            let mut log = UpdateLog::default();
            for &s in applied {
                log.apply(Time::from_nanos(s as u64), s);
            }
            o.finish([(NodeId(1), FlowId(1), &log)])
        };
        let r = report(&[0, 4]);
        assert_eq!((r.lost_updates, r.state_mismatch), (0, 0));
        // The teardown missing is a lost update, as any other would be.
        let r = report(&[0]);
        assert_eq!((r.lost_updates, r.state_mismatch), (1, 1));
    }

    #[test]
    fn the_final_owner_is_the_last_to_apply_an_update() {
        // Rerouted mid-stream: instance 1 saw 0..3, instance 2 saw 3..6 and is the final owner.
        let mut o = Oracle::new();
        for s in 0..6 {
            o.on_sent(&p(1, s));
            o.on_ingress(&p(1, s));
            o.on_output(&p(1, s));
        }
        let (mut a, mut b) = (UpdateLog::default(), UpdateLog::default());
        for s in 0..3 {
            a.apply(Time::from_nanos(s as u64), s);
        }
        for s in 3..6 {
            b.apply(Time::from_nanos(s as u64), s);
        }
        let r = o.finish([(NodeId(1), FlowId(1), &a), (NodeId(2), FlowId(1), &b)]);
        assert_eq!(r.findings[0].owner, Some(NodeId(2)));
        assert_eq!(r.lost_updates, 3);
        assert_eq!(r.state_mismatch, 1);
    }

    #[test]
    fn network_losses_are_told_apart_and_packets_balance() {
        let mut o = Oracle::new();
        let mut log = UpdateLog::default();
        for s in 0..5 {
            o.on_sent(&p(1, s));
        }
        for s in [0, 1, 3] {
            o.on_ingress(&p(1, s));
            log.apply(Time::ZERO, s);
            o.on_output(&p(1, s));
        }
        o.on_ingress(&p(1, 2));
        o.on_drop(p(1, 2).key(), LossCause::LinkQueue); // after ingress, before the NF
        o.on_drop(p(1, 4).key(), LossCause::LinkDown); // before ingress
        o.on_output(&p(1, 3)); // a duplicate output
        let r = o.finish([(NodeId(1), FlowId(1), &log)]);
        assert_eq!((r.lost_updates, r.lost_updates_network, r.state_mismatch), (0, 1, 0));
        assert_eq!(r.lost_packets.get(&LossCause::LinkQueue), Some(&1));
        assert_eq!(r.lost_packets.get(&LossCause::LinkDown), Some(&1));
        assert_eq!(r.duplicate_outputs, 1);
        assert_eq!((r.sent, r.delivered, r.in_flight), (5, 3, 0));
        assert!(r.balances());
        assert!(!r.verdict(Guarantee::LossFree).honoured); // the duplicate output
    }
}
