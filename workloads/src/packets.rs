//! Packetization: a flow becomes a schedule of packets.
//!
//! A flow of `S` bytes is cut into `ceil(S / mtu)` packets of `mtu` bytes, the last one
//! carrying the remainder (`S - (n - 1) * mtu`). Packet sizes are the bytes the workload
//! counts; no header overhead is added (the CDFs count flow bytes, and the load calibration
//! uses the same bytes).
//!
//! Pacing (the only model so far, [`Pacing::OpenLoop`]): the sender ignores the network and
//! sends back to back at a fixed per-flow `rate` (by default the access link's rate). Packet
//! `k` (0-based) leaves at `start + tx_time(8 * k * mtu, rate)`, the time the `k` packets before
//! it take to serialize, and the flow's last bit leaves at `start + tx_time(8 * S, rate)`.
//! Cumulative bits go through [`base::tx_time`] once, so rounding never accumulates (the
//! same rule sim-core links use). A sender whose flows share its link (TCP-like fair share,
//! slow start) depends on the other flows, so it is not a per-flow `Pacing` but a schedule of
//! its own: [`crate::fairshare`]. `Pacing` stays `#[non_exhaustive]` for per-flow models.
//!
//! A flow is **active** from its start until its last bit leaves. The time-average number of
//! active flows over `[0, T)` is `sum_f |[start_f, end_f) ∩ [0, T)| / T`. Under open-loop pacing
//! at the link rate each flow is active for `S / C`, so the average is about the offered load:
//! the workload's shape barely matters (see `docs/workloads.md`).

use base::{tx_time, Bps, Dur, Time};

use crate::flow::{Flow, FlowId};

/// The default MTU in bytes.
pub const DEFAULT_MTU: u32 = 1500;

/// How a flow's packets are spaced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pacing {
    /// Back to back at `rate`, whatever the network does.
    OpenLoop { rate: Bps },
}

/// One packet of a flow's schedule.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub flow: FlowId,
    /// 0-based index within the flow (the oracle's `seq`).
    pub seq: u64,
    /// When its first bit leaves the sender.
    pub time: Time,
    pub bytes: u32,
}

/// Turns flows into packet schedules.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Packetizer {
    mtu: u32,
    pacing: Pacing,
}

impl Packetizer {
    /// # Panics
    /// If `mtu` is 0 or the pacing rate is 0 (validated input never has either).
    pub fn new(mtu: u32, pacing: Pacing) -> Self {
        assert!(mtu > 0, "invariant: the MTU must be positive");
        let Pacing::OpenLoop { rate } = pacing;
        assert!(rate.0 > 0, "invariant: a pacing rate must be positive");
        Packetizer { mtu, pacing }
    }

    /// Open loop at `rate` with the default MTU.
    pub fn open_loop(rate: Bps) -> Self {
        Self::new(DEFAULT_MTU, Pacing::OpenLoop { rate })
    }

    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// `ceil(size / mtu)` (a 0-byte flow has no packets).
    pub fn packet_count(&self, size_bytes: u64) -> u64 {
        size_bytes.div_ceil(self.mtu as u64)
    }

    /// From the flow's start until its last bit leaves.
    pub fn active_duration(&self, size_bytes: u64) -> Dur {
        let Pacing::OpenLoop { rate } = self.pacing;
        tx_time(8 * size_bytes as u128, rate)
    }

    /// The flow's packets in sending order.
    pub fn packets(&self, flow: &Flow) -> impl Iterator<Item = Packet> + use<> {
        let Pacing::OpenLoop { rate } = self.pacing;
        let (mtu, size, id, start) = (self.mtu as u64, flow.size_bytes, flow.id, flow.start);
        (0..self.packet_count(size)).map(move |k| Packet {
            flow: id,
            seq: k,
            time: start + tx_time(8 * (k * mtu) as u128, rate),
            bytes: (size - k * mtu).min(mtu) as u32,
        })
    }

    /// The time-average number of active flows over `[0, horizon)` (module doc).
    pub fn time_avg_active(&self, flows: &[Flow], horizon: Dur) -> f64 {
        assert!(horizon > Dur::ZERO, "invariant: a positive horizon");
        let end = Time::ZERO + horizon;
        let busy_ns: u128 = flows
            .iter()
            .filter(|f| f.start < end)
            .map(|f| {
                let fin = (f.start + self.active_duration(f.size_bytes)).min(end);
                (fin - f.start).as_nanos() as u128
            })
            .sum();
        busy_ns as f64 / horizon.as_nanos() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::FiveTuple;

    fn flow(start_ns: u64, size: u64) -> Flow {
        Flow {
            id: FlowId(7),
            start: Time::from_nanos(start_ns),
            size_bytes: size,
            tuple: FiveTuple::synthetic(7),
        }
    }

    #[test]
    fn last_packet_carries_the_remainder_and_times_do_not_accumulate_rounding() {
        let p = Packetizer::open_loop(Bps(10_000_000_000));
        let pk: Vec<Packet> = p.packets(&flow(100, 4000)).collect();
        assert_eq!(pk.iter().map(|x| x.bytes).collect::<Vec<_>>(), [1500, 1500, 1000]);
        assert_eq!(pk.iter().map(|x| x.seq).collect::<Vec<_>>(), [0, 1, 2]);
        // 1500 B at 10 Gbps = 1200 ns exactly.
        assert_eq!(pk[2].time, Time::from_nanos(100 + 2400));
        assert_eq!(p.active_duration(4000), Dur::from_nanos(3200));
        // At 3 Gbps a 1500 B packet takes 4000 ns, 1 B takes 2.67 ns: the 2nd packet leaves at
        // exactly 4000 ns, and one 1501 B flow lasts ceil(4002.67) = 4003 ns, not 4000 + 3.
        let q = Packetizer::open_loop(Bps(3_000_000_000));
        let pk: Vec<Packet> = q.packets(&flow(0, 1501)).collect();
        assert_eq!((pk[1].time, pk[1].bytes), (Time::from_nanos(4000), 1));
        assert_eq!(q.active_duration(1501), Dur::from_nanos(4003));
        assert_eq!(q.packets(&flow(0, 3000)).count(), 2);
    }

    #[test]
    fn schedules_conserve_bytes_and_end_with_the_flow() {
        // Sizes around MTU multiples, rates that do not divide evenly.
        for rate in
            [Bps(1_000_000_000), Bps(3_000_000_000), Bps(7_000_000_000), Bps(40_000_000_000)]
        {
            let p = Packetizer::new(1500, Pacing::OpenLoop { rate });
            for size in [1, 1499, 1500, 1501, 2999, 3000, 3001, 1_000_000, 1_234_567] {
                let f = flow(17, size);
                let pk: Vec<Packet> = p.packets(&f).collect();
                assert_eq!(pk.len() as u64, size.div_ceil(1500));
                assert_eq!(pk.iter().map(|x| x.bytes as u64).sum::<u64>(), size);
                assert!(pk.iter().all(|x| x.bytes > 0 && x.bytes <= 1500));
                assert!(pk.windows(2).all(|w| w[0].time < w[1].time));
                // The last packet starts before the flow ends, and ends exactly with it.
                let last = pk.last().unwrap();
                let end = f.start + p.active_duration(size);
                assert!(last.time < end);
                // Rounding the last packet on its own: ceil(a) + ceil(b) is ceil(a + b) or
                // one more nanosecond.
                let own = (last.time + tx_time(8 * last.bytes as u128, rate)).as_nanos();
                assert!(own == end.as_nanos() || own == end.as_nanos() + 1, "{size} {rate:?}");
            }
        }
    }

    #[test]
    fn time_average_counts_overlap_with_the_horizon_only() {
        let p = Packetizer::open_loop(Bps(8_000_000_000)); // 1 B per ns
                                                           // Two flows of 500 ns each inside [0, 1000), one that runs past the end by 200 ns,
                                                           // one that starts after the end: (500 + 500 + 300) / 1000.
        let fl = [flow(0, 500), flow(100, 500), flow(700, 500), flow(1000, 10)];
        assert!((p.time_avg_active(&fl, Dur::from_nanos(1000)) - 1.3).abs() < 1e-12);
    }
}
