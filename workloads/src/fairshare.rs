//! Fair-share sending: a sender's flows share its link the way long-lived TCP flows share a
//! bottleneck, with an optional slow start.
//!
//! Open-loop pacing ([`crate::packets`]) gives every flow a fixed rate whatever else is
//! sending. A traffic generator that opens a TCP connection per flow (as the DCTCP, pFabric
//! and U-HAUL testbeds do) behaves differently: the link is busy whenever some flow has data,
//! and the flows in progress split it evenly, so a flow's rate is `C / n(t)` with `n(t)` the
//! flows in progress (processor sharing), and a mouse that arrives when few flows are in
//! progress finishes in microseconds.
//!
//! The model, one packet at a time:
//!
//! - The link is work-conserving: packet `k` of a busy period leaves at
//!   `busy_start + tx_time(bits of the k packets before it, C)` (cumulative bits through
//!   [`base::tx_time`] once, so rounding never accumulates), and an idle link starts a new
//!   busy period at the next flow's start or wake-up.
//! - Flows ready to send are served round robin, one packet each (packet-level processor
//!   sharing, what TCP's per-flow fairness converges to). A flow joins the back of the round
//!   when it starts, and goes back there after each packet until its last one.
//! - **Slow start** (optional, [`SlowStart`]): a flow sends at most `initial_window` packets in
//!   its first round trip and doubles its window every round trip (RFC 5681 slow start with
//!   the initial window of RFC 6928). Round `r + 1` may begin one `rtt` after the first packet
//!   of round `r` left (the ACK of that packet is back); until then the flow waits out of the
//!   round robin. No packet is lost, so a window never shrinks and slow start never ends:
//!   once the window exceeds what the flow's share carries in a round trip, the share limits
//!   it. Without slow start, a flow is limited by its share from its first packet.
//! - Ties: wake-ups before starts at the same instant (the older flow first), then by flow id.
//!
//! The schedule depends only on the flows (sizes, starts) and these parameters, never on the
//! network after the link: the sender does not react to queueing or to a migration further on
//! (there is no ACK path in the twin). So the schedule is the trace's ground truth (each
//! flow's end, "the trace files that record ... FCTs") and the simulation's source alike.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::iter::Peekable;

use base::{tx_time, Bps, Dur, Time};

use crate::flow::Flow;

/// Slow start's parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SlowStart {
    /// The round trip after which a window's first ACK is back.
    pub rtt: Dur,
    /// Packets in the first round trip (RFC 6928: 10).
    pub initial_window: u32,
}

/// RFC 6928's initial window, in packets.
pub const DEFAULT_INITIAL_WINDOW: u32 = 10;

/// Fair sharing of one sender's link.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FairShare {
    /// The sender's link rate, which its flows share.
    pub link: Bps,
    pub slow_start: Option<SlowStart>,
}

/// One packet of a fair-share schedule.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SentPacket {
    pub flow: Flow,
    /// 0-based index within the flow (the oracle's `seq`).
    pub seq: u64,
    /// When its first bit leaves the sender.
    pub time: Time,
    /// When its last bit leaves (for the flow's last packet: the flow's end at the sender).
    pub end: Time,
    pub bytes: u32,
    pub last: bool,
}

struct InProgress {
    flow: Flow,
    mtu: u64,
    next: u64,
    packets: u64,
    window: u64,
    in_round: u64,
    round_start: Time,
}

/// The packets of a sender's flows in sending order; build it with [`FairShare::schedule`].
pub struct FairShareSchedule<I: Iterator<Item = (Flow, u32)>> {
    cfg: FairShare,
    flows: Peekable<I>,
    slots: Vec<InProgress>,
    free: Vec<usize>,
    ready: VecDeque<usize>,
    /// Flows waiting for their next round trip: (wake-up, flow id, slot).
    waiting: BinaryHeap<Reverse<(Time, u64, usize)>>,
    busy_start: Time,
    busy_bits: u128,
}

impl FairShare {
    /// # Panics
    /// If the link rate or slow start's window or round trip is 0 (validated input never
    /// has one).
    pub fn new(link: Bps, slow_start: Option<SlowStart>) -> Self {
        assert!(link.0 > 0, "invariant: a link rate must be positive");
        if let Some(s) = slow_start {
            assert!(s.initial_window > 0 && s.rtt > Dur::ZERO, "invariant: a valid slow start");
        }
        FairShare { link, slow_start }
    }

    /// The schedule of `flows` (each with its MTU), which must come in non-decreasing start
    /// order.
    pub fn schedule<I: IntoIterator<Item = (Flow, u32)>>(
        &self,
        flows: I,
    ) -> FairShareSchedule<I::IntoIter> {
        FairShareSchedule {
            cfg: *self,
            flows: flows.into_iter().peekable(),
            slots: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            busy_start: Time::ZERO,
            busy_bits: 0,
        }
    }

    /// Each flow's end at the sender (its last bit leaves), by flow id; flows of 0 bytes have
    /// none.
    pub fn ends<I: IntoIterator<Item = (Flow, u32)>>(
        &self,
        flows: I,
    ) -> std::collections::BTreeMap<u64, Time> {
        self.schedule(flows).filter(|p| p.last).map(|p| (p.flow.id.0, p.end)).collect()
    }
}

impl<I: Iterator<Item = (Flow, u32)>> FairShareSchedule<I> {
    /// When the link is free: the end of the packets sent in this busy period.
    fn free_at(&self) -> Time {
        self.busy_start + tx_time(self.busy_bits, self.cfg.link)
    }

    /// Puts the flows that start or wake up by `t` at the back of the round, in time order.
    fn admit(&mut self, t: Time) {
        loop {
            let start = self.flows.peek().map(|f| f.0.start).filter(|s| *s <= t);
            let wake = self.waiting.peek().map(|w| w.0 .0).filter(|w| *w <= t);
            match (start, wake) {
                (_, Some(w)) if start.is_none_or(|s| w <= s) => {
                    let Reverse((_, _, slot)) = self.waiting.pop().expect("peeked");
                    self.ready.push_back(slot);
                }
                (Some(_), _) => {
                    let (flow, mtu) = self.flows.next().expect("peeked");
                    assert!(mtu > 0, "invariant: a positive MTU");
                    let mtu = mtu as u64;
                    let packets = flow.size_bytes.div_ceil(mtu);
                    if packets == 0 {
                        continue;
                    }
                    let window = self.cfg.slow_start.map_or(u64::MAX, |s| s.initial_window as u64);
                    let f = InProgress {
                        flow,
                        mtu,
                        next: 0,
                        packets,
                        window,
                        in_round: 0,
                        round_start: flow.start,
                    };
                    let slot = match self.free.pop() {
                        Some(s) => {
                            self.slots[s] = f;
                            s
                        }
                        None => {
                            self.slots.push(f);
                            self.slots.len() - 1
                        }
                    };
                    self.ready.push_back(slot);
                }
                _ => return,
            }
        }
    }
}

impl<I: Iterator<Item = (Flow, u32)>> Iterator for FairShareSchedule<I> {
    type Item = SentPacket;

    fn next(&mut self) -> Option<SentPacket> {
        loop {
            let t = self.free_at();
            self.admit(t);
            let Some(slot) = self.ready.pop_front() else {
                // Idle: a new busy period begins at the next start or wake-up.
                let start = self.flows.peek().map(|f| f.0.start);
                let wake = self.waiting.peek().map(|w| w.0 .0);
                let next = match (start, wake) {
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => a.or(b)?,
                };
                self.busy_start = next.max(t);
                self.busy_bits = 0;
                continue;
            };
            let f = &mut self.slots[slot];
            let seq = f.next;
            let last = seq + 1 == f.packets;
            let bytes = (f.flow.size_bytes - seq * f.mtu).min(f.mtu) as u32;
            if f.in_round == 0 {
                f.round_start = t;
            }
            f.next += 1;
            f.in_round += 1;
            self.busy_bits += 8 * bytes as u128;
            let end = self.busy_start + tx_time(self.busy_bits, self.cfg.link);
            let pkt = SentPacket { flow: f.flow, seq, time: t, end, bytes, last };
            if last {
                self.free.push(slot);
            } else if f.in_round == f.window {
                // The window is spent: the next round begins when its first ACK is back.
                let rtt = self.cfg.slow_start.expect("invariant: a finite window").rtt;
                f.window = f.window.saturating_mul(2);
                f.in_round = 0;
                let wake = f.round_start + rtt;
                if wake > end {
                    self.waiting.push(Reverse((wake, f.flow.id.0, slot)));
                } else {
                    self.ready.push_back(slot);
                }
            } else {
                self.ready.push_back(slot);
            }
            return Some(pkt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FiveTuple, FlowId};

    const C: Bps = Bps(8_000_000_000); // 1 byte per ns

    fn flow(id: u64, start_ns: u64, size: u64) -> (Flow, u32) {
        let f = Flow {
            id: FlowId(id),
            start: Time::from_nanos(start_ns),
            size_bytes: size,
            tuple: FiveTuple::synthetic(id),
        };
        (f, 1000)
    }

    #[test]
    fn a_lone_flow_sends_at_line_rate() {
        let fs = FairShare::new(C, None);
        let p: Vec<SentPacket> = fs.schedule([flow(0, 100, 2500)]).collect();
        assert_eq!(p.iter().map(|x| x.time.as_nanos()).collect::<Vec<_>>(), [100, 1100, 2100]);
        assert_eq!(p.iter().map(|x| x.bytes).collect::<Vec<_>>(), [1000, 1000, 500]);
        assert!(p[2].last && !p[1].last);
        assert_eq!(p[2].end, Time::from_nanos(2600));
    }

    #[test]
    fn two_flows_share_the_link_round_robin() {
        // Processor sharing: two 3000 B flows started together both end at about 6000 ns
        // (not one at 3000 and the other at 6000); a third, short flow that arrives while
        // they run gets a third of the link and ends before them.
        let fs = FairShare::new(C, None);
        let p: Vec<SentPacket> =
            fs.schedule([flow(0, 0, 3000), flow(1, 0, 3000), flow(2, 1500, 1000)]).collect();
        let order: Vec<(u64, u64)> = p.iter().map(|x| (x.flow.id.0, x.seq)).collect();
        assert_eq!(order, [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (1, 2)]);
        let ends = fs.ends([flow(0, 0, 3000), flow(1, 0, 3000), flow(2, 1500, 1000)]);
        assert_eq!(ends[&0].as_nanos(), 6000);
        assert_eq!(ends[&1].as_nanos(), 7000);
        assert_eq!(ends[&2].as_nanos(), 5000);
        // The link never idles while a flow has data: bytes / C = 7000 ns in all.
        assert!(p.windows(2).all(|w| w[0].end == w[1].time));
    }

    #[test]
    fn an_idle_link_starts_a_new_busy_period_at_the_next_start() {
        let fs = FairShare::new(C, None);
        let p: Vec<SentPacket> = fs.schedule([flow(0, 0, 1000), flow(1, 5000, 1000)]).collect();
        assert_eq!(p[1].time.as_nanos(), 5000);
        assert_eq!(p[1].end.as_nanos(), 6000);
    }

    #[test]
    fn slow_start_sends_a_window_per_round_trip_and_doubles_it() {
        // IW 2, RTT 10 us: rounds of 2, 4, 8 packets starting at 0, 10 us, 20 us.
        let ss = SlowStart { rtt: Dur::from_micros(10), initial_window: 2 };
        let fs = FairShare::new(C, Some(ss));
        let p: Vec<u64> = fs.schedule([flow(0, 0, 14_000)]).map(|x| x.time.as_nanos()).collect();
        assert_eq!(p[..2], [0, 1000]);
        assert_eq!(p[2..6], [10_000, 11_000, 12_000, 13_000]);
        assert_eq!(p[6..], [20_000, 21_000, 22_000, 23_000, 24_000, 25_000, 26_000, 27_000]);
        // A window that takes longer than the round trip to send is not held back.
        let fs = FairShare::new(C, Some(SlowStart { rtt: Dur::from_nanos(1500), ..ss }));
        let p: Vec<u64> = fs.schedule([flow(0, 0, 5000)]).map(|x| x.time.as_nanos()).collect();
        assert_eq!(p, [0, 1000, 2000, 3000, 4000]);
    }

    #[test]
    fn a_flow_waiting_for_its_round_trip_leaves_the_link_to_others() {
        let ss = SlowStart { rtt: Dur::from_micros(10), initial_window: 1 };
        let fs = FairShare::new(C, Some(ss));
        let p: Vec<(u64, u64)> = fs
            .schedule([flow(0, 0, 2000), flow(1, 0, 3000)])
            .map(|x| (x.flow.id.0, x.time.as_nanos()))
            .collect();
        assert_eq!(p, [(0, 0), (1, 1000), (0, 10_000), (1, 11_000), (1, 12_000)]);
    }

    #[test]
    fn schedules_conserve_bytes_and_never_overlap() {
        let ss = SlowStart { rtt: Dur::from_micros(50), initial_window: 10 };
        for slow in [None, Some(ss)] {
            let fs = FairShare::new(Bps(10_000_000_000), slow);
            let flows: Vec<(Flow, u32)> = (0..200u64)
                .map(|i| {
                    let (f, _) = flow(i, i * 3_700, 1 + (i * 7919) % 300_000);
                    (f, 1500)
                })
                .collect();
            let p: Vec<SentPacket> = fs.schedule(flows.clone()).collect();
            for (f, _) in &flows {
                let mine: Vec<&SentPacket> = p.iter().filter(|x| x.flow.id == f.id).collect();
                assert_eq!(mine.iter().map(|x| x.bytes as u64).sum::<u64>(), f.size_bytes);
                assert!(mine.iter().enumerate().all(|(k, x)| x.seq == k as u64));
                assert!(mine[0].time >= f.start && mine.last().unwrap().last);
            }
            assert!(p.windows(2).all(|w| w[0].end <= w[1].time));
        }
    }
}
