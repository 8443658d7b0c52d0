//! The reference benchmark `star` (`shared/bench/star.md`), built on `sim-core` alone.
//!
//! ```text
//!  source 0  ──10G, 1us──┐
//!  source 1  ──10G, 1us──┤
//!    ...                 ├──► switch ──10G, 1us, 1000 waiting──► sink
//!  source 15 ──10G, 1us──┘
//! ```
//!
//! Every packet is 1502 bytes on the wire. Each source is Poisson at `rho * mu / 16` and sends
//! at every `t < T`; the run continues until the network is empty, so
//! `sent == received + dropped`. The bottleneck is the switch's port to the sink, an M/D/1/1001
//! queue; `mu` counts wire bits, so the load `rho` is exact.

use sim_core::metrics::Histogram;
use sim_core::{Bps, Ctx, Dur, Entity, EntityId, LinkId, LinkParams, Offer, Origin, Rng};
use sim_core::{Simulation, Time};

/// Bytes on the wire per packet: a 1500-byte IP packet plus a 2-byte link header.
pub const PACKET_BYTES: u32 = 1502;
/// Every link's rate.
pub const LINK_RATE: Bps = Bps(10_000_000_000);
/// Every link's propagation delay.
pub const PROPAGATION: Dur = Dur::from_micros(1);
/// Packets that may wait at a port, besides the one in transmission.
pub const MAX_WAITING: u32 = 1000;
pub const SOURCES: usize = 16;

/// Service rate of a port in packets per second: 10e9 / (1502 * 8) = 832,223.7.
pub fn mu() -> f64 {
    LINK_RATE.0 as f64 / (PACKET_BYTES as f64 * 8.0)
}

/// The benchmark's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct StarParams {
    /// Offered load at the bottleneck.
    pub rho: f64,
    /// Sources send at every `t < duration`.
    pub duration: Dur,
    pub seed: u64,
}

impl Default for StarParams {
    fn default() -> Self {
        StarParams { rho: 0.8, duration: Dur::from_secs(1), seed: 1 }
    }
}

/// What a run measured. `wall_s` is the only field that depends on the machine.
#[derive(Clone, Debug)]
pub struct StarReport {
    pub params: StarParams,
    pub sent: u64,
    pub received: u64,
    pub dropped: u64,
    pub mean_delay_us: f64,
    pub p99_delay_us: f64,
    /// Engine events (stale ones excluded).
    pub events: u64,
    /// Wall-clock seconds of the event loop alone.
    pub wall_s: f64,
    /// Mean time a packet waited at the bottleneck before its transmission began, in us.
    pub bottleneck_mean_wait_us: f64,
    /// The most packets ever waiting at the bottleneck (the one in transmission excluded).
    pub bottleneck_max_waiting: u64,
    /// The simulated instant the last packet arrived.
    pub end: Time,
}

impl StarReport {
    pub const HEADER: &'static str =
        "rho,T,sent,received,dropped,mean_delay_us,p99_delay_us,events,wall_s,packet_hops_per_s";

    /// `2 * received + dropped`: every received packet crossed two links; a dropped one
    /// crossed one (a drop at the bottleneck) or was refused at its first (counted once).
    pub fn packet_hops(&self) -> u64 {
        2 * self.received + self.dropped
    }

    pub fn packet_hops_per_s(&self) -> f64 {
        self.packet_hops() as f64 / self.wall_s
    }

    /// The CSV line of `star.md`.
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{:.4},{:.4},{},{:.4},{:.0}",
            self.params.rho,
            self.params.duration.as_secs_f64(),
            self.sent,
            self.received,
            self.dropped,
            self.mean_delay_us,
            self.p99_delay_us,
            self.events,
            self.wall_s,
            self.packet_hops_per_s()
        )
    }
}

/// The one message type of the benchmark.
#[derive(Copy, Clone, Debug)]
pub enum StarMsg {
    /// A source's own reminder to emit its next packet.
    Emit,
    /// A data packet and the instant it was sent.
    Packet { sent: Time },
}

struct Source {
    out: LinkId,
    arrivals: Rng,
    mean_gap_ns: f64,
    end: Time,
    sent: u64,
    dropped: u64,
}

impl Source {
    fn schedule_next(&mut self, ctx: &mut Ctx<'_, StarMsg>) {
        let gap = self.arrivals.exp_dur(self.mean_gap_ns);
        if ctx.now() + gap < self.end {
            ctx.send(ctx.me(), gap, StarMsg::Emit);
        }
    }
}

impl Entity<StarMsg> for Source {
    fn on_start(&mut self, ctx: &mut Ctx<'_, StarMsg>) {
        // star.md: "a source's first packet comes one random gap after t = 0".
        self.schedule_next(ctx);
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_, StarMsg>, _: Origin, _: StarMsg) {
        self.sent += 1;
        let pkt = StarMsg::Packet { sent: ctx.now() };
        if !matches!(ctx.transmit(self.out, pkt, PACKET_BYTES), Offer::Queued { .. }) {
            self.dropped += 1;
        }
        self.schedule_next(ctx);
    }
}

struct Switch {
    out: LinkId,
    dropped: u64,
}

impl Entity<StarMsg> for Switch {
    fn on_event(&mut self, ctx: &mut Ctx<'_, StarMsg>, _: Origin, msg: StarMsg) {
        // Store-and-forward with zero processing time: forward on arrival of the last bit.
        if !matches!(ctx.transmit(self.out, msg, PACKET_BYTES), Offer::Queued { .. }) {
            self.dropped += 1;
        }
    }
}

#[derive(Default)]
struct Sink {
    received: u64,
    delay_ns: Histogram,
    last: Time,
}

impl Entity<StarMsg> for Sink {
    fn on_event(&mut self, ctx: &mut Ctx<'_, StarMsg>, _: Origin, msg: StarMsg) {
        if let StarMsg::Packet { sent } = msg {
            self.received += 1;
            self.delay_ns.record((ctx.now() - sent).as_nanos());
            self.last = ctx.now();
        }
    }
}

/// The built scenario, ready to run.
pub struct Star {
    sim: Simulation<StarMsg>,
    sources: Vec<EntityId>,
    switch: EntityId,
    sink: EntityId,
    bottleneck: LinkId,
    params: StarParams,
}

impl Star {
    pub fn build(params: &StarParams) -> Star {
        assert!(params.rho > 0.0, "invariant: rho must be positive (validated by the CLI)");
        let mut sim = Simulation::new(params.seed);
        let end = Time::ZERO + params.duration;
        let mean_gap_ns = 1e9 * SOURCES as f64 / (params.rho * mu());
        let port = LinkParams::new(LINK_RATE, PROPAGATION).max_waiting_pkts(MAX_WAITING);
        let switch = sim.add_entity(Switch { out: LinkId(u32::MAX), dropped: 0 });
        let sink = sim.add_entity(Sink::default());
        let bottleneck = sim.add_link("switch-sink", switch, sink, port.clone());
        sim.entity_mut::<Switch>(switch).expect("switch").out = bottleneck;
        let mut sources = Vec::with_capacity(SOURCES);
        for i in 0..SOURCES {
            let arrivals = sim.rng().stream(&format!("host/s{i}/arrivals"));
            let id = sim.add_entity(Source {
                out: LinkId(u32::MAX),
                arrivals,
                mean_gap_ns,
                end,
                sent: 0,
                dropped: 0,
            });
            let link = sim.add_link(&format!("s{i}-switch"), id, switch, port.clone());
            sim.entity_mut::<Source>(id).expect("source").out = link;
            sources.push(id);
        }
        Star { sim, sources, switch, sink, bottleneck, params: params.clone() }
    }

    /// The simulation, e.g. to attach a progress callback.
    pub fn sim_mut(&mut self) -> &mut Simulation<StarMsg> {
        &mut self.sim
    }

    /// Runs to the end; `wall_s` is measured around the event loop only.
    pub fn run(mut self) -> StarReport {
        // The benchmark reports wall time by definition; nothing simulated reads it.
        #[allow(clippy::disallowed_methods)]
        let t0 = std::time::Instant::now();
        self.sim.run_to_end();
        let wall_s = t0.elapsed().as_secs_f64();
        self.report(wall_s)
    }

    fn report(&self, wall_s: f64) -> StarReport {
        let (mut sent, mut dropped) = (0, 0);
        for &s in &self.sources {
            let src = self.sim.entity::<Source>(s).expect("source");
            sent += src.sent;
            dropped += src.dropped;
        }
        dropped += self.sim.entity::<Switch>(self.switch).expect("switch").dropped;
        let sink = self.sim.entity::<Sink>(self.sink).expect("sink");
        let bn = self.sim.link(self.bottleneck).stats();
        StarReport {
            params: self.params.clone(),
            sent,
            received: sink.received,
            dropped,
            mean_delay_us: sink.delay_ns.mean().unwrap_or(0.0) / 1e3,
            p99_delay_us: sink.delay_ns.quantile(0.99).unwrap_or(0) as f64 / 1e3,
            events: self.sim.stats().events,
            wall_s,
            bottleneck_mean_wait_us: bn.mean_wait_ns() / 1e3,
            bottleneck_max_waiting: bn.max_waiting_pkts,
            end: sink.last,
        }
    }
}

/// Builds and runs the benchmark.
pub fn run(params: &StarParams) -> StarReport {
    Star::build(params).run()
}
