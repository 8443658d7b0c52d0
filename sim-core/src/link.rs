//! A generic point-to-point link: rate, propagation delay, drop-tail queue, random loss and
//! an up/down state.
//!
//! ```text
//!  enqueue ──► [ waiting (bounded) ][ in transmission ] ──prop──► delivered to `to`
//!                 drop-tail bound      not counted in
//!                 in pkts and bytes    the bound
//! ```
//!
//! **Timing.** A packet whose transmission starts at `t` is fully received at the far end at
//! `t + tx + prop` and handed to the receiving entity then. Transmission is FIFO and
//! work-conserving: a packet starts at `max(arrival, end of the previous transmission)`. Within
//! a busy period the `k`-th packet ends at `start + tx_time(bits of packets 1..=k)`
//! ([`crate::time::tx_time`], computed incrementally), so rounding to nanoseconds never accumulates.
//!
//! **Queue bound.** `max_waiting_pkts` and `max_waiting_bytes` bound the packets that wait
//! behind the transmitter; the one in transmission does not count. A packet that arrives when
//! admitting it would exceed either bound is dropped (drop-tail). A packet that finds the
//! transmitter idle always starts at once. `None` means unbounded.
//!
//! **Random loss.** With probability `loss` a packet is lost on the wire: it still occupies the
//! transmitter for its transmission time (it was sent), but it is never delivered. The sender is
//! told at once through [`Offer::Lost`], so the caller can account for it by cause.
//!
//! **Up/down.** Taking a link down models a cut cable: every packet on it, waiting, in
//! transmission or propagating, is lost and returned to the caller, and the transmitter is
//! idle from that instant. While down, every offered packet is refused ([`Offer::Down`]). A link
//! brought back up starts empty and idle.
//!
//! **Implementation.** At enqueue time the packet's start and arrival are computed, and it joins
//! one FIFO per link (`pipe`). The simulation keeps at most one event per link in its heap: the
//! arrival of the pipe's head. This keeps the heap as small as the number of busy links instead
//! of the number of packets in flight, with one heap event per packet-hop.

use std::collections::VecDeque;

use crate::rng::Rng;
use crate::time::{Bps, Dur, Time};

/// The static description of a link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkParams {
    pub rate: Bps,
    pub prop: Dur,
    /// Packets waiting behind the transmitter at most; `None`: unbounded.
    pub max_waiting_pkts: Option<u32>,
    /// Bytes waiting behind the transmitter at most; `None`: unbounded.
    pub max_waiting_bytes: Option<u64>,
    /// Probability that a packet is lost on the wire, in `[0, 1]`.
    pub loss: f64,
}

impl LinkParams {
    pub fn new(rate: Bps, prop: Dur) -> Self {
        LinkParams { rate, prop, max_waiting_pkts: None, max_waiting_bytes: None, loss: 0.0 }
    }
    pub fn max_waiting_pkts(mut self, n: u32) -> Self {
        self.max_waiting_pkts = Some(n);
        self
    }
    pub fn max_waiting_bytes(mut self, n: u64) -> Self {
        self.max_waiting_bytes = Some(n);
        self
    }
    pub fn loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }
}

/// What happened to an offered packet. Every variant but `Queued` hands the packet back.
#[derive(Debug, PartialEq)]
pub enum Offer<M> {
    /// Accepted; it will be delivered at `arrives`.
    Queued { arrives: Time },
    /// Drop-tail: the waiting room was full.
    QueueFull(M),
    /// Lost on the wire (random loss); it still used its transmission time.
    Lost(M),
    /// The link is down.
    Down(M),
}

/// Counters kept by every link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub offered_pkts: u64,
    pub delivered_pkts: u64,
    pub delivered_bytes: u64,
    pub dropped_queue_full: u64,
    pub lost_random: u64,
    pub dropped_down: u64,
    /// Packets on the link when it went down (waiting, transmitting or propagating).
    pub lost_on_down: u64,
    /// Sum over admitted packets of (scheduled start of transmission - offer time), in ns.
    pub wait_ns_sum: u128,
    /// Packets admitted to the transmitter (every offer but refusals: delivered, waiting,
    /// lost on the wire, or cut by a down).
    pub admitted_pkts: u64,
    pub max_waiting_pkts: u64,
    pub max_waiting_bytes: u64,
}

impl LinkStats {
    /// Mean time from offer to start of transmission, in ns, over admitted packets.
    pub fn mean_wait_ns(&self) -> f64 {
        if self.admitted_pkts == 0 {
            0.0
        } else {
            self.wait_ns_sum as f64 / self.admitted_pkts as f64
        }
    }
}

struct InFlight<M> {
    msg: M,
    bytes: u32,
    arrives: Time,
}

/// A link's state. Owned by [`crate::Simulation`]; entities reach it through the context.
pub struct Link<M> {
    params: LinkParams,
    up: bool,
    /// Packets accepted and not yet delivered, in arrival order.
    pipe: VecDeque<InFlight<M>>,
    /// Start times and sizes of the packets that have not started transmission yet (a suffix of
    /// the ones accepted, lost-on-wire ones included); entries whose start has passed are
    /// dropped lazily at the next offer.
    waiting: VecDeque<(Time, u32)>,
    waiting_bytes: u64,
    /// The current busy period: its start, and `tx_time(bits sent in it)` kept incrementally
    /// as whole ns plus the remainder `(bits * 1e9) mod rate`, to avoid a u128 division per
    /// packet.
    busy_start: Time,
    busy_ns: u64,
    busy_rem: u64,
    /// End of the last transmission (the transmitter is idle from then on).
    busy_until: Time,
    /// Bumped when the link goes down, so a pending head event for a flushed pipe is stale.
    pub(crate) epoch: u32,
    loss_rng: Option<Rng>,
    stats: LinkStats,
}

impl<M> Link<M> {
    pub(crate) fn new(params: LinkParams, loss_rng: Option<Rng>) -> Self {
        Link {
            params,
            up: true,
            pipe: VecDeque::new(),
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            busy_start: Time::ZERO,
            busy_ns: 0,
            busy_rem: 0,
            busy_until: Time::ZERO,
            epoch: 0,
            loss_rng,
            stats: LinkStats::default(),
        }
    }

    pub fn params(&self) -> &LinkParams {
        &self.params
    }
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }
    pub fn is_up(&self) -> bool {
        self.up
    }
    /// Packets accepted and not yet delivered.
    pub fn in_flight(&self) -> usize {
        self.pipe.len()
    }

    /// Packets accepted, not yet delivered, and satisfying `pred` (a scan: for checks, not for
    /// the hot path).
    pub fn in_flight_matching(&self, pred: impl Fn(&M) -> bool) -> usize {
        self.pipe.iter().filter(|p| pred(&p.msg)).count()
    }

    /// Packets waiting behind the transmitter at `now`.
    pub fn waiting_pkts(&mut self, now: Time) -> usize {
        self.expire_started(now);
        self.waiting.len()
    }

    fn expire_started(&mut self, now: Time) {
        while let Some(&(start, bytes)) = self.waiting.front() {
            if start > now {
                break;
            }
            self.waiting.pop_front();
            self.waiting_bytes -= bytes as u64;
        }
    }

    /// Offers a packet of `bytes` bytes at `now`. Returns `Queued` with its arrival time, or
    /// hands it back with the reason it was not accepted.
    pub(crate) fn offer(&mut self, now: Time, msg: M, bytes: u32) -> Offer<M> {
        self.stats.offered_pkts += 1;
        if !self.up {
            self.stats.dropped_down += 1;
            return Offer::Down(msg);
        }
        let idle = self.busy_until <= now;
        if !idle {
            self.expire_started(now);
            let full_pkts =
                self.params.max_waiting_pkts.is_some_and(|m| self.waiting.len() >= m as usize);
            let full_bytes = self
                .params
                .max_waiting_bytes
                .is_some_and(|m| self.waiting_bytes + bytes as u64 > m);
            if full_pkts || full_bytes {
                self.stats.dropped_queue_full += 1;
                return Offer::QueueFull(msg);
            }
        }
        // Start of transmission and its end, on the busy period's cumulative bit count.
        let start = if idle {
            self.busy_start = now;
            self.busy_ns = 0;
            self.busy_rem = 0;
            now
        } else {
            self.busy_until
        };
        let end = self.busy_start + self.extend_busy_period(bytes);
        self.busy_until = end;
        self.stats.admitted_pkts += 1;
        self.stats.wait_ns_sum += (start - now).as_nanos() as u128;
        if !idle {
            self.waiting.push_back((start, bytes));
            self.waiting_bytes += bytes as u64;
            self.stats.max_waiting_pkts =
                self.stats.max_waiting_pkts.max(self.waiting.len() as u64);
            self.stats.max_waiting_bytes = self.stats.max_waiting_bytes.max(self.waiting_bytes);
        }
        if let Some(rng) = &mut self.loss_rng {
            if rng.bernoulli(self.params.loss) {
                self.stats.lost_random += 1;
                return Offer::Lost(msg);
            }
        }
        let arrives = end + self.params.prop;
        self.pipe.push_back(InFlight { msg, bytes, arrives });
        Offer::Queued { arrives }
    }

    /// Adds `bytes` to the busy period and returns `tx_time(all its bits)`, computed
    /// incrementally: `busy_ns + busy_rem / rate` is exactly `bits * 1e9 / rate`.
    #[inline]
    fn extend_busy_period(&mut self, bytes: u32) -> Dur {
        let rate = self.params.rate.0;
        // bytes * 8e9 < 2^32 * 8e9 < 2^66 could overflow only with rate near 2^64: u128 there.
        let num = bytes as u128 * 8_000_000_000 + self.busy_rem as u128;
        let (q, r) = if let Ok(num) = u64::try_from(num) {
            (num / rate, num % rate)
        } else {
            ((num / rate as u128) as u64, (num % rate as u128) as u64)
        };
        self.busy_ns += q;
        self.busy_rem = r;
        Dur::from_nanos(self.busy_ns + u64::from(r > 0))
    }

    /// Arrival time of the head of the pipe, if any.
    pub(crate) fn head_arrival(&self) -> Option<Time> {
        self.pipe.front().map(|p| p.arrives)
    }

    /// Removes the head of the pipe (its arrival time has come).
    pub(crate) fn pop_head(&mut self) -> M {
        let p = self.pipe.pop_front().expect("invariant: a head event has a head packet");
        self.stats.delivered_pkts += 1;
        self.stats.delivered_bytes += p.bytes as u64;
        p.msg
    }

    /// Takes the link down at `now`, returning every packet that was on it, oldest first.
    pub(crate) fn set_down(&mut self, now: Time) -> Vec<M> {
        if !self.up {
            return Vec::new();
        }
        self.up = false;
        self.epoch = self.epoch.wrapping_add(1);
        self.waiting.clear();
        self.waiting_bytes = 0;
        self.busy_until = now;
        let lost: Vec<M> = self.pipe.drain(..).map(|p| p.msg).collect();
        self.stats.lost_on_down += lost.len() as u64;
        lost
    }

    /// Brings the link up at `now`, empty and idle.
    pub(crate) fn set_up(&mut self, now: Time) {
        if !self.up {
            self.up = true;
            self.busy_until = now;
        }
    }
}
