//! What each host role computes, apart from the port I/O: the source's packets and pacing,
//! the sink's bookkeeping (the oracle's receiver), and the one-line report a host prints.
//!
//! The host binary (`src/bin/nftwin-host.rs`) wraps these around DPDK ports; the switch role
//! is `models::switch::Switch` itself. Kept free of DPDK so the tests run everywhere.

use std::collections::BTreeMap;
use std::fmt;

use base::Time;
use models::oracle::SeqSet;
use models::{FiveTuple, Flags, FlowId, Packet};

/// A traffic source's schedule: `count` packets at `rate_pps`, flows taking turns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SourcePlan {
    pub rate_pps: u64,
    pub count: u64,
    pub flows: u64,
    pub size_bytes: u32,
}

/// The address every live source sends from and every sink receives at (10.99.x.x, as
/// `shared/dpdk-notes.md` reserves for the namespaces).
pub const SOURCE_IP: u32 = 0x0a63_0001;
pub const SINK_IP: u32 = 0x0a63_0002;
/// UDP ports: flow `f` leaves from `SOURCE_PORT_BASE + f % 60000` to `SINK_PORT`.
pub const SOURCE_PORT_BASE: u16 = 1024;
pub const SINK_PORT: u16 = 5000;

impl SourcePlan {
    /// How many packets are due `elapsed_ns` after the start (paced at a constant rate).
    pub fn due(&self, elapsed_ns: u64) -> u64 {
        let due = (u128::from(elapsed_ns) * u128::from(self.rate_pps) / 1_000_000_000) as u64;
        due.min(self.count)
    }

    /// The `i`-th packet: flow `i % flows`, its `i / flows`-th; the last of each flow marked.
    pub fn packet(&self, i: u64, sent: Time) -> Packet {
        let flows = self.flows.max(1);
        let flow = i % flows;
        let seq = (i / flows) as u32;
        let tuple = FiveTuple {
            src: SOURCE_IP,
            dst: SINK_IP,
            sport: SOURCE_PORT_BASE + (flow % 60_000) as u16,
            dport: SINK_PORT,
            proto: models::wire::IPPROTO_UDP,
        };
        let mut flags = Flags::empty();
        if i + flows >= self.count {
            flags.insert(Flags::LAST);
        }
        Packet {
            flow: FlowId(flow),
            seq,
            tuple,
            hash: base::rng::fnv1a64(&flow.to_be_bytes()) as u32,
            size_bytes: self.size_bytes,
            sent,
            flags,
            tag: 0,
        }
    }
}

/// Host2 of SHarP's testbed "receives the packets and sends them back to Host1, creating a
/// bidirectional traffic flow" (section IV-B): the answer to flow `f`'s packet `seq` is flow
/// `ECHO_FLOW_BASE + f`'s packet `seq`, on the reverse 5-tuple, so the oracle checks each
/// direction's order on its own. It keeps the request's send time: Host1 measures the round
/// trip, as the paper does.
pub const ECHO_FLOW_BASE: u64 = 1 << 32;

/// The other direction's 5-tuple.
pub fn reverse(t: &FiveTuple) -> FiveTuple {
    FiveTuple { src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, proto: t.proto }
}

/// The answer to data packet `p` (see [`ECHO_FLOW_BASE`]).
pub fn echo(p: &Packet) -> Packet {
    let flow = FlowId(ECHO_FLOW_BASE + p.flow.0);
    let mut flags = Flags::empty();
    if p.flags.contains(Flags::LAST) {
        flags.insert(Flags::LAST);
    }
    Packet {
        flow,
        seq: p.seq,
        tuple: reverse(&p.tuple),
        hash: base::rng::fnv1a64(&flow.0.to_be_bytes()) as u32,
        size_bytes: p.size_bytes,
        sent: p.sent,
        flags,
        tag: 0,
    }
}

/// The sink's view of what arrived: per flow the set of sequence numbers, and delays.
#[derive(Clone, Debug, Default)]
pub struct SinkStats {
    flows: BTreeMap<FlowId, (SeqSet, u32)>,
    pub received: u64,
    pub duplicates: u64,
    /// Packets that arrived after a later packet of their flow.
    pub reordered: u64,
    pub delay_max_ns: u64,
    pub delay_sum_ns: u128,
}

impl SinkStats {
    /// A data packet arrives at `now` (the same wall clock the source stamped `sent` with).
    pub fn on_packet(&mut self, p: &Packet, now: Time) {
        if !p.is_data() {
            return;
        }
        self.received += 1;
        let (seen, max) = self.flows.entry(p.flow).or_default();
        if !seen.insert(p.seq) {
            self.duplicates += 1;
            return;
        }
        if seen.len() > 1 && p.seq < *max {
            self.reordered += 1;
        }
        *max = (*max).max(p.seq);
        let d = now.as_nanos().saturating_sub(p.sent.as_nanos());
        self.delay_max_ns = self.delay_max_ns.max(d);
        self.delay_sum_ns += u128::from(d);
    }

    /// Distinct packets received.
    pub fn unique(&self) -> u64 {
        self.received - self.duplicates
    }

    /// Packets of flows `0..flows` that the plan sent and never arrived.
    pub fn lost_against(&self, plan: &SourcePlan, sent: u64) -> u64 {
        sent.min(plan.count).saturating_sub(self.unique())
    }

    pub fn report(&self) -> Report {
        let mut r = Report::default();
        r.set("received", self.received);
        r.set("unique", self.unique());
        r.set("duplicates", self.duplicates);
        r.set("reordered", self.reordered);
        r.set("flows", self.flows.len() as u64);
        r.set("delay_max_ns", self.delay_max_ns);
        let mean = self.delay_sum_ns.checked_div(u128::from(self.unique())).unwrap_or(0);
        r.set("delay_mean_ns", mean as u64);
        r
    }
}

/// A host loop's own per-packet cost, without its naps and empty polls: the wall time of the
/// loop iterations that handled at least one packet, message or output, and the packets they
/// received. `busy_ns / busy_pkts` is the host's processing time per packet (decode, the
/// `models` machine, encode, the port's TX), what the twin needs where bursts cross a host;
/// `cpu_ns` cannot give it, since it includes every idle poll. Wall time: a host preempted
/// inside a busy iteration is charged for the wait (rare under `SCHED_RR`, docs/live.md).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Busy {
    pub ns: u64,
    pub pkts: u64,
}

impl Busy {
    /// One loop iteration from `start` to `end` that received `pkts` packets and did `work`
    /// things in all (packets, messages, outputs); idle iterations (`work == 0`) are not busy.
    pub fn iteration(&mut self, start: Time, end: Time, pkts: u64, work: u64) {
        if work > 0 {
            self.ns += end.as_nanos().saturating_sub(start.as_nanos());
            self.pkts += pkts;
        }
    }

    /// `busy_ns` and `busy_pkts` into a host's report.
    pub fn report_into(&self, r: &mut Report) {
        r.set("busy_ns", self.ns);
        r.set("busy_pkts", self.pkts);
    }

    /// The per-packet cost a report's `busy_ns` and `busy_pkts` give (`None` without packets).
    pub fn per_pkt_ns(r: &Report) -> Option<u64> {
        let pkts = r.get("busy_pkts").filter(|&n| n > 0)?;
        Some(r.get("busy_ns")? / pkts)
    }
}

/// A host's result: named counters, printed as one line `RESULT k=v k=v ...` on stdout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report(pub BTreeMap<String, u64>);

impl Report {
    pub const PREFIX: &'static str = "RESULT";

    pub fn set(&mut self, k: &str, v: u64) {
        self.0.insert(k.to_string(), v);
    }
    pub fn get(&self, k: &str) -> Option<u64> {
        self.0.get(k).copied()
    }

    /// Reads a `RESULT ...` line; `None` for any other line or a malformed field.
    pub fn parse(line: &str) -> Option<Report> {
        let rest = line.trim().strip_prefix(Self::PREFIX)?;
        let mut r = Report::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            r.set(k, v.parse().ok()?);
        }
        Some(r)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::PREFIX)?;
        for (k, v) in &self.0 {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> SourcePlan {
        SourcePlan { rate_pps: 1000, count: 10, flows: 3, size_bytes: 128 }
    }

    #[test]
    fn busy_counts_only_iterations_with_work() {
        let mut b = Busy::default();
        let t = Time::from_nanos;
        b.iteration(t(0), t(1_000), 0, 0); // an empty poll
        b.iteration(t(1_000), t(5_000), 2, 2);
        b.iteration(t(5_000), t(6_000), 0, 1); // a timeout's output
        let mut r = Report::default();
        b.report_into(&mut r);
        assert_eq!((r.get("busy_ns"), r.get("busy_pkts")), (Some(5_000), Some(2)));
        assert_eq!(Busy::per_pkt_ns(&r), Some(2_500));
        assert_eq!(Busy::per_pkt_ns(&Report::default()), None);
    }

    #[test]
    fn source_due_follows_the_rate_and_stops_at_count() {
        let p = plan();
        assert_eq!(p.due(0), 0);
        assert_eq!(p.due(999_999), 0);
        assert_eq!(p.due(1_000_000), 1);
        assert_eq!(p.due(5_500_000), 5);
        assert_eq!(p.due(60_000_000_000), 10);
    }

    #[test]
    fn source_packets_take_turns_and_mark_each_flows_last() {
        let p = plan();
        let keys: Vec<(u64, u32)> = (0..10)
            .map(|i| {
                let q = p.packet(i, Time::ZERO);
                (q.flow.0, q.seq)
            })
            .collect();
        assert_eq!(keys[..4], [(0, 0), (1, 0), (2, 0), (0, 1)]);
        let last: Vec<u64> =
            (0..10).filter(|&i| p.packet(i, Time::ZERO).flags.contains(Flags::LAST)).collect();
        assert_eq!(last, vec![7, 8, 9]);
    }

    #[test]
    fn sink_counts_duplicates_reordering_and_loss() {
        let p = plan();
        let mut s = SinkStats::default();
        let t = Time::from_nanos(10);
        for i in [0, 3, 1, 6, 3, 9] {
            // flow 0: seqs 0, 1, 2, 1 (dup), 3; flow 1: seq 0
            s.on_packet(&p.packet(i, Time::ZERO), t);
        }
        assert_eq!(s.received, 6);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.reordered, 0);
        s.on_packet(&p.packet(4, Time::ZERO), t); // flow 1 seq 1
        s.on_packet(&p.packet(2, Time::ZERO), t); // flow 2 seq 0
        s.on_packet(&p.packet(7, Time::ZERO), t); // flow 1 seq 2
        assert_eq!(s.reordered, 0);
        let mut late = p.packet(8, Time::ZERO); // flow 2 seq 2 ...
        s.on_packet(&late, t);
        late = p.packet(5, Time::ZERO); // ... then flow 2 seq 1: reordered
        s.on_packet(&late, t);
        assert_eq!(s.reordered, 1);
        assert_eq!(s.unique(), 10);
        assert_eq!(s.lost_against(&p, 10), 0);
        assert_eq!(SinkStats::default().lost_against(&p, 10), 10);
        assert_eq!(s.delay_max_ns, 10);
    }

    #[test]
    fn echo_reverses_the_tuple_and_keeps_seq_last_and_send_time() {
        let p = plan().packet(9, Time::from_nanos(5));
        let e = echo(&p);
        assert_eq!((e.flow.0, e.seq), (ECHO_FLOW_BASE, 3));
        assert_eq!((e.tuple.src, e.tuple.dst), (SINK_IP, SOURCE_IP));
        assert_eq!((e.tuple.sport, e.tuple.dport), (SINK_PORT, SOURCE_PORT_BASE));
        assert!(e.flags.contains(Flags::LAST) && e.is_data());
        assert_eq!(e.sent, Time::from_nanos(5));
    }

    #[test]
    fn report_line_round_trips_and_other_lines_are_not_reports() {
        let mut r = Report::default();
        r.set("sent", 100_000);
        r.set("tx_retries", 3);
        let line = r.to_string();
        assert_eq!(line, "RESULT sent=100000 tx_retries=3");
        assert_eq!(Report::parse(&line), Some(r));
        assert_eq!(Report::parse("EAL: Detected 2 lcore(s)"), None);
        assert_eq!(Report::parse("RESULT sent=x"), None);
    }
}
